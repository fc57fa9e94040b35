using System;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

public class ProfileParserTests
{
    /// <summary>The format as the README shows it (comments, trailing commas).</summary>
    internal const string ReadmeExample = """
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
                "mmap": "auto",                      // true | false | "auto"
                "mlock": false,
                "gpuLayers": "auto",                 // integer | "all" | "auto"
                "expertsOnCpu": true,                // true | false | integer
                "tensorOverrides": [ { "pattern": "blk\\.[0-9]+\\.ffn_.*_exps", "device": "CPU" } ],
                "threads": "physical",               // integer | "physical" | "logical"
                "batchThreads": "physical",
                "contextSize": 4096,
                "batchSize": 2048,
                "ubatchSize": 512,
                "flashAttention": "auto",            // true | false | "auto"
                "kvCache": { "k": "f16", "v": "f16" },
                "repack": true,
              },
              "objective": "throughput"              // throughput | latency | memory
            }
          }
        }
        """;

    private static ProfileDocument Parse(string text) => ProfileParser.Parse("/p/flashmoe.json", text);

    /// <summary>A minimal valid profile with <paramref name="load"/> as its load object and optional extra hardware members.</summary>
    private static string WithLoad(string load, string hardwareExtra = "") => $$"""
        {
          "profiles": {
            "P": {
              "hardware": { "ramGiB": 64{{hardwareExtra}} },
              "model": { "sizeGiB": 20 },
              "load": {{load}}
            }
          }
        }
        """;

    private static FlashMoeDiagnostic Single(ProfileDocument document, string id)
    {
        var matching = document.Diagnostics.Where(d => d.Id == id).ToArray();
        Assert.True(matching.Length == 1, $"expected one {id}, got: {string.Join(" | ", document.Diagnostics)}");
        return matching[0];
    }

    [Fact]
    public void The_issue_example_parses_into_the_expected_profile()
    {
        var document = Parse(ReadmeExample);
        Assert.Empty(document.Diagnostics);
        var parsed = Assert.Single(document.Profiles);
        var expected = new FlashMoeProfile(
            "ArcWorkstation",
            new HardwareSpec(128, null, new CpuSpec(6, 12), EquatableArray.Create(new GpuSpec("Arc A770", 16, GpuBackend.Vulkan)), StorageKind.Nvme),
            new ModelSpec("models/DeepSeek-R1-UD-IQ1_S.gguf", 130),
            LoadOptions.Default with
            {
                ExpertsOnCpu = ExpertsOnCpu.All,
                TensorOverrides = EquatableArray.Create(new TensorOverride(@"blk\.[0-9]+\.ffn_.*_exps", "CPU")),
                UBatchSize = 512, // written out in the example; omitted means "auto"
                KvCache = KvCacheSpec.Default,
            },
            Objective.Throughput);
        Assert.Equal(expected, parsed.Profile);
    }

    [Fact]
    public void Omitted_values_take_the_core_defaults()
    {
        var document = Parse("""{ "profiles": { "Small": { "hardware": { "ramGiB": 8 }, "model": { "path": "m.gguf" } } } }""");
        Assert.Empty(document.Diagnostics);
        var profile = Assert.Single(document.Profiles).Profile;
        Assert.Equal(LoadOptions.Default, profile.Load);
        Assert.Equal(CpuSpec.Unknown, profile.Hardware.Cpu);
        Assert.Empty(profile.Hardware.Gpus);
        Assert.Equal(StorageKind.Unknown, profile.Hardware.Storage);
        Assert.Equal(Objective.Throughput, profile.Objective);
        Assert.Null(profile.Description);
        Assert.Equal(new ModelSpec("m.gguf", null), profile.Model);
    }

