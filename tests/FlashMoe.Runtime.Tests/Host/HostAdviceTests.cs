using System;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Runtime.Tests.Host;

public class HostAdviceTests
{
    /// <summary>This project's VM: Linux, THP madvise, no limit, root.</summary>
    private static HostFacts LinuxHost() => new()
    {
        OperatingSystem = "linux",
        TotalRamBytes = 24 * Units.GiB,
        TransparentHugePages = "madvise",
        MallocHugePages = false,
        LockedMemoryLimitBytes = 8 * Units.MiB,
        HasLockCapability = true,
        IsDetected = true,
    };

    private static ResolvedLoadOptions Options(bool mmap = true, bool mlock = false) => new()
    {
        UseMmap = mmap,
        UseMlock = mlock,
        Threads = 2,
        BatchThreads = 2,
        ContextSize = 4096,
        BatchSize = 2048,
        UBatchSize = 512,
    };

    private static ModelSummary Model(long bytes) => new() { TensorBytes = bytes, FileSizeBytes = bytes };

    private static string[] Ids(HostFacts host, ResolvedLoadOptions options, ModelSummary? model = null) =>
        HostAdvice.Evaluate(host, options, model).Select(d => d.Id).ToArray();

    [Fact]
    public void Host_descriptors_are_in_the_catalogue_with_category_host()
    {
        var host = DiagnosticCatalog.All.Where(d => d.Id.StartsWith("FM2", StringComparison.Ordinal)).ToArray();
        Assert.Equal(new[] { "FM2001", "FM2002", "FM2003" }, host.Select(d => d.Id));
        Assert.All(host, d => Assert.Equal("Host", d.Category));
        Assert.Same(DiagnosticCatalog.FM2001NoMmapWithoutHugePages, DiagnosticCatalog.Find("FM2001"));
    }

    [Fact]
    public void FM2001_no_mmap_with_thp_madvise_suggests_the_glibc_tunable()
    {
        var advice = HostAdvice.Evaluate(LinuxHost(), Options(mmap: false), Model(4 * Units.GiB));
        var fm2001 = Assert.Single(advice);
        Assert.Equal("FM2001", fm2001.Id);
        Assert.Equal(FlashMoeSeverity.Info, fm2001.Severity);
        Assert.Contains("GLIBC_TUNABLES=glibc.malloc.hugetlb=1", fm2001.Message);
        Assert.Contains("(4.0 GiB)", fm2001.Message);
        Assert.Contains("9.0 s to 2.2 s", fm2001.Message);
    }

    [Fact]
    public void FM2001_fires_when_the_model_size_is_unknown()
    {
        Assert.Equal(new[] { "FM2001" }, Ids(LinuxHost(), Options(mmap: false)));
    }

    [Fact]
    public void FM2001_clean_cases()
    {
        Assert.Empty(Ids(LinuxHost(), Options(mmap: true), Model(4 * Units.GiB)));                                   // mmap
        Assert.Empty(Ids(LinuxHost() with { MallocHugePages = true }, Options(mmap: false), Model(4 * Units.GiB)));   // already set
        Assert.Empty(Ids(LinuxHost() with { TransparentHugePages = "always" }, Options(mmap: false), Model(4 * Units.GiB)));
        Assert.Empty(Ids(LinuxHost() with { TransparentHugePages = "never" }, Options(mmap: false), Model(4 * Units.GiB)));
        Assert.Empty(Ids(LinuxHost() with { OperatingSystem = "windows" }, Options(mmap: false), Model(4 * Units.GiB)));
        Assert.Empty(Ids(LinuxHost(), Options(mmap: false), Model(300 * Units.MiB)));                                // small model loads fast anyway
    }

    [Fact]
    public void FM2002_container_limit_far_below_ram_says_the_limit_decides()
    {
        var host = LinuxHost() with { TotalRamBytes = 128 * Units.GiB, MemoryLimitBytes = 32 * Units.GiB };
        var advice = HostAdvice.Evaluate(host, Options());
        var fm2002 = Assert.Single(advice);
        Assert.Equal("FM2002", fm2002.Id);
        Assert.Equal(
            "The process runs under a memory limit of 32.0 GiB (cgroup), 25% of the machine's 128.0 GiB RAM: every memory decision " +
            "is planned against the limit, and a load beyond it is killed by the container's OOM killer",
            fm2002.Message);
    }

    [Fact]
    public void FM2002_clean_without_a_limit_or_with_a_limit_near_the_ram()
    {
        Assert.Empty(Ids(LinuxHost(), Options()));
        Assert.Empty(Ids(LinuxHost() with { MemoryLimitBytes = 23 * Units.GiB }, Options()));
    }

    [Fact]
    public void FM2003_mlock_beyond_the_lock_limit_without_the_capability()
    {
        var host = LinuxHost() with { HasLockCapability = false };
        var advice = HostAdvice.Evaluate(host, Options(mlock: true), Model(2 * Units.GiB));
        var fm2003 = Assert.Single(advice);
        Assert.Equal("FM2003", fm2003.Id);
        Assert.Equal(FlashMoeSeverity.Warning, fm2003.Severity);
        Assert.Contains("may lock only 8 MiB", fm2003.Message);
        Assert.Contains("2.0 GiB of model weights", fm2003.Message);
        Assert.Contains("'failed to mlock'", fm2003.Message);
    }

    [Fact]
    public void FM2003_clean_cases()
    {
        var noCap = LinuxHost() with { HasLockCapability = false };
        Assert.Empty(Ids(LinuxHost(), Options(mlock: true), Model(2 * Units.GiB)));                                     // CAP_IPC_LOCK
        Assert.Empty(Ids(noCap, Options(mlock: false), Model(2 * Units.GiB)));                                          // no mlock
        Assert.Empty(Ids(noCap with { LockedMemoryLimitBytes = long.MaxValue }, Options(mlock: true), Model(2 * Units.GiB))); // unlimited
        Assert.Empty(Ids(noCap, Options(mlock: true), Model(4 * Units.MiB)));                                           // fits the limit
        Assert.Empty(Ids(noCap with { LockedMemoryLimitBytes = null }, Options(mlock: true), Model(2 * Units.GiB)));    // unknown
    }

    [Fact]
    public void Several_rules_can_apply_at_once()
    {
        var host = LinuxHost() with { HasLockCapability = false, TotalRamBytes = 128 * Units.GiB, MemoryLimitBytes = 16 * Units.GiB };
        Assert.Equal(new[] { "FM2001", "FM2002", "FM2003" }, Ids(host, Options(mmap: false, mlock: true), Model(8 * Units.GiB)));
    }
}
