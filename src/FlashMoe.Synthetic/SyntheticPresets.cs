using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>Named starting shapes for synthetic models.</summary>
public static class SyntheticPresets
{
    /// <summary>2 dense layers, 128 embd, Q8_0, ≈ 400-token vocab: loads and generates in well under a second.</summary>
    public static SyntheticModelSpec TinyDense { get; } = new()
    {
        Name = "flashmoe-tiny-dense",
        Layers = 2,
        EmbeddingLength = 128,
        FeedForwardLength = 256,
        HeadCount = 4,
        KvHeadCount = 2,
        ContextLength = 512,
        WeightType = GgmlType.Q8_0,
        ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
    };

    /// <summary>2 MoE layers, 8 experts / 2 used, Q8_0 with Q4_0 experts (the mix real MoE quants use).</summary>
    public static SyntheticModelSpec TinyMoe { get; } = TinyDense with
    {
        Name = "flashmoe-tiny-moe",
        ExpertCount = 8,
        ExpertUsedCount = 2,
        ExpertFeedForwardLength = 128,
        ExpertWeightType = GgmlType.Q4_0,
    };

    /// <summary>
    /// A DeepSeek-class MoE header in the llama architecture: 4096 embd, 128 experts / 8 used, 129 280-token vocab,
    /// Q8_0 with Q4_0 experts, 61 layers (≈ 106 GiB). Meant for <c>--target-size</c> and <c>--sparse</c>.
    /// </summary>
    public static SyntheticModelSpec BigMoe { get; } = new()
    {
        Name = "flashmoe-big-moe",
        Layers = 61,
        EmbeddingLength = 4096,
        FeedForwardLength = 2048,
        HeadCount = 32,
        KvHeadCount = 8,
        ExpertCount = 128,
        ExpertUsedCount = 8,
        ExpertFeedForwardLength = 2048,
        VocabSize = 129280,
        ContextLength = 4096,
        WeightType = GgmlType.Q8_0,
        ExpertWeightType = GgmlType.Q4_0,
        ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
    };

    // DeepSeek-V3/R1: deepseek-ai/DeepSeek-R1 config.json (hidden_size 7168, 61 layers, 128 heads, q_lora_rank 1536,
    // kv_lora_rank 512, qk_rope/qk_nope/v_head_dim 64/128/128, first_k_dense_replace 3, intermediate_size 18432,
    // n_routed_experts 256, num_experts_per_tok 8, n_shared_experts 1, moe_intermediate_size 2048,
    // routed_scaling_factor 2.5, norm_topk_prob, scoring_func sigmoid, vocab 129 280, rms_norm_eps 1e-6,
    // rope_theta 10000, yarn factor 40 over 4096 with mscale_all_dim 1.0 → yarn_log_multiplier 0.1).

    /// <summary>DeepSeek-R1 (671B) in the deepseek2 architecture with the Q4_K_M mix (≈ 377 GiB; use <c>--sparse</c>).</summary>
    public static SyntheticModelSpec DeepseekR1 { get; } = new()
    {
        Name = "flashmoe-deepseek-r1",
        Architecture = SyntheticArchitecture.Deepseek2,
        Layers = 61,
        EmbeddingLength = 7168,
        FeedForwardLength = 18432,
        HeadCount = 128,
        KvHeadCount = 128,
        QLoraRank = 1536,
        KvLoraRank = 512,
        RopeHeadLength = 64,
        NopeHeadLength = 128,
        ValueHeadLength = 128,
        LeadingDenseLayers = 3,
        ExpertCount = 256,
        ExpertUsedCount = 8,
        ExpertFeedForwardLength = 2048,
        SharedExpertCount = 1,
        ExpertWeightsScale = 2.5f,
        ExpertWeightsNorm = true,
        ExpertGating = SyntheticExpertGating.Sigmoid,
        VocabSize = 129280,
        ContextLength = 163840,
        RmsNormEpsilon = 1e-6f,
        RopeFreqBase = 10000f,
        YarnFactor = 40f,
        YarnOriginalContextLength = 4096,
        YarnLogMultiplier = 0.1f,
        Recipe = SyntheticRecipe.Q4_K_M,
        ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
    };