    [Fact]
    public void Every_value_form_is_read()
    {
        var document = Parse("""
            { "profiles": {
              "A": { "description": "forms", "hardware": { "ramGiB": 64.5, "reserveGiB": 4, "memoryBandwidthGBs": 80,
                       "cpu": { "physicalCores": 8, "logicalCores": 16, "avx2": true, "avx512": false },
                       "gpus": [ { "vramGiB": 24, "backend": "cuda", "splitRatio": 3 }, { "name": "B", "vramGiB": 8, "backend": "rocm", "splitRatio": 1 } ],
                       "storage": "hdd" },
                     "model": { "path": null, "sizeGiB": 30.25, "blockCount": 48, "expertCount": 128, "expertUsedCount": 8,
                       "expertFraction": 0.9, "weightType": "iq1_s" },
                     "load": { "mmap": false, "mlock": true, "gpuLayers": 20, "expertsOnCpu": 12, "threads": 6, "batchThreads": "logical",
                       "contextSize": 8192, "batchSize": 1024, "ubatchSize": 256, "flashAttention": true,
                       "kvCache": { "k": "q8_0", "v": "q4_0" }, "repack": false, "kvOffload": false },
                     "objective": "memory" },
              "B": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 },
                     "load": { "mmap": true, "gpuLayers": "all", "expertsOnCpu": 0, "threads": "logical", "flashAttention": "auto",
                       "ubatchSize": "auto", "kvCache": "auto" } },
              "C": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 }, "load": { "gpuLayers": 0, "expertsOnCpu": false } }
            } }
            """);
        Assert.Empty(document.Diagnostics);
        var a = document.Profiles[0].Profile;
        Assert.Equal("forms", a.Description);
        Assert.Equal(new HardwareSpec(64.5, 4, new CpuSpec(8, 16, true, false),
            EquatableArray.Create(new GpuSpec("", 24, GpuBackend.Cuda, 3), new GpuSpec("B", 8, GpuBackend.Rocm, 1)), StorageKind.Hdd, 80), a.Hardware);
        Assert.Equal(new ModelSpec(null, 30.25, 48, 128, 8, 0.9, GgmlType.IQ1_S), a.Model);
        Assert.Equal(new LoadOptions(AutoSwitch.Off, true, GpuLayers.Of(20), ExpertsOnCpu.FirstLayers(12), EquatableArray<TensorOverride>.Empty,
            ThreadCount.Fixed(6), ThreadCount.Logical, 8192, 1024, 256, AutoSwitch.On, new KvCacheSpec(KvCacheType.Q8_0, KvCacheType.Q4_0), false, false), a.Load);
        Assert.Equal(Objective.Memory, a.Objective);

        var b = document.Profiles[1].Profile.Load;
        Assert.Equal((AutoSwitch.On, GpuLayers.All, ExpertsOnCpu.None, ThreadCount.Logical, AutoSwitch.Auto),
            (b.Mmap, b.GpuLayers, b.ExpertsOnCpu, b.Threads, b.FlashAttention));
        Assert.Equal((LoadOptions.AutoUBatchSize, (KvCacheSpec?)null), (b.UBatchSize, b.KvCache));
        var c = document.Profiles[2].Profile.Load;
        Assert.Equal((GpuLayers.Of(0), ExpertsOnCpu.None), (c.GpuLayers, c.ExpertsOnCpu));
    }

    [Fact]
    public void Locations_are_recorded_for_every_written_property_path()
    {
        var document = Parse(ReadmeExample);
        var locations = Assert.Single(document.Profiles).Locations;
        var lines = ReadmeExample.Split('\n');

        void AssertAt(string path, string token, int occurrence = 0)
        {
            var location = locations.Find(path);
            Assert.True(locations.IsWritten(path), path + " should be recorded");
            Assert.Equal("/p/flashmoe.json", location.Path);
            Assert.Equal(token, ReadmeExample.Substring(location.Offset, location.Length));
            var line = lines[location.Line - 1];
            var index = -1;
            for (var i = 0; i <= occurrence; i++) index = line.IndexOf(token, index + 1, StringComparison.Ordinal);
            Assert.Equal(index + 1, location.Column);
        }

        AssertAt("load.mmap", "\"auto\"");
        AssertAt("load.gpuLayers", "\"auto\"");
        AssertAt("hardware.gpus[0].vramGiB", "16");
        AssertAt("hardware.gpus[0].backend", "\"vulkan\"");
        AssertAt("model.path", "\"models/DeepSeek-R1-UD-IQ1_S.gguf\"");
        AssertAt("load.kvCache.v", "\"f16\"", occurrence: 1);
        AssertAt("load.tensorOverrides[0].pattern", "\"blk\\\\.[0-9]+\\\\.ffn_.*_exps\"");
        AssertAt("hardware.cpu.logicalCores", "12");
        Assert.Equal(4, locations.Profile.Line);
        Assert.Equal(5, locations.Profile.Column);
        Assert.Equal("\"ArcWorkstation\"", ReadmeExample.Substring(locations.Profile.Offset, locations.Profile.Length));

        // Not written: the nearest written parent.
        Assert.False(locations.IsWritten("load.kvOffload"));
        Assert.Equal(locations.Find("load"), locations.Find("load.kvOffload"));
        Assert.Equal(locations.Profile, locations.Find("nothing.here"));
    }

