using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace FlashMoe.Generators.Tests;

/// <summary>
/// REAL BUILD (child process, ≈ 10 s): runs <c>dotnet build</c> on tests/assets/GeneratorDemo, a small app that
/// consumes the generator as a package user would (Analyzer project reference, AdditionalFiles,
/// CompilerVisibleProperty) and whose flashmoe.json holds two mistakes. The build must fail with exactly those
/// two errors in MSBuild's <c>file(line,col): error FM000x:</c> form. The referenced projects are not rebuilt
/// (BuildProjectReferences=false): the test project already built them in the same configuration.
/// </summary>
[Trait("Category", "RealBuild")]
public class GeneratorDemoBuildTests
{
    private readonly ITestOutputHelper _output;

    public GeneratorDemoBuildTests(ITestOutputHelper output) => _output = output;

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public void Dotnet_build_reports_the_two_json_mistakes_at_their_line_and_column()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FlashMoe.sln"))) directory = directory.Parent;
        Assert.NotNull(directory);
        var project = Path.Combine(directory!.FullName, "tests", "assets", "GeneratorDemo", "GeneratorDemo.csproj");

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory.FullName,
        };
        foreach (var argument in new[]
        {
            "build", project, "-c", Configuration, "-tl:off", "-nologo", "-nodeReuse:false",
            "-p:BuildProjectReferences=false", "-p:UseSharedCompilation=false",
        })
        {
            start.ArgumentList.Add(argument);
        }
        // No build server or node may outlive the child: they would inherit the output pipes and keep the test waiting.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var log = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet build did not finish within 120 s:\n" + log);
        }
        process.WaitForExit(); // flushes the asynchronous readers

        var text = log.ToString();
        var errors = Regex.Matches(text, @"(?<file>[^\s\]]*flashmoe\.json)\((?<line>\d+),(?<column>\d+)\): error (?<id>FM\d{4}): (?<message>[^\r\n]*)")
            .Select(m => (File: Path.GetFileName(m.Groups["file"].Value), Line: int.Parse(m.Groups["line"].Value), Column: int.Parse(m.Groups["column"].Value), Id: m.Groups["id"].Value, Line2: m.Value))
            .Distinct()
            .ToArray();
        foreach (var error in errors) _output.WriteLine(error.Line2);

        Assert.True(process.ExitCode != 0, "the demo build must fail:\n" + text);
        Assert.Equal(
            new[] { ("flashmoe.json", 13, 17, "FM0003"), ("flashmoe.json", 17, 40, "FM0007") },
            errors.Select(e => (e.File, e.Line, e.Column, e.Id)).OrderBy(e => e.Line).ToArray());
        // Nothing else failed: the valid profile was generated and Program.cs compiled against it.
        Assert.DoesNotMatch(@"error CS\d{4}", text);
    }
}
