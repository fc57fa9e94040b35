using System.IO;

namespace FlashMoe.Tool.Tests;

/// <summary>One in-process run of the <c>flashmoe</c> command line.</summary>
public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs <c>flashmoe</c> in-process with string writers (neither is a terminal: no colour, no redrawn bars).</summary>
public static class ToolRun
{
    public static ToolResult Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = FlashMoeCli.Run(args, new ToolConsole(stdout, stderr));
        return new ToolResult(exit, stdout.ToString(), stderr.ToString());
    }
}
