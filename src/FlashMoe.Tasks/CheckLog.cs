using System.Collections.Generic;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace FlashMoe.Tasks;

/// <summary>Where a check's messages and diagnostics go: MSBuild's log directly, or a journal a later task logs.</summary>
internal interface ICheckLog
{
    void Message(MessageImportance importance, string text);

    void Diagnostic(LoggedDiagnostic diagnostic);
}

/// <summary>Straight into MSBuild's log, through the same calls whether a diagnostic was just found or is replayed.</summary>
internal sealed class LiveCheckLog : ICheckLog
{
    private readonly TaskLoggingHelper _log;

    public LiveCheckLog(TaskLoggingHelper log) => _log = log;

    /// <summary>Whether an error was logged (the task then fails).</summary>
    public bool LoggedError { get; private set; }

    public void Message(MessageImportance importance, string text) => _log.LogMessage(importance, "{0}", text);

    public void Diagnostic(LoggedDiagnostic d)
    {
        // No message arguments are passed, so MSBuild shows the message as is (braces in a regex stay intact).
        // No help link: the 16.6 API the task compiles against (so every MSBuild host loads it) has no helpLink
        // parameter; the code itself is the key to docs/diagnostics.md, and the generator's descriptors carry the link.
        switch (d.Severity)
        {
            case LoggedDiagnostic.Error:
                LoggedError = true;
                _log.LogError(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, d.Message);
                break;
            case LoggedDiagnostic.Warning:
                _log.LogWarning(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, d.Message);
                break;
            default:
                // Info keeps its code and location but is a message: shown with -v:n, never a warning.
                _log.LogMessage(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, MessageImportance.Normal, d.Message);
                break;
        }
    }
}

/// <summary>
/// Everything a check running on a worker thread would log, in order: MSBuild accepts log calls only from a task
/// while it executes, so the task that waits for the check logs the journal (<see cref="ReplayInto"/>).
/// </summary>
internal sealed class CheckJournal : ICheckLog
{
    // Entries are a class, not a value tuple: a framework list over a value type is JIT-compiled on every first build.
    private sealed class Entry
    {
        public Entry(MessageImportance importance, string? text, LoggedDiagnostic? diagnostic)
        {
            Importance = importance;
            Text = text;
            Diagnostic = diagnostic;
        }

        public MessageImportance Importance { get; }
        public string? Text { get; }
        public LoggedDiagnostic? Diagnostic { get; }
    }

    private readonly List<Entry> _entries = new();

    public void Message(MessageImportance importance, string text)
    {
        lock (_entries) _entries.Add(new Entry(importance, text, null));
    }

    public void Diagnostic(LoggedDiagnostic diagnostic)
    {
        lock (_entries) _entries.Add(new Entry(MessageImportance.Normal, null, diagnostic));
    }

    public void ReplayInto(ICheckLog log)
    {
        Entry[] entries;
        lock (_entries) entries = _entries.ToArray();
        foreach (var e in entries)
        {
            if (e.Diagnostic is { } d) log.Diagnostic(d);
            else log.Message(e.Importance, e.Text!);
        }
    }
}