    [Fact]
    public void Locations_of_the_second_array_element_use_its_index()
    {
        var text = WithLoad("{ \"tensorOverrides\": [ { \"pattern\": \"a\", \"device\": \"CPU\" },\n  { \"pattern\": \"b\", \"device\": \"Vulkan0\" } ] }");
        var locations = Assert.Single(Parse(text).Profiles).Locations;
        var location = locations.Find("load.tensorOverrides[1].pattern");
        Assert.Equal("\"b\"", text.Substring(location.Offset, location.Length));
        Assert.True(locations.IsWritten("load.tensorOverrides[1]"));
    }

    [Fact]
    public void Unknown_property_suggests_the_closest_name_and_keeps_the_profile()
    {
        var document = Parse(WithLoad("""{ "mmpa": false, "gpu_layers": 3, "zzzzzzzz": 1 }"""));
        Assert.Single(document.Profiles); // a warning does not exclude the profile
        var messages = document.Diagnostics.Where(d => d.Id == "FM0002").Select(d => d.Message).ToArray();
        Assert.Equal(3, messages.Length);
        Assert.Contains("Did you mean 'mmap'?", messages[0], StringComparison.Ordinal);
        Assert.Contains("Did you mean 'gpuLayers'?", messages[1], StringComparison.Ordinal);
        Assert.Contains("Known properties: mmap, mlock", messages[2], StringComparison.Ordinal);
        Assert.Equal(FlashMoeSeverity.Warning, document.Diagnostics[0].Severity);
    }

    [Fact]
    public void Case_mistakes_are_suggested()
    {
        Assert.Equal("ramGiB", ProfileParser.ClosestName("RAMGIB", ProfileSchema.Hardware));
        Assert.Equal("vramGiB", ProfileParser.ClosestName("vram", ProfileSchema.Gpu));
        Assert.Null(ProfileParser.ClosestName(new string('x', 100_000), ProfileSchema.Load));
    }