    /// <summary>deepseek-r1's structure (MLA, 1 dense + 3 MoE blocks, shared expert, sigmoid routing, YaRN) at 256 wide: loads in well under a second.</summary>
    public static SyntheticModelSpec DeepseekR1Tiny { get; } = DeepseekR1 with
    {
        Name = "flashmoe-deepseek-r1-tiny",
        Layers = 4,
        EmbeddingLength = 256,
        FeedForwardLength = 512,
        HeadCount = 4,
        KvHeadCount = 4,
        QLoraRank = 256,
        KvLoraRank = 256,
        RopeHeadLength = 32,
        NopeHeadLength = 64,
        ValueHeadLength = 64,
        LeadingDenseLayers = 1,
        ExpertCount = 8,
        ExpertUsedCount = 2,
        ExpertFeedForwardLength = 256,
        VocabSize = null,
        ContextLength = 512,
        YarnFactor = 4f,
        YarnOriginalContextLength = 128,
    };

    // Qwen3-MoE: Qwen/Qwen3-30B-A3B and Qwen/Qwen3-235B-A22B config.json (head_dim 128, rms_norm_eps 1e-6,
    // rope_theta 1e6, max_position_embeddings 40960, vocab 151 936, 128 experts / 8 used).

    /// <summary>Qwen3-30B-A3B: 48 blocks, embd 2048, 32/4 heads of 128, 128 experts / 8 of ff 768, Q4_K_M.</summary>
    public static SyntheticModelSpec Qwen3_30B_A3B { get; } = new()
    {
        Name = "flashmoe-qwen3-30b-a3b",
        Architecture = SyntheticArchitecture.Qwen3Moe,
        Layers = 48,
        EmbeddingLength = 2048,
        FeedForwardLength = 6144,
        HeadCount = 32,
        KvHeadCount = 4,
        HeadLength = 128,
        ExpertCount = 128,
        ExpertUsedCount = 8,
        ExpertFeedForwardLength = 768,
        VocabSize = 151936,
        ContextLength = 40960,
        RmsNormEpsilon = 1e-6f,
        RopeFreqBase = 1000000f,
        Recipe = SyntheticRecipe.Q4_K_M,
        ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
    };

    /// <summary>qwen3-30b-a3b's structure at 256 wide, 2 blocks, 8 experts / 2.</summary>
    public static SyntheticModelSpec Qwen3_30B_A3BTiny { get; } = Qwen3_30B_A3B with
    {
        Name = "flashmoe-qwen3-30b-a3b-tiny",
        Layers = 2,
        EmbeddingLength = 256,
        FeedForwardLength = 768,
        HeadCount = 4,
        KvHeadCount = 2,
        HeadLength = 128,
        ExpertCount = 8,
        ExpertUsedCount = 2,
        ExpertFeedForwardLength = 256,
        VocabSize = null,
        ContextLength = 512,
    };

    /// <summary>Qwen3-235B-A22B: 94 blocks, embd 4096, 64/4 heads of 128, 128 experts / 8 of ff 1536, Q4_K_M.</summary>
    public static SyntheticModelSpec Qwen3_235B_A22B { get; } = Qwen3_30B_A3B with
    {
        Name = "flashmoe-qwen3-235b-a22b",
        Layers = 94,
        EmbeddingLength = 4096,
        FeedForwardLength = 12288,
        HeadCount = 64,
        KvHeadCount = 4,
        ExpertFeedForwardLength = 1536,
    };

    /// <summary>qwen3-235b-a22b's structure at 256 wide, 2 blocks, 16 heads of 128 over 1 KV head, 16 experts / 4.</summary>
    public static SyntheticModelSpec Qwen3_235B_A22BTiny { get; } = Qwen3_30B_A3BTiny with
    {
        Name = "flashmoe-qwen3-235b-a22b-tiny",
        HeadCount = 16,
        KvHeadCount = 1,
        ExpertCount = 16,
        ExpertUsedCount = 4,
    };

    // GPT-OSS: openai/gpt-oss-20b and gpt-oss-120b config.json (hidden_size 2880, 64 heads / 8 KV heads of 64,
    // intermediate_size 2880, sliding_window 128 on alternate layers, rope_theta 150000, yarn factor 32 over 4096,
    // max_position_embeddings 131072, rms_norm_eps 1e-5, vocab 201 088; 20b: 24 layers, 32 experts / 4;
    // 120b: 36 layers, 128 experts / 4). Released as MXFP4 experts with the rest Q8_0.

