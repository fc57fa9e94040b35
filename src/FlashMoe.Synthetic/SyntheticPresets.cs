using System;
using System.Collections.Generic;
using System.Linq;
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

    /// <summary>The preset names, as the <c>synth</c> verb accepts them.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "tiny-dense", "tiny-moe", "big-moe" };

    /// <summary>Looks a preset up by name (case-insensitive).</summary>
    public static bool TryGet(string name, out SyntheticModelSpec spec)
    {
        switch (Names.FirstOrDefault(known => string.Equals(known, name, StringComparison.OrdinalIgnoreCase)))
        {
            case "tiny-dense": spec = TinyDense; return true;
            case "tiny-moe": spec = TinyMoe; return true;
            case "big-moe": spec = BigMoe; return true;
            default: spec = TinyDense; return false;
        }
    }

    /// <summary>The preset called <paramref name="name"/>; throws <see cref="ArgumentException"/> for an unknown name.</summary>
    public static SyntheticModelSpec Get(string name) =>
        TryGet(name, out var spec) ? spec : throw new ArgumentException($"Unknown preset '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
}
