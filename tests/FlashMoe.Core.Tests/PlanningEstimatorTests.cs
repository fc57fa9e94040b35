using System;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>KV cache formula, compute-buffer shape, host accounting under both load modes, roofline and quantization fit.</summary>
public class PlanningEstimatorTests
{
    private static ModelSummary Shape(int layers, int heads, int kvHeads, int headDim, int[]? kvPerLayer = null) =>
        new Builder { Layers = layers, Embd = heads * headDim, Heads = heads, KvHeads = kvHeads, HeadDim = headDim, KvHeadsPerLayer = kvPerLayer }.Build();

    [Fact]
    public void Kv_gqa_f16_is_ctx_times_layers_times_kv_heads_times_k_plus_v()
    {
        // 4 layers, 8 KV heads × 128, f16: per token per layer 8·128·2 (K) + 8·128·2 (V) = 4096 B.
        var model = Shape(4, 32, 8, 128);
        Assert.Equal(4096L * 4 * 4096, KvCacheEstimator.TotalBytes(model, 4096, KvCacheType.F16, KvCacheType.F16));
        Assert.Equal(64 * Units.MiB, KvCacheEstimator.TotalBytes(model, 4096, KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Kv_uses_per_layer_kv_heads()
    {
        var model = Shape(4, 32, 8, 128, new[] { 8, 4, 8, 2 });
        // Σ heads = 22; per head per token 128·2 (K) + 128·2 (V) = 512 B; 256 cells.
        Assert.Equal(256L * 22 * 512, KvCacheEstimator.TotalBytes(model, 256, KvCacheType.F16, KvCacheType.F16));
        Assert.Equal(new[] { 256L * 8 * 512, 256L * 4 * 512, 256L * 8 * 512, 256L * 2 * 512 },
            KvCacheEstimator.LayerBytes(model, 256, KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Kv_quantized_types_use_their_block_sizes()
    {
        var model = Shape(4, 32, 8, 128);
        // K q8_0: 1024 elements = 32 blocks × 34 B = 1088; V q4_0: 32 blocks × 18 B = 576 (evidence: 34/32, 18/32).
        Assert.Equal(4096L * 4 * (1088 + 576), KvCacheEstimator.TotalBytes(model, 4096, KvCacheType.Q8_0, KvCacheType.Q4_0));
        Assert.True(KvCacheEstimator.IsQuantized(KvCacheType.Q8_0));
        Assert.False(KvCacheEstimator.IsQuantized(KvCacheType.BF16));
    }

    [Fact]
    public void Kv_cells_are_the_context_padded_to_256()
    {
        var model = Shape(4, 32, 8, 128);
        Assert.Equal(1024, KvCacheEstimator.Cells(1000));
        Assert.Equal(4096, KvCacheEstimator.Cells(4096));
        Assert.Equal(16 * Units.MiB, KvCacheEstimator.TotalBytes(model, 1000, KvCacheType.F16, KvCacheType.F16));
    }

    [Fact]
    public void Kv_mla_keeps_only_the_latent_of_kv_lora_rank_plus_rope()
    {
        var seed = SeedDeepSeekR1();
        Assert.True(KvCacheEstimator.IsMla(seed));
        // 61 layers × (512 + 64) f16 = 1152 B per token per layer, no V (a view of K).
        Assert.Equal(4096L * 61 * 1152, KvCacheEstimator.TotalBytes(seed, 4096, KvCacheType.F16, KvCacheType.F16));
        Assert.Equal(4096L * 61 * 1152, KvCacheEstimator.TotalBytes(seed, 4096, KvCacheType.F16, KvCacheType.Q8_0));
        // q8_0: 576 elements = 18 blocks × 34 B.
        Assert.Equal(4096L * 61 * 612, KvCacheEstimator.TotalBytes(seed, 4096, KvCacheType.Q8_0, KvCacheType.F16));
        Assert.False(KvCacheEstimator.IsMla(Dense(4, GgmlType.Q8_0)));
    }

    [Fact]
    public void Kv_follows_its_layer_unless_kv_offload_is_off()
    {
        var model = Dense(4, GgmlType.Q8_0);
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("A770", 16) }).Hardware);
        var options = new ResolvedLoadOptions { GpuLayerCount = 3, ContextSize = 1024, BatchSize = 512, UBatchSize = 512 };
        var total = KvCacheEstimator.TotalBytes(model, 1024, KvCacheType.F16, KvCacheType.F16);

        var offloaded = MemoryPlanner.Plan(options, model, host);
        Assert.Equal(total / 2, offloaded.Devices[1].KvCacheBytes); // layers 2, 3 on the GPU
        Assert.Equal(total / 2, offloaded.Cpu.KvCacheBytes);

        var kept = MemoryPlanner.Plan(options with { KvOffload = false }, model, host);
        Assert.Equal(0, kept.Devices[1].KvCacheBytes);
        Assert.Equal(total, kept.Cpu.KvCacheBytes);
        Assert.Equal(total, kept.KvCacheBytes);
    }

    [Fact]
    public void Compute_estimate_follows_the_documented_shape()
    {
        // A llama-7B shape at n_ctx 4096, ubatch 512.
        var model = new Builder { Layers = 32, Embd = 4096, Heads = 32, KvHeads = 32, HeadDim = 128, Ff = 11008, Vocab = 32000 }.Build();
        const long t = 512, kv = 4096;
        var residual = 3 * 4096 * t * 4;
        var attnNoFa = t * 32 * 256 * 4 + kv * t * 32 * 4 + kv * t * 4;
        var attnFa = t * 32 * 256 * 4 + kv * t * 2;
        var ffn = 2 * 11008 * t * 4;

        Assert.Equal(residual + attnNoFa, ComputeBufferEstimator.LayerPeakBytes(model, t, kv, flashAttention: false));
        Assert.Equal(residual + Math.Max(attnFa, ffn), ComputeBufferEstimator.LayerPeakBytes(model, t, kv, flashAttention: true));
        Assert.Equal(32000 * t * 4 + 4096 * t * 4, ComputeBufferEstimator.OutputLayerBytes(model, t, t));
        Assert.Equal(32000L * 4, ComputeBufferEstimator.OutputBufferBytes(model));
        Assert.Equal(512, ComputeBufferEstimator.ReserveTokens(4096, 2048, 512));
        Assert.Equal(300, ComputeBufferEstimator.ReserveTokens(300, 2048, 512)); // n_ubatch ≤ n_batch ≤ n_ctx
    }

    [Fact]
    public void Cpu_only_compute_replays_llama_cpps_allocator_over_the_whole_graph()
    {
        var model = Dense(4, GgmlType.Q8_0, embd: 512, ff: 1024, vocab: 4096, heads: 8, kvHeads: 8);
        var host = HostFacts.FromProfile(Profile(64).Hardware);
        var options = new ResolvedLoadOptions { ContextSize = 2048, BatchSize = 512, UBatchSize = 256, FlashAttention = false };
        var plan = MemoryPlanner.Plan(options, model, host);

        Assert.Equal(ComputeBufferEstimator.WholeGraphBytes(model, 256, 256, 2048, false), plan.Cpu.ComputeBytes);
        // A quantized cache adds the Hadamard rotation nodes: a different (here larger) buffer.
        var quantized = MemoryPlanner.Plan(options with { FlashAttention = true, TypeK = KvCacheType.Q8_0, TypeV = KvCacheType.Q8_0 }, model, host);
        Assert.Equal(ComputeBufferEstimator.WholeGraphBytes(model, 256, 256, 2048, true, KvCacheType.Q8_0, KvCacheType.Q8_0), quantized.Cpu.ComputeBytes);
        Assert.NotEqual(ComputeBufferEstimator.WholeGraphBytes(model, 256, 256, 2048, true), quantized.Cpu.ComputeBytes);
    }

    [Fact]
    public void Op_offload_stages_one_layer_of_host_experts_in_the_first_gpu_compute_buffer()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("A770", 16) }).Hardware);
        var options = new ResolvedLoadOptions
        {
            GpuLayerCount = 5, ContextSize = 1024, BatchSize = 512, UBatchSize = 512, FlashAttention = true,
            TensorOverrides = LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.All).ToEquatableArray(),
        };
        var withExperts = MemoryPlanner.Plan(options, model, host);
        var allGpu = MemoryPlanner.Plan(options with { TensorOverrides = EquatableArray<TensorOverride>.Empty }, model, host);

        var oneLayerExperts = model.Tensors.Where(t => t.Layer == 0 && t.Role == TensorRole.ExpertFfn).Sum(t => t.Bytes);
        Assert.Equal(allGpu.Devices[1].ComputeBytes + oneLayerExperts, withExperts.Devices[1].ComputeBytes);
        // Below 32 tokens nothing is offloaded.
        var small = MemoryPlanner.Plan(options with { UBatchSize = 16, BatchSize = 16 }, model, host);
        Assert.True(small.Devices[1].ComputeBytes < oneLayerExperts);
    }

    [Fact]
    public void Host_accounting_mmap_with_repack_holds_file_pages_and_an_anonymous_copy()
    {
        var model = Dense(4, GgmlType.Q4_0, embd: 512, ff: 2048, vocab: 4096, heads: 8, kvHeads: 8, embeddingType: GgmlType.Q8_0);
        var host = HostFacts.FromProfile(Profile(64, avx2: true).Hardware);
        var options = new ResolvedLoadOptions { UseMmap = true, ContextSize = 1024, BatchSize = 512, UBatchSize = 512, FlashAttention = true };
        var plan = MemoryPlanner.Plan(options, model, host);
        var h = plan.Host;

        var repackable = model.Tensors.Where(t => t.Type == GgmlType.Q4_0).Sum(t => t.Bytes); // every Q4_0 matmul weight
        Assert.Equal(repackable, h.RepackedBytes);
        Assert.Equal(model.TensorBytes, h.CpuWeightBytes);
        var nonWeights = h.KvCacheBytes + h.ComputeResidentBytes + h.OutputBytes + EvidenceThresholds.RuntimeOverheadBytes(model);
        Assert.Equal(repackable + nonWeights, h.AnonymousBytes);
        Assert.Equal(model.TensorBytes - repackable, h.FileBackedBytes);
        Assert.Equal(h.AnonymousBytes + model.TensorBytes, h.PeakRssBytes); // ≈ 1.95 × the file, as measured
        Assert.All(plan.Tensors.Where(t => t.Role == TensorRole.Norm), t => Assert.False(t.Repacked));

        var noMmap = MemoryPlanner.Plan(options with { UseMmap = false }, model, host).Host;
        Assert.Equal(model.TensorBytes + nonWeights, noMmap.AnonymousBytes);
        Assert.Equal(0, noMmap.FileBackedBytes);
        Assert.Equal(noMmap.AnonymousBytes, noMmap.PeakRssBytes);
        Assert.Equal(h.FootprintBytes, noMmap.FootprintBytes); // the footprint is the same in both modes
    }

    [Fact]
    public void The_footprint_counts_the_compute_buffer_a_run_writes_not_all_it_reserves()
    {
        var model = Dense(2, GgmlType.Q8_0, embd: 512, ff: 1024, vocab: 65536, heads: 8, kvHeads: 8);
        var host = HostFacts.FromProfile(Profile(64).Hardware);
        var options = new ResolvedLoadOptions { ContextSize = 1024, BatchSize = 512, UBatchSize = 512, FlashAttention = true };
        var h = MemoryPlanner.Plan(options, model, host).Host;

        Assert.Equal(ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 1024, true), h.ComputeBytes); // what llama.cpp logs
        Assert.Equal(ComputeBufferEstimator.WholeGraphResidentBytes(model, 512, 1, 1024, true, KvCacheType.F16, KvCacheType.F16, 0, out _),
            h.ComputeResidentBytes);
        Assert.True(h.ComputeResidentBytes < h.ComputeBytes - 100 * Units.MiB, $"{h.ComputeResidentBytes} of {h.ComputeBytes}");
        Assert.Equal(h.CpuWeightBytes + h.KvCacheBytes + h.ComputeResidentBytes + h.OutputBytes + h.RuntimeOverheadBytes, h.FootprintBytes);
        Assert.Equal(h.FootprintBytes, h.AnonymousBytes); // no-mmap: all of it anonymous
    }

    [Fact]
    public void Without_flash_attention_the_cpu_work_buffer_for_the_scores_counts_too()
    {
        var model = Dense(2, GgmlType.Q8_0, embd: 512, ff: 1024, vocab: 4096, heads: 8, kvHeads: 8);
        var host = HostFacts.FromProfile(Profile(64).Hardware);
        var options = new ResolvedLoadOptions { ContextSize = 1024, BatchSize = 512, UBatchSize = 256, FlashAttention = false };
        var h = MemoryPlanner.Plan(options, model, host).Host;

        var replayed = ComputeBufferEstimator.WholeGraphResidentBytes(model, 256, 1, 1024, false, KvCacheType.F16, KvCacheType.F16, 0, out _);
        Assert.Equal(replayed + 8L * 256 * 1024 * 2, h.ComputeResidentBytes); // n_head × n_ubatch × n_kv f16 scores
        var flash = MemoryPlanner.Plan(options with { FlashAttention = true }, model, host).Host;
        Assert.Equal(ComputeBufferEstimator.WholeGraphResidentBytes(model, 256, 1, 1024, true, KvCacheType.F16, KvCacheType.F16, 0, out _),
            flash.ComputeResidentBytes);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, true, true, false)]  // Q8_0 is not repacked in this build
    [InlineData(GgmlType.F16, true, true, false)]
    [InlineData(GgmlType.Q4_0, false, true, false)] // repack off
    [InlineData(GgmlType.Q4_0, true, false, false)] // no AVX2
    [InlineData(GgmlType.Q4_K, true, true, true)]
    [InlineData(GgmlType.Q4_0, true, true, true)]
    public void Repack_applies_to_repackable_types_with_repack_on_and_avx2(GgmlType type, bool repack, bool avx2, bool expected)
    {
        var model = Dense(2, type);
        var host = HostFacts.FromProfile(Profile(64, avx2: avx2).Hardware);
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { Repack = repack, ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);
        Assert.Equal(expected, plan.Host.RepackedBytes > 0);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(null, true)]   // not declared: planned as repacked (the larger footprint under mmap)
    [InlineData(false, false)] // AVX2 only: llama.cpp has no Q2_K repack kernel for it
    public void Q2_k_is_repacked_only_with_avx512(bool? avx512, bool expected)
    {
        var model = Dense(2, GgmlType.Q2_K);
        var host = HostFacts.FromProfile(Profile(64, avx2: true).Hardware) with { Avx512 = avx512 };
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);
        Assert.Equal(expected, plan.Host.RepackedBytes > 0);
        // Q4_K needs AVX2 only.
        Assert.True(MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = 512 }, Dense(2, GgmlType.Q4_K), host).Host.RepackedBytes > 0);
    }

    [Fact]
    public void Beside_a_gpu_host_weights_go_to_pinned_buffers_and_are_not_repacked()
    {
        var model = Dense(4, GgmlType.Q4_0);
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("A770", 16) }).Hardware);
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { GpuLayerCount = 2, ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);
        Assert.True(plan.Cpu.WeightBytes > 0);
        Assert.Equal(0, plan.Host.RepackedBytes);
    }

    [Theory]
    [InlineData(16, 1.0)]
    [InlineData(24, 1.0)]
    [InlineData(64, 1.92)]
    [InlineData(128, 3.84)]
    [InlineData(256, 4.0)]
    public void Default_reserve_is_3_percent_between_1_and_4_gib(double ramGiB, double reserveGiB)
    {
        var reserve = EvidenceThresholds.DefaultReserveBytes((long)(ramGiB * Units.GiB));
        Assert.Equal(reserveGiB, reserve / (double)Units.GiB, 2);
    }

    [Fact]
    public void Usable_ram_is_ram_minus_reserve_bounded_by_the_container_limit()
    {
        var declared = HostFacts.FromProfile(Profile(128).Hardware);
        Assert.Equal(128 * Units.GiB - (long)(128 * Units.GiB * 0.03), MemoryPlanner.UsableRamBytes(declared, out _, out var isDefault));
        Assert.True(isDefault);
        Assert.True(MemoryPlanner.UsableRamBytes(declared, out _, out _) > 124 * Units.GiB); // a 128 GiB box runs 120+ GiB

        Assert.Equal(126 * Units.GiB, MemoryPlanner.UsableRamBytes(HostFacts.FromProfile(Profile(128, reserveGiB: 2).Hardware), out _, out _));
        Assert.Equal(32 * Units.GiB, MemoryPlanner.UsableRamBytes(declared with { MemoryLimitBytes = 32 * Units.GiB }, out _, out _));
        Assert.Equal(20 * Units.GiB, MemoryPlanner.UsableRamBytes(declared with { AvailableRamBytes = 20 * Units.GiB }, out _, out _));
    }

    [Fact]
    public void Roofline_counts_used_over_total_experts_and_skips_the_embedding()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var host = HostFacts.FromProfile(Profile(64, bandwidth: 35).Hardware);
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);

        var experts = model.Tensors.Where(t => t.Role == TensorRole.ExpertFfn).Sum(t => t.Bytes);
        var rest = model.Tensors.Where(t => t.Role is not (TensorRole.ExpertFfn or TensorRole.TokenEmbedding)).Sum(t => t.Bytes);
        var active = rest + experts * 2 / 8;
        Assert.Equal(active, plan.Roofline.ActiveBytesPerToken);
        Assert.Equal(active, plan.Roofline.ActiveHostBytesPerToken);
        Assert.Equal(35e9 / active, plan.Roofline.UpperBoundTokensPerSecond!.Value, 6);
    }

    [Fact]
    public void Roofline_with_experts_on_cpu_is_bound_by_the_host_experts_only()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("A770", 16) }, bandwidth: 50).Hardware);
        var options = new ResolvedLoadOptions
        {
            GpuLayerCount = 5, ContextSize = 512, BatchSize = 512, UBatchSize = 512,
            TensorOverrides = LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.All).ToEquatableArray(),
        };
        var plan = MemoryPlanner.Plan(options, model, host);
        var hostActive = model.Tensors.Where(t => t.Role == TensorRole.ExpertFfn).Sum(t => t.Bytes) / 4;
        Assert.Equal(hostActive, plan.Roofline.ActiveHostBytesPerToken);
        Assert.Equal(50e9 / hostActive, plan.Roofline.UpperBoundTokensPerSecond!.Value, 6);

        var unknown = MemoryPlanner.Plan(options, model, host with { MemoryBandwidthGBs = null });
        Assert.Null(unknown.Roofline.UpperBoundTokensPerSecond);
    }

    [Fact]
    public void Quantization_fit_table_sizes_from_the_parameter_count_and_checks_the_budget()
    {
        var model = new ModelSummary { ParameterCount = 10_000_000_000, BlockCount = 0 };
        var host = HostFacts.FromProfile(Profile(7, reserveGiB: 0).Hardware);
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);

        var rows = plan.QuantizationFits.ToDictionary(q => q.Name);
        Assert.Equal(new[] { "IQ1_S", "IQ1_M", "IQ2_XXS", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0" }, plan.QuantizationFits.Select(q => q.Name));
        Assert.Equal(1.5625, rows["IQ1_S"].BitsPerWeight);
        Assert.Equal(4.84375, rows["Q4_K_M"].BitsPerWeight, 6); // 5/6 Q4_K (4.5) + 1/6 Q6_K (6.5625)
        Assert.Equal(1_953_125_000, rows["IQ1_S"].SizeBytes);
        Assert.Equal(10_625_000_000, rows["Q8_0"].SizeBytes);
        // 7 GiB less 100 MiB overhead: Q5_K_M (6.6 GiB) fits, Q6_K (7.6 GiB) does not.
        Assert.True(rows["Q5_K_M"].Fits);
        Assert.False(rows["Q6_K"].Fits);
        Assert.False(rows["Q8_0"].Fits);
    }

    [Fact]
    public void Quantization_budget_adds_usable_vram()
    {
        var model = new ModelSummary { ParameterCount = 10_000_000_000, BlockCount = 0 };
        var host = HostFacts.FromProfile(Profile(7, reserveGiB: 0, gpus: new[] { Gpu("A770", 3) }).Hardware);
        var plan = MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = 512, BatchSize = 512, UBatchSize = 512 }, model, host);
        // + 3 GiB − 1 GiB reserve = ≈ 8.9 GiB of room: Q6_K (7.6 GiB) now fits, Q8_0 (9.9 GiB) still not.
        Assert.True(plan.QuantizationFits.Single(q => q.Name == "Q6_K").Fits);
        Assert.False(plan.QuantizationFits.Single(q => q.Name == "Q8_0").Fits);
    }
}
