using System;
using System.IO;
using System.Runtime.CompilerServices;
using Snapshooter;
using Snapshooter.Xunit;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Generators.Tests;

/// <summary>Snapshots of the generated source (CI runs with SNAPSHOOTER_STRICT_MODE=true: a missing snapshot fails).</summary>
public class ProfileGeneratorSnapshotTests
{
    internal const string OneProfile = """
        {
          "$schema": "./flashmoe.schema.json",
          "profiles": {
            "ArcWorkstation": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12 },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ],
                "storage": "nvme"                    // nvme | ssd | hdd | network | unknown
              },
              "model": {
                "path": "models/DeepSeek-R1-UD-IQ1_S.gguf",   // relative to this file
                "sizeGiB": 130                                // used when the file is not there at build time
              },
              "load": {
                "mmap": "auto",
                "mlock": false,
                "gpuLayers": "auto",
                "expertsOnCpu": true,
                "tensorOverrides": [ { "pattern": "blk\\.[0-9]+\\.ffn_.*_exps", "device": "CPU" } ],
                "threads": "physical",
                "batchThreads": "physical",
                "contextSize": 4096,
                "batchSize": 2048,
                "ubatchSize": 512,
                "flashAttention": "auto",
                "kvCache": { "k": "f16", "v": "f16" },
                "repack": true,
              },
              "objective": "throughput"
            }
          }
        }
        """;

    internal const string SeveralProfiles = """
        {
          "profiles": {
            "Laptop": { "hardware": { "ramGiB": 32, "cpu": { "physicalCores": 8, "logicalCores": 16 } }, "model": { "sizeGiB": 12 } },
            "Server": {
              "hardware": { "ramGiB": 512, "gpus": [ { "name": "A", "vramGiB": 80, "backend": "cuda" }, { "name": "B", "vramGiB": 80, "backend": "cuda" } ] },
              "model": { "path": "models/big.gguf" },
              "load": { "mmap": false, "gpuLayers": "all" },
              "objective": "latency"
            },
            "Tiny": { "hardware": { "ramGiB": 4 }, "model": { "path": "tiny.gguf" }, "objective": "memory" }
          }
        }
        """;

    internal const string EveryValueForm = """
        {
          "profiles": {
            "Forms": {
              "description": "Every form: <auto> & \"quotes\", tabs\tand Ünïcode 名前",
              "hardware": {
                "ramGiB": 64.5, "reserveGiB": 4, "memoryBandwidthGBs": 83.25,
                "cpu": { "physicalCores": 8, "logicalCores": 16, "avx2": true, "avx512": false },
                "gpus": [ { "name": "Left", "vramGiB": 24, "backend": "cuda", "splitRatio": 3 },
                          { "vramGiB": 8, "backend": "rocm", "splitRatio": 1 } ],
                "storage": "hdd"
              },
              "model": { "path": "models\\win\\m.gguf", "sizeGiB": 30.25, "blockCount": 48, "expertCount": 128, "expertUsedCount": 8,
                         "expertFraction": 0.9, "weightType": "iq1_s", "architecture": "deepseek2" },
              "load": {
                "mmap": false, "mlock": true, "gpuLayers": 20, "expertsOnCpu": 12,
                "tensorOverrides": [ { "pattern": "\\.ffn_(up|down)_exps\\.", "device": "CPU" }, { "pattern": "^output\\.", "device": "Vulkan0" } ],
                "threads": 6, "batchThreads": "logical", "contextSize": 8192, "batchSize": 1024, "ubatchSize": 256,
                "flashAttention": true, "kvCache": { "k": "q8_0", "v": "q4_0" }, "repack": false, "kvOffload": false, "swaFull": false
              },
              "objective": "memory"
            },
            "Switches": {
              "hardware": { "ramGiB": 16 },
              "model": { "sizeGiB": 1 },
              "load": { "mmap": true, "gpuLayers": 0, "expertsOnCpu": false, "threads": "logical", "batchThreads": 3, "flashAttention": false }
            },
            "Defaults": { "hardware": { "ramGiB": 8 }, "model": { "path": "d.gguf" }, "load": {} }
          }
        }
        """;

