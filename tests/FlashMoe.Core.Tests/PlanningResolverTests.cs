using System;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>The resolution table: how each <c>auto</c> resolves, with its rule ID.</summary>
public class PlanningResolverTests
{
    private static readonly Lazy<ModelSummary> BigQ8 = new(() =>
        Dense(40, GgmlType.Q8_0, embd: 8192, ff: 28672, vocab: 1024, heads: 64, kvHeads: 8));

    private static readonly Lazy<ModelSummary> BigQ4 = new(() =>
        Dense(40, GgmlType.Q4_0, embd: 8192, ff: 28672, vocab: 1024, heads: 64, kvHeads: 8, embeddingType: GgmlType.Q8_0));

    private static ResolvedProfile Auto(ModelSummary model, double fileRatio, Objective objective = Objective.Throughput,
        StorageKind storage = StorageKind.Nvme)
    {
        var profile = Profile(64, o => o with { ContextSize = 2048 }, storage: storage, objective: objective);
        return ProfileResolver.Resolve(profile, model, SweepHost(profile, model.FileSizeBytes, fileRatio));
    }

    [Fact]
    public void Fitting_q8_0_model_resolves_to_mmap_for_the_fast_load()
    {
        var r = Auto(BigQ8.Value, 1.5);
        Assert.True(r.Options.UseMmap);
        var decision = r.DecisionFor("load.mmap")!;
        Assert.Equal("mmap.fits-fast-load", decision.RuleId);
        Assert.Contains(decision.Figures, f => f.Name == "ratio" && f.Unit == "×" && f.Value > 1.4);
        Assert.Empty(r.Advice);
    }

