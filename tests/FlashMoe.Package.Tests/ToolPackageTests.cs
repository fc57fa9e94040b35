using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Package.Tests;

/// <summary>
/// The <c>flashmoe</c> tool as a user meets it: installed with `dotnet tool install` from the local feed into a tool
/// path (the run's private packages folder, nothing cached), then each verb run once on a synthetic model; and
/// <c>check</c> prints the same FM lines as `dotnet build` of a project with the same profile, failing where it fails.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ToolPackageTests(PackageFeedFixture fixture)
{
    /// <summary>The seed machine with every layer and every expert on its 16 GiB GPU: FM1004 (an error) fails the build.</summary>
    private const string FailingProfiles = """
        {
          "profiles": {
            "ArcWorkstation": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12 },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ],
                "storage": "nvme"
              },
              "model": { "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8, "expertFraction": 0.95, "weightType": "iq1_s" },
              "load": { "mmap": true, "gpuLayers": "all", "expertsOnCpu": false, "contextSize": 4096 }
            }
          }
        }
        """;

    private static readonly Regex DiagnosticLine = new(@"^\s*(?<line>.+?: (?:warning|error) FM\d{4}: .*?)(?: \[[^\]]+\.csproj[^\]]*\])?\s*$", RegexOptions.Multiline);

    [Fact]
    public void Installed_from_the_feed_every_verb_runs_and_check_matches_the_build()
    {
        var work = Path.Combine(fixture.Root, "tool-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var toolPath = Path.Combine(work, "tools");

        // Run from the fixture's root so its nuget.config applies: the local feed mapped as the only source of
        // FlashMoe.Tool, and the private packages folder. (NuGet refuses --add-source beside source mapping.)
        var install = ProcessRunner.Run(ProcessRunner.DotnetPath,
            new[] { "tool", "install", "FlashMoe.Tool", "--version", fixture.Version, "--tool-path", toolPath },
            fixture.Root, PackageFeedFixture.CommandTimeout, PackageFeedFixture.ConsumerEnvironment);
        BuildAssert.Succeeded(install);
        var flashmoe = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "flashmoe.exe" : "flashmoe");
        Assert.True(File.Exists(flashmoe), install.ToString());
        ProcessResult Flashmoe(params string[] args) => ProcessRunner.Run(flashmoe, args, work, PackageFeedFixture.CommandTimeout, ToolEnvironment());

        var help = Flashmoe("--help");
        BuildAssert.Succeeded(help);
        foreach (var verb in new[] { "inspect", "plan", "check", "synth" }) Assert.Contains(verb, help.Output);
        Assert.Contains("Exit codes", help.Output);

        var synth = Flashmoe("synth", "tiny.gguf", "--preset", "tiny-moe", "--layers", "3");
        BuildAssert.Succeeded(synth);
        Assert.True(File.Exists(Path.Combine(work, "tiny.gguf")), synth.ToString());

        var inspect = Flashmoe("inspect", "tiny.gguf", "--json");
        BuildAssert.Succeeded(inspect);
        using (var json = JsonDocument.Parse(inspect.Output))
        {
            Assert.Equal(3, json.RootElement.GetProperty("blockCount").GetInt32());
        }

        var plan = Flashmoe("plan", "tiny.gguf", "--ram-gib", "8", "--mmap", "auto", "--svg", "plan.svg");
        BuildAssert.Succeeded(plan);
        Assert.Matches(@"load\.mmap = (true|false)  \[mmap\.", plan.Output);
        var svg = XDocument.Load(Path.Combine(work, "plan.svg"));
        Assert.Single(svg.Descendants(XName.Get("g", "http://www.w3.org/2000/svg")), g => (string?)g.Attribute("class") == "device");

        var usage = Flashmoe("plan");
        Assert.Equal(2, usage.ExitCode);

        // check against the build of a project with the same profile: same lines, and both fail.
        var app = fixture.NewProject("CheckLikeBuild")
            .WriteProject("net10.0", "Exe", $"""
                  <ItemGroup><PackageReference Include="FlashMoe" Version="{fixture.Version}" /></ItemGroup>
                """)
            .WriteFile("Program.cs", """System.Console.WriteLine("check like build");""")
            .WriteFile("flashmoe.json", FailingProfiles);
        var build = app.Build();
        BuildAssert.Failed(build);
        var check = ProcessRunner.Run(flashmoe, new[] { "check" }, app.Directory, PackageFeedFixture.CommandTimeout, ToolEnvironment());
        Assert.True(check.ExitCode == 1, check.ToString());

        var built = Lines(build.Output);
        Assert.Contains(built, l => l.Contains(": error FM1004: ", StringComparison.Ordinal));
        Assert.Equal(built, Lines(check.Output));
    }

    private static IReadOnlyList<string> Lines(string output) =>
        DiagnosticLine.Matches(output).Select(m => m.Groups["line"].Value).Distinct().OrderBy(l => l, StringComparer.Ordinal).ToList();

    // The tool's apphost finds the runtime of the dotnet that runs these tests.
    private static IReadOnlyDictionary<string, string> ToolEnvironment()
    {
        var environment = new Dictionary<string, string>(PackageFeedFixture.ConsumerEnvironment);
        var root = Path.GetDirectoryName(ProcessRunner.DotnetPath);
        if (!string.IsNullOrEmpty(root)) environment["DOTNET_ROOT"] = root;
        return environment;
    }
}
