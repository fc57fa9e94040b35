using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Builds an approximate <see cref="ModelSummary"/> from a profile's declared facts when the GGUF is not there
/// (build machines rarely hold a 100+ GiB file). Every fact not declared is assumed and listed in
/// <see cref="ModelSummary.Assumptions"/>, so FM1007 can say what the check rests on.
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
    /// <summary>Shape assumed for the KV cache and compute estimate (llama-3-8B-like: 4096 embd, 32 heads, 8 KV heads × 128, 128k vocab).</summary>
    public const int AssumedEmbedding = 4096, AssumedHeads = 32, AssumedKvHeads = 8, AssumedHeadDim = 128, AssumedVocab = 128_000,
        AssumedFeedForward = 14336, AssumedExpertFeedForward = 2048;

    /// <summary>Builds the summary of a model from what <paramref name="spec"/> declares.</summary>
    public static ModelSummary FromSpec(ModelSpec spec)
    {
        var assumptions = new List<string>();
        var size = spec.SizeGiB is { } gib && gib > 0 && !double.IsInfinity(gib) ? (long)(gib * Units.GiB) : 0L;
        if (size == 0) assumptions.Add("size unknown (model.sizeGiB not declared): memory advice is not possible");

        var blocks = spec.BlockCount is { } b && b > 0 ? Math.Min(b, ModelLimits.MaxLayers) : AssumedBlockCount;
        if (spec.BlockCount is not > 0) assumptions.Add(Invariant.Text($"{blocks} layers"));

        var experts = spec.ExpertCount is { } e && e > 0 ? Math.Min(e, ModelLimits.MaxExperts) : 0;
        if (spec.ExpertCount is null) assumptions.Add("dense model (no expert count declared)");

        var used = 0;
        if (experts > 0)
        {
            used = spec.ExpertUsedCount is { } u && u > 0 ? Math.Min(u, experts) : Math.Min(AssumedExpertUsedCount, experts);
            if (spec.ExpertUsedCount is not > 0) assumptions.Add(Invariant.Text($"{used} experts used per token"));
        }

        var fraction = 0.0;
        if (experts > 0)
        {
            fraction = spec.ExpertFraction is { } f && f >= 0 && f <= 1 ? f : AssumedExpertFraction;
            if (spec.ExpertFraction is not (>= 0 and <= 1)) assumptions.Add(Invariant.Text($"{fraction:P0} of the bytes in routed experts"));
        }

        var type = spec.WeightType ?? AssumedWeightType;
        if (spec.WeightType is null) assumptions.Add(Invariant.Text($"{type} weights (decides CPU repack)"));
        assumptions.Add(Invariant.Text($"token embedding and output layer {AssumedEmbeddingShare:P0} of the size each"));
        assumptions.Add(Invariant.Text($"KV/compute shape {AssumedEmbedding} embd, {AssumedHeads} heads, {AssumedKvHeads} KV heads × {AssumedHeadDim}, {AssumedVocab} vocab"));

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
            Architecture = "declared",
            Name = spec.Path,
            FileSizeBytes = size,
            IsDeclared = true,
            BlockCount = blocks,
            EmbeddingLength = AssumedEmbedding,
            FeedForwardLength = AssumedFeedForward,
            HeadCountPerLayer = Repeat(AssumedHeads, blocks),
            HeadCountKvPerLayer = Repeat(AssumedKvHeads, blocks),
            KeyLength = AssumedHeadDim,
            ValueLength = AssumedHeadDim,
            ContextLength = LoadDefaults.AssumedTrainingContext,
            VocabSize = AssumedVocab,
            ExpertCount = experts,
            ExpertUsedCount = used,
            ExpertFeedForwardLength = experts > 0 ? AssumedExpertFeedForward : 0,
            ParameterCount = parameters,
            TensorBytes = size,
            BytesByRole = new Dictionary<TensorRole, long>
            {
                [TensorRole.TokenEmbedding] = embeddingBytes,
                [TensorRole.Output] = outputBytes,
                [TensorRole.ExpertFfn] = expertTotal,
                [TensorRole.Attention] = layerTotal - expertTotal,
            },
            BytesByLayer = perLayer.ToEquatableArray(),
            BytesByType = new Dictionary<GgmlType, long> { [type] = size },
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
        var type = GgmlType.F16;
        long biggest = -1;
        foreach (var pair in model.BytesByType)
        {
            if (pair.Value > biggest) { biggest = pair.Value; type = pair.Key; }
        }
        var nominal = EquatableArray.Create(Math.Max(1, model.EmbeddingLength), 8L);
        long RoleBytes(TensorRole role) => model.BytesByRole.TryGetValue(role, out var v) ? v : 0;

        var embedding = RoleBytes(TensorRole.TokenEmbedding);
        if (embedding > 0) list.Add(new TensorSummary("token_embd.weight", type, nominal, 0, embedding, TensorRole.TokenEmbedding, null));

        var layers = model.BytesByLayer.Count;
        var moeLayers = model.IsMoe ? Math.Max(0, layers - Math.Max(0, model.LeadingDenseBlockCount)) : 0;
        var expertPerLayer = moeLayers > 0 ? RoleBytes(TensorRole.ExpertFfn) / moeLayers : 0;
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
                list.Add(new TensorSummary(prefix + "ffn_gate_exps.weight", type, nominal, 0, third, TensorRole.ExpertFfn, il));
                list.Add(new TensorSummary(prefix + "ffn_up_exps.weight", type, nominal, 0, third, TensorRole.ExpertFfn, il));
                list.Add(new TensorSummary(prefix + "ffn_down_exps.weight", type, nominal, 0, experts - 2 * third, TensorRole.ExpertFfn, il));
            }
        }

        var output = RoleBytes(TensorRole.Output);
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
