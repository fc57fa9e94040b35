using System;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>
/// The compute-buffer replay against figures llama.cpp (LLamaSharp 0.30.0 + Backend.Cpu, this project's 2-core EPYC)
/// logged as "CPU compute buffer size" for synthetic llama models: the accuracy matrix of FlashMoe.Runtime.Tests
/// (PlanAccuracyTests, docs/measurements.md) measures them live; these keep the pure estimator pinned to them.
/// Each regime is here: the logits on top of a fragmented FFN block, the KQ scores, flash attention, MoE FFN peaks
/// with 1, 2 and 8 experts used, and quantized caches with their Hadamard rotation.
/// </summary>
public class ComputeGraphReplayTests
{
    /// <summary>llama.cpp prints "%8.2f MiB": the true size is within 0.005 MiB of the printed one.</summary>
    private const long PrintResolution = Units.MiB / 200 + 1;

    /// <summary>One measured case: the model's shape, the context, and what llama.cpp printed.</summary>
    public sealed record Case(string Name, int Layers, long Embd, long Ff, int Heads, int KvHeads, long Vocab, int Experts, int Used,
        long ExpertFf, int Context, int UBatch, bool FlashAttention, KvCacheType Kv, double PrintedMiB)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Measured() => new()
    {
        new("dense 1024, logits over the freed FFN block", 2, 1024, 2816, 16, 4, 32000, 0, 0, 0, 256, 512, false, KvCacheType.F16, 37.00),
        new("dense 1024, KQ scores", 2, 1024, 2816, 16, 4, 32000, 0, 0, 0, 8192, 512, false, KvCacheType.F16, 283.01),
        new("dense 1024, small ubatch", 2, 1024, 2816, 16, 4, 32000, 0, 0, 0, 2048, 32, false, KvCacheType.F16, 4.94),
        new("dense 1024, flash attention", 2, 1024, 2816, 16, 4, 32000, 0, 0, 0, 2048, 512, true, KvCacheType.F16, 66.50),
        new("moe 8/2, wide experts", 2, 512, 2048, 8, 4, 8000, 8, 2, 2048, 8192, 512, true, KvCacheType.F16, 36.01),
        new("moe 32/8", 2, 256, 512, 4, 1, 3000, 32, 8, 512, 2048, 512, false, KvCacheType.F16, 29.88),
        new("moe 4/1", 2, 768, 3072, 12, 4, 50000, 4, 1, 3072, 2048, 128, true, KvCacheType.F16, 25.91),
        new("moe 32/4, 65k vocab", 2, 1024, 1024, 8, 2, 65536, 32, 4, 1024, 8192, 512, false, KvCacheType.F16, 155.01),
        new("dense, q8_0 cache (rotated Q/K/V)", 2, 256, 768, 4, 2, 2048, 0, 0, 0, 2048, 128, true, KvCacheType.Q8_0, 2.03),
        new("moe, q4_0 cache (rotated Q/K/V)", 2, 256, 512, 4, 2, 2048, 8, 2, 512, 8192, 512, true, KvCacheType.Q4_0, 15.58),
    };

    [Theory]
    [MemberData(nameof(Measured))]
    public void Replay_matches_the_buffer_llama_cpp_reserved(Case c)
    {
        var model = new Builder
        {
            Layers = c.Layers, Embd = c.Embd, Ff = c.Ff, Heads = c.Heads, KvHeads = c.KvHeads, HeadDim = (int)(c.Embd / c.Heads),
            Vocab = c.Vocab, Experts = c.Experts, ExpertsUsed = c.Used, ExpertFf = c.ExpertFf,
        }.Build();
        var tokens = ComputeBufferEstimator.ReserveTokens(c.Context, 512, c.UBatch);
        var cells = KvCacheEstimator.Cells(c.Context);

        var bytes = ComputeBufferEstimator.WholeGraphBytes(model, tokens, tokens, cells, c.FlashAttention, c.Kv, c.Kv);

        var measured = (long)Math.Round(c.PrintedMiB * Units.MiB);
        Assert.True(Math.Abs(bytes - measured) <= PrintResolution,
            $"{c.Name}: replay {bytes / (double)Units.MiB:0.0000} MiB, llama.cpp {c.PrintedMiB:0.00} MiB");
    }

