using System;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Tests.Fixtures;
using FlashMoe.Runtime.Tests.Native;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests;

/// <summary>
/// The resolution table on the runtime side: (profile, host) → decisions, through <c>profile.Resolve(host)</c> with
/// models read from real synthetic GGUF headers (or declared facts). The rules are Core's; these tests pin that the
/// runtime feeds them the right model and host.
/// </summary>
[Collection(NativeCollection.Name)] // ToModelParams loads llama.cpp
public class ProfileResolutionTests : IClassFixture<SyntheticModels>
{
    private readonly SyntheticModels _models;

    public ProfileResolutionTests(SyntheticModels models) => _models = models;

    /// <summary>A machine like this project's: Linux, 24 GiB, 2 cores with AVX2/AVX-512, no container limit.</summary>
    private static HostInfo Host(int? physical = 2, int? logical = 2, long? limit = null, bool avx2 = true, string thp = "never") => new()
    {
        OperatingSystem = "linux",
        Architecture = "X64",
        TotalRamBytes = 24 * Units.GiB,
        AvailableRamBytes = 22 * Units.GiB,
        CgroupV2LimitBytes = limit,
        PhysicalCores = physical,
        LogicalCores = logical,
        Avx2 = avx2,
        Avx512 = avx2,
        Storage = StorageKind.Ssd,
        TransparentHugePages = thp,
        MallocHugePages = false,
        LockedMemoryLimitBytes = long.MaxValue,
        HasLockCapability = true,
    };

    private static FlashMoeProfile Profile(string? path, double? sizeGiB = null, Func<LoadOptions, LoadOptions>? load = null, ModelSpec? model = null) => new(
        "Box",
        new HardwareSpec(24, null, new CpuSpec(2, 2), EquatableArray<GpuSpec>.Empty, StorageKind.Ssd),
        model ?? new ModelSpec(path, sizeGiB),
        (load ?? (o => o))(LoadOptions.Default with { ContextSize = 512 }));

    private string Dir => Path.GetDirectoryName(_models.Q8)!;

