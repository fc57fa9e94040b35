using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Core.Tests;

/// <summary>
/// Hand-built model summaries (as the GGUF reader would fill them) and profiles for the planner tests. Tensor
/// shapes follow docs/evidence.md#writing-a-gguf-that-llamacpp-accepts (ne0 first), so bytes come from the block table.
/// </summary>
internal static class PlanningTestModels
{
    public sealed class Builder
    {
        private readonly List<TensorSummary> _tensors = new();
        public int Layers { get; set; }
        public long Embd { get; set; } = 256;
        public int Heads { get; set; } = 4;
        public int KvHeads { get; set; } = 4;
        public int[]? KvHeadsPerLayer { get; set; }
        public int HeadDim { get; set; } = 64;
        public long Ff { get; set; } = 512;
        public long Vocab { get; set; } = 1024;
        public int Experts { get; set; }
        public int ExpertsUsed { get; set; }
        public int SharedExperts { get; set; }
        public long ExpertFf { get; set; }
        public int LeadingDense { get; set; }
        public int? KvLoraRank { get; set; }
        public int? RopeDims { get; set; }
        public string Architecture { get; set; } = "llama";
        public int? QLoraRank { get; set; }
        public int? KeyLengthMla { get; set; }
        public int? ValueLengthMla { get; set; }
        public int? SlidingWindow { get; set; }
        public int? GatingFunction { get; set; }
        public bool? WeightsNorm { get; set; }

        public Builder Add(string name, GgmlType type, TensorRole role, int? layer, params long[] dims)
        {
            var bytes = GgmlTypeTable.TensorBytes(type, dims) ?? throw new ArgumentException($"bad shape for {name} {type}");
            _tensors.Add(new TensorSummary(name, type, dims.ToEquatableArray(), 0, bytes, role, layer));
            return this;
        }

        public ModelSummary Build()
        {
            var byRole = new Dictionary<TensorRole, long>();
            var byType = new Dictionary<GgmlType, long>();
            var byLayer = new long[Layers];
            foreach (var t in _tensors)
            {
                byRole[t.Role] = byRole.TryGetValue(t.Role, out var r) ? r + t.Bytes : t.Bytes;
                byType[t.Type] = byType.TryGetValue(t.Type, out var y) ? y + t.Bytes : t.Bytes;
                if (t.Layer is { } l) byLayer[l] += t.Bytes;
            }
            var bytes = _tensors.Sum(t => t.Bytes);
            return new ModelSummary
            {
                Architecture = Architecture,
                GgufVersion = 3,
                FileSizeBytes = bytes + 1_000_000,
                DataOffset = 1_000_000,
                BlockCount = Layers,
                EmbeddingLength = Embd,
                FeedForwardLength = Ff,
                HeadCountPerLayer = Enumerable.Repeat(Heads, Layers).ToEquatableArray(),
                HeadCountKvPerLayer = (KvHeadsPerLayer ?? Enumerable.Repeat(KvHeads, Layers).ToArray()).ToEquatableArray(),
                KeyLength = KvLoraRank is { } rank ? rank + (RopeDims ?? 0) : HeadDim,
                ValueLength = KvLoraRank ?? HeadDim,
                KvLoraRank = KvLoraRank,
                QLoraRank = QLoraRank,
                KeyLengthMla = KeyLengthMla,
                ValueLengthMla = ValueLengthMla,
                SlidingWindow = SlidingWindow,
                ExpertGatingFunction = GatingFunction,
                ExpertWeightsNorm = WeightsNorm,
                RopeDimensionCount = RopeDims,
                ContextLength = 8192,
                VocabSize = Vocab,
                ExpertCount = Experts,
                ExpertUsedCount = ExpertsUsed,
                ExpertSharedCount = SharedExperts,
                ExpertFeedForwardLength = ExpertFf,
                LeadingDenseBlockCount = LeadingDense,
                ParameterCount = _tensors.Sum(t => t.ElementCount),
                TensorBytes = bytes,
                TensorCount = _tensors.Count,
                BytesByRole = byRole,
                BytesByLayer = byLayer.ToEquatableArray(),
                BytesByType = byType,
                Tensors = _tensors.ToEquatableArray(),
            };
        }
    }