    [Fact]
    public void Fragmentation_is_what_the_sum_of_live_tensors_misses()
    {
        // At ctx 256 the logits (31.25 MiB) land above the FFN block freed under them, so the buffer is 37.00 MiB,
        // not logits + the final hidden state; with a 5632-wide FFN the same logits fit lower (33.25 MiB).
        var narrow = new Builder { Layers = 2, Embd = 1024, Ff = 2816, Heads = 16, KvHeads = 4, HeadDim = 64, Vocab = 32000 }.Build();
        var wide = new Builder { Layers = 2, Embd = 1024, Ff = 5632, Heads = 16, KvHeads = 4, HeadDim = 64, Vocab = 32000 }.Build();

        var narrowBytes = ComputeBufferEstimator.WholeGraphBytes(narrow, 256, 256, 256, false);
        var wideBytes = ComputeBufferEstimator.WholeGraphBytes(wide, 256, 256, 256, false);

        Assert.InRange(narrowBytes, 37 * Units.MiB - PrintResolution, 37 * Units.MiB + PrintResolution);
        Assert.InRange(wideBytes, 33.25 * Units.MiB - PrintResolution, 33.25 * Units.MiB + PrintResolution);
    }

    [Fact]
    public void A_run_writes_its_tensors_at_the_reserved_offsets_and_only_as_far_as_their_own_size()
    {
        // A hidden state (8 KiB) and logits reserved for 1000 rows of 4000 f32 (≈ 15.3 MiB) that a run fills one row of.
        static ReplayGraph Graph(long rows)
        {
            var g = new ReplayGraph();
            var tokens = g.Input(4096);
            var hidden = g.Op(false, new long[] { 2048 }, tokens);
            g.Op(false, new long[] { 4000, rows }, hidden).IsOutput = true;
            return g;
        }

        var touched = GgmlGraphAllocator.TouchedBytes(Graph(1000), Graph(1), 32, 4096, out var reserved);

        Assert.Equal(4096 + 8192 + 4000L * 1000 * 4, reserved);
        Assert.Equal(4096 + 8192 + 16384, touched); // three pages of inputs and hidden state, four of the one logits row
        // Every row an output: the whole buffer is written.
        Assert.Equal(reserved, GgmlGraphAllocator.TouchedBytes(Graph(1000), Graph(1000), 32, 4096, out _));
        // A graph of another topology is re-planned by ggml-alloc: the whole buffer counts.
        var other = Graph(1);
        other.Op(false, new long[] { 1 }, other.Nodes[0]);
        Assert.Equal(reserved, GgmlGraphAllocator.TouchedBytes(Graph(1000), other, 32, 4096, out _));
    }

    [Fact]
    public void With_one_output_a_large_vocabulary_leaves_its_logits_rows_unwritten()
    {
        // A 151 936-token vocabulary: the reserve holds 512 rows of logits (297 MiB), a chat prompt writes one per ubatch,
        // so the rest is never paged in (the no-mmap peak RSS of such a model was 263 MiB under its reserved buffers).
        var model = new Builder
        {
            Architecture = "qwen3moe", Layers = 2, Embd = 2048, Heads = 32, KvHeads = 4, HeadDim = 128, Vocab = 151936,
            Experts = 128, ExpertsUsed = 8, ExpertFf = 768, Ff = 768,
        }.Build();
        var resident = ComputeBufferEstimator.WholeGraphResidentBytes(model, 512, 1, 2048, true, KvCacheType.F16, KvCacheType.F16, 0, out var reserved);

        Assert.Equal(ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 2048, true), reserved);
        // Part of the logits' range is also where full-size tensors of the layers were placed: those pages are written.
        var unusedLogits = 511L * 151936 * 4;
        Assert.InRange(reserved - resident, unusedLogits / 2, unusedLogits);

