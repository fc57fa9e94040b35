using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>
/// Shape and contents of a synthetic llama-architecture model. With <see cref="ExpertCount"/> &gt; 0 every block is
/// a Mixture-of-Experts block (llama.cpp's llama architecture has no mixed dense/MoE stacks).
/// </summary>
public sealed record SyntheticModelSpec
{
    /// <summary><c>general.name</c>.</summary>
    public string Name { get; init; } = "flashmoe-synthetic";

    /// <summary><c>llama.block_count</c>.</summary>
    public int Layers { get; init; } = 2;

    /// <summary><c>llama.embedding_length</c> (n_embd).</summary>
    public int EmbeddingLength { get; init; } = 128;

    /// <summary>Dense FFN width (<c>llama.feed_forward_length</c> of a dense model). Also the expert width when <see cref="ExpertFeedForwardLength"/> is null.</summary>
    public int FeedForwardLength { get; init; } = 256;

    /// <summary><c>llama.attention.head_count</c>; the head dimension is <see cref="EmbeddingLength"/> / heads.</summary>
    public int HeadCount { get; init; } = 4;

    /// <summary><c>llama.attention.head_count_kv</c> (GQA); divides <see cref="HeadCount"/>.</summary>
    public int KvHeadCount { get; init; } = 2;

    /// <summary><c>llama.expert_count</c>; 0 = dense.</summary>
    public int ExpertCount { get; init; }

    /// <summary><c>llama.expert_used_count</c> (experts routed per token); 1 … <see cref="ExpertCount"/> for MoE.</summary>
    public int ExpertUsedCount { get; init; }

    /// <summary>
    /// Width of each expert, or null for <see cref="FeedForwardLength"/>. llama.cpp sizes llama-architecture experts by
    /// <c>llama.feed_forward_length</c>, so for MoE models that key is written with this value (and
    /// <c>llama.expert_feed_forward_length</c> too, for readers that look for it).
    /// </summary>
    public int? ExpertFeedForwardLength { get; init; }

    /// <summary>Total tokens, or null for the base tokens plus <see cref="ExtraVocabPieces"/>. Larger values add generated pieces (e.g. 129 280 for a realistic header).</summary>
    public int? VocabSize { get; init; }

    /// <summary>Pieces after the 259 base tokens (e.g. <see cref="SyntheticVocab.CommonPieces"/>).</summary>
    public EquatableArray<string> ExtraVocabPieces { get; init; }

    /// <summary><c>llama.context_length</c> (training context).</summary>
    public int ContextLength { get; init; } = 2048;

    /// <summary>Type of the 2-D weights (embedding, output, attention, dense FFN). F32, F16, Q8_0 or Q4_0.</summary>
    public GgmlType WeightType { get; init; } = GgmlType.Q8_0;

    /// <summary>Type of the expert tensors, or null for <see cref="WeightType"/>.</summary>
    public GgmlType? ExpertWeightType { get; init; }

    /// <summary>Seed of the random weights: same seed → identical bytes.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Leave tensor data as file holes (no disk blocks, reads as zeros). Needs a seekable output.</summary>
    public bool Sparse { get; init; }

    /// <summary>Writes <c>general.alignment</c> with this value; null writes no key (llama.cpp's default 32 applies).</summary>
    public int? Alignment { get; init; }

    /// <summary><c>llama.attention.layer_norm_rms_epsilon</c>.</summary>
    public float RmsNormEpsilon { get; init; } = 1e-5f;

    /// <summary><c>llama.rope.freq_base</c>.</summary>
    public float RopeFreqBase { get; init; } = 10000f;

    /// <summary>True when the blocks are Mixture-of-Experts.</summary>
    public bool IsMoe => ExpertCount > 0;

    /// <summary>Head dimension = <see cref="EmbeddingLength"/> / <see cref="HeadCount"/> (also <c>llama.rope.dimension_count</c>).</summary>
    public int HeadDimension => HeadCount > 0 ? EmbeddingLength / HeadCount : 0;

    /// <summary>The expert tensors' type.</summary>
    public GgmlType EffectiveExpertWeightType => ExpertWeightType ?? WeightType;

    /// <summary>The expert width actually written.</summary>
    public int EffectiveExpertFeedForwardLength => ExpertFeedForwardLength ?? FeedForwardLength;

    /// <summary>The alignment of the data section.</summary>
    public int EffectiveAlignment => Alignment ?? 32;

