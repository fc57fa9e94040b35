using System;
using System.Globalization;

namespace FlashMoe.Diagnostics;

/// <summary>How serious a FlashMoe diagnostic is. Maps 1:1 to Roslyn/MSBuild severities.</summary>
public enum FlashMoeSeverity
{
    /// <summary>Informational message (MSBuild: normal-importance message; Roslyn: Info).</summary>
    Info,
    /// <summary>Warning: the build continues; silenced by NoWarn, promoted by WarningsAsErrors.</summary>
    Warning,
    /// <summary>Error: the build fails.</summary>
    Error,
}

/// <summary>
/// A stable diagnostic ID with its title and message format. All descriptors live in
/// <see cref="DiagnosticCatalog"/>; the generator, the MSBuild task and the runtime only report them.
/// </summary>
/// <param name="Id">Stable ID such as <c>FM0001</c>.</param>
/// <param name="Title">Short title (one line, no trailing period).</param>
/// <param name="MessageFormat">Composite format string (<see cref="string.Format(IFormatProvider, string, object[])"/>).</param>
/// <param name="Severity">Default severity.</param>
/// <param name="Category">Area: Profile, Gguf, Advice or Host.</param>
public sealed record FlashMoeDiagnosticDescriptor(
    string Id,
    string Title,
    string MessageFormat,
    FlashMoeSeverity Severity,
    string Category)
{
    /// <summary>Absolute link to this ID's section of docs/diagnostics.md in the project's repository.</summary>
    public string HelpLink => ProjectRepository.DiagnosticsPage + "#" + Invariant.Lower(Id);

    /// <summary>Formats the message with invariant culture (stable across machines).</summary>
    public string Format(params object?[] args) => string.Format(CultureInfo.InvariantCulture, MessageFormat, args);
}

/// <summary>A position in a text file: 1-based line and column, plus the end of the token.</summary>
/// <param name="Path">The file path as given to the parser.</param>
/// <param name="Line">1-based start line.</param>
/// <param name="Column">1-based start column.</param>
/// <param name="EndLine">1-based end line (inclusive).</param>
/// <param name="EndColumn">1-based column just after the token.</param>
/// <param name="Offset">0-based character offset of the start.</param>
/// <param name="Length">Length in characters.</param>
public readonly record struct SourceLocation(string Path, int Line, int Column, int EndLine, int EndColumn, int Offset, int Length)
{
    /// <summary>MSBuild/compiler style <c>path(line,col)</c>.</summary>
    public override string ToString() => $"{Path}({Line},{Column})";
}

/// <summary>One reported diagnostic: descriptor, formatted message and (when known) location.</summary>
/// <param name="Descriptor">What was reported.</param>
/// <param name="Message">The formatted message, with figures and reason.</param>
/// <param name="Location">Where in the JSON (or other file) it applies, if known.</param>
public sealed record FlashMoeDiagnostic(FlashMoeDiagnosticDescriptor Descriptor, string Message, SourceLocation? Location)
{
    /// <summary>The diagnostic ID.</summary>
    public string Id => Descriptor.Id;

    /// <summary>The severity.</summary>
    public FlashMoeSeverity Severity => Descriptor.Severity;

    /// <summary>Creates a diagnostic by formatting the descriptor's message.</summary>
    public static FlashMoeDiagnostic Create(FlashMoeDiagnosticDescriptor descriptor, SourceLocation? location, params object?[] args)
        => new(descriptor, descriptor.Format(args), location);

    /// <summary>Compiler-style text: <c>file(line,col): warning FM1002: message</c>.</summary>
    public override string ToString()
    {
        var severity = Severity switch
        {
            FlashMoeSeverity.Error => "error",
            FlashMoeSeverity.Warning => "warning",
            _ => "info",
        };
        var prefix = Location is { } l ? l + ": " : string.Empty;
        return $"{prefix}{severity} {Id}: {Message}";
    }
}
