using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Package.Tests;

/// <summary>(d) `dotnet run` of a fresh app on the CPU backend: the packaged runtime loads a tiny synthetic model and generates.</summary>
[Collection(PackageCollection.Name)]
public sealed class RunScenarioTests(PackageFeedFixture fixture)
{
    [Fact]
    public void Run_ResolvesTheProfile_LoadsATinySyntheticModel_AndGenerates()
    {
        const string profiles = """
            {
              "profiles": {
                "Tiny": {
                  "hardware": { "ramGiB": 8, "storage": "ssd" },
                  "model": { "path": "tiny-moe.gguf" },
                  "load": { "mmap": "auto", "threads": "physical", "contextSize": 256, "batchSize": 64, "ubatchSize": 64 }
                }
              }
            }
            """;
        var app = fixture.NewProject("RunApp")
            .WriteProject("net10.0", "Exe", $"""
                  <ItemGroup>
                    <PackageReference Include="FlashMoe" Version="{fixture.Version}" />
                    <!-- The app chooses its backend, as LLamaSharp users do. -->
                    <PackageReference Include="LLamaSharp.Backend.Cpu" Version="0.30.0" />
                  </ItemGroup>
                """)
            .WriteFile("flashmoe.json", profiles)
            .WriteFile("Program.cs", """
                using FlashMoe.Gguf;
                using FlashMoe.Runtime;
                using LLama;
                using LLama.Common;
                using LLama.Sampling;
                using RunApp;

                // The README's quick start, as written there.
                var modelPath = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "tiny-moe.gguf");
                var model = GgufReader.ReadSummary(modelPath);
                var resolved = FlashMoeProfiles.Tiny.Resolve(HostInfo.Detect(modelPath), model);
                var parameters = resolved.ToModelParams(modelPath);
                Console.WriteLine($"resolved: mmap={resolved.Options.UseMmap} threads={resolved.Options.Threads} context={resolved.Options.ContextSize} loadMode={parameters.LoadMode}");

                using var loaded = await FlashMoeModel.LoadAsync(modelPath, resolved);
                using var context = loaded.CreateContext();
                var executor = new InteractiveExecutor(context);
                var generated = 0;
                var inference = new InferenceParams { MaxTokens = 8, SamplingPipeline = new GreedySamplingPipeline() };
                await foreach (var piece in executor.InferAsync("once upon a time", inference)) generated++;
                Console.WriteLine($"generated={generated} load={loaded.LoadTime.TotalSeconds:0.00}s loadMode={loaded.Buffers.LoadMode}");
                """);
        SyntheticModel.Write(SyntheticPresets.TinyMoe, Path.Combine(app.Directory, "tiny-moe.gguf"));

        var run = app.Run();
        BuildAssert.Succeeded(run);
        // LoadMode is always explicit: None (no mmap) or MemoryMap, never left to LLamaSharp's default by accident.
        Assert.Matches(@"resolved: (mmap=True threads=\d+ context=256 loadMode=MemoryMap|mmap=False threads=\d+ context=256 loadMode=None)", run.Output);
        var generated = Regex.Match(run.Output, @"generated=(\d+)");
        Assert.True(generated.Success && int.Parse(generated.Groups[1].Value, CultureInfo.InvariantCulture) > 0, run.ToString());
    }
}
