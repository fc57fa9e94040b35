using System;
using FlashMoe.Gguf;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>ProfileWriter's output reads back through ProfileParser to equal profiles, with no diagnostics, for every value form.</summary>
public sealed class ProfileWriterTests
{
    [Fact]
    public void Every_value_form_round_trips()
    {
        var gpuProfile = new FlashMoeProfile(
            "Seed",
            new HardwareSpec(128, 4.5, new CpuSpec(6, 12, true, false),
                EquatableArray.Create(new GpuSpec("Arc \"A770\"", 16, GpuBackend.Vulkan, 0.75), new GpuSpec("B", 8, GpuBackend.Cuda, 0.25)), StorageKind.Nvme, 51.2),
            new ModelSpec("models/r1.gguf", 121, 61, 256, 8, 0.95, GgmlType.IQ1_S),
            new LoadOptions(AutoSwitch.On, true, GpuLayers.All, ExpertsOnCpu.FirstLayers(3),
                EquatableArray.Create(new TensorOverride(@"\.ffn_.*_exps\.", "CPU")), ThreadCount.Physical, ThreadCount.Logical,
                8192, 1024, 256, AutoSwitch.On, new KvCacheSpec(KvCacheType.Q8_0, KvCacheType.Q4_0), false, false),
            Objective.Latency) { Description = "line\nbreak and ünïcode" };
        var cpuProfile = new FlashMoeProfile("Small", new HardwareSpec(24, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
            new ModelSpec(null, 0.13), LoadOptions.Default with { GpuLayers = GpuLayers.Of(4), ExpertsOnCpu = ExpertsOnCpu.All, Threads = ThreadCount.Fixed(3) },
            Objective.Memory);

        var text = ProfileWriter.Write(new[] { gpuProfile, cpuProfile }, "./flashmoe.schema.json");
        var document = ProfileParser.Parse("/app/flashmoe.json", text);

        Assert.Empty(document.Diagnostics);
        Assert.Equal(2, document.Profiles.Count);
        Assert.Equal(gpuProfile, document.Profiles[0].Profile);
        Assert.Equal(cpuProfile, document.Profiles[1].Profile);
        Assert.StartsWith("{\n  \"$schema\": \"./flashmoe.schema.json\",", text);
    }

    [Fact]
    public void Null_arguments_throw()
    {
        Assert.Throws<ArgumentNullException>(() => ProfileWriter.Write(null!));
        Assert.Throws<ArgumentException>(() => ProfileWriter.Write(new FlashMoeProfile[] { null! }));
    }
}