    /// <summary>gpt-oss-20b: 24 blocks, embd 2880, 32 experts / 4, MXFP4 experts.</summary>
    public static SyntheticModelSpec GptOss20B { get; } = new()
    {
        Name = "flashmoe-gpt-oss-20b",
        Architecture = SyntheticArchitecture.GptOss,
        Layers = 24,
        EmbeddingLength = 2880,
        FeedForwardLength = 2880,
        HeadCount = 64,
        KvHeadCount = 8,
        HeadLength = 64,
        ExpertCount = 32,
        ExpertUsedCount = 4,
        ExpertFeedForwardLength = 2880,
        SlidingWindow = 128,
        VocabSize = 201088,
        ContextLength = 131072,
        RmsNormEpsilon = 1e-5f,
        RopeFreqBase = 150000f,
        YarnFactor = 32f,
        YarnOriginalContextLength = 4096,
        Recipe = SyntheticRecipe.MXFP4,
        ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
    };

    /// <summary>gpt-oss-20b's structure at 320 wide (like 2880, not a multiple of 256), 2 blocks (one sliding, one full), 8 experts / 2.</summary>
    public static SyntheticModelSpec GptOss20BTiny { get; } = GptOss20B with
    {
        Name = "flashmoe-gpt-oss-20b-tiny",
        Layers = 2,
        EmbeddingLength = 320,
        FeedForwardLength = 320,
        HeadCount = 4,
        KvHeadCount = 2,
        HeadLength = 64,
        ExpertCount = 8,
        ExpertUsedCount = 2,
        ExpertFeedForwardLength = 320,
        SlidingWindow = 64,
        VocabSize = null,
        ContextLength = 512,
        YarnFactor = 4f,
        YarnOriginalContextLength = 128,
    };

    /// <summary>gpt-oss-120b: 36 blocks, embd 2880, 128 experts / 4, MXFP4 experts.</summary>
    public static SyntheticModelSpec GptOss120B { get; } = GptOss20B with
    {
        Name = "flashmoe-gpt-oss-120b",
        Layers = 36,
        ExpertCount = 128,
    };

    /// <summary>gpt-oss-120b's structure at 320 wide, 2 blocks, 16 experts / 4.</summary>
    public static SyntheticModelSpec GptOss120BTiny { get; } = GptOss20BTiny with
    {
        Name = "flashmoe-gpt-oss-120b-tiny",
        ExpertCount = 16,
        ExpertUsedCount = 4,
    };

    private static readonly (string Name, SyntheticModelSpec Spec)[] All =
    {
        ("tiny-dense", TinyDense), ("tiny-moe", TinyMoe), ("big-moe", BigMoe),
        ("deepseek-r1", DeepseekR1), ("deepseek-r1-tiny", DeepseekR1Tiny),
        ("qwen3-30b-a3b", Qwen3_30B_A3B), ("qwen3-30b-a3b-tiny", Qwen3_30B_A3BTiny),
        ("qwen3-235b-a22b", Qwen3_235B_A22B), ("qwen3-235b-a22b-tiny", Qwen3_235B_A22BTiny),
        ("gpt-oss-20b", GptOss20B), ("gpt-oss-20b-tiny", GptOss20BTiny),
        ("gpt-oss-120b", GptOss120B), ("gpt-oss-120b-tiny", GptOss120BTiny),
    };

    /// <summary>The small preset of each architecture: where <c>synth --arch</c> starts without <c>--preset</c>.</summary>
    public static string DefaultFor(SyntheticArchitecture architecture) => architecture switch
    {
        SyntheticArchitecture.Deepseek2 => "deepseek-r1-tiny",
        SyntheticArchitecture.Qwen3Moe => "qwen3-30b-a3b-tiny",
        SyntheticArchitecture.GptOss => "gpt-oss-20b-tiny",
        _ => "tiny-moe",
    };

    /// <summary>The preset names, as the <c>synth</c> verb accepts them.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(All, p => p.Name);

    /// <summary>Looks a preset up by name (case-insensitive).</summary>
    public static bool TryGet(string name, out SyntheticModelSpec spec)
    {
        foreach (var (presetName, presetSpec) in All)
        {
            if (string.Equals(presetName, name, StringComparison.OrdinalIgnoreCase))
            {
                spec = presetSpec;
                return true;
            }
        }
        spec = TinyDense;
        return false;
    }

    /// <summary>The preset called <paramref name="name"/>; throws <see cref="ArgumentException"/> for an unknown name.</summary>
    public static SyntheticModelSpec Get(string name) =>
        TryGet(name, out var spec) ? spec : throw new ArgumentException($"Unknown preset '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
}