    [Fact]
    public void Repackable_q4_0_model_resolves_to_no_mmap()
    {
        var r = Auto(BigQ4.Value, 1.5);
        Assert.False(r.Options.UseMmap);
        Assert.Equal("mmap.repacked-weights", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Empty(r.Advice);
    }

    [Fact]
    public void Repackable_model_with_latency_objective_and_room_for_the_copy_resolves_to_mmap()
    {
        var r = Auto(BigQ4.Value, 2.5, Objective.Latency);
        Assert.True(r.Options.UseMmap);
        Assert.Equal("mmap.latency-repack-fits", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Empty(r.Advice);
        // Without room for the repacked copy, latency still gets no-mmap.
        Assert.False(Auto(BigQ4.Value, 1.05, Objective.Latency).Options.UseMmap);
    }

    [Theory]
    [InlineData(Objective.Throughput)]
    [InlineData(Objective.Latency)]
    public void Auto_ubatch_and_kv_cache_keep_llama_cpp_defaults_outside_the_memory_objective(Objective objective)
    {
        var r = Auto(BigQ8.Value, 1.5, objective);
        Assert.Equal((512, KvCacheType.F16, KvCacheType.F16), (r.Options.UBatchSize, r.Options.TypeK, r.Options.TypeV));
        Assert.Equal("ubatch.default", r.DecisionFor("load.ubatchSize")!.RuleId);
        Assert.Equal("kv-cache.default", r.DecisionFor("load.kvCache")!.RuleId);
    }

    [Fact]
    public void Memory_objective_resolves_a_small_ubatch_and_a_q8_0_cache_that_shrink_the_plan()
    {
        var memory = Auto(BigQ8.Value, 1.5, Objective.Memory);
        var throughput = Auto(BigQ8.Value, 1.5);
        Assert.Equal((128, KvCacheType.Q8_0, KvCacheType.Q8_0), (memory.Options.UBatchSize, memory.Options.TypeK, memory.Options.TypeV));
        Assert.Equal("ubatch.memory-objective", memory.DecisionFor("load.ubatchSize")!.RuleId);
        Assert.Equal("kv-cache.memory-objective", memory.DecisionFor("load.kvCache")!.RuleId);
        Assert.True(memory.Plan.Host.KvCacheBytes < throughput.Plan.Host.KvCacheBytes * 0.6);
        Assert.True(memory.Plan.Host.ComputeBytes < throughput.Plan.Host.ComputeBytes);
        Assert.True(memory.Plan.Host.FootprintBytes < throughput.Plan.Host.FootprintBytes);
    }

    [Fact]
    public void Memory_objective_without_flash_attention_quantizes_only_the_k_cache()
    {
        var profile = Profile(64, o => o with { ContextSize = 2048, FlashAttention = AutoSwitch.Off }, objective: Objective.Memory);
        var r = ProfileResolver.Resolve(profile, BigQ8.Value, SweepHost(profile, BigQ8.Value.FileSizeBytes, 1.5));
        Assert.Equal((KvCacheType.Q8_0, KvCacheType.F16), (r.Options.TypeK, r.Options.TypeV));
        Assert.Empty(r.Options.Validate());
    }

    [Fact]
    public void Written_ubatch_and_kv_cache_win_over_the_objective()
    {
        var profile = Profile(64, o => o with { ContextSize = 2048, BatchSize = 64, UBatchSize = 1024, KvCache = new KvCacheSpec(KvCacheType.F32, KvCacheType.F16) },
            objective: Objective.Memory);
        var r = ProfileResolver.Resolve(profile, BigQ8.Value, SweepHost(profile, BigQ8.Value.FileSizeBytes, 1.5));
        Assert.Equal((64, KvCacheType.F32, KvCacheType.F16), (r.Options.UBatchSize, r.Options.TypeK, r.Options.TypeV)); // ubatch capped by the batch
        Assert.Null(r.DecisionFor("load.ubatchSize"));
        Assert.Null(r.DecisionFor("load.kvCache"));
        // A batch smaller than the memory objective's ubatch caps it too.
        var small = Profile(64, o => o with { ContextSize = 2048, BatchSize = 32 }, objective: Objective.Memory);
        Assert.Equal(32, ProfileResolver.Resolve(small, BigQ8.Value, SweepHost(small, BigQ8.Value.FileSizeBytes, 1.5)).Options.UBatchSize);
    }

    /// <summary>The no-mmap need of the Q8_0 model at a given ubatch and KV type (context 2048), to place a limit between two settings.</summary>
    private static long NeedAt(int ubatch, KvCacheType kv)
    {
        var profile = Profile(64, o => o with { ContextSize = 2048, UBatchSize = ubatch, KvCache = new KvCacheSpec(kv, kv), FlashAttention = AutoSwitch.On });
        return ProfileResolver.Resolve(profile, BigQ8.Value, SweepHost(profile, BigQ8.Value.FileSizeBytes, 3)).Plan.Host.NoMmapNeedBytes;
    }

    private static ResolvedProfile AtLimit(long limitBytes, Func<LoadOptions, LoadOptions>? load = null, Objective objective = Objective.Throughput)
    {
        var profile = Profile(64, o => (load ?? (x => x))(o with { ContextSize = 2048 }), objective: objective);
        return ProfileResolver.Resolve(profile, BigQ8.Value, SweepHost(profile, limitBytes, 1.0));
    }

    [Fact]
    public void Auto_ubatch_shrinks_to_the_largest_that_fits_when_the_default_leaves_the_host_short()
    {
        var need512 = NeedAt(512, KvCacheType.F16);
        var need256 = NeedAt(256, KvCacheType.F16);
        Assert.True(need256 < need512);

        var r = AtLimit((need512 + need256) / 2);
        Assert.Equal((256, KvCacheType.F16), (r.Options.UBatchSize, r.Options.TypeK));
        Assert.True(r.Plan.Host.NoMmapFits);
        var decision = r.DecisionFor("load.ubatchSize")!;
        Assert.Equal("ubatch.fit", decision.RuleId);
        Assert.Contains(decision.Figures, f => f.Name == "usable RAM");
        Assert.Equal("kv-cache.default", r.DecisionFor("load.kvCache")!.RuleId);

        // With room for the default nothing shrinks.
        Assert.Equal(512, AtLimit(need512 + Units.MiB).Options.UBatchSize);
    }

    [Fact]
    public void The_kv_cache_shrinks_after_the_ubatch_and_only_when_left_to_auto()
    {
        var need128 = NeedAt(128, KvCacheType.F16);
        var need128Q8 = NeedAt(128, KvCacheType.Q8_0);
        Assert.True(need128Q8 < need128);
        var limit = (need128 + need128Q8) / 2;

        var r = AtLimit(limit);
        Assert.Equal((128, KvCacheType.Q8_0, KvCacheType.Q8_0), (r.Options.UBatchSize, r.Options.TypeK, r.Options.TypeV));
        Assert.Equal("kv-cache.fit", r.DecisionFor("load.kvCache")!.RuleId);
        Assert.True(r.Plan.Host.NoMmapFits);

        // A written cache type stays; only the ubatch moves.
        var written = AtLimit(limit, o => o with { KvCache = KvCacheSpec.Default });
        Assert.Equal((128, KvCacheType.F16), (written.Options.UBatchSize, written.Options.TypeK));
        Assert.Null(written.DecisionFor("load.kvCache"));
        // A written ubatch stays; only the cache moves.
        var writtenUBatch = AtLimit(limit, o => o with { UBatchSize = 512 });
        Assert.Equal((512, KvCacheType.Q8_0), (writtenUBatch.Options.UBatchSize, writtenUBatch.Options.TypeK));
    }

    [Fact]
    public void Latency_keeps_its_ubatch_and_cache_while_mmap_can_hold_the_rest()
    {
        var need512 = NeedAt(512, KvCacheType.F16);
        var need256 = NeedAt(256, KvCacheType.F16);
        var r = AtLimit((need512 + need256) / 2, objective: Objective.Latency);
        Assert.Equal((512, KvCacheType.F16), (r.Options.UBatchSize, r.Options.TypeK));
        Assert.Equal("ubatch.default", r.DecisionFor("load.ubatchSize")!.RuleId);
        Assert.True(r.Options.UseMmap);

        // Where even the cache and compute buffer (what mmap cannot page out) do not fit, latency shrinks them too.
        var nonWeights = need512 - BigQ8.Value.FileSizeBytes;
        Assert.True(nonWeights > 0);
        var starved = AtLimit(nonWeights / 2, objective: Objective.Latency);
        Assert.Equal((128, KvCacheType.Q8_0), (starved.Options.UBatchSize, starved.Options.TypeK));
    }

    [Fact]
    public void Cpu_only_throughput_plans_without_flash_attention_when_that_fits()
    {
        var r = Auto(BigQ8.Value, 1.5);
        Assert.False(r.Options.FlashAttention);
        Assert.Equal("flash-attention.cpu-off", r.DecisionFor("load.flashAttention")!.RuleId);
        Assert.Empty(r.Options.Validate());

        // The memory objective keeps it on (the smaller compute buffer, and a q8_0 V cache needs it).
        var memory = Auto(BigQ8.Value, 1.5, Objective.Memory);
        Assert.True(memory.Options.FlashAttention);
        Assert.Equal("flash-attention.auto", memory.DecisionFor("load.flashAttention")!.RuleId);

        // Written values win.
        var written = Profile(64, o => o with { ContextSize = 2048, FlashAttention = AutoSwitch.On });
        Assert.True(ProfileResolver.Resolve(written, BigQ8.Value, SweepHost(written, BigQ8.Value.FileSizeBytes, 1.5)).Options.FlashAttention);
    }

    [Fact]
    public void Flash_attention_stays_on_beside_a_gpu_and_where_off_would_not_fit()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var withGpu = ProfileResolver.Resolve(Profile(64, gpus: new[] { Gpu("A770", 16) }), model);
        Assert.True(withGpu.Options.FlashAttention);
        Assert.Equal("flash-attention.auto", withGpu.DecisionFor("load.flashAttention")!.RuleId);

        // Between the footprint with flash attention and the larger one without it: on, with the reason.
        var needOn = NeedAt(512, KvCacheType.F16);
        var offProfile = Profile(64, o => o with { ContextSize = 2048, FlashAttention = AutoSwitch.Off, UBatchSize = 512, KvCache = KvCacheSpec.Default });
        var needOff = ProfileResolver.Resolve(offProfile, BigQ8.Value, SweepHost(offProfile, BigQ8.Value.FileSizeBytes, 3)).Plan.Host.NoMmapNeedBytes;
        Assert.True(needOff > needOn);
        var r = AtLimit((needOn + needOff) / 2);
        Assert.True(r.Options.FlashAttention);
        Assert.Equal(512, r.Options.UBatchSize);
        Assert.Equal("flash-attention.fit", r.DecisionFor("load.flashAttention")!.RuleId);
    }

    [Fact]
    public void When_nothing_fits_auto_takes_the_smallest_ubatch_and_cache()
    {
        var r = AtLimit(BigQ8.Value.FileSizeBytes / 2);
        Assert.Equal((128, KvCacheType.Q8_0, KvCacheType.Q8_0), (r.Options.UBatchSize, r.Options.TypeK, r.Options.TypeV));
        Assert.True(r.Options.UseMmap);
        Assert.Contains("even at the smallest setting", r.DecisionFor("load.ubatchSize")!.Reason, StringComparison.Ordinal);
        Assert.Contains(r.Advice, a => a.Id == "FM1003");
    }

    [Fact]
    public void Model_larger_than_the_ram_limit_resolves_to_mmap_with_FM1003()
    {
        var r = Auto(BigQ8.Value, 0.85);
        Assert.True(r.Options.UseMmap);
        Assert.Equal("mmap.no-mmap-does-not-fit", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Contains(r.Advice, a => a.Id == "FM1003");
        Assert.DoesNotContain(r.Advice, a => a.Id == "FM1001");
    }

    [Fact]
    public void Slow_storage_resolves_to_no_mmap()
    {
        var r = Auto(BigQ8.Value, 1.5, storage: StorageKind.Network);
        Assert.False(r.Options.UseMmap);
        Assert.Equal("mmap.slow-storage", r.DecisionFor("load.mmap")!.RuleId);
    }

    [Fact]
    public void Experts_on_cpu_beside_a_gpu_resolve_to_no_mmap()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var r = ProfileResolver.Resolve(Profile(64, o => o with { ExpertsOnCpu = ExpertsOnCpu.All }, gpus: new[] { Gpu("A770", 16) }), model);
        Assert.False(r.Options.UseMmap);
        Assert.Equal("mmap.pinned-host-buffers", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Equal(5, r.Options.GpuLayerCount);
        Assert.Equal(LlamaPlacement.ExpertsRegex, r.Options.TensorOverrides.Single().Pattern);
        Assert.Equal("CPU", r.Options.TensorOverrides.Single().Device);
    }

    [Fact]
    public void Explicit_overrides_come_before_experts_on_cpu_ones()
    {
        var r = ProfileResolver.Resolve(Profile(64, o => o with { ExpertsOnCpu = ExpertsOnCpu.FirstLayers(2), TensorOverrides = new[] { new TensorOverride("attn_q", "CPU") }.ToEquatableArray() },
            gpus: new[] { Gpu("A770", 16) }), Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0));
        Assert.Equal(new[] { "attn_q", @"blk\.0" + LlamaPlacement.ExpertsRegex, @"blk\.1" + LlamaPlacement.ExpertsRegex },
            r.Options.TensorOverrides.Select(o => o.Pattern).ToArray());
    }

    [Theory]
    [InlineData(8, 16, ThreadCountKind.Physical, 0, 8)]
    [InlineData(8, 16, ThreadCountKind.Logical, 0, 16)]
    [InlineData(null, 12, ThreadCountKind.Physical, 0, 6)]
    [InlineData(null, null, ThreadCountKind.Physical, 0, EvidenceThresholds.FallbackThreads)]
    [InlineData(8, 16, ThreadCountKind.Fixed, 3, 3)]
    public void Threads_resolve_to_physical_cores_by_default(int? physical, int? logical, ThreadCountKind kind, int count, int expected)
    {
        var profile = Profile(64, o => o with { Threads = new ThreadCount(kind, count) });
        var host = HostFacts.FromProfile(profile.Hardware) with { PhysicalCores = physical, LogicalCores = logical };
        var r = ProfileResolver.Resolve(profile, Dense(2, GgmlType.Q8_0), host);
        Assert.Equal(expected, r.Options.Threads);
        if (kind != ThreadCountKind.Fixed) Assert.NotNull(r.DecisionFor("load.threads"));
    }

    [Fact]
    public void Flash_attention_auto_on_a_roomy_cpu_host_resolves_off_and_batch_sizes_are_clamped_like_llama_cpp()
    {
        var r = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 300, BatchSize = 2048, UBatchSize = 512 }), Dense(2, GgmlType.Q8_0));
        Assert.False(r.Options.FlashAttention);
        Assert.Equal("flash-attention.cpu-off", r.DecisionFor("load.flashAttention")!.RuleId);
        Assert.Equal(300, r.Options.BatchSize);
        Assert.Equal(300, r.Options.UBatchSize);
        Assert.False(ProfileResolver.Resolve(Profile(64, o => o with { FlashAttention = AutoSwitch.Off }), Dense(2, GgmlType.Q8_0)).Options.FlashAttention);
    }

    [Fact]
    public void Gpu_layers_all_means_every_block_plus_output_and_auto_without_gpu_is_zero()
    {
        var model = Dense(4, GgmlType.Q8_0);
        Assert.Equal(5, ProfileResolver.Resolve(Profile(64, o => o with { GpuLayers = GpuLayers.All }, gpus: new[] { Gpu("A770", 16) }), model).Options.GpuLayerCount);
        var cpu = ProfileResolver.Resolve(Profile(64), model);
        Assert.Equal(0, cpu.Options.GpuLayerCount);
        Assert.Equal("gpu-layers.no-gpu", cpu.DecisionFor("load.gpuLayers")!.RuleId);
    }

    [Fact]
    public void Forced_mmap_values_are_kept_and_decided_without_a_decision_record()
    {
        var on = ProfileResolver.Resolve(Profile(64, o => o with { Mmap = AutoSwitch.On }), Dense(2, GgmlType.Q8_0));
        var off = ProfileResolver.Resolve(Profile(64, o => o with { Mmap = AutoSwitch.Off }), Dense(2, GgmlType.Q8_0));
        Assert.True(on.Options.UseMmap);
        Assert.False(off.Options.UseMmap);
        Assert.Null(on.DecisionFor("load.mmap"));
    }

    [Fact]
    public void Memory_planner_plan_for_a_profile_is_the_resolved_plan()
    {
        var profile = Profile(64);
        var model = Dense(4, GgmlType.Q8_0);
        var host = HostFacts.FromProfile(profile.Hardware);
        Assert.Equal(ProfileResolver.Resolve(profile, model, host).Plan, MemoryPlanner.Plan(profile, model, host));
    }

    [Fact]
    public void Declared_model_builds_an_approximate_summary_and_plans()
    {
        var spec = new ModelSpec("r1.gguf", 100.0, BlockCount: 10, ExpertCount: 64, ExpertUsedCount: 4, ExpertFraction: 0.8, WeightType: GgmlType.Q8_0);
        var model = DeclaredModel.FromSpec(spec);

        Assert.True(model.IsDeclared);
        Assert.Equal((long)(100.0 * Units.GiB), model.FileSizeBytes);
        Assert.Equal(10, model.BlockCount);
        Assert.Equal(64, model.ExpertCount);
        Assert.Equal(4, model.ExpertUsedCount);
        Assert.Empty(model.Tensors);
        Assert.DoesNotContain(model.Assumptions, a => a.Contains("experts used") || a.Contains("routed experts") || a.Contains("weights (decides"));
        Assert.Contains(model.Assumptions, a => a.Contains("KV/compute shape"));

        // Experts on CPU matches the synthesised expert tensors: the CPU gets the expert share plus the embedding.
        var profile = Profile(128, o => o with { GpuLayers = GpuLayers.All, ExpertsOnCpu = ExpertsOnCpu.All }, gpus: new[] { Gpu("big", 80) }, model: spec);
        var r = ProfileResolver.Resolve(profile, model);
        var expected = model.BytesByRole[TensorRole.ExpertFfn] + model.BytesByRole[TensorRole.TokenEmbedding];
        Assert.InRange(r.Plan.Cpu.WeightBytes, expected - 64, expected + 64); // integer division across 10 layers × 3 tensors
        Assert.Equal(model.FileSizeBytes, r.Plan.Tensors.Sum(t => t.Bytes), 1000.0);
        Assert.Contains(r.Advice, a => a.Id == "FM1007");
    }

    [Fact]
    public void Declared_model_without_a_size_gives_no_memory_advice_but_says_so()
    {
        var spec = new ModelSpec("missing.gguf", null);
        var r = ProfileResolver.Resolve(Profile(16, o => o with { Mmap = AutoSwitch.Off }, model: spec), DeclaredModel.FromSpec(spec));
        var advice = Assert.Single(r.Advice);
        Assert.Equal("FM1007", advice.Id);
        Assert.Contains("size unknown", advice.Diagnostic.Message);
    }

    [Fact]
    public void Bad_input_does_not_crash()
    {
        var empty = new ModelSummary();
        var r = ProfileResolver.Resolve(Profile(0, o => o with { ContextSize = 0, BatchSize = 0, UBatchSize = 0 }, gpus: new[] { Gpu("zero", 0) }), empty);
        Assert.Empty(r.Plan.Tensors);
        Assert.True(r.Options.ContextSize > 0);

        var weird = ProfileResolver.Resolve(Profile(8, o => o with { GpuLayers = GpuLayers.Of(-5), ExpertsOnCpu = ExpertsOnCpu.FirstLayers(1_000_000) }, gpus: new[] { Gpu("g", 8) }),
            Moe(2, 4, 2, GgmlType.Q4_0, GgmlType.Q8_0));
        Assert.Equal(0, weird.Options.GpuLayerCount);
        Assert.Equal(ModelLimits.MaxLayers, weird.Options.TensorOverrides.Count); // bounded: no model has more layers
    }
}
