using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>The resolver carries the host-only advice (FM2xxx) next to the plan advice, for detected hosts only.</summary>
public class PlanningHostAdviceTests
{
    // 4 GiB of Q8_0 weights: above FM2001's 1 GiB floor, small against 64 GiB.
    private static readonly ModelSummary Model = Dense(16, GgmlType.Q8_0, embd: 4096, ff: 14336, vocab: 1024, heads: 32, kvHeads: 8);

    private static HostFacts Detected(FlashMoeProfile profile) => HostFacts.FromProfile(profile.Hardware) with
    {
        IsDetected = true,
        OperatingSystem = "linux",
        TransparentHugePages = "madvise",
        MallocHugePages = false,
        MemoryLimitBytes = 16 * Units.GiB,
    };

    [Fact]
    public void Detected_host_adds_FM2001_and_FM2002_located_at_their_properties()
    {
        var profile = Profile(64, o => o with { Mmap = AutoSwitch.Off, ContextSize = 2048 });
        var r = ProfileResolver.Resolve(profile, Model, Detected(profile));

        Assert.Equal(new[] { "FM2001", "FM2002" }, r.Advice.Select(a => a.Id));
        Assert.Equal("load.mmap", r.Advice[0].PropertyPath);
        Assert.Equal("hardware.ramGiB", r.Advice[1].PropertyPath);
        Assert.Contains("16.0 GiB", r.Advice[1].Diagnostic.Message);
    }

    [Fact]
    public void Plan_and_host_advice_are_merged_in_id_order()
    {
        // mmap forced on a repacked Q4_0 model: FM1002 from the plan rules; mlock without the capability: FM2003.
        var q4 = Dense(16, GgmlType.Q4_0, embd: 4096, ff: 14336, vocab: 1024, heads: 32, kvHeads: 8, embeddingType: GgmlType.Q8_0);
        var profile = Profile(64, o => o with { Mmap = AutoSwitch.On, Mlock = true, ContextSize = 2048 });
        var host = Detected(profile) with { MemoryLimitBytes = null, LockedMemoryLimitBytes = 8 * Units.MiB, HasLockCapability = false };
        var ids = ProfileResolver.Resolve(profile, q4, host).Advice.Select(a => a.Id).ToArray();

        Assert.Contains("FM2003", ids);
        Assert.Contains("FM1002", ids);
        Assert.Equal(ids.OrderBy(i => i, System.StringComparer.Ordinal), ids);
    }

    [Fact]
    public void Declared_host_with_the_same_facts_gets_no_host_advice()
    {
        var profile = Profile(64, o => o with { Mmap = AutoSwitch.Off, ContextSize = 2048 });
        var r = ProfileResolver.Resolve(profile, Model, Detected(profile) with { IsDetected = false });
        Assert.DoesNotContain(r.Advice, a => a.Id.StartsWith("FM2", System.StringComparison.Ordinal));
    }

    [Fact]
    public void Detected_host_without_concerns_stays_clean()
    {
        var profile = Profile(64, o => o with { Mmap = AutoSwitch.Off, ContextSize = 2048 });
        var host = Detected(profile) with { MemoryLimitBytes = null, MallocHugePages = true };
        Assert.Empty(ProfileResolver.Resolve(profile, Model, host).Advice);
    }
}
