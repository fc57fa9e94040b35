using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Package.Tests;

/// <summary>
/// Fresh consumer projects built against the packed FlashMoe from the local feed, as a user would meet it:
/// (a) a single-target app, (b) a multi-target app, (c) an app that gets FlashMoe only through a library.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ConsumerBuildTests(PackageFeedFixture fixture)
{
    /// <summary>A clean profile: no generator diagnostic, no advice.</summary>
    private const string CleanProfiles = """
        {
          // comments and trailing commas are part of the format
          "profiles": {
            "Laptop": {
              "hardware": { "ramGiB": 16, "cpu": { "physicalCores": 4, "logicalCores": 8 }, "storage": "nvme" },
              "model": { "sizeGiB": 0.5 },
              "load": { "mmap": "auto", "contextSize": 2048, "threads": "physical" },
            },
          },
        }
        """;

    // ---- (a) single target -------------------------------------------------------------------------------

    [Fact]
    public void SingleTarget_TheCheckRunsWithTheTaskFromThePackage()
    {
        var app = fixture.NewProject("CheckPlumbing")
            .WriteProject("net10.0", "Exe", Package("""  <ItemGroup><AdditionalFiles Include="flashmoe.json" KeptByUser="true" /></ItemGroup>"""))
            .WriteFile("Program.cs", """System.Console.WriteLine("plumbing");""")
            .WriteFile("flashmoe.json", CleanProfiles)
            .WriteFile("extra.flashmoe.json", """{ "profiles": {} }""");

        var build = app.MSBuild("-restore", "-t:Build", "-getTargetResult:FlashMoeCheckProfiles", "-getProperty:FlashMoeTasksAssembly",
            "-getProperty:_FlashMoeStartedCheck", "-getItem:AdditionalFiles", "-getItem:CompilerVisibleProperty");
        BuildAssert.Succeeded(build);
        using var json = JsonDocument.Parse(JsonPart(build));
        var root = json.RootElement;

        // The task is the package's own build for this MSBuild host (dotnet build = .NET: tasks/net8.0).
        var taskAssembly = root.GetProperty("Properties").GetProperty("FlashMoeTasksAssembly").GetString()!;
        Assert.Equal(Path.Combine(fixture.RestoredPackageDirectory, "tasks", "net8.0", "FlashMoe.Tasks.dll"), taskAssembly);
        Assert.True(File.Exists(taskAssembly), taskAssembly);

        // Both profile files are AdditionalFiles once each; the one the project listed itself keeps its metadata.
        var additional = root.GetProperty("Items").GetProperty("AdditionalFiles").EnumerateArray()
            .Select(i => (File: Path.GetFileName(i.GetProperty("FullPath").GetString()!), Item: i)).ToList();
        Assert.Equal(new[] { "extra.flashmoe.json", "flashmoe.json" }, additional.Select(a => a.File).OrderBy(f => f, StringComparer.Ordinal));
        Assert.Equal("true", additional.Single(a => a.File == "flashmoe.json").Item.GetProperty("KeptByUser").GetString());
        Assert.Equal("MSBuild:Compile", additional.Single(a => a.File == "extra.flashmoe.json").Item.GetProperty("Generator").GetString());

        var visible = root.GetProperty("Items").GetProperty("CompilerVisibleProperty").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()).ToList();
        Assert.Contains("FlashMoeNamespace", visible);
        Assert.Contains("RootNamespace", visible);

        // The target ran and checked exactly the two profile files.
        var check = root.GetProperty("TargetResults").GetProperty("FlashMoeCheckProfiles");
        Assert.Equal("Success", check.GetProperty("Result").GetString());
        Assert.Equal(new[] { "extra.flashmoe.json", "flashmoe.json" },
            check.GetProperty("Items").EnumerateArray().Select(i => Path.GetFileName(i.GetProperty("FullPath").GetString()!)).OrderBy(f => f, StringComparer.Ordinal));

        // With a second core the check was started early on a worker thread (the target then logged its result).
        var started = root.GetProperty("Properties").GetProperty("_FlashMoeStartedCheck").GetString();
        Assert.Equal(Environment.ProcessorCount >= 2, !string.IsNullOrEmpty(started));
        var inline = app.MSBuild("-t:Build", "-p:FlashMoeCheckEarly=false", "-getProperty:_FlashMoeStartedCheck", "-getTargetResult:FlashMoeCheckProfiles");
        BuildAssert.Succeeded(inline);
        using var inlineJson = JsonDocument.Parse(JsonPart(inline));
        Assert.Equal(string.Empty, inlineJson.RootElement.GetProperty("Properties").GetProperty("_FlashMoeStartedCheck").GetString());
        Assert.Equal("Success", inlineJson.RootElement.GetProperty("TargetResults").GetProperty("FlashMoeCheckProfiles").GetProperty("Result").GetString());

        // FlashMoeCheck=false turns it off.
        var off = app.MSBuild("-t:Build", "-p:FlashMoeCheck=false", "-getTargetResult:FlashMoeCheckProfiles");
        BuildAssert.Succeeded(off);
        using var offJson = JsonDocument.Parse(JsonPart(off));
        Assert.Equal("Skipped", offJson.RootElement.GetProperty("TargetResults").GetProperty("FlashMoeCheckProfiles").GetProperty("Result").GetString());
    }

    [Fact]
    public void SingleTarget_CopySchemaPutsTheShippedSchemaNextToTheProject()
    {
        var app = fixture.NewProject("Schema")
            .WriteProject("net10.0", "Exe", Package(""))
            .WriteFile("Program.cs", """Console.WriteLine("schema");""")
            .WriteFile("flashmoe.json", CleanProfiles);
        var copy = Path.Combine(app.Directory, "flashmoe.schema.json");

        BuildAssert.Succeeded(app.Build());
        Assert.False(File.Exists(copy), "copied without FlashMoeCopySchema=true");

        var build = app.Build("-p:FlashMoeCopySchema=true");
        BuildAssert.Succeeded(build);
        Assert.True(File.Exists(copy), build.ToString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(fixture.RepoRoot, "flashmoe.schema.json")), File.ReadAllBytes(copy));
    }

    [Fact]
    public void SingleTarget_GeneratedProfilesAreUsableFromProgram()
    {
        var app = fixture.NewProject("TypedProfiles")
            .WriteProject("net10.0", "Exe", Package(""))
            .WriteFile("flashmoe.json", CleanProfiles)
            .WriteFile("Program.cs", """
                using TypedProfiles;
                var laptop = FlashMoeProfiles.Laptop;
                Console.WriteLine($"profile={laptop.Name} ramGiB={laptop.Hardware.RamGiB} contextSize={laptop.Load.ContextSize} mmap={laptop.Load.Mmap} all={FlashMoeProfiles.All.Count()}");
                """);

        var build = app.Build();
        BuildAssert.Succeeded(build);
        BuildAssert.NoFlashMoeWarning(build);

        var run = app.RunBuilt("net10.0");
        BuildAssert.Succeeded(run);
        Assert.Contains("profile=Laptop ramGiB=16 contextSize=2048 mmap=Auto all=1", run.Output);
    }

    [Fact]
    public void SingleTarget_BadValueIsAnErrorAtItsJsonToken()
    {
        const string profiles = """
            {
              "profiles": {
                "Laptop": {
                  "hardware": { "ramGiB": 16 },
                  "model": { "sizeGiB": 0.5 },
                  "load": { "contextSize": -4096 }
                }
              }
            }
            """;
        var app = fixture.NewProject("BadValue")
            .WriteProject("net10.0", "Exe", Package(""))
            .WriteFile("Program.cs", """Console.WriteLine("bad value");""")
            .WriteFile("flashmoe.json", profiles);

        var build = app.Build();
        BuildAssert.Failed(build);
        var (line, column) = JsonPosition.Of(profiles, "\"contextSize\"", "-4096");
        BuildAssert.SingleAt(build, "FM0003", "error", "flashmoe.json", line, column);
    }

    [Fact]
    public void SingleTarget_GeneratorWarningObeysNoWarnAndWarningsAsErrors()
    {
        const string profiles = """
            {
              "profiles": {
                "Laptop": {
                  "hardware": { "ramGiB": 16 },
                  "model": { "sizeGiB": 0.5 },
                  "load": { "mmapp": true }
                }
              }
            }
            """;
        var app = fixture.NewProject("UnknownProperty")
            .WriteProject("net10.0", "Exe", Package(""))
            .WriteFile("Program.cs", """Console.WriteLine("unknown property");""")
            .WriteFile("flashmoe.json", profiles);
        var (line, column) = JsonPosition.Of(profiles, "\"load\"", "\"mmapp\"");

        var plain = app.Build();
        BuildAssert.Succeeded(plain);
        var warning = BuildAssert.SingleAt(plain, "FM0002", "warning", "flashmoe.json", line, column);
        Assert.Contains("mmap", warning.Message);

        // --no-incremental: the compiler only reports while it compiles, and NoWarn/WarningsAsErrors alone do not
        // make CoreCompile out of date, so an incremental build would pass without looking at the warning at all.
        var silenced = app.Build("--no-incremental", "-p:NoWarn=FM0002");
        BuildAssert.Succeeded(silenced);
        BuildAssert.NoDiagnostic(silenced, "FM0002");

        var promoted = app.Build("--no-incremental", "-p:WarningsAsErrors=FM0002");
        BuildAssert.Failed(promoted);
        BuildAssert.SingleAt(promoted, "FM0002", "error", "flashmoe.json", line, column);
    }

    /// <summary>
    /// The seed case: 128 GiB RAM beside a 16 GiB GPU, a 121 GiB MoE (declared: the file is not there at build time)
    /// with its experts on the CPU, mmap on. Core's rules give FM1002 here and not FM1001.
    /// </summary>
    private const string SeedProfiles = """
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
              "load": { "mmap": true, "gpuLayers": "all", "expertsOnCpu": true, "contextSize": 4096 }
            }
          }
        }
        """;

    [Fact]
    public void SingleTarget_BadMmapChoiceWarnsFM1002AtTheMmapToken_NoWarnSilences_WarningsAsErrorsFails()
    {
        var app = fixture.NewProject("BadMmap")
            .WriteProject("net10.0", "Exe", Package(""))
            .WriteFile("Program.cs", """Console.WriteLine("bad mmap");""")
            .WriteFile("flashmoe.json", SeedProfiles);
        var (line, column) = JsonPosition.Of(SeedProfiles, "\"mmap\"", "true");

        var plain = app.Build();
        BuildAssert.Succeeded(plain);
        BuildAssert.SingleAt(plain, "FM1002", "warning", "flashmoe.json", line, column);
        BuildAssert.NoDiagnostic(plain, "FM1001");
        Assert.True(File.Exists(Path.Combine(app.Directory, "obj", "Debug", "net10.0", "flashmoe.plan.json")), plain.ToString());
        // The plan picture of the profile, beside the plan file, from the packaged task.
        var picture = Path.Combine(app.Directory, "obj", "Debug", "net10.0", "flashmoe.plan.ArcWorkstation.svg");
        Assert.True(File.Exists(picture), plain.ToString());
        Assert.Contains("FM1002", System.Xml.Linq.XDocument.Load(picture).Root!.Value);

        var silenced = app.Build("--no-incremental", "-p:NoWarn=FM1002");
        BuildAssert.Succeeded(silenced);
        BuildAssert.NoDiagnostic(silenced, "FM1002");

        var promoted = app.Build("--no-incremental", "-p:WarningsAsErrors=FM1002");
        BuildAssert.Failed(promoted);
        BuildAssert.SingleAt(promoted, "FM1002", "error", "flashmoe.json", line, column);
    }

    // ---- (b) multi-target --------------------------------------------------------------------------------

    [Fact]
    public void MultiTarget_BuildsForNet8AndNet10_AndTheNet10BuildRuns()
    {
        var app = fixture.NewProject("MultiTarget")
            .WriteProject("net8.0;net10.0", "Exe", Package("""  <PropertyGroup><FlashMoeNamespace>Contoso.Inference</FlashMoeNamespace></PropertyGroup>"""))
            .WriteFile("flashmoe.json", CleanProfiles)
            .WriteFile("Program.cs", """
                using Contoso.Inference;
                Console.WriteLine($"{FlashMoeProfiles.Laptop.Name} on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
                """);

        var build = app.Build();
        BuildAssert.Succeeded(build);
        Assert.True(File.Exists(Path.Combine(app.Directory, "bin", "Debug", "net8.0", "MultiTarget.dll")), build.ToString());
        // This machine has only the .NET 10 runtime: the net10.0 build is the one that runs.
        var run = app.RunBuilt("net10.0");
        BuildAssert.Succeeded(run);
        Assert.Contains("Laptop on .NET 10", run.Output);
    }

    // ---- (c) transitive ----------------------------------------------------------------------------------

    [Fact]
    public void Transitive_AnAppReferencingOnlyALibraryGetsTheCheck()
    {
        var library = fixture.NewProject("InferenceLib")
            .WriteProject("net10.0", "Library", Package(""))
            .WriteFile("Engine.cs", """
                namespace InferenceLib;
                public static class Engine
                {
                    // Uses the package's lib/ assemblies, so the reference is a real one.
                    public static string Describe(FlashMoe.Profiles.FlashMoeProfile profile) => $"{profile.Name}: {profile.Hardware.RamGiB} GiB";
                }
                """);
        var app = fixture.NewProject("TransitiveApp")
            .WriteProject("net10.0", "Exe", $"""  <ItemGroup><ProjectReference Include="{library.ProjectPath}" /></ItemGroup>""")
            .WriteFile("Program.cs", """Console.WriteLine(typeof(FlashMoe.Profiles.FlashMoeProfile).Assembly.GetName().Name);""")
            .WriteFile("flashmoe.json", CleanProfiles);

        var build = app.MSBuild("-restore", "-t:Build", "-getTargetResult:FlashMoeCheckProfiles", "-getProperty:FlashMoeTasksAssembly");
        BuildAssert.Succeeded(build);
        using var json = JsonDocument.Parse(JsonPart(build));
        var root = json.RootElement;
        // buildTransitive brought the targets into the app, and the check ran there on the app's own profile file.
        Assert.StartsWith(fixture.RestoredPackageDirectory, root.GetProperty("Properties").GetProperty("FlashMoeTasksAssembly").GetString());
        var check = root.GetProperty("TargetResults").GetProperty("FlashMoeCheckProfiles");
        Assert.Equal("Success", check.GetProperty("Result").GetString());
        Assert.Equal(Path.Combine(app.Directory, "flashmoe.json"), check.GetProperty("Items").EnumerateArray().Single().GetProperty("FullPath").GetString());

        var run = app.RunBuilt("net10.0");
        BuildAssert.Succeeded(run);
        Assert.Contains("FlashMoe.Core", run.Output);
    }

    [Fact]
    public void Transitive_TheAppsProfileIsCheckedWithItsAdvice()
    {
        var library = fixture.NewProject("AdviceLib")
            .WriteProject("net10.0", "Library", Package(""))
            .WriteFile("Engine.cs", "namespace AdviceLib; public static class Engine { }");
        var app = fixture.NewProject("AdviceApp")
            .WriteProject("net10.0", "Exe", $"""  <ItemGroup><ProjectReference Include="{library.ProjectPath}" /></ItemGroup>""")
            .WriteFile("Program.cs", """Console.WriteLine("advice");""")
            .WriteFile("flashmoe.json", SeedProfiles);

        var build = app.Build();
        BuildAssert.Succeeded(build);
        var (line, column) = JsonPosition.Of(SeedProfiles, "\"mmap\"", "true");
        var warning = BuildAssert.SingleAt(build, "FM1002", "warning", "flashmoe.json", line, column);
        Assert.True(warning.File.StartsWith(app.Directory, StringComparison.Ordinal), $"warning in {warning.File}, not in the app's own file:\n{build}");
    }

    /// <summary>A csproj body with the direct package reference (plus <paramref name="extra"/>).</summary>
    private string Package(string extra) =>
        $"""  <ItemGroup><PackageReference Include="FlashMoe" Version="{fixture.Version}" /></ItemGroup>""" + "\n" + extra;

    /// <summary>`dotnet msbuild -getProperty/-getItem/-getTargetResult` prints JSON after any build output.</summary>
    private static string JsonPart(ProcessResult result)
    {
        var start = result.Output.IndexOf("{\n", StringComparison.Ordinal);
        if (start < 0) start = result.Output.IndexOf('{');
        Assert.True(start >= 0, "no JSON in:\n" + result);
        return result.Output[start..];
    }
}
