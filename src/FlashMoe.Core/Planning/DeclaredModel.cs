using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Builds an approximate <see cref="ModelSummary"/> from a profile's declared facts when the GGUF is not there
/// (build machines rarely hold a 100+ GiB file). Every fact not declared is taken from the declared architecture's
/// reference model (<see cref="ModelSpec.Architecture"/>: DeepSeek-R1, Qwen3-30B-A3B, gpt-oss-20b; without one, a
/// llama-3-8B shape) and listed in <see cref="ModelSummary.Assumptions"/>, so FM1007 can say what the check rests on.
/// </summary>
public static class DeclaredModel
{
    /// <summary>Layer count assumed when none is declared (a 7–8B llama shape).</summary>
    public const int AssumedBlockCount = 32;
    /// <summary>Experts used per token assumed for a declared MoE (DeepSeek-V3/R1, Qwen3-MoE use 8).</summary>
    public const int AssumedExpertUsedCount = 8;
    /// <summary>Share of a MoE's bytes in routed experts when not declared (DeepSeek-R1 ≈ 0.97, Mixtral ≈ 0.95, Qwen3-30B-A3B ≈ 0.9).</summary>
    public const double AssumedExpertFraction = 0.9;
    /// <summary>Weight type assumed when none is declared (the most common large-model quantization family, Q4_K_M).</summary>
    public const GgmlType AssumedWeightType = GgmlType.Q4_K;
    /// <summary>Share of the file in the token embedding, and again in the output layer.</summary>
    public const double AssumedEmbeddingShare = 0.01;
    /// <summary>Shape assumed for the KV cache and compute estimate without a declared architecture (llama-3-8B-like: 4096 embd, 32 heads, 8 KV heads × 128, 128k vocab).</summary>
    public const int AssumedEmbedding = 4096, AssumedHeads = 32, AssumedKvHeads = 8, AssumedHeadDim = 128, AssumedVocab = 128_000,
        AssumedFeedForward = 14336, AssumedExpertFeedForward = 2048;

    /// <summary>The reference shape of an architecture: every hyper-parameter the plan needs, from the released model's config.</summary>
    private sealed class ReferenceShape
    {
        public string Name = string.Empty;
        public string GgufArchitecture = ModelArchitectures.Llama;
        public int Blocks, Heads, KvHeads, KeyLength, ValueLength, Experts, ExpertsUsed, SharedExperts, LeadingDense;
        public long Embedding, FeedForward, ExpertFeedForward, Vocab, Context;
        public int? KvLoraRank, QLoraRank, Rope, KeyLengthMla, ValueLengthMla, SlidingWindow, GatingFunction;
        public bool? WeightsNorm;
        public double ExpertFraction;
        public GgmlType WeightType;
    }

    // The released configs (config.json) the synthetic presets also follow; see docs/profile-format.md.
    private static ReferenceShape ShapeOf(ModelArchitecture? architecture) => architecture switch
    {
        ModelArchitecture.DeepSeek2 => new ReferenceShape
        {
            // DeepSeek-R1: 61 layers, 7168 embd, 128 heads, MLA (q_lora 1536, kv_lora 512, rope/nope/v 64/128/128), 3
            // dense layers of 18432, 256 experts / 8 of 2048, 1 shared, sigmoid routing, 129 280 vocab. The cache holds
            // one latent head of kv_lora + rope.
            Name = "DeepSeek-R1", GgufArchitecture = ModelArchitectures.DeepSeek2,
            Blocks = 61, Embedding = 7168, Heads = 128, KvHeads = 1, KeyLength = 576, ValueLength = 512, FeedForward = 18432,
            Experts = 256, ExpertsUsed = 8, ExpertFeedForward = 2048, SharedExperts = 1, LeadingDense = 3, Vocab = 129_280,
            Context = 163_840, KvLoraRank = 512, QLoraRank = 1536, Rope = 64, KeyLengthMla = 192, ValueLengthMla = 128,
            GatingFunction = 2, WeightsNorm = true, ExpertFraction = 0.97, WeightType = GgmlType.IQ1_S,
        },
        ModelArchitecture.Qwen3Moe => new ReferenceShape
        {
            // Qwen3-30B-A3B: 48 layers, 2048 embd, 32 heads / 4 KV heads of 128, 128 experts / 8 of 768, 151 936 vocab.
            Name = "Qwen3-30B-A3B", GgufArchitecture = ModelArchitectures.Qwen3Moe,
            Blocks = 48, Embedding = 2048, Heads = 32, KvHeads = 4, KeyLength = 128, ValueLength = 128, FeedForward = 6144,
            Experts = 128, ExpertsUsed = 8, ExpertFeedForward = 768, Vocab = 151_936, Context = 40_960,
            ExpertFraction = 0.9, WeightType = GgmlType.Q4_K,
        },
        ModelArchitecture.GptOss => new ReferenceShape
        {
            // gpt-oss-20b: 24 layers, 2880 embd, 64 heads / 8 KV heads of 64, 32 experts / 4 of 2880, a 128-token window
            // on every other layer, 201 088 vocab, MXFP4 experts.
            Name = "gpt-oss-20b", GgufArchitecture = ModelArchitectures.GptOss,
            Blocks = 24, Embedding = 2880, Heads = 64, KvHeads = 8, KeyLength = 64, ValueLength = 64, FeedForward = 2880,
            Experts = 32, ExpertsUsed = 4, ExpertFeedForward = 2880, Vocab = 201_088, Context = 131_072, SlidingWindow = 128,
            ExpertFraction = 0.9, WeightType = GgmlType.MXFP4,
        },
        _ => new ReferenceShape
        {
            Name = "llama-3-8B", GgufArchitecture = architecture == ModelArchitecture.Llama ? ModelArchitectures.Llama : "declared",
            Blocks = AssumedBlockCount, Embedding = AssumedEmbedding, Heads = AssumedHeads, KvHeads = AssumedKvHeads,
            KeyLength = AssumedHeadDim, ValueLength = AssumedHeadDim, FeedForward = AssumedFeedForward,
            ExpertFeedForward = AssumedExpertFeedForward, Vocab = AssumedVocab, Context = 4096,
            ExpertFraction = AssumedExpertFraction, WeightType = AssumedWeightType,
        },
    };