    /// <summary>Every reason llama.cpp would reject this spec (or the writer could not write it); empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Require(bool condition, string problem)
        {
            if (!condition) problems.Add(problem);
        }

        Require(!string.IsNullOrEmpty(Name), "Name must not be empty.");
        // llama.cpp's LLAMA_MAX_LAYERS is 512.
        Require(Layers is >= 1 and <= 512, $"Layers must be 1…512 (is {Layers}).");
        Require(EmbeddingLength >= 1, $"EmbeddingLength must be positive (is {EmbeddingLength}).");
        Require(HeadCount >= 1, $"HeadCount must be positive (is {HeadCount}).");
        Require(KvHeadCount >= 1, $"KvHeadCount must be positive (is {KvHeadCount}).");
        if (HeadCount >= 1 && EmbeddingLength >= 1)
        {
            Require(EmbeddingLength % HeadCount == 0, $"EmbeddingLength {EmbeddingLength} must be a multiple of HeadCount {HeadCount}.");
            Require(HeadDimension % 2 == 0, $"The head dimension {HeadDimension} must be even (RoPE rotates pairs).");
        }
        if (HeadCount >= 1 && KvHeadCount >= 1) Require(HeadCount % KvHeadCount == 0, $"HeadCount {HeadCount} must be a multiple of KvHeadCount {KvHeadCount}.");
        Require(FeedForwardLength >= 1, $"FeedForwardLength must be positive (is {FeedForwardLength}).");
        Require(ContextLength >= 1, $"ContextLength must be positive (is {ContextLength}).");
        Require(ExpertCount >= 0, $"ExpertCount must not be negative (is {ExpertCount}).");
        if (IsMoe)
        {
            Require(ExpertUsedCount >= 1 && ExpertUsedCount <= ExpertCount, $"ExpertUsedCount must be 1…ExpertCount ({ExpertCount}) (is {ExpertUsedCount}).");
            Require(EffectiveExpertFeedForwardLength >= 1, $"ExpertFeedForwardLength must be positive (is {EffectiveExpertFeedForwardLength}).");
        }
        else
        {
            Require(ExpertUsedCount == 0, $"ExpertUsedCount must be 0 for a dense model (is {ExpertUsedCount}).");
        }
        Require(RandomWeights.IsSupported(WeightType), $"WeightType {WeightType} is not supported (F32, F16, Q8_0, Q4_0).");
        Require(RandomWeights.IsSupported(EffectiveExpertWeightType), $"ExpertWeightType {EffectiveExpertWeightType} is not supported (F32, F16, Q8_0, Q4_0).");
        if (Alignment is { } alignment) Require(alignment > 0 && (alignment & (alignment - 1)) == 0, $"Alignment must be a positive power of two (is {alignment}).");
        if (VocabSize is { } vocab) Require(vocab >= SyntheticVocab.BaseTokenCount, $"VocabSize must be at least {SyntheticVocab.BaseTokenCount} (is {vocab}).");

        // Quantised rows must hold whole blocks: ne0 of every tensor of that type.
        if (problems.Count == 0)
        {
            RequireRow(problems, WeightType, EmbeddingLength, "EmbeddingLength (token_embd, output, attn_q/k/v rows)");
            RequireRow(problems, WeightType, HeadDimension * HeadCount, "HeadCount × head dimension (attn_output rows)");
            if (IsMoe)
            {
                RequireRow(problems, EffectiveExpertWeightType, EmbeddingLength, "EmbeddingLength (ffn_gate_exps/ffn_up_exps rows)");
                RequireRow(problems, EffectiveExpertWeightType, EffectiveExpertFeedForwardLength, "the expert FFN width (ffn_down_exps rows)");
            }
            else
            {
                RequireRow(problems, WeightType, FeedForwardLength, "FeedForwardLength (ffn_down rows)");
            }
        }
        return problems;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem <see cref="Validate"/> finds.</summary>
    public void EnsureValid()
    {
        var problems = Validate();
        if (problems.Count > 0) throw new ArgumentException("Invalid synthetic model spec: " + string.Join(" ", problems));
    }

    private static void RequireRow(List<string> problems, GgmlType type, long rowLength, string what)
    {
        var block = GgmlTypeTable.Get(type).BlockSize;
        if (rowLength % block != 0) problems.Add($"{what} = {rowLength} must be a multiple of {type}'s block size {block}.");
    }
}
