using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>A detected host has no GPU list (GPUs are not detected at run time): the profile's declared GPUs stand in.</summary>
public class PlanningDeclaredGpuTests
{
    private static readonly ModelSummary Model = Dense(16, GgmlType.Q8_0, embd: 2048, ff: 8192, vocab: 1024, heads: 16, kvHeads: 8);

    private static HostFacts DetectedCpuOnlyHost(FlashMoeProfile profile) =>
        HostFacts.FromProfile(profile.Hardware) with { Gpus = EquatableArray<GpuSpec>.Empty, IsDetected = true };

    [Fact]
    public void Detected_host_uses_the_declared_gpu_for_auto_offload()
    {
        var profile = Profile(64, gpus: new[] { Gpu("Arc A770", 16) });

        var resolved = ProfileResolver.Resolve(profile, Model, DetectedCpuOnlyHost(profile));

        Assert.Equal(Model.BlockCount + 1, resolved.Options.GpuLayerCount);
        Assert.Equal("gpus.declared", resolved.DecisionFor("hardware.gpus")?.RuleId);
        Assert.DoesNotContain(resolved.Advice, a => a.Diagnostic.Id == "FM1006");
    }

    [Fact]
    public void Detected_host_without_declared_gpus_stays_on_the_cpu()
    {
        var profile = Profile(64);

        var resolved = ProfileResolver.Resolve(profile, Model, DetectedCpuOnlyHost(profile));

        Assert.Equal(0, resolved.Options.GpuLayerCount);
        Assert.Null(resolved.DecisionFor("hardware.gpus"));
    }

    [Fact]
    public void Declared_host_is_not_marked_as_taking_declared_gpus()
    {
        var profile = Profile(64, gpus: new[] { Gpu("Arc A770", 16) });

        var resolved = ProfileResolver.Resolve(profile, Model);

        Assert.True(resolved.Options.GpuLayerCount > 0);
        Assert.Null(resolved.DecisionFor("hardware.gpus"));
    }
}
