using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>The llama.cpp architectures the writer produces (<c>general.architecture</c>).</summary>
public enum SyntheticArchitecture
{
    /// <summary><c>llama</c>: GQA attention, dense or all-MoE blocks.</summary>
    Llama,
    /// <summary><c>deepseek2</c> (DeepSeek-V2/V3/R1): MLA attention, leading dense blocks, shared experts, sigmoid routing with a bias.</summary>
    Deepseek2,
    /// <summary><c>qwen3moe</c> (Qwen3-30B-A3B, 235B-A22B): GQA with q/k norms, MoE in every block.</summary>
    Qwen3Moe,
    /// <summary><c>gpt-oss</c> (llama.cpp's LLM_ARCH_OPENAI_MOE): alternating sliding-window attention with sinks, biased MoE.</summary>
    GptOss,
}

/// <summary>How deepseek2 turns router logits into expert weights (llama.cpp's <c>llama_expert_gating_func_type</c>).</summary>
public enum SyntheticExpertGating
{
    /// <summary>Softmax (1): DeepSeek-V2.</summary>
    Softmax = 1,
    /// <summary>Sigmoid (2): DeepSeek-V3/R1, with the <c>exp_probs_b</c> selection bias.</summary>
    Sigmoid = 2,
}

/// <summary>The weight types the writer produces, by the names ggml and the <c>synth</c> verb use (<c>q4_k</c>, <c>iq1_s</c>, <c>mxfp4</c>).</summary>
public static class SyntheticWeightTypes
{
    /// <summary>Every type found in real GGUF files, in ggml's id order.</summary>
    public static IReadOnlyList<GgmlType> All { get; } = new[]
    {
        GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
        GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ3_XXS, GgmlType.IQ1_S, GgmlType.IQ4_NL, GgmlType.IQ3_S, GgmlType.IQ2_S,
        GgmlType.IQ4_XS, GgmlType.IQ1_M, GgmlType.BF16, GgmlType.MXFP4,
    };

    /// <summary>The lower-case names of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(Name).ToArray();

    /// <summary>ggml's name of <paramref name="type"/>, lower case (<c>q4_k</c>).</summary>
#pragma warning disable CA1308 // Normalize strings to uppercase: ggml spells type names in lower case; this is that spelling, not a comparison key.
    public static string Name(GgmlType type) => type.ToString().ToLowerInvariant();
#pragma warning restore CA1308

    /// <summary>Parses a type name (case-insensitive); only types in <see cref="All"/>.</summary>
    public static bool TryParse(string? name, out GgmlType type)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                type = candidate;
                return true;
            }
        }
        type = GgmlType.F32;
        return false;
    }
}

/// <summary>Architecture names as GGUF and the <c>synth</c> verb spell them.</summary>
public static class SyntheticArchitectures
{
    /// <summary>Every name, in enum order.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "llama", "deepseek2", "qwen3moe", "gpt-oss" };

    /// <summary>The <c>general.architecture</c> value, which also prefixes the hyper-parameter keys.</summary>
    public static string Name(SyntheticArchitecture architecture) => architecture switch
    {
        SyntheticArchitecture.Llama => "llama",
        SyntheticArchitecture.Deepseek2 => "deepseek2",
        SyntheticArchitecture.Qwen3Moe => "qwen3moe",
        SyntheticArchitecture.GptOss => "gpt-oss",
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "Unknown architecture."),
    };

    /// <summary>Parses a name (case-insensitive).</summary>
    public static bool TryParse(string? name, out SyntheticArchitecture architecture)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                architecture = (SyntheticArchitecture)i;
                return true;
            }
        }
        architecture = SyntheticArchitecture.Llama;
        return false;
    }
}
