using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>
/// Shape and contents of a synthetic model. Keys are named <c>{arch}.…</c> after <see cref="Architecture"/>; the
/// <c>llama.…</c> names below stand for any architecture. In the llama architecture with <see cref="ExpertCount"/>
/// &gt; 0 every block is a Mixture-of-Experts block; deepseek2 has <see cref="LeadingDenseLayers"/> dense blocks first.
/// </summary>
public sealed record SyntheticModelSpec
{
    /// <summary><c>general.name</c>.</summary>
    public string Name { get; init; } = "flashmoe-synthetic";

    /// <summary><c>general.architecture</c>: which tensors and hyper-parameters llama.cpp expects.</summary>
    public SyntheticArchitecture Architecture { get; init; } = SyntheticArchitecture.Llama;

    /// <summary><c>llama.block_count</c>.</summary>
    public int Layers { get; init; } = 2;

    /// <summary><c>llama.embedding_length</c> (n_embd).</summary>
    public int EmbeddingLength { get; init; } = 128;

    /// <summary>Dense FFN width (<c>llama.feed_forward_length</c> of a dense model). Also the expert width when <see cref="ExpertFeedForwardLength"/> is null.</summary>
    public int FeedForwardLength { get; init; } = 256;

    /// <summary><c>llama.attention.head_count</c>; the head dimension is <see cref="HeadLength"/>, or <see cref="EmbeddingLength"/> / heads.</summary>
    public int HeadCount { get; init; } = 4;

    /// <summary><c>llama.attention.head_count_kv</c> (GQA); divides <see cref="HeadCount"/>. Not used by deepseek2 (MLA caches one latent head).</summary>
    public int KvHeadCount { get; init; } = 2;

    /// <summary>
    /// <c>attention.key_length</c> = <c>value_length</c> (the head dimension), or null for <see cref="EmbeddingLength"/> /
    /// <see cref="HeadCount"/>. Qwen3-MoE (128) and GPT-OSS (64) heads are not embd / heads wide. Not used by deepseek2.
    /// </summary>
    public int? HeadLength { get; init; }

    /// <summary>deepseek2 MLA: <c>attention.q_lora_rank</c>; 0 = no query compression (one <c>attn_q</c>, as the lite models).</summary>
    public int QLoraRank { get; init; }

    /// <summary>deepseek2 MLA: <c>attention.kv_lora_rank</c>, the width of the compressed KV latent that is cached.</summary>
    public int KvLoraRank { get; init; }

    /// <summary>deepseek2 MLA: the RoPE part of a query/key head (qk_rope_head_dim, <c>rope.dimension_count</c>).</summary>
    public int RopeHeadLength { get; init; }

    /// <summary>deepseek2 MLA: the non-RoPE part of a query/key head (qk_nope_head_dim).</summary>
    public int NopeHeadLength { get; init; }

    /// <summary>deepseek2 MLA: the value head (v_head_dim, <c>attention.value_length_mla</c>).</summary>
    public int ValueHeadLength { get; init; }

    /// <summary>
    /// deepseek2: write MLA in the legacy unsplit form (one <c>attn_kv_b</c>, no <c>key_length_mla</c>) of files
    /// converted before llama.cpp's MLA support (April 2025). llama.cpp then runs it as plain multi-head attention and
    /// caches full K (nope + rope) and V heads for every head instead of the latent.
    /// </summary>
    public bool LegacyMla { get; init; }

    /// <summary>deepseek2: <c>leading_dense_block_count</c>, blocks with a dense FFN of <see cref="FeedForwardLength"/> before the MoE blocks (capped at <see cref="Layers"/>).</summary>
    public int LeadingDenseLayers { get; init; }

    /// <summary>deepseek2: <c>expert_shared_count</c>, always-on experts of <see cref="ExpertFeedForwardLength"/> each (one tensor set of n × that width).</summary>
    public int SharedExpertCount { get; init; }

    /// <summary>deepseek2: <c>expert_weights_scale</c> (routed expert output × this).</summary>
    public float ExpertWeightsScale { get; init; } = 1f;

    /// <summary>deepseek2: <c>expert_weights_norm</c> (routed weights normalised to sum 1).</summary>
    public bool ExpertWeightsNorm { get; init; }

    /// <summary>deepseek2: <c>expert_gating_func</c>; sigmoid also writes the <c>exp_probs_b</c> bias (DeepSeek-V3's routing bias).</summary>
    public SyntheticExpertGating ExpertGating { get; init; } = SyntheticExpertGating.Softmax;

    /// <summary>YaRN <c>rope.scaling.factor</c>, or null for no rope scaling keys.</summary>
    public float? YarnFactor { get; init; }

    /// <summary>YaRN <c>rope.scaling.original_context_length</c>.</summary>
    public int YarnOriginalContextLength { get; init; } = 4096;

    /// <summary>YaRN <c>rope.scaling.yarn_log_multiplier</c> (deepseek2), or null for none.</summary>
    public float? YarnLogMultiplier { get; init; }

