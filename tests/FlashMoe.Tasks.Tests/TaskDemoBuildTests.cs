using System.Globalization;
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Tasks.Tests;

/// <summary>
/// REAL BUILDS (child processes, a few seconds each): <c>dotnet build</c> of tests/assets/TaskDemo, a library that
/// imports FlashMoe's build/FlashMoe.props and build/FlashMoe.targets from the source tree and runs the task built by
/// this test project's reference (src/FlashMoe.Tasks/bin/&lt;Configuration&gt;/net8.0). Its flashmoe.json is the seed
/// case with mmap on. Shows the warning in MSBuild's canonical form at the mmap token, silenced by NoWarn, and an
/// error under WarningsAsErrors and -warnaserror. The facts run one after another (one class): they share TaskDemo/obj.
/// </summary>
[Trait("Category", "RealBuild")]
public sealed class TaskDemoBuildTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly Regex Canonical = new(
        @"^\s*(?:\d+>)?(?<file>[^\s(][^(\r\n]*?)\((?<line>\d+),(?<column>\d+)(?:,\d+,\d+)?\):\s+(?<severity>error|warning)\s+(?<id>FM\d{4}):\s*(?<message>[^\r\n]*)$",
        RegexOptions.Multiline);

    private readonly ITestOutputHelper _output;

    public TaskDemoBuildTests(ITestOutputHelper output) => _output = output;

    private static string RepoRoot => RepoPaths.Root;

    private static string DemoDirectory => Path.Combine(RepoRoot, "tests", "assets", "TaskDemo");

    /// <summary>Where the mmap value sits in the demo's flashmoe.json, found from the text itself.</summary>
    private static (int Line, int Column) MmapToken()
    {
        var text = File.ReadAllText(Path.Combine(DemoDirectory, "flashmoe.json"));
        return JsonPosition.OfValue(text, "\"mmap\"", "true");
    }

    [Fact]
    public void Plain_build_warns_FM1002_at_the_mmap_token_and_writes_the_plan()
    {
        var (exitCode, log) = Build();
        var (line, column) = MmapToken();

        Assert.True(exitCode == 0, "the demo build must succeed:\n" + log);
        var fm = Diagnostics(log);
        var warning = Assert.Single(fm);
        Assert.Equal(("warning", "FM1002", "flashmoe.json", line, column), (warning.Severity, warning.Id, Path.GetFileName(warning.File), warning.Line, warning.Column));
        Assert.Equal(Path.Combine(DemoDirectory, "flashmoe.json"), warning.File);
        Assert.True(File.Exists(Path.Combine(DemoDirectory, "obj", Configuration, "net10.0", "flashmoe.plan.json")), log);
    }

    [Fact]
    public void NoWarn_silences_FM1002()
    {
        var (exitCode, log) = Build("-p:NoWarn=FM1002");

        Assert.True(exitCode == 0, log);
        Assert.Empty(Diagnostics(log));
    }

    [Fact]
    public void WarningsAsErrors_makes_FM1002_an_error_that_fails_the_build()
    {
        var (exitCode, log) = Build("-p:WarningsAsErrors=FM1002");
        var (line, column) = MmapToken();

        Assert.True(exitCode != 0, "the build must fail:\n" + log);
        var error = Assert.Single(Diagnostics(log));
        Assert.Equal(("error", "FM1002", line, column), (error.Severity, error.Id, error.Line, error.Column));
    }

    [Fact]
    public void Warnaserror_on_the_command_line_fails_the_build_on_FM1002()
    {
        var (exitCode, log) = Build("-warnaserror");

        Assert.True(exitCode != 0, "the build must fail:\n" + log);
        Assert.Equal(("error", "FM1002"), Diagnostics(log).Select(d => (d.Severity, d.Id)).Single());
    }

    private (string Severity, string Id, string File, int Line, int Column)[] Diagnostics(string log)
    {
        // MSBuild repeats each diagnostic in its summary: count distinct ones.
        var found = Canonical.Matches(log)
            .Select(m => (m.Groups["severity"].Value, m.Groups["id"].Value, m.Groups["file"].Value.Trim(), int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["column"].Value, CultureInfo.InvariantCulture)))
            .Distinct()
            .ToArray();
        foreach (var d in found) _output.WriteLine(d.ToString());
        return found;
    }

    private static (int ExitCode, string Log) Build(params string[] extra)
    {
        var arguments = new[] { "build", Path.Combine(DemoDirectory, "TaskDemo.csproj"), "-c", Configuration, "-tl:off", "-nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false" };
        var result = ProcessRunner.Dotnet(RepoRoot, TimeSpan.FromSeconds(120), arguments.Concat(extra).ToArray());
        Assert.False(result.TimedOut, "dotnet build did not finish within 120 s:\n" + result);
        return (result.ExitCode, result.Output);
    }
}