        // A 32 000-token vocabulary's logits land over tensors a run writes in full: all of that buffer is written
        // (measured: the resident memory grew by the whole 84 MiB buffer during the prompt).
        var llama = new Builder { Layers = 2, Embd = 1024, Ff = 2816, Heads = 16, KvHeads = 4, HeadDim = 64, Vocab = 32000 }.Build();
        var llamaResident = ComputeBufferEstimator.WholeGraphResidentBytes(llama, 512, 1, 2048, false, KvCacheType.F16, KvCacheType.F16, 0, out var llamaReserved);
        Assert.InRange(llamaResident, llamaReserved - 64 * 1024, llamaReserved);
    }

    [Fact]
    public void Replay_grows_with_the_ubatch_and_the_context_without_flash_attention()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0, embd: 512, expertFf: 1024, vocab: 8192, heads: 8, kvHeads: 2);
        long previous = 0;
        foreach (var tokens in new[] { 1L, 32, 128, 512 })
        {
            var bytes = ComputeBufferEstimator.WholeGraphBytes(model, tokens, tokens, 4096, false);
            Assert.True(bytes > previous, $"{tokens} tokens: {bytes} ≤ {previous}");
            previous = bytes;
        }
        Assert.True(ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 16384, false) > ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 4096, false));
        // Flash attention never materialises the n_kv × n_tokens × n_head scores.
        Assert.True(ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 16384, true) < ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 16384, false));
    }

    [Fact]
    public void With_a_gpu_each_device_replays_its_share_and_the_cpu_holds_the_graph_inputs()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0, embd: 512, expertFf: 1024, vocab: 8192, heads: 8, kvHeads: 2);
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("A770", 16) }).Hardware);
        var options = new ResolvedLoadOptions { GpuLayerCount = 5, ContextSize = 32768, BatchSize = 512, UBatchSize = 512, FlashAttention = false };

        var full = MemoryPlanner.Plan(options, model, host);
        // Everything offloaded: the GPU replays every layer and the output; the CPU keeps the inputs and the token lookup,
        // among them the f32 KQ mask of n_kv × n_tokens (64 MiB here), which the scheduler keeps on the CPU backend.
        Assert.Equal(ComputeBufferEstimator.DeviceShareBytes(model, 0, 4, true, false, 512, 32768, false), full.Devices[1].ComputeBytes);
        Assert.Equal(ComputeBufferEstimator.DeviceShareBytes(model, 0, 0, false, true, 512, 32768, false), full.Cpu.ComputeBytes);
        Assert.True(full.Cpu.ComputeBytes > 32768L * 512 * 4);
        Assert.True(full.Devices[1].ComputeBytes < ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 32768, false));

        // Two layers and the output on the GPU, a 16-token ubatch (no op offload): the CPU runs layers 0–1 itself.
        var split = MemoryPlanner.Plan(options with { GpuLayerCount = 3, UBatchSize = 16, BatchSize = 16 }, model, host);
        Assert.Equal(ComputeBufferEstimator.DeviceShareBytes(model, 2, 2, true, false, 16, 32768, false), split.Devices[1].ComputeBytes);
        Assert.Equal(ComputeBufferEstimator.DeviceShareBytes(model, 0, 2, false, true, 16, 32768, false), split.Cpu.ComputeBytes);
    }

    // Pinned measurements: llama.cpp's own "CPU compute buffer size is N MiB" (four decimals) for tiny synthetic models of
    // each architecture, loaded CPU-only through LLamaSharp 0.30 (the accuracy matrix in docs/measurements.md covers more
    // shapes and options against live loads). Each pins a graph rule that differs from llama's.
    private const double PrintedHalfStep = 0.00005;

    [Fact]
    public void Deepseek2_mla_graph_matches_the_measured_compute_buffer()
    {
        // MLA with absorbed weights, one leading dense layer, a shared expert, sigmoid gating with exp_probs_b, normalised
        // and scaled weights: 2.0142 MiB at ctx 512, ubatch 128, no flash attention; 1.7642 MiB with it (2 layers).
        var model = Deepseek2(layers: 3);
        Assert.Equal(2.0142, Mib(CpuCompute(model, 512, 128, flashAttention: false)), PrintedHalfStep * 2);
        Assert.Equal(1.7642, Mib(CpuCompute(Deepseek2(layers: 2), 512, 128, flashAttention: true)), PrintedHalfStep * 2);
    }

    [Fact]
    public void Qwen3moe_graph_matches_the_measured_compute_buffer()
    {
        // Per-head Q/K RMS norms before RoPE (RoPE then runs in place): 2.0024 MiB at ctx 512, ubatch 128, no flash attention.
        var model = Qwen3Moe(layers: 2);
        Assert.Equal(2.0024, Mib(CpuCompute(model, 512, 128, flashAttention: false)), PrintedHalfStep * 2);
    }

    [Fact]
    public void Gpt_oss_graph_and_sliding_window_cache_match_the_measurements()
    {
        // Biases, sinks, softmax of the chosen experts' logits, and a sliding-window cache of
        // pad(n_swa + n_ubatch, 256) = 256 cells when swa_full is off: 1.6929 MiB compute (flash attention) and
        // 256 + 512 cells of KV; with the full-size window cache (the default), both caches hold 512 cells: 1.3755 MiB.
        var model = GptOss(layers: 2);
        var windowed = new ResolvedLoadOptions { ContextSize = 512, BatchSize = 512, UBatchSize = 128, FlashAttention = true, SwaFull = false };
        var plan = MemoryPlanner.Plan(windowed, model, HostFacts.FromProfile(Profile(64).Hardware));
        Assert.Equal(1.6929, Mib(plan.Cpu.ComputeBytes), PrintedHalfStep * 2);
        var perCell = 2 * 2 * 64 * 2L; // K and V, 2 KV heads × 64, f16
        Assert.Equal((256 + 512) * perCell, plan.Cpu.KvCacheBytes);

        var full = MemoryPlanner.Plan(windowed with { SwaFull = true }, model, HostFacts.FromProfile(Profile(64).Hardware));
        Assert.Equal(1.3755, Mib(full.Cpu.ComputeBytes), PrintedHalfStep * 2);
        Assert.Equal((512 + 512) * perCell, full.Cpu.KvCacheBytes);
    }

    [Fact]
    public void Sliding_window_cache_is_the_window_plus_a_ubatch_padded_and_capped()
    {
        var model = GptOss(layers: 2, slidingWindow: 128);
        Assert.Equal(256, KvCacheEstimator.SlidingWindowCells(model, 4096, 128, swaFull: false));
        Assert.Equal(768, KvCacheEstimator.SlidingWindowCells(model, 4096, 512, swaFull: false));
        Assert.Equal(512, KvCacheEstimator.SlidingWindowCells(model, 512, 512, swaFull: false)); // capped at the full cache
        Assert.Equal(4096, KvCacheEstimator.SlidingWindowCells(model, 4096, 512, swaFull: true));
        Assert.Equal(0, KvCacheEstimator.SlidingWindowCells(Qwen3Moe(2), 4096, 512, swaFull: false)); // no sliding layers
    }

    private static double Mib(long bytes) => bytes / (double)Units.MiB;

    private static long CpuCompute(ModelSummary model, int context, int ubatch, bool flashAttention) =>
        MemoryPlanner.Plan(new ResolvedLoadOptions { ContextSize = context, BatchSize = 512, UBatchSize = ubatch, FlashAttention = flashAttention },
            model, HostFacts.FromProfile(Profile(64).Hardware)).Cpu.ComputeBytes;

    // The tiny shapes the measurements were taken with (vocab 2048, embd 256, 4 heads, 8 experts of which 2 used).
    private static ModelSummary Deepseek2(int layers)
    {
        var b = new Builder
        {
            Architecture = ModelArchitectures.DeepSeek2, Layers = layers, Embd = 256, Heads = 4, KvHeads = 1, Ff = 512, Vocab = 2048,
            Experts = 8, ExpertsUsed = 2, ExpertFf = 256, SharedExperts = 1, LeadingDense = 1,
            KvLoraRank = 64, RopeDims = 32, QLoraRank = 64, KeyLengthMla = 96, ValueLengthMla = 64, GatingFunction = 2, WeightsNorm = true,
        };
        for (var i = 1; i < layers; i++) b.Add($"blk.{i}.exp_probs_b.bias", GgmlType.F32, TensorRole.ExpertRouter, i, 8);
        return b.Build();
    }

    private static ModelSummary Qwen3Moe(int layers) => new Builder
    {
        Architecture = ModelArchitectures.Qwen3Moe, Layers = layers, Embd = 256, Heads = 4, KvHeads = 2, HeadDim = 64, Ff = 512, Vocab = 2048,
        Experts = 8, ExpertsUsed = 2, ExpertFf = 256,
    }.Build();

    private static ModelSummary GptOss(int layers, int slidingWindow = 128) => new Builder
    {
        Architecture = ModelArchitectures.GptOss, Layers = layers, Embd = 256, Heads = 4, KvHeads = 2, HeadDim = 64, Ff = 512, Vocab = 2048,
        Experts = 8, ExpertsUsed = 2, ExpertFf = 256, SlidingWindow = slidingWindow,
    }.Build();

    [Fact]
    public void The_experts_sum_is_replayed_without_a_node_per_expert_used()
    {
        // llama.cpp adds the experts' rows with a chain of n_expert_used − 1 adds; the replay must give the same bytes
        // without building that chain, so an absurd expert count (a hand-built summary, not limited like a GGUF's)
        // costs nothing. Measured against U = 2, 4 and 8 by Replay_matches_the_buffer_llama_cpp_reserved.
        ModelSummary Model(int used) => new Builder
        {
            Layers = 2, Embd = 256, Ff = 512, Heads = 4, KvHeads = 1, HeadDim = 64, Vocab = 3000, Experts = used, ExpertsUsed = used, ExpertFf = 64,
        }.Build();
        var few = Model(8);
        var absurd = Model(2_000_000);
        ComputeBufferEstimator.WholeGraphBytes(few, 4, 4, 256, false); // JIT warm-up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var fewBytes = ComputeBufferEstimator.WholeGraphBytes(few, 4, 4, 256, false);
        var fewAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        var absurdBytes = ComputeBufferEstimator.WholeGraphBytes(absurd, 4, 4, 256, false);
        var absurdAllocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Same graph size either way (a chain would be 4 M nodes, hundreds of MB); the buffer grows with the expert tensors.
        Assert.True(absurdAllocated < 2 * fewAllocated + (64 << 10), $"{absurdAllocated:N0} bytes allocated vs {fewAllocated:N0} for 8 experts");
        Assert.True(absurdBytes >= 4L * 256 * 2_000_000 * 4, $"{absurdBytes} bytes"); // the weighted down projection alone
        Assert.True(fewBytes < absurdBytes);
    }
}