    /// <summary>gpt-oss: <c>attention.sliding_window</c>, the window of the sliding-window layers.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>gpt-oss: <c>attention.sliding_window_pattern</c>: every n-th layer is full attention, the others slide (llama.cpp's default 2).</summary>
    public int SlidingWindowPattern { get; init; } = 2;

    /// <summary>
    /// A per-tensor type mix mirroring released files, or null for <see cref="WeightType"/> and
    /// <see cref="ExpertWeightType"/> everywhere. See <see cref="SyntheticRecipes"/>.
    /// </summary>
    public SyntheticRecipe? Recipe { get; init; }

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

    /// <summary>
    /// Type of the weights outside the routed experts (embedding, output, attention, dense and shared FFN), any of
    /// <see cref="SyntheticWeightTypes.All"/>; norms, biases and the router stay F32. Ignored under a <see cref="Recipe"/>.
    /// </summary>
    public GgmlType WeightType { get; init; } = GgmlType.Q8_0;

    /// <summary>Type of the routed expert tensors, or null for <see cref="WeightType"/>. Ignored under a <see cref="Recipe"/>.</summary>
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

    /// <summary>
    /// The query/key head dimension: <see cref="HeadLength"/> or <see cref="EmbeddingLength"/> / <see cref="HeadCount"/>
    /// (also <c>rope.dimension_count</c>); for deepseek2 the decompressed MLA head, nope + rope.
    /// </summary>
    public int HeadDimension => Architecture == SyntheticArchitecture.Deepseek2
        ? NopeHeadLength + RopeHeadLength
        : HeadLength ?? (HeadCount > 0 ? EmbeddingLength / HeadCount : 0);

    /// <summary>
    /// <c>attention.head_count_kv</c> as written: <see cref="KvHeadCount"/>, except deepseek2, whose split MLA caches
    /// one latent "head" (1) and whose legacy form caches every head (<see cref="HeadCount"/>).
    /// </summary>
    public int EffectiveKvHeadCount => Architecture == SyntheticArchitecture.Deepseek2 ? (LegacyMla ? HeadCount : 1) : KvHeadCount;

    /// <summary>The leading dense blocks actually written (deepseek2 only).</summary>
    public int EffectiveLeadingDenseLayers => Architecture == SyntheticArchitecture.Deepseek2 ? Math.Max(0, Math.Min(LeadingDenseLayers, Layers)) : 0;

    /// <summary>
    /// The query compression actually written: llama.cpp treats a deepseek2 model of 26 or 27 blocks (or 48 with a
    /// 128 256 vocab) as a "lite" model that never reads <c>q_lora_rank</c>, so those get a plain <c>attn_q</c>.
    /// </summary>
    public int EffectiveQLoraRank => IsLiteShape ? 0 : QLoraRank;