    private static string SnapshotFolder
    {
        get
        {
            // Resolved from the repository, not from PDB paths, so deterministic/CI builds (mapped paths) find the same folder.
            return Path.Combine(RepoPaths.Root, "tests", "FlashMoe.Generators.Tests"); // Snapshooter appends __snapshots__
        }
    }

    private static void MatchSnapshot(string generated, [CallerMemberName] string test = "") =>
        Snapshot.Match(ScrubVersion(generated), new SnapshotFullName($"{nameof(ProfileGeneratorSnapshotTests)}.{test}.snap", SnapshotFolder));

    [Fact]
    public void One_profile()
    {
        var (result, _) = Run(OneProfile);
        Assert.Empty(result.Diagnostics);
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void Several_profiles()
    {
        var (result, _) = Run(SeveralProfiles);
        Assert.Empty(result.Diagnostics);
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void Several_files_are_merged_in_path_order()
    {
        var (result, _) = Run(new[]
        {
            new InMemoryAdditionalText("/app/profiles/servers.flashmoe.json", """{ "profiles": { "Server": { "hardware": { "ramGiB": 256 }, "model": { "sizeGiB": 100 } } } }"""),
            new InMemoryAdditionalText("/app/FlashMoe.JSON", """{ "profiles": { "Desk": { "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 20 } } } }"""),
            new InMemoryAdditionalText("/app/other.json", """{ "profiles": { "Ignored": {} } }"""),
        });
        Assert.Empty(result.Diagnostics);
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void Every_value_form()
    {
        var (result, _) = Run(EveryValueForm);
        Assert.Empty(result.Diagnostics);
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void Custom_namespace()
    {
        var (result, _) = Run(SeveralProfiles, buildProperties: Properties(("FlashMoeNamespace", "Contoso.Inference.Profiles"), ("RootNamespace", "Contoso.App")));
        Assert.Empty(result.Diagnostics);
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void Root_namespace_is_the_default_and_a_fallback_exists()
    {
        var (withRoot, _) = Run(SeveralProfiles, buildProperties: Properties(("RootNamespace", "Contoso.App"), ("FlashMoeNamespace", "  ")));
        Assert.Contains("namespace Contoso.App\n", GeneratedSource(withRoot), StringComparison.Ordinal);
        var (withNothing, _) = Run(SeveralProfiles);
        Assert.Contains("namespace FlashMoe.Generated\n", GeneratedSource(withNothing), StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_with_only_invalid_profiles_still_generates_the_class_with_an_empty_All()
    {
        var (result, _) = Run("""{ "profiles": { "Bad": { "hardware": { "ramGiB": -1 }, "model": { "sizeGiB": 1 } } } }""");
        Assert.Contains(result.Diagnostics, d => d.Id == "FM0003");
        MatchSnapshot(GeneratedSource(result));
    }

    [Fact]
    public void No_profile_file_generates_nothing()
    {
        var (result, _) = Run(new[] { new InMemoryAdditionalText("/app/appsettings.json", "{}") });
        Assert.Empty(result.GeneratedSources);
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Output_is_deterministic()
    {
        var first = GeneratedSource(Run(EveryValueForm).Result);
        var second = GeneratedSource(Run(EveryValueForm).Result);
        Assert.Equal(first, second);
        Assert.StartsWith("// <auto-generated/>\n#nullable enable\n", first, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", first, StringComparison.Ordinal);
        Assert.Contains($"GeneratedCode(\"FlashMoe.Generators\", \"{typeof(FlashMoeProfileGenerator).Assembly.GetName().Version}\")", first, StringComparison.Ordinal);
    }
}