    /// <summary>Builds the summary of a model from what <paramref name="spec"/> declares.</summary>
    public static ModelSummary FromSpec(ModelSpec spec)
    {
        if (spec is null) throw new ArgumentNullException(nameof(spec));
        var shape = ShapeOf(spec.Architecture);
        var known = spec.Architecture is not null and not ModelArchitecture.Llama;
        var assumptions = new List<string>();
        var size = spec.SizeGiB is { } gib && gib > 0 && !double.IsInfinity(gib) ? (long)(gib * Units.GiB) : 0L;
        if (size == 0) assumptions.Add("size unknown (model.sizeGiB not declared): memory advice is not possible");

        var blocks = spec.BlockCount is { } b && b > 0 ? Math.Min(b, ModelLimits.MaxLayers) : shape.Blocks;
        if (spec.BlockCount is not > 0) assumptions.Add(Invariant.Text($"{blocks} layers"));

        // A declared architecture brings its experts; without one a model is dense unless it declares experts.
        var experts = spec.ExpertCount is { } e && e > 0 ? Math.Min(e, ModelLimits.MaxExperts) : (spec.ExpertCount is null && known ? shape.Experts : 0);
        if (spec.ExpertCount is null) assumptions.Add(experts > 0 ? Invariant.Text($"{experts} routed experts") : "dense model (no expert count declared)");

        var used = 0;
        if (experts > 0)
        {
            var fallbackUsed = known ? shape.ExpertsUsed : AssumedExpertUsedCount;
            used = spec.ExpertUsedCount is { } u && u > 0 ? Math.Min(u, experts) : Math.Min(fallbackUsed, experts);
            if (spec.ExpertUsedCount is not > 0) assumptions.Add(Invariant.Text($"{used} experts used per token"));
        }

        var fraction = 0.0;
        if (experts > 0)
        {
            fraction = spec.ExpertFraction is { } f && f >= 0 && f <= 1 ? f : shape.ExpertFraction;
            if (spec.ExpertFraction is not (>= 0 and <= 1)) assumptions.Add(Invariant.Text($"{fraction:P0} of the bytes in routed experts"));
        }

        var type = spec.WeightType ?? shape.WeightType;
        if (spec.WeightType is null) assumptions.Add(Invariant.Text($"{type} weights (decides CPU repack)"));
        assumptions.Add(Invariant.Text($"token embedding and output layer {AssumedEmbeddingShare:P0} of the size each"));
        assumptions.Add(known
            ? Invariant.Text($"KV/compute shape of {shape.Name} ({shape.GgufArchitecture}: {shape.Embedding} embd, {shape.Heads} heads, {shape.Vocab} vocab)")
            : Invariant.Text($"KV/compute shape {shape.Embedding} embd, {shape.Heads} heads, {shape.KvHeads} KV heads × {shape.KeyLength}, {shape.Vocab} vocab"));

        var embeddingBytes = (long)(size * AssumedEmbeddingShare);
        var outputBytes = embeddingBytes;
        var layerTotal = Math.Max(0, size - embeddingBytes - outputBytes);
        var expertTotal = (long)(layerTotal * fraction);
        var perLayer = new long[blocks];
        for (var i = 0; i < blocks; i++) perLayer[i] = layerTotal / blocks;

        var info = GgmlTypeTable.Get(type);
        var parameters = size <= 0 ? 0 : (long)(size * 8.0 / info.BitsPerWeight);

        return new ModelSummary
        {
            Architecture = shape.GgufArchitecture,
            Name = spec.Path,
            FileSizeBytes = size,
            IsDeclared = true,
            BlockCount = blocks,
            EmbeddingLength = shape.Embedding,
            FeedForwardLength = shape.FeedForward,
            HeadCountPerLayer = Repeat(shape.Heads, blocks),
            HeadCountKvPerLayer = Repeat(shape.KvHeads, blocks),
            KeyLength = shape.KeyLength,
            ValueLength = shape.ValueLength,
            KvLoraRank = shape.KvLoraRank,
            QLoraRank = shape.QLoraRank,
            RopeDimensionCount = shape.Rope,
            KeyLengthMla = shape.KeyLengthMla,
            ValueLengthMla = shape.ValueLengthMla,
            SlidingWindow = shape.SlidingWindow,
            ExpertGatingFunction = experts > 0 ? shape.GatingFunction : null,
            ExpertWeightsNorm = shape.WeightsNorm,
            ContextLength = shape.Context,
            VocabSize = shape.Vocab,
            ExpertCount = experts,
            ExpertUsedCount = used,
            ExpertSharedCount = experts > 0 ? shape.SharedExperts : 0,
            ExpertFeedForwardLength = experts > 0 ? shape.ExpertFeedForward : 0,
            LeadingDenseBlockCount = experts > 0 ? Math.Min(shape.LeadingDense, blocks) : 0,
            ParameterCount = parameters,
            TensorBytes = size,
            BytesByRole = new RoleBytes
            {
                { TensorRole.TokenEmbedding, embeddingBytes },
                { TensorRole.Output, outputBytes },
                { TensorRole.ExpertFfn, expertTotal },
                { TensorRole.Attention, layerTotal - expertTotal },
            },
            BytesByLayer = perLayer.ToEquatableArray(),
            BytesByType = new TypeBytes { { type, size } },
            Assumptions = assumptions.ToEquatableArray(),
        };
    }

