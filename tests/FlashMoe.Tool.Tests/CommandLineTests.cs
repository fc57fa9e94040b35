using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary>The command line as a whole: help for every verb with the exit codes, and one clear line for a bad verb.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public void Help_lists_every_verb_and_the_exit_code_table()
    {
        var result = ToolRun.Run("--help");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        foreach (var verb in new[] { "inspect", "plan", "check", "synth" }) Assert.Contains("  " + verb, result.Stdout);
        Assert.Contains("Exit codes (every verb):", result.Stdout);
        Assert.Contains("130  cancelled", result.Stdout);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("plan")]
    [InlineData("check")]
    [InlineData("synth")]
    public void Every_verb_has_help_ending_with_its_exit_codes(string verb)
    {
        var result = ToolRun.Run(verb, "--help");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("Usage:", result.Stdout);
        Assert.Contains("flashmoe " + verb, result.Stdout);
        Assert.EndsWith("Exit codes:\n" + ExitCodes.ForVerb(verb), result.Stdout.Replace("\r\n", "\n").TrimEnd('\n'));
    }

    [Fact]
    public void An_unknown_verb_is_one_line_naming_the_verbs_and_exit_2()
    {
        var result = ToolRun.Run("tunes");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        Assert.StartsWith("flashmoe: unknown verb 'tunes' (verbs: inspect, plan, check, synth, tune).\n", result.Stderr.Replace("\r\n", "\n"));
    }

    [Fact]
    public void No_verb_is_a_usage_error()
    {
        var result = ToolRun.Run();

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("Run 'flashmoe --help' for the verbs.", result.Stderr);
    }
}
