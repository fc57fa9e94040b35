using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Build.Framework;
using Xunit;

namespace FlashMoe.Tasks.Tests;

/// <summary>One event the task logged, with the fields MSBuild prints as <c>file(line,col): severity CODE: message</c>.</summary>
public sealed record LoggedEvent(string Severity, string? Code, string? File, int Line, int Column, int EndLine, int EndColumn, string Message, MessageImportance? Importance)
{
    public override string ToString() => $"{File}({Line},{Column},{EndLine},{EndColumn}): {Severity} {Code}: {Message}";
}

/// <summary>
/// An <see cref="IBuildEngine4"/> that records every error, warning and message the task logs, and holds registered
/// task objects for the build as MSBuild does (a started check travels between two tasks that way).
/// </summary>
public sealed class FakeBuildEngine : IBuildEngine4
{
    private readonly List<LoggedEvent> _events = new();
    private readonly Dictionary<object, object> _buildObjects = new();

    /// <summary>The objects registered for the build and not yet taken back.</summary>
    public IReadOnlyCollection<object> RegisteredObjects => _buildObjects.Values;

    /// <summary>When set, throws from <see cref="LogMessageEvent"/> for a message matching it (fault injection).</summary>
    public Func<BuildMessageEventArgs, bool>? ThrowOnMessage { get; set; }

    public IReadOnlyList<LoggedEvent> Events => _events;
    public IEnumerable<LoggedEvent> Errors => _events.Where(e => e.Severity == "error");
    public IEnumerable<LoggedEvent> Warnings => _events.Where(e => e.Severity == "warning");
    public IEnumerable<LoggedEvent> Messages => _events.Where(e => e.Severity == "message");

    /// <summary>Every event carrying an FM code (errors, warnings and coded messages).</summary>
    public IEnumerable<LoggedEvent> Coded => _events.Where(e => e.Code is { Length: > 0 });

    public string Dump() => string.Join("\n", _events.Select(e => e.ToString()));

    public void LogErrorEvent(BuildErrorEventArgs e) =>
        _events.Add(new LoggedEvent("error", e.Code, e.File, e.LineNumber, e.ColumnNumber, e.EndLineNumber, e.EndColumnNumber, e.Message ?? string.Empty, null));

    public void LogWarningEvent(BuildWarningEventArgs e) =>
        _events.Add(new LoggedEvent("warning", e.Code, e.File, e.LineNumber, e.ColumnNumber, e.EndLineNumber, e.EndColumnNumber, e.Message ?? string.Empty, null));

    public void LogMessageEvent(BuildMessageEventArgs e)
    {
        if (ThrowOnMessage?.Invoke(e) == true) throw new InvalidOperationException("injected logger failure");
        _events.Add(new LoggedEvent("message", e.Code, e.File, e.LineNumber, e.ColumnNumber, e.EndLineNumber, e.EndColumnNumber, e.Message ?? string.Empty, e.Importance));
    }

    public void LogCustomEvent(CustomBuildEventArgs e) { }

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException();

    public void RegisterTaskObject(object key, object obj, RegisteredTaskObjectLifetime lifetime, bool allowEarlyCollection)
    {
        Assert.Equal(RegisteredTaskObjectLifetime.Build, lifetime);
        _buildObjects[key] = obj;
    }

    public object? GetRegisteredTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _buildObjects.TryGetValue(key, out var obj) ? obj : null;

    public object? UnregisterTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _buildObjects.Remove(key, out var obj) ? obj : null;

    public bool IsRunningMultipleNodes => false;

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs, string toolsVersion) =>
        throw new NotSupportedException();

    public bool BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties, IDictionary[] targetOutputsPerProject,
        string[] toolsVersion, bool useResultsCache, bool unloadProjectsOnCompletion) => throw new NotSupportedException();

    public BuildEngineResult BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties,
        IList<string>[] removeGlobalProperties, string[] toolsVersion, bool returnTargetOutputs) => throw new NotSupportedException();

    public void Yield() { }

    public void Reacquire() { }

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "TaskTest.csproj";
}