    private bool IsLiteShape => Layers is 26 or 27 || (Layers == 48 && VocabSize == 128256);

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
        Require(Enum.IsDefined(typeof(SyntheticArchitecture), Architecture), $"Unknown architecture {Architecture}.");
        Require(EmbeddingLength >= 1, $"EmbeddingLength must be positive (is {EmbeddingLength}).");
        Require(HeadCount >= 1, $"HeadCount must be positive (is {HeadCount}).");
        var mla = Architecture == SyntheticArchitecture.Deepseek2;
        if (mla)
        {
            Require(KvLoraRank >= 1, $"KvLoraRank must be positive for deepseek2 (is {KvLoraRank}).");
            Require(QLoraRank >= 0, $"QLoraRank must not be negative (is {QLoraRank}).");
            // Outside the lite shapes llama.cpp requires attention.q_lora_rank and builds attn_q_a/attn_q_b from it.
            Require(QLoraRank > 0 || EffectiveQLoraRank == 0 && IsLiteShape,
                $"QLoraRank 0 (a plain attn_q) loads only in llama.cpp's lite deepseek2 shapes (26 or 27 blocks, or 48 with a 128 256 vocab); {Layers} blocks need QLoraRank >= 1.");
            Require(RopeHeadLength >= 2 && RopeHeadLength % 2 == 0, $"RopeHeadLength must be even and positive for deepseek2 (is {RopeHeadLength}).");
            Require(NopeHeadLength >= 1, $"NopeHeadLength must be positive for deepseek2 (is {NopeHeadLength}).");
            Require(ValueHeadLength >= 1, $"ValueHeadLength must be positive for deepseek2 (is {ValueHeadLength}).");
            Require(LeadingDenseLayers >= 0, $"LeadingDenseLayers must not be negative (is {LeadingDenseLayers}).");
            Require(SharedExpertCount >= 1, $"SharedExpertCount must be at least 1 for deepseek2 (is {SharedExpertCount}).");
            Require(ExpertCount >= 1, "deepseek2 needs experts (ExpertCount >= 1).");
        }
        else
        {
            Require(KvHeadCount >= 1, $"KvHeadCount must be positive (is {KvHeadCount}).");
            if (HeadLength is { } headLength)
            {
                Require(headLength >= 2 && headLength % 2 == 0, $"HeadLength must be even and positive (RoPE rotates pairs) (is {headLength}).");
            }
            else if (HeadCount >= 1 && EmbeddingLength >= 1)
            {
                Require(EmbeddingLength % HeadCount == 0, $"EmbeddingLength {EmbeddingLength} must be a multiple of HeadCount {HeadCount}.");
                Require(HeadDimension % 2 == 0, $"The head dimension {HeadDimension} must be even (RoPE rotates pairs).");
            }
            if (HeadCount >= 1 && KvHeadCount >= 1) Require(HeadCount % KvHeadCount == 0, $"HeadCount {HeadCount} must be a multiple of KvHeadCount {KvHeadCount}.");
        }
        if (Architecture is SyntheticArchitecture.Qwen3Moe or SyntheticArchitecture.GptOss)
        {
            Require(ExpertCount >= 1, $"{SyntheticArchitectures.Name(Architecture)} needs experts (ExpertCount >= 1).");
        }
        if (Architecture == SyntheticArchitecture.GptOss)
        {
            Require(SlidingWindow >= 1, $"SlidingWindow must be positive for gpt-oss (is {SlidingWindow}).");
            Require(SlidingWindowPattern >= 1, $"SlidingWindowPattern must be positive (is {SlidingWindowPattern}).");
        }
        if (YarnFactor is { } yarn) Require(yarn > 0 && !float.IsInfinity(yarn), $"YarnFactor must be positive (is {yarn}).");
        if (Recipe is { } recipe) Require(Enum.IsDefined(typeof(SyntheticRecipe), recipe), $"Unknown recipe {recipe}.");
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
        Require(RandomWeights.IsSupported(WeightType), $"WeightType {WeightType} is not supported.");
        Require(RandomWeights.IsSupported(EffectiveExpertWeightType), $"ExpertWeightType {EffectiveExpertWeightType} is not supported.");
        if (Alignment is { } alignment) Require(alignment > 0 && (alignment & (alignment - 1)) == 0, $"Alignment must be a positive power of two (is {alignment}).");
        if (VocabSize is { } vocab) Require(vocab >= SyntheticVocab.BaseTokenCount, $"VocabSize must be at least {SyntheticVocab.BaseTokenCount} (is {vocab}).");

        // Quantised rows must hold whole blocks: ne0 of every tensor of that type. The other architectures and the
        // recipes fall back per tensor instead, as llama.cpp's quantizer does (SyntheticRecipes.Fallback).
        if (problems.Count == 0 && Recipe is null && Architecture == SyntheticArchitecture.Llama)
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

    /// <summary>
    /// This shape in another architecture: sizes (layers, embd, heads, experts, widths, vocab, types) stay; what only the
    /// target architecture has (MLA ranks and head parts, dense lead, shared experts, routing, sliding window) comes
    /// from its real preset (deepseek-r1, qwen3-30b-a3b, gpt-oss-20b), or from its tiny variant for a shape narrower
    /// than 1024; a dense shape gets the tiny variant's expert count.
    /// </summary>
    public SyntheticModelSpec WithArchitecture(SyntheticArchitecture architecture)
    {
        if (architecture == Architecture) return this;
        var tiny = SyntheticPresets.Get(SyntheticPresets.DefaultFor(architecture));
        var reference = EmbeddingLength < 1024 ? tiny : architecture switch
        {
            SyntheticArchitecture.Deepseek2 => SyntheticPresets.DeepseekR1,
            SyntheticArchitecture.Qwen3Moe => SyntheticPresets.Qwen3_30B_A3B,
            SyntheticArchitecture.GptOss => SyntheticPresets.GptOss20B,
            _ => tiny,
        };
        var moved = this with
        {
            Architecture = architecture,
            QLoraRank = reference.QLoraRank,
            KvLoraRank = reference.KvLoraRank,
            RopeHeadLength = reference.RopeHeadLength,
            NopeHeadLength = reference.NopeHeadLength,
            ValueHeadLength = reference.ValueHeadLength,
            LeadingDenseLayers = reference.LeadingDenseLayers,
            SharedExpertCount = reference.SharedExpertCount,
            ExpertWeightsScale = reference.ExpertWeightsScale,
            ExpertWeightsNorm = reference.ExpertWeightsNorm,
            ExpertGating = reference.ExpertGating,
            SlidingWindow = reference.SlidingWindow,
            SlidingWindowPattern = reference.SlidingWindowPattern,
        };
        if (architecture != SyntheticArchitecture.Llama && !IsMoe)
        {
            moved = moved with { ExpertCount = tiny.ExpertCount, ExpertUsedCount = tiny.ExpertUsedCount };
        }
        return moved;
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