    /// <summary>
    /// The tensors the planner places: the header's when present, else nominal tensors synthesised from the
    /// summary's per-role and per-layer bytes, named as llama.cpp names them so overrides and
    /// <c>expertsOnCpu</c> match (<c>token_embd.weight</c>, <c>blk.N.ffn_up_exps.weight</c>, <c>output.weight</c>).
    /// Their dimensions are nominal; only their bytes, roles and names count.
    /// </summary>
    internal static IReadOnlyList<TensorSummary> TensorsOf(ModelSummary model)
    {
        if (model.Tensors.Count > 0) return model.Tensors;

        var list = new List<TensorSummary>();
        var type = TypeBytes.Dominant(model.BytesByType);
        var nominal = EquatableArray.Create(Math.Max(1, model.EmbeddingLength), 8L);
        // Routed experts are 3-D (MUL_MAT_ID), which decides whether the CPU repacks them.
        var nominalExperts = EquatableArray.Create(Math.Max(1, model.EmbeddingLength), 8L, 8L);
        long BytesOf(TensorRole role) => model.BytesByRole.TryGetValue(role, out var v) ? v : 0;

        var embedding = BytesOf(TensorRole.TokenEmbedding);
        if (embedding > 0) list.Add(new TensorSummary("token_embd.weight", type, nominal, 0, embedding, TensorRole.TokenEmbedding, null));

        var layers = model.BytesByLayer.Count;
        var moeLayers = model.IsMoe ? Math.Max(0, layers - Math.Max(0, model.LeadingDenseBlockCount)) : 0;
        var expertPerLayer = moeLayers > 0 ? BytesOf(TensorRole.ExpertFfn) / moeLayers : 0;
        for (var il = 0; il < layers; il++)
        {
            var layerBytes = model.BytesByLayer[il];
            var experts = il >= model.LeadingDenseBlockCount ? Math.Min(expertPerLayer, layerBytes) : 0;
            var prefix = "blk." + il.ToString(CultureInfo.InvariantCulture) + ".";
            var rest = layerBytes - experts;
            if (rest > 0) list.Add(new TensorSummary(prefix + "attn_and_dense.weight", type, nominal, 0, rest, TensorRole.Attention, il));
            if (experts > 0)
            {
                var third = experts / 3;
                list.Add(new TensorSummary(prefix + "ffn_gate_exps.weight", type, nominalExperts, 0, third, TensorRole.ExpertFfn, il));
                list.Add(new TensorSummary(prefix + "ffn_up_exps.weight", type, nominalExperts, 0, third, TensorRole.ExpertFfn, il));
                list.Add(new TensorSummary(prefix + "ffn_down_exps.weight", type, nominalExperts, 0, experts - 2 * third, TensorRole.ExpertFfn, il));
            }
        }

        var output = BytesOf(TensorRole.Output);
        if (output > 0) list.Add(new TensorSummary("output.weight", type, nominal, 0, output, TensorRole.Output, null));
        return list;
    }

    private static EquatableArray<int> Repeat(int value, int count)
    {
        var items = new int[count];
        for (var i = 0; i < count; i++) items[i] = value;
        return items.ToEquatableArray();
    }
}
