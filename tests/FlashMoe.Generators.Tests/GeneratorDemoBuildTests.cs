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
        var project = Path.Combine(RepoPaths.Root, "tests", "assets", "GeneratorDemo", "GeneratorDemo.csproj");
        var result = ProcessRunner.Dotnet(RepoPaths.Root, TimeSpan.FromSeconds(120),
            "build", project, "-c", Configuration, "-tl:off", "-nologo", "-nodeReuse:false",
            "-p:BuildProjectReferences=false", "-p:UseSharedCompilation=false");
        Assert.False(result.TimedOut, "dotnet build did not finish within 120 s:\n" + result);

        var text = result.Output;
        var errors = Regex.Matches(text, @"(?<file>[^\s\]]*flashmoe\.json)\((?<line>\d+),(?<column>\d+)\): error (?<id>FM\d{4}): (?<message>[^\r\n]*)")
            .Select(m => (File: Path.GetFileName(m.Groups["file"].Value), Line: int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture), Column: int.Parse(m.Groups["column"].Value, CultureInfo.InvariantCulture), Id: m.Groups["id"].Value, Line2: m.Value))
            .Distinct()
            .ToArray();
        foreach (var error in errors) _output.WriteLine(error.Line2);

        Assert.True(result.ExitCode != 0, "the demo build must fail:\n" + text);
        Assert.Equal(
            new[] { ("flashmoe.json", 13, 17, "FM0003"), ("flashmoe.json", 17, 40, "FM0007") },
            errors.Select(e => (e.File, e.Line, e.Column, e.Id)).OrderBy(e => e.Line).ToArray());
        // Nothing else failed: the valid profile was generated and Program.cs compiled against it.
        Assert.DoesNotMatch(@"error CS\d{4}", text);
    }
}