    [Fact]
    public void Fitting_q8_0_model_resolves_to_mmap_for_the_fast_load()
    {
        var r = Profile(Path.GetFileName(_models.Q8)).Resolve(Host(), baseDirectory: Dir);

        Assert.False(r.Model.IsDeclared);
        Assert.Equal(new FileInfo(_models.Q8).Length, r.Model.FileSizeBytes);
        Assert.True(r.Options.UseMmap);
        Assert.Equal("mmap.fits-fast-load", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Equal(0, r.Plan.Host.RepackedBytes);
        Assert.Empty(r.Advice);
    }

    [Fact]
    public void Repackable_q4_0_model_resolves_to_no_mmap()
    {
        var r = Profile(_models.Q4).Resolve(Host());

        Assert.False(r.Options.UseMmap);
        Assert.Equal("mmap.repacked-weights", r.DecisionFor("load.mmap")!.RuleId);
        Assert.True(r.Plan.Host.RepackedBytes > 0);
        Assert.Empty(r.Advice);
    }

    [Fact]
    public void Q4_0_model_on_a_cpu_without_avx2_is_not_repacked_and_keeps_mmap()
    {
        var r = Profile(_models.Q4).Resolve(Host(avx2: false));

        Assert.Equal(0, r.Plan.Host.RepackedBytes);
        Assert.True(r.Options.UseMmap);
        Assert.Equal("mmap.fits-fast-load", r.DecisionFor("load.mmap")!.RuleId);
    }

    [Fact]
    public void Model_larger_than_the_container_limit_resolves_to_mmap_with_FM1003_and_FM2002()
    {
        // A declared 121 GiB MoE (the seed's size) on a 24 GiB machine whose container allows 16 GiB.
        var model = new ModelSpec(null, 121, BlockCount: 61, ExpertCount: 256, ExpertUsedCount: 8, ExpertFraction: 0.95, WeightType: GgmlType.IQ1_S);
        var r = Profile(null, model: model).Resolve(Host(limit: 16 * Units.GiB));

        Assert.True(r.Model.IsDeclared);
        Assert.True(r.Options.UseMmap);
        var mmap = r.DecisionFor("load.mmap")!;
        Assert.Equal("mmap.no-mmap-does-not-fit", mmap.RuleId);
        Assert.Contains(mmap.Figures, f => f.Name == "usable RAM" && f.Value <= 16);
        var ids = r.Advice.Select(a => a.Id).ToArray();
        Assert.Contains("FM1003", ids);
        Assert.Contains("FM2002", ids);
        Assert.Contains("FM1007", ids); // declared facts
    }

    [Theory]
    [InlineData(2, 4, "physical", 2, "threads.physical")]
    [InlineData(2, 4, "logical", 4, "threads.logical")]
    [InlineData(null, 4, "physical", 2, "threads.physical-from-logical")]
    [InlineData(8, 16, "physical", 8, "threads.physical")]
    public void Threads_follow_the_detected_cores(int? physical, int logical, string kind, int expected, string rule)
    {
        var count = kind == "logical" ? ThreadCount.Logical : ThreadCount.Physical;
        var r = Profile(_models.Q8, load: o => o with { Threads = count, BatchThreads = count }).Resolve(Host(physical, logical));

        Assert.Equal(expected, r.Options.Threads);
        Assert.Equal(expected, r.Options.BatchThreads);
        Assert.Equal(rule, r.DecisionFor("load.threads")!.RuleId);
    }

    [Fact]
    public void No_mmap_on_thp_madvise_adds_FM2001_for_a_large_model()
    {
        var model = new ModelSpec(null, 4, WeightType: GgmlType.Q8_0);
        var r = Profile(null, model: model, load: o => o with { Mmap = AutoSwitch.Off }).Resolve(Host(thp: "madvise"));

        var advice = Assert.Single(r.Advice, a => a.Id == "FM2001");
        Assert.Equal("load.mmap", advice.PropertyPath);
        Assert.Contains("GLIBC_TUNABLES=glibc.malloc.hugetlb=1", advice.Diagnostic.Message);
    }

    [Fact]
    public void Missing_model_file_falls_back_to_the_declared_size()
    {
        var r = Profile("no-such-model.gguf", sizeGiB: 2).Resolve(Host(), baseDirectory: Dir);

        Assert.True(r.Model.IsDeclared);
        Assert.Equal(2 * Units.GiB, r.Model.FileSizeBytes);
        Assert.Contains(r.Advice, a => a.Id == "FM1007");
    }

    [Fact]
    public void An_explicit_model_summary_wins_over_the_path()
    {
        var q4 = GgufReader.ReadSummary(_models.Q4);
        var r = Profile(_models.Q8).Resolve(Host(), q4);
        Assert.Same(q4, r.Model);
        Assert.False(r.Options.UseMmap);
    }

    [Fact]
    public void Relative_model_paths_resolve_against_the_base_directory_only_when_given()
    {
        var profile = Profile(Path.GetFileName(_models.Q8));
        Assert.Equal(_models.Q8, profile.FindModelFile(Dir));
        Assert.Null(profile.FindModelFile(Path.GetTempPath())); // given: no fallback elsewhere
        Assert.Equal(_models.Q8, Profile(_models.Q8).FindModelFile()); // absolute: as is
        Assert.Null(Profile(null, 1).FindModelFile());

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, "m.gguf"), FlashMoeProfileExtensions.ModelPathCandidates("~/m.gguf", null).Single());
        Assert.Equal(
            new[] { Path.Combine(AppContext.BaseDirectory, "m.gguf"), Path.Combine(Environment.CurrentDirectory, "m.gguf") }.Distinct(),
            FlashMoeProfileExtensions.ModelPathCandidates("m.gguf", null));
    }

    [Fact]
    public void A_corrupt_model_file_is_a_coded_format_error_not_a_silent_fallback()
    {
        var bad = Path.Combine(Dir, "not-a-model.gguf");
        File.WriteAllBytes(bad, new byte[] { (byte)'G', (byte)'G', (byte)'M', (byte)'L', 0, 0, 0, 0 });
        var error = Assert.Throws<GgufFormatException>(() => Profile(bad).Resolve(Host()));
        Assert.StartsWith("FM01", error.Id);
    }

    [Fact]
    public void ToModelParams_applies_the_resolved_options_and_reports_what_it_cannot()
    {
        var r = Profile(_models.Q4, load: o => o with { Repack = false }).Resolve(Host());
        var logger = new ListLogger();

        var parameters = r.ToModelParams(_models.Q4, logger);

        Assert.Equal(_models.Q4, parameters.ModelPath);
        Assert.Equal(r.Options.UseMmap ? LLamaLoadMode.MemoryMap : LLamaLoadMode.None, parameters.LoadMode);
        Assert.Equal(r.Options.Threads, parameters.Threads);
        Assert.Equal((uint)r.Options.ContextSize, parameters.ContextSize);
        Assert.Equal(0, parameters.GpuLayerCount);
        var note = Assert.Single(r.GetUnsupported());
        Assert.StartsWith("repack=false", note);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("repack=false"));
        Assert.Contains("not applied by LLamaSharp 0.30:", r.DescribePlan());
    }

    [Fact]
    public void Plan_report_shows_host_decisions_with_rule_ids_plan_and_advice()
    {
        var host = Host(limit: 16 * Units.GiB);
        var r = Profile(_models.Q4).Resolve(host);

        var text = r.DescribePlan(host);

        Assert.Contains("Profile Box (objective throughput), resolved for the detected host", text);
        Assert.Contains("2 physical / 2 logical cores", text); // HostInfo.Describe
        foreach (var d in r.Decisions)
        {
            Assert.Contains($"{d.Option} = {d.Value}  [{d.RuleId}]", text);
            Assert.Contains(d.Reason, text);
        }
        Assert.Contains("mmap off", text);
        Assert.Contains("Memory plan (estimated)", text);
        Assert.Contains("FM2002 info (hardware.ramGiB): The process runs under a memory limit of 16.0 GiB", text);
        Assert.DoesNotContain("Buffers: estimated vs actual", text); // nothing loaded
    }

    [Fact]
    public void Plan_report_for_declared_hardware_prints_the_declared_facts()
    {
        var profile = Profile(null, 121) with
        {
            Hardware = new HardwareSpec(128, null, new CpuSpec(6, 12, true, false),
                EquatableArray.Create(new GpuSpec("Arc A770", 16, GpuBackend.Vulkan)), StorageKind.Nvme),
        };
        var r = ProfileResolver.Resolve(profile, DeclaredModel.FromSpec(profile.Model));

        var text = PlanReport.Render(r);

        Assert.Contains("resolved for its declared hardware", text);
        Assert.Contains("Arc A770, 16 GiB, Vulkan", text);
        Assert.Contains("6 physical / 12 logical cores", text);
        Assert.Contains("assumed: ", text);
    }
}