    [Theory]
    [InlineData("""{ "mmap": "yes" }""", "load.mmap", "expected true, false or \"auto\", found the string \"yes\"")]
    [InlineData("""{ "threads": 0 }""", "load.threads", "between 1 and 65536, found 0")]
    [InlineData("""{ "threads": "all" }""", "load.threads", "\"physical\" or \"logical\"")]
    [InlineData("""{ "contextSize": 0 }""", "load.contextSize", "between 1 and")]
    [InlineData("""{ "contextSize": 4096.5 }""", "load.contextSize", "whole number")]
    [InlineData("""{ "contextSize": "4096" }""", "load.contextSize", "expected an integer, found the string \"4096\"")]
    [InlineData("""{ "batchSize": 1e300 }""", "load.batchSize", "out of range")]
    [InlineData("""{ "gpuLayers": -1 }""", "load.gpuLayers", "between 0 and")]
    [InlineData("""{ "gpuLayers": "max" }""", "load.gpuLayers", "\"all\" or \"auto\"")]
    [InlineData("""{ "expertsOnCpu": "auto" }""", "load.expertsOnCpu", "true, false or a layer count")]
    [InlineData("""{ "kvCache": { "k": "Q8_0" } }""", "load.kvCache.k", "values are lower case: \"q8_0\"")]
    [InlineData("""{ "kvCache": { "v": "q6_k" } }""", "load.kvCache.v", "unknown value \"q6_k\"")]
    [InlineData("""{ "kvCache": "f16" }""", "load.kvCache", "expected \"auto\" or an object")]
    [InlineData("""{ "tensorOverrides": [ { "pattern": "", "device": "CPU" } ] }""", "load.tensorOverrides[0].pattern", "must not be empty")]
    [InlineData("""{ "tensorOverrides": [ 3 ] }""", "load.tensorOverrides[0]", "expected an object")]
    [InlineData("""{ "mlock": null }""", "load.mlock", "expected true or false, found null")]
    public void Wrong_types_and_ranges_are_FM0003_at_the_value(string load, string path, string messagePart)
    {
        var text = WithLoad(load);
        var document = Parse(text);
        Assert.Empty(document.Profiles);
        var diagnostic = Single(document, "FM0003");
        Assert.StartsWith("'" + path + "': ", diagnostic.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal(6, diagnostic.Location!.Value.Line); // the "load" line of WithLoad's text
    }

    [Theory]
    [InlineData("\"ramGiB\": -4", "hardware.ramGiB", "greater than 0")]
    [InlineData("\"ramGiB\": 2000000", "hardware.ramGiB", "at most 1048576 GiB")]
    [InlineData("\"ramGiB\": 64, \"storage\": \"NVMe\"", "hardware.storage", "lower case: \"nvme\"")]
    [InlineData("\"ramGiB\": 64, \"gpus\": [ { \"vramGiB\": 0, \"backend\": \"vulkan\" } ]", "hardware.gpus[0].vramGiB", "greater than 0")]
    [InlineData("\"ramGiB\": 64, \"gpus\": [ { \"vramGiB\": 8, \"backend\": \"opencl\" } ]", "hardware.gpus[0].backend", "\"vulkan\", \"cuda\"")]
    [InlineData("\"ramGiB\": 64, \"cpu\": { \"physicalCores\": 0 }", "hardware.cpu.physicalCores", "between 1 and")]
    [InlineData("\"ramGiB\": 64, \"gpus\": {}", "hardware.gpus", "expected an array")]
    public void Hardware_values_are_checked(string hardware, string path, string messagePart)
    {
        var document = Parse($$"""{ "profiles": { "P": { "hardware": { {{hardware}} }, "model": { "sizeGiB": 1 } } } }""");
        Assert.Empty(document.Profiles);
        var diagnostic = Single(document, "FM0003");
        Assert.StartsWith("'" + path + "'", diagnostic.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "profiles": { "P": { "model": { "sizeGiB": 1 } } } }""", "no \"hardware\" object")]
    [InlineData("""{ "profiles": { "P": { "hardware": {}, "model": { "sizeGiB": 1 } } } }""", "\"hardware.ramGiB\" is required")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 } } } }""", "no \"model\" object")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 }, "model": {} } } }""", "needs \"path\"")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 }, "model": { "path": null } } } }""", "needs \"path\"")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1, "gpus": [ { "backend": "cuda" } ] }, "model": { "sizeGiB": 1 } } } }""", "vramGiB\" is required")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1, "gpus": [ { "vramGiB": 8 } ] }, "model": { "sizeGiB": 1 } } } }""", "backend\" is required")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 }, "load": { "tensorOverrides": [ { "device": "CPU" } ] } } } }""", "pattern\" is required")]
    [InlineData("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 }, "load": { "tensorOverrides": [ { "pattern": "x" } ] } } } }""", "device\" is required")]
    [InlineData("""{ "$schema": "x" }""", "no \"profiles\" object")]
    public void Missing_required_values_are_FM0005(string text, string messagePart)
    {
        var document = Parse(text);
        Assert.Empty(document.Profiles);
        Assert.Contains(messagePart, Single(document, "FM0005").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rejected_model_size_is_not_also_reported_as_missing()
    {
        var document = Parse("""{ "profiles": { "P": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": -1 } } } }""");
        Assert.Equal(new[] { "FM0003" }, document.Diagnostics.Select(d => d.Id));
    }

    [Theory]
    [InlineData("class", "C# keyword")]
    [InlineData("9lives", "not a valid C# identifier")]
    [InlineData("my-profile", "not a valid C# identifier")]
    [InlineData("", "is empty")]
    [InlineData("All", "reserved")]
    [InlineData("ToString", "reserved")]
    [InlineData("FlashMoeProfiles", "reserved")]
    public void Profile_names_must_be_valid_csharp_identifiers(string name, string messagePart)
    {
        var document = Parse($$"""{ "profiles": { "{{name}}": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 } } } }""");
        Assert.Empty(document.Profiles);
        var diagnostic = Single(document, "FM0004");
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal(17, diagnostic.Location!.Value.Column); // the opening quote of the name
    }

    [Theory]
    [InlineData("Ünïcode_名前")]
    [InlineData("_x")]
    [InlineData("var")] // contextual keywords are fine
    [InlineData("record")]
    public void Unicode_and_contextual_keyword_names_are_accepted(string name)
    {
        var document = Parse($$"""{ "profiles": { "{{name}}": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 } } } }""");
        Assert.Empty(document.Diagnostics);
        Assert.Equal(name, Assert.Single(document.Profiles).Profile.Name);
    }

    [Fact]
    public void A_duplicate_profile_name_is_FM0004_at_the_second_and_only_the_first_is_kept()
    {
        var document = Parse("""
            { "profiles": {
              "P": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 } },
              "P": { "hardware": { "ramGiB": 2 }, "model": { "sizeGiB": 1 } }
            } }
            """);
        var diagnostic = Single(document, "FM0004");
        Assert.Equal(3, diagnostic.Location!.Value.Line);
        Assert.Contains("declared twice (first at line 2)", diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(document.Profiles).Profile.Hardware.RamGiB);
    }

    [Fact]
    public void A_duplicate_property_is_FM0009_at_the_second_name()
    {
        var document = Parse(WithLoad("{ \"mmap\": true,\n  \"mmap\": false }"));
        var diagnostic = Single(document, "FM0009");
        Assert.Contains("'mmap' is written twice in 'load' (first at line 6)", diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal(7, diagnostic.Location!.Value.Line);
        Assert.Empty(document.Profiles);
    }

    [Theory]
    [InlineData("""{ "ubatchSize": 4096 }""", "ubatchSize 4096 is larger than batchSize 2048")]
    [InlineData("""{ "batchSize": 256, "ubatchSize": 512 }""", "ubatchSize 512 is larger than batchSize 256")]
    [InlineData("""{ "contextSize": 1024, "batchSize": 2048, "ubatchSize": 256 }""", "batchSize 2048 is larger than contextSize 1024")]
    [InlineData("""{ "batchSize": 8192 }""", "batchSize 8192 is larger than contextSize 4096")]
    public void Inconsistent_written_batch_sizes_are_FM0006(string load, string messagePart)
    {
        var document = Parse(WithLoad(load));
        Assert.Contains(messagePart, Single(document, "FM0006").Message, StringComparison.Ordinal);
        Assert.Empty(document.Profiles);
    }

    [Theory]
    [InlineData("""{ "batchSize": 256 }""")] // default ubatch 512 is clamped by llama.cpp: not the user's mistake
    [InlineData("""{ "contextSize": 512 }""")] // default batch 2048 is clamped to n_ctx
    [InlineData("""{ "contextSize": 512, "batchSize": 512, "ubatchSize": 512 }""")]
    public void Batch_sizes_that_only_meet_a_default_are_clean(string load)
    {
        Assert.Empty(Parse(WithLoad(load)).Diagnostics);
    }

    [Theory]
    [InlineData("""{ "flashAttention": false, "kvCache": { "v": "q8_0" } }""", true)]
    [InlineData("""{ "flashAttention": false, "kvCache": { "v": "iq4_nl" } }""", true)]
    [InlineData("""{ "flashAttention": "auto", "kvCache": { "v": "q8_0" } }""", false)]
    [InlineData("""{ "flashAttention": true, "kvCache": { "v": "q4_0" } }""", false)]
    [InlineData("""{ "flashAttention": false, "kvCache": { "k": "q8_0", "v": "bf16" } }""", false)]
    public void Quantized_v_cache_without_flash_attention_is_FM0007(string load, bool expected)
    {
        var document = Parse(WithLoad(load));
        Assert.Equal(expected, document.Diagnostics.Any(d => d.Id == "FM0007"));
        Assert.Equal(expected, document.Profiles.Count == 0);
    }

    [Theory]
    [InlineData("""{ "threads": 16 }""", ", \"cpu\": { \"physicalCores\": 6, \"logicalCores\": 12 }", "12 logical cores")]
    [InlineData("""{ "threads": 8 }""", ", \"cpu\": { \"physicalCores\": 6, \"logicalCores\": 12 }", "more than the 6 physical cores")]
    [InlineData("""{ "threads": 8 }""", ", \"cpu\": { \"physicalCores\": 6 }", "more than the 6 physical cores")]
    [InlineData("""{ "threads": "logical" }""", ", \"cpu\": { \"physicalCores\": 6, \"logicalCores\": 12 }", "\"logical\" (12 threads on 6 physical cores)")]
    [InlineData("""{ "batchThreads": 13 }""", ", \"cpu\": { \"logicalCores\": 12 }", "batchThreads is 13")]
    public void Too_many_threads_is_FM0008_warning(string load, string hardware, string messagePart)
    {
        var document = Parse(WithLoad(load, hardware));
        var diagnostic = Single(document, "FM0008");
        Assert.Equal(FlashMoeSeverity.Warning, diagnostic.Severity);
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
        Assert.Single(document.Profiles);
    }

    [Theory]
    [InlineData("""{ "threads": 6, "batchThreads": 12 }""", ", \"cpu\": { \"physicalCores\": 6, \"logicalCores\": 12 }")]
    [InlineData("""{ "threads": 64 }""", "")] // no cores declared: nothing to compare with
    [InlineData("""{ "threads": "logical" }""", ", \"cpu\": { \"physicalCores\": 8, \"logicalCores\": 8 }")]
    public void Threads_within_the_declared_cores_are_clean(string load, string hardware)
    {
        Assert.Empty(Parse(WithLoad(load, hardware)).Diagnostics);
    }

    [Theory]
    [InlineData("(unclosed", "not a valid regular expression")]
    [InlineData("blk\\\\.(?<=x)", "'(?<' is not supported")]
    [InlineData("(?i)ffn", "'(?i' is not supported")]
    [InlineData("\\\\p{L}", "'\\p' is a .NET/PCRE escape")]
    public void Invalid_tensor_patterns_are_FM0010(string pattern, string messagePart)
    {
        var document = Parse(WithLoad($$"""{ "tensorOverrides": [ { "pattern": "{{pattern}}", "device": "CPU" } ] }"""));
        var diagnostic = Single(document, "FM0010");
        Assert.StartsWith("'load.tensorOverrides[0].pattern'", diagnostic.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("blk\\\\.[0-9]+\\\\.ffn_(up|down|gate)_exps")]
    [InlineData("[(?<]x")] // inside a class, '(' is literal
    [InlineData("\\\\(?<x")] // an escaped '(' starts no group
    [InlineData("(?:a|b)(?!c)")]
    public void Valid_ecmascript_patterns_are_clean(string pattern)
    {
        Assert.Empty(Parse(WithLoad($$"""{ "tensorOverrides": [ { "pattern": "{{pattern}}", "device": "CPU" } ] }""")).Diagnostics);
    }

    [Theory]
    [InlineData("\"reserveGiB\": 64", "reserveGiB (64 GiB) must be smaller than hardware.ramGiB (64 GiB)")]
    [InlineData("\"cpu\": { \"physicalCores\": 16, \"logicalCores\": 8 }", "physicalCores (16) cannot exceed")]
    [InlineData("\"gpus\": [ { \"vramGiB\": 8, \"backend\": \"cuda\", \"splitRatio\": 1 }, { \"vramGiB\": 8, \"backend\": \"cuda\" } ]", "splitRatio is given for 1 of 2 GPUs")]
    public void Contradictory_hardware_is_FM0011(string hardware, string messagePart)
    {
        var document = Parse($$"""{ "profiles": { "P": { "hardware": { "ramGiB": 64, {{hardware}} }, "model": { "sizeGiB": 1 } } } }""");
        Assert.Contains(messagePart, Single(document, "FM0011").Message, StringComparison.Ordinal);
        Assert.Empty(document.Profiles);
    }

    [Theory]
    [InlineData("\"expertCount\": 8, \"expertUsedCount\": 9", "expertUsedCount (9) cannot exceed model.expertCount (8)")]
    [InlineData("\"expertCount\": 0, \"expertFraction\": 0.5", "dense model")]
    public void Contradictory_model_facts_are_FM0011(string model, string messagePart)
    {
        var document = Parse($$"""{ "profiles": { "P": { "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 1, {{model}} } } } }""");
        Assert.Contains(messagePart, Single(document, "FM0011").Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"blockCount\": 513", "model.blockCount", "between 1 and 512, found 513")]
    [InlineData("\"expertCount\": 513", "model.expertCount", "between 0 and 512, found 513")]
    [InlineData("\"expertCount\": 8, \"expertUsedCount\": 513", "model.expertUsedCount", "between 1 and 512, found 513")]
    [InlineData("\"blockCount\": 65536", "model.blockCount", "between 1 and 512")]
    [InlineData("\"path\": \"models/a\\u0007b.gguf\"", "model.path", "control character U+0007")]
    [InlineData("\"path\": \"models/a\\nb.gguf\"", "model.path", "control character U+000A")]
    [InlineData("\"path\": \"models/a\\u0000b.gguf\"", "model.path", "control character U+0000")]
    public void Model_facts_past_llama_cpp_limits_and_unusable_paths_are_FM0003(string model, string path, string messagePart)
    {
        var document = Parse($$"""{ "profiles": { "P": { "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 1, {{model}} } } } }""");
        var diagnostic = Single(document, "FM0003");
        Assert.StartsWith("'" + path + "': ", diagnostic.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, diagnostic.Message, StringComparison.Ordinal);
        Assert.Empty(document.Profiles);
    }

    [Fact]
    public void Model_facts_at_llama_cpp_limits_and_unusual_but_valid_paths_stay_clean()
    {
        var document = Parse("""
            { "profiles": { "P": { "hardware": { "ramGiB": 64 },
              "model": { "path": "models/a|b <c> ü.gguf", "blockCount": 512, "expertCount": 512, "expertUsedCount": 512 } } } }
            """);
        Assert.Empty(document.Diagnostics);
        var model = Assert.Single(document.Profiles).Profile.Model;
        Assert.Equal((512, 512, 512), (model.BlockCount, model.ExpertCount, model.ExpertUsedCount));
    }

    [Fact]
    public void A_cpu_repack_override_is_FM0012_warning()
    {
        var document = Parse(WithLoad("""{ "tensorOverrides": [ { "pattern": "exps", "device": "CPU_REPACK" } ] }"""));
        var diagnostic = Single(document, "FM0012");
        Assert.Equal(FlashMoeSeverity.Warning, diagnostic.Severity);
        Assert.Single(document.Profiles);
    }

    [Fact]
    public void Invalid_json_is_FM0001_at_the_first_bad_token_and_yields_no_profiles()
    {
        var document = Parse("{\n  \"profiles\": {\n    \"P\": { \"hardware\": { \"ramGiB\": 64 } \"model\": {} }\n  }\n}");
        var diagnostic = Assert.Single(document.Diagnostics);
        Assert.Equal("FM0001", diagnostic.Id);
        Assert.Equal((3, 41), (diagnostic.Location!.Value.Line, diagnostic.Location!.Value.Column));
        Assert.Empty(document.Profiles);
    }

    [Fact]
    public void A_profile_with_an_error_is_left_out_while_its_neighbours_stay()
    {
        var document = Parse("""
            { "profiles": {
              "Good": { "hardware": { "ramGiB": 1 }, "model": { "sizeGiB": 1 } },
              "Bad": { "hardware": { "ramGiB": "lots" }, "model": { "sizeGiB": 1 } },
              "AlsoGood": { "hardware": { "ramGiB": 2 }, "model": { "sizeGiB": 1 } }
            } }
            """);
        Assert.Equal(new[] { "Good", "AlsoGood" }, document.Profiles.Select(p => p.Profile.Name));
        Assert.Equal(3, Single(document, "FM0003").Location!.Value.Line);
    }

    [Fact]
    public void Diagnostics_come_in_document_order()
    {
        var document = Parse("""
            { "profiles": { "P": {
              "load": { "zz": 1, "mmap": 3 },
              "hardware": { "ramGiB": -1 },
              "model": { "sizeGiB": 1 }
            } } }
            """);
        var offsets = document.Diagnostics.Select(d => d.Location!.Value.Offset).ToArray();
        Assert.Equal(offsets.OrderBy(o => o), offsets);
        Assert.Equal(new[] { "FM0002", "FM0003", "FM0003" }, document.Diagnostics.Select(d => d.Id));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("""{ "profiles": [] }""")]
    [InlineData("""{ "profiles": { "P": 3 } }""")]
    [InlineData("""{ "profiles": { "P": { "hardware": [], "model": "x", "load": 1 } } }""")]
    public void Wrong_shapes_are_FM0003_not_crashes(string text)
    {
        var document = Parse(text);
        Assert.Contains(document.Diagnostics, d => d.Id == "FM0003");
        Assert.Empty(document.Profiles);
    }

    [Fact]
    public void Empty_profiles_object_is_clean()
    {
        var document = Parse("""{ "profiles": {} }""");
        Assert.Empty(document.Diagnostics);
        Assert.Empty(document.Profiles);
    }

    [Fact]
    public void Parsing_the_same_text_twice_gives_equal_documents()
    {
        // The generator caches on this equality.
        Assert.Equal(Parse(ReadmeExample), Parse(ReadmeExample));
        Assert.Equal(Parse(ReadmeExample).GetHashCode(), Parse(ReadmeExample).GetHashCode());
        Assert.NotEqual(Parse(ReadmeExample), Parse(ReadmeExample.Replace("\"ramGiB\": 128", "\"ramGiB\": 96")));
    }

    [Fact]
    public void Diagnostics_per_file_are_capped_and_errors_past_the_cap_still_exclude_the_profile()
    {
        var unknown = string.Join(", ", Enumerable.Range(0, 20_000).Select(i => $"\"unknown{i}\": {i}"));
        var document = Parse(WithLoad("{ " + unknown + ", \"mmap\": 7 }"));
        Assert.Equal(ProfileParser.MaxDiagnosticsPerFile, document.Diagnostics.Count);
        Assert.All(document.Diagnostics, d => Assert.Equal("FM0002", d.Id));
        Assert.Empty(document.Profiles); // the FM0003 for mmap was not listed, but it still counts
    }

    [Fact]
    public void Garbage_never_throws()
    {
        var random = new Random(99);
        var fragments = new[]
        {
            "{", "}", "[", "]", ",", ":", "\"profiles\"", "\"P\"", "\"hardware\"", "\"ramGiB\"", "\"load\"", "\"model\"", "\"sizeGiB\"",
            "\"gpus\"", "\"tensorOverrides\"", "\"pattern\"", "\"(\"", "1", "-1", "1e999", "0.5", "true", "null", "\"auto\"", " ", "\n",
            "//c\n", "/*", "\"kvCache\"", "\"v\"", "\"q8_0\"", "\"threads\"", "\"cpu\"", "\"logicalCores\"",
        };
        for (var i = 0; i < 2000; i++)
        {
            var builder = new StringBuilder();
            var count = random.Next(1, 80);
            for (var j = 0; j < count; j++) builder.Append(fragments[random.Next(fragments.Length)]);
            var document = ProfileParser.Parse("g.json", builder.ToString());
            Assert.DoesNotContain(document.Diagnostics, d => d.Id == "FM0099");
        }
        var bytes = new byte[8192];
        random.NextBytes(bytes);
        Assert.Equal("FM0001", ProfileParser.Parse("b.json", Encoding.Latin1.GetString(bytes)).Diagnostics[0].Id);
        Assert.Equal("FM0001", ProfileParser.Parse("d.json", new string('[', 200_000)).Diagnostics[0].Id);
        var huge = ProfileParser.Parse("h.json", WithLoad("{ \"contextSize\": 1" + new string('0', 100_000) + " }"));
        Assert.Equal("FM0003", Assert.Single(huge.Diagnostics).Id);
    }
}
