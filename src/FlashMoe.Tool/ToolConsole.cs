using System;
using System.IO;

namespace FlashMoe.Tool;

/// <summary>
/// Where a verb writes: its output (stdout), its errors and progress (stderr), and whether each is a terminal that
/// takes colour and redrawn progress bars. The process uses <see cref="FromSystem"/>; tests pass string writers.
/// </summary>
/// <remarks>
/// Colour and progress are written as plain ANSI sequences rather than through a console-rendering library: such
/// renderers wrap lines at the terminal width, and the canonical <c>file(line,col): warning FMxxxx: …</c> lines that
/// CI problem matchers read must stay one line each.
/// </remarks>
internal sealed class ToolConsole(TextWriter output, TextWriter error, bool outputIsTerminal = false, bool errorIsTerminal = false)
{
    /// <summary>Standard output.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>True when stdout is a terminal and colour is not disabled (<c>NO_COLOR</c>, <c>TERM=dumb</c>).</summary>
    public bool Colour { get; } = outputIsTerminal
        && ColourAllowed(Environment.GetEnvironmentVariable("NO_COLOR"), Environment.GetEnvironmentVariable("TERM"));

    /// <summary>True when stderr is a terminal: progress bars redraw in place there.</summary>
    public bool ErrorIsTerminal { get; } = errorIsTerminal;

    /// <summary>The process's console.</summary>
    public static ToolConsole FromSystem()
    {
        var utf8 = new System.Text.UTF8Encoding(false);
        // The process's standard streams live as long as the process: AutoFlush leaves nothing to flush, and
        // disposing them would close stdout/stderr for anything written after the verb.
#pragma warning disable CA2000 // Dispose objects before losing scope
        var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8) { AutoFlush = true };
        var stderr = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };
#pragma warning restore CA2000
        return new ToolConsole(stdout, stderr, !Console.IsOutputRedirected, !Console.IsErrorRedirected);
    }

    /// <summary><paramref name="text"/> in <paramref name="style"/> when colour is on, else as is.</summary>
    public string Style(string text, ConsoleStyle style) => Colour && style != ConsoleStyle.None ? Sgr(style) + text + "\u001b[0m" : text;

    /// <summary>Writes one error line to stderr: <c>flashmoe VERB: message</c>, the message on one line.</summary>
    public void WriteError(string? verb, string message) =>
        Error.WriteLine((string.IsNullOrEmpty(verb) ? "flashmoe: " : "flashmoe " + verb + ": ") + message.Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' '));

    /// <summary>Colour is allowed unless <c>NO_COLOR</c> is set to anything non-empty (https://no-color.org) or <c>TERM</c> is <c>dumb</c>.</summary>
    internal static bool ColourAllowed(string? noColor, string? term) =>
        string.IsNullOrEmpty(noColor) && !string.Equals(term, "dumb", StringComparison.Ordinal);

    private static string Sgr(ConsoleStyle style) => style switch
    {
        ConsoleStyle.Error => "\u001b[31;1m",
        ConsoleStyle.Warning => "\u001b[33;1m",
        ConsoleStyle.Info => "\u001b[36m",
        ConsoleStyle.Good => "\u001b[32m",
        ConsoleStyle.Heading => "\u001b[1m",
        ConsoleStyle.Dim => "\u001b[2m",
        _ => string.Empty,
    };
}

/// <summary>What a piece of output is, for colouring.</summary>
internal enum ConsoleStyle
{
    None,
    Error,
    Warning,
    Info,
    Good,
    Heading,
    Dim,
}