    /// <summary>A llama-shaped dense model: every matmul weight of <paramref name="type"/>, norms F32.</summary>
    public static ModelSummary Dense(int layers, GgmlType type, long embd = 256, long ff = 512, long vocab = 1024,
        int heads = 4, int kvHeads = 4, bool tiedOutput = false, GgmlType? embeddingType = null)
    {
        var headDim = (int)(embd / heads);
        var b = new Builder { Layers = layers, Embd = embd, Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Ff = ff, Vocab = vocab };
        b.Add("token_embd.weight", embeddingType ?? type, TensorRole.TokenEmbedding, null, embd, vocab);
        for (var i = 0; i < layers; i++)
        {
            b.Add($"blk.{i}.attn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            b.Add($"blk.{i}.attn_q.weight", type, TensorRole.Attention, i, embd, embd);
            b.Add($"blk.{i}.attn_k.weight", type, TensorRole.Attention, i, embd, headDim * kvHeads);
            b.Add($"blk.{i}.attn_v.weight", type, TensorRole.Attention, i, embd, headDim * kvHeads);
            b.Add($"blk.{i}.attn_output.weight", type, TensorRole.Attention, i, embd, embd);
            b.Add($"blk.{i}.ffn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            b.Add($"blk.{i}.ffn_gate.weight", type, TensorRole.DenseFfn, i, embd, ff);
            b.Add($"blk.{i}.ffn_up.weight", type, TensorRole.DenseFfn, i, embd, ff);
            b.Add($"blk.{i}.ffn_down.weight", type, TensorRole.DenseFfn, i, ff, embd);
        }
        b.Add("output_norm.weight", GgmlType.F32, TensorRole.Output, null, embd);
        if (!tiedOutput) b.Add("output.weight", type, TensorRole.Output, null, embd, vocab);
        return b.Build();
    }

    /// <summary>A llama-shaped MoE (like the synthetic ones of docs/evidence.md): experts of <paramref name="expertType"/>, the rest <paramref name="restType"/>.</summary>
    public static ModelSummary Moe(int layers, int experts, int used, GgmlType expertType, GgmlType restType,
        long embd = 256, long expertFf = 512, long vocab = 1024, int heads = 4, int kvHeads = 4)
    {
        var headDim = (int)(embd / heads);
        var b = new Builder
        {
            Layers = layers, Embd = embd, Heads = heads, KvHeads = kvHeads, HeadDim = headDim, Ff = expertFf, Vocab = vocab,
            Experts = experts, ExpertsUsed = used, ExpertFf = expertFf,
        };
        b.Add("token_embd.weight", restType, TensorRole.TokenEmbedding, null, embd, vocab);
        for (var i = 0; i < layers; i++)
        {
            b.Add($"blk.{i}.attn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            b.Add($"blk.{i}.attn_q.weight", restType, TensorRole.Attention, i, embd, embd);
            b.Add($"blk.{i}.attn_k.weight", restType, TensorRole.Attention, i, embd, headDim * kvHeads);
            b.Add($"blk.{i}.attn_v.weight", restType, TensorRole.Attention, i, embd, headDim * kvHeads);
            b.Add($"blk.{i}.attn_output.weight", restType, TensorRole.Attention, i, embd, embd);
            b.Add($"blk.{i}.ffn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            b.Add($"blk.{i}.ffn_gate_inp.weight", GgmlType.F32, TensorRole.ExpertRouter, i, embd, experts);
            b.Add($"blk.{i}.ffn_gate_exps.weight", expertType, TensorRole.ExpertFfn, i, embd, expertFf, experts);
            b.Add($"blk.{i}.ffn_up_exps.weight", expertType, TensorRole.ExpertFfn, i, embd, expertFf, experts);
            b.Add($"blk.{i}.ffn_down_exps.weight", expertType, TensorRole.ExpertFfn, i, expertFf, embd, experts);
        }
        b.Add("output_norm.weight", GgmlType.F32, TensorRole.Output, null, embd);
        b.Add("output.weight", restType, TensorRole.Output, null, embd, vocab);
        return b.Build();
    }

    /// <summary>
    /// THE SEED MODEL: DeepSeek-R1 shapes (61 layers, 3 leading dense, 256 experts / 8 used, 1 shared, MLA with
    /// kv_lora_rank 512 + rope 64, 7168 embd, 128 heads, vocab 129280), experts IQ1_S, large 2-D weights IQ2_XXS,
    /// small ones Q8_0, norms/router F32: ≈ 132 GB decimal ≈ 123 GiB, the "130 GB IQ1_S" class.
    /// </summary>
    public static ModelSummary SeedDeepSeekR1()
    {
        const long embd = 7168, vocab = 129280, denseFf = 18432, expertFf = 2048, heads = 128;
        const int layers = 61, leadingDense = 3, experts = 256, qLora = 1536, kvLora = 512, rope = 64, nope = 128, vHead = 128;
        var b = new Builder
        {
            Architecture = "deepseek2", Layers = layers, Embd = embd, Heads = (int)heads, KvHeads = 1, Ff = denseFf, Vocab = vocab,
            Experts = experts, ExpertsUsed = 8, SharedExperts = 1, ExpertFf = expertFf, LeadingDense = leadingDense,
            KvLoraRank = kvLora, RopeDims = rope,
        };
        GgmlType Big(long ne0) => ne0 % 256 == 0 ? GgmlType.IQ2_XXS : GgmlType.Q8_0;
        b.Add("token_embd.weight", GgmlType.Q4_K, TensorRole.TokenEmbedding, null, embd, vocab);
        for (var i = 0; i < layers; i++)
        {
            b.Add($"blk.{i}.attn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            b.Add($"blk.{i}.attn_q_a_norm.weight", GgmlType.F32, TensorRole.Norm, i, qLora);
            b.Add($"blk.{i}.attn_kv_a_norm.weight", GgmlType.F32, TensorRole.Norm, i, kvLora);
            b.Add($"blk.{i}.attn_q_a.weight", Big(embd), TensorRole.Attention, i, embd, qLora);
            b.Add($"blk.{i}.attn_q_b.weight", Big(qLora), TensorRole.Attention, i, qLora, heads * (nope + rope));
            b.Add($"blk.{i}.attn_kv_a_mqa.weight", Big(embd), TensorRole.Attention, i, embd, kvLora + rope);
            b.Add($"blk.{i}.attn_k_b.weight", Big(nope), TensorRole.Attention, i, nope, kvLora, heads);
            b.Add($"blk.{i}.attn_v_b.weight", Big(kvLora), TensorRole.Attention, i, kvLora, vHead, heads);
            b.Add($"blk.{i}.attn_output.weight", Big(heads * vHead), TensorRole.Attention, i, heads * vHead, embd);
            b.Add($"blk.{i}.ffn_norm.weight", GgmlType.F32, TensorRole.Norm, i, embd);
            if (i < leadingDense)
            {
                b.Add($"blk.{i}.ffn_gate.weight", Big(embd), TensorRole.DenseFfn, i, embd, denseFf);
                b.Add($"blk.{i}.ffn_up.weight", Big(embd), TensorRole.DenseFfn, i, embd, denseFf);
                b.Add($"blk.{i}.ffn_down.weight", Big(denseFf), TensorRole.DenseFfn, i, denseFf, embd);
                continue;
            }
            b.Add($"blk.{i}.ffn_gate_inp.weight", GgmlType.F32, TensorRole.ExpertRouter, i, embd, experts);
            b.Add($"blk.{i}.exp_probs_b.bias", GgmlType.F32, TensorRole.ExpertRouter, i, experts);
            b.Add($"blk.{i}.ffn_gate_exps.weight", GgmlType.IQ1_S, TensorRole.ExpertFfn, i, embd, expertFf, experts);
            b.Add($"blk.{i}.ffn_up_exps.weight", GgmlType.IQ1_S, TensorRole.ExpertFfn, i, embd, expertFf, experts);
            b.Add($"blk.{i}.ffn_down_exps.weight", GgmlType.IQ1_S, TensorRole.ExpertFfn, i, expertFf, embd, experts);
            b.Add($"blk.{i}.ffn_gate_shexp.weight", Big(embd), TensorRole.SharedExpertFfn, i, embd, expertFf);
            b.Add($"blk.{i}.ffn_up_shexp.weight", Big(embd), TensorRole.SharedExpertFfn, i, embd, expertFf);
            b.Add($"blk.{i}.ffn_down_shexp.weight", Big(expertFf), TensorRole.SharedExpertFfn, i, expertFf, embd);
        }
        b.Add("output_norm.weight", GgmlType.F32, TensorRole.Output, null, embd);
        b.Add("output.weight", GgmlType.Q4_K, TensorRole.Output, null, embd, vocab);
        return b.Build();
    }

    public static GpuSpec Gpu(string name, double vramGiB, double? split = null) => new(name, vramGiB, GpuBackend.Vulkan, split);

    public static FlashMoeProfile Profile(
        double ramGiB,
        Func<LoadOptions, LoadOptions>? load = null,
        GpuSpec[]? gpus = null,
        double? reserveGiB = null,
        int physical = 8,
        int logical = 16,
        bool? avx2 = true,
        StorageKind storage = StorageKind.Nvme,
        double? bandwidth = null,
        Objective objective = Objective.Throughput,
        ModelSpec? model = null)
    {
        var hardware = new HardwareSpec(ramGiB, reserveGiB, new CpuSpec(physical, logical, avx2, null),
            (gpus ?? Array.Empty<GpuSpec>()).ToEquatableArray(), storage, bandwidth);
        var options = (load ?? (o => o))(LoadOptions.Default);
        return new FlashMoeProfile("Test", hardware, model ?? new ModelSpec("model.gguf", null), options, objective);
    }

    /// <summary>
    /// A host like the cgroup sweep of docs/evidence.md#ram-limit-sweep-small-models: a memory limit of <paramref name="ratio"/> × <paramref name="bytes"/>
    /// (the container limit is what usable RAM is bound by), 64 GiB installed, no reserve below the limit.
    /// </summary>
    public static HostFacts SweepHost(FlashMoeProfile profile, long bytes, double ratio) =>
        HostFacts.FromProfile(profile.Hardware) with { MemoryLimitBytes = (long)System.Math.Ceiling(bytes * ratio), ReserveBytes = 0 };

    public static double Gib(long bytes) => bytes / (double)Units.GiB;
}
