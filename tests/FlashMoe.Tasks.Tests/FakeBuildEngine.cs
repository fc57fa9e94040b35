using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Build.Framework;

namespace FlashMoe.Tasks.Tests;

/// <summary>One event the task logged, with the fields MSBuild prints as <c>file(line,col): severity CODE: message</c>.</summary>
public sealed record LoggedEvent(string Severity, string? Code, string? File, int Line, int Column, int EndLine, int EndColumn, string Message, MessageImportance? Importance)
{
    public override string ToString() => $"{File}({Line},{Column},{EndLine},{EndColumn}): {Severity} {Code}: {Message}";
}

/// <summary>An <see cref="IBuildEngine"/> that records every error, warning and message the task logs.</summary>
public sealed class FakeBuildEngine : IBuildEngine
{
    private readonly List<LoggedEvent> _events = new();

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

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "TaskTest.csproj";
}
