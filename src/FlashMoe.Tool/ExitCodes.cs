namespace FlashMoe.Tool;

/// <summary>
/// The tool's exit codes. Stable: CI scripts branch on them, so a code never changes meaning (new ones are added
/// at the end). Documented in README.md ("The flashmoe tool") and in <c>flashmoe --help</c>.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Done; for <c>check</c>: no error (warnings allowed unless <c>--warnaserror</c>).</summary>
    public const int Ok = 0;

    /// <summary><c>check</c> found an error, or a warning under <c>--warnaserror</c>: the build would fail. <c>plan</c>: the plan has an error.</summary>
    public const int ErrorsFound = 1;

    /// <summary>Bad command line: unknown verb or option, missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary>An input is malformed: a GGUF header (FM01xx) or a profile file (FM00xx).</summary>
    public const int BadInput = 3;

    /// <summary>A file cannot be read or written (missing, permissions, disk full).</summary>
    public const int IoError = 4;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;

    /// <summary>The exit codes one verb uses, as <c>--help</c> prints them (indented lines).</summary>
    public static string ForVerb(string verb) => verb switch
    {
        "inspect" => "  0 ok, 2 bad arguments, 3 malformed GGUF (error FM01xx on stderr), 4 the file cannot be read",
        "synth" => "  0 written, 2 bad options or an impossible shape, 4 the file cannot be written",
        "plan" => "  0 planned, 1 the plan has an error (e.g. FM1001, FM1004), 2 bad arguments, 3 malformed GGUF or profile file, 4 a file cannot be read or written",
        "tune" => "  0 tuned and written, 1 nothing could be measured, 2 bad arguments, 3 malformed GGUF or profile file, 4 a file cannot be read or written, 130 cancelled (what was measured is still written)",
        "check" => "  0 no error, 1 an error (FM0301 for an unreadable file included) or, with --warnaserror, a warning: the build would fail, 2 bad arguments",
        _ => "  see 'flashmoe --help'",
    };

    /// <summary>The table printed by <c>--help</c>.</summary>
    public const string Table = """
        Exit codes (every verb):
          0    ok (check: no error)
          1    errors found: check failed (or a warning under --warnaserror), or the plan has an error
          2    bad command line (unknown verb or option, missing or malformed value)
          3    malformed input: a GGUF header (FM01xx) or a profile file (FM00xx)
          4    a file cannot be read or written
          130  cancelled (Ctrl+C)
        """;
}
