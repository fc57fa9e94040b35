using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>Named per-tensor type mixes that mirror the files people download.</summary>
public enum SyntheticRecipe
{
    /// <summary>llama.cpp's Q4_K_M: Q4_K, with Q6_K for the output and for half of attn_v / ffn_down.</summary>
    Q4_K_M,
    /// <summary>
    /// An Unsloth-style dynamic 1.58-bit mix: routed experts IQ1_S (early down projections IQ2_XXS), shared experts Q6_K,
    /// the rest Q4_K/Q6_K. Unsloth's DeepSeek-R1 files of January 2025 predate split MLA: pair it with
    /// <see cref="SyntheticModelSpec.LegacyMla"/> to mirror them exactly.
    /// </summary>
    UD_IQ1_S,
    /// <summary>GPT-OSS as released: routed experts MXFP4, the other weights Q8_0.</summary>
    MXFP4,
}

/// <summary>What a tensor is for; the recipes choose a type per role.</summary>
public enum SyntheticTensorRole
{
    /// <summary><c>token_embd.weight</c>.</summary>
    TokenEmbedding,
    /// <summary><c>output.weight</c>.</summary>
    Output,
    /// <summary><c>attn_q</c> (also deepseek2's uncompressed query).</summary>
    AttentionQ,
    /// <summary>deepseek2 <c>attn_q_a</c> (query down-projection).</summary>
    AttentionQA,
    /// <summary>deepseek2 <c>attn_q_b</c> (query up-projection).</summary>
    AttentionQB,
    /// <summary><c>attn_k</c>.</summary>
    AttentionK,
    /// <summary><c>attn_v</c>.</summary>
    AttentionV,
    /// <summary>deepseek2 <c>attn_kv_a_mqa</c> (latent + RoPE key down-projection).</summary>
    AttentionKvA,
    /// <summary>deepseek2 <c>attn_k_b</c> (per-head key up-projection, absorbed into the query).</summary>
    AttentionKB,
    /// <summary>deepseek2 <c>attn_v_b</c> (per-head value up-projection).</summary>
    AttentionVB,
    /// <summary>deepseek2 legacy <c>attn_kv_b</c> (key and value up-projection in one, files converted before split MLA).</summary>
    AttentionKvB,
    /// <summary><c>attn_output</c>.</summary>
    AttentionOutput,
    /// <summary>Dense FFN <c>ffn_gate</c>.</summary>
    DenseGate,
    /// <summary>Dense FFN <c>ffn_up</c>.</summary>
    DenseUp,
    /// <summary>Dense FFN <c>ffn_down</c>.</summary>
    DenseDown,
    /// <summary>Routed experts <c>ffn_gate_exps</c>.</summary>
    ExpertGate,
    /// <summary>Routed experts <c>ffn_up_exps</c>.</summary>
    ExpertUp,
    /// <summary>Routed experts <c>ffn_down_exps</c>.</summary>
    ExpertDown,
    /// <summary>Shared expert <c>ffn_gate_shexp</c>.</summary>
    SharedGate,
    /// <summary>Shared expert <c>ffn_up_shexp</c>.</summary>
    SharedUp,
    /// <summary>Shared expert <c>ffn_down_shexp</c>.</summary>
    SharedDown,
    /// <summary>The router <c>ffn_gate_inp.weight</c> (kept F32, as llama.cpp's quantizer never quantizes it).</summary>
    Router,
    /// <summary>Any norm weight (F32).</summary>
    Norm,
    /// <summary>Any bias (F32).</summary>
    Bias,
    /// <summary>gpt-oss <c>attn_sinks</c> (F32, one per head).</summary>
    AttentionSinks,
    /// <summary>deepseek2 <c>exp_probs_b.bias</c> (F32, one per expert).</summary>
    ExpertProbabilityBias,
}

/// <summary>The recipes' names and their per-tensor type choice.</summary>
public static class SyntheticRecipes
{
    /// <summary>Every recipe name, in enum order, as the <c>synth</c> verb accepts them.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "q4_k_m", "ud-iq1_s", "mxfp4" };

    /// <summary>The name of <paramref name="recipe"/>.</summary>
    public static string Name(SyntheticRecipe recipe) => Names[(int)recipe];

    /// <summary>Parses a recipe name (case-insensitive).</summary>
    public static bool TryParse(string? name, out SyntheticRecipe recipe)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                recipe = (SyntheticRecipe)i;
                return true;
            }
        }
        recipe = SyntheticRecipe.Q4_K_M;
        return false;
    }

    /// <summary>The llama_ftype a recipe's file declares: MOSTLY_Q4_K_M 15, MOSTLY_IQ1_S 24, MOSTLY_MXFP4_MOE 38.</summary>
    public static int FileType(SyntheticRecipe recipe) => recipe switch
    {
        SyntheticRecipe.Q4_K_M => 15,
        SyntheticRecipe.UD_IQ1_S => 24,
        SyntheticRecipe.MXFP4 => 38,
        _ => throw new ArgumentOutOfRangeException(nameof(recipe), recipe, "Unknown recipe."),
    };

    /// <summary>
    /// The type of one tensor: F32 for norms, biases, sinks and the router; the recipe's choice (or the spec's
    /// <see cref="SyntheticModelSpec.WeightType"/> / <see cref="SyntheticModelSpec.ExpertWeightType"/>) otherwise,
    /// then <see cref="Fallback"/> when <paramref name="rowLength"/> cannot hold whole blocks of it.
    /// </summary>
    /// <param name="spec">The model.</param>
    /// <param name="role">The tensor's role.</param>
    /// <param name="layer">Block index, or -1 for token_embd/output.</param>
    /// <param name="rowLength">The tensor's ne0.</param>
    public static GgmlType TypeFor(SyntheticModelSpec spec, SyntheticTensorRole role, int layer, long rowLength)
    {
        if (spec is null) throw new ArgumentNullException(nameof(spec));
        if (role is SyntheticTensorRole.Router or SyntheticTensorRole.Norm or SyntheticTensorRole.Bias
            or SyntheticTensorRole.AttentionSinks or SyntheticTensorRole.ExpertProbabilityBias)
        {
            return GgmlType.F32;
        }
        var chosen = spec.Recipe switch
        {
            SyntheticRecipe.Q4_K_M => Q4KM(spec, role, layer),
            SyntheticRecipe.UD_IQ1_S => UdIq1S(spec, role, layer),
            SyntheticRecipe.MXFP4 => IsRoutedExpert(role) ? GgmlType.MXFP4 : GgmlType.Q8_0,
            _ => IsRoutedExpert(role) ? spec.EffectiveExpertWeightType : spec.WeightType,
        };
        return Fallback(chosen, rowLength);
    }

    /// <summary>
    /// llama.cpp's quantizer fallback (llama-quant.cpp) for a row that does not hold whole blocks: 2- and 3-bit K and
    /// IQ types → IQ4_NL, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0; F16 when even that does not fit.
    /// </summary>
    public static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeTable.Get(type).BlockSize == 0) return type;
        var fallback = type switch
        {
            GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S
                or GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return rowLength % GgmlTypeTable.Get(fallback).BlockSize == 0 ? fallback : GgmlType.F16;
    }

    /// <summary>True for the routed experts' tensors.</summary>
    public static bool IsRoutedExpert(SyntheticTensorRole role) =>
        role is SyntheticTensorRole.ExpertGate or SyntheticTensorRole.ExpertUp or SyntheticTensorRole.ExpertDown;

    /// <summary>llama-quant.cpp's <c>use_more_bits</c>: the first and last eighth of the layers, and every third one between.</summary>
    public static bool UseMoreBits(int index, int count) =>
        index < count / 8 || index >= 7 * count / 8 || (index - (count / 8)) % 3 == 2;

    // Q4_K_M after llama-quant.cpp's llama_tensor_get_type, approximated: output Q6_K; attn_v (deepseek2: attn_v_b)
    // and every ffn_down (dense, routed, shared) Q6_K where use_more_bits(layer) holds; everything else Q4_K.
    // Not modelled: the 70B/8-expert special cases and the per-architecture exceptions.
    private static GgmlType Q4KM(SyntheticModelSpec spec, SyntheticTensorRole role, int layer) => role switch
    {
        SyntheticTensorRole.Output => GgmlType.Q6_K,
        SyntheticTensorRole.AttentionV or SyntheticTensorRole.AttentionVB or SyntheticTensorRole.AttentionKvB
            or SyntheticTensorRole.DenseDown or SyntheticTensorRole.ExpertDown or SyntheticTensorRole.SharedDown
            => UseMoreBits(layer, spec.Layers) ? GgmlType.Q6_K : GgmlType.Q4_K,
        _ => GgmlType.Q4_K,
    };

    // After Unsloth's dynamic 1.58-bit DeepSeek-R1 (unsloth.ai/blog/deepseekr1-dynamic: routed experts IQ1_S with
    // down_proj "2.06/1.56 bit", the 3 dense blocks and attention in 4/6 bit, shared experts 6 bit), approximated:
    // routed gate/up IQ1_S everywhere and down IQ2_XXS in the first three MoE blocks (IQ1_S after); attention and the
    // dense FFN Q4_K with their value/down projections Q6_K; shared experts Q6_K; token_embd Q4_K, output Q6_K.
    // Which blocks keep the 2-bit down projections is not published, hence "approximated".
    private static GgmlType UdIq1S(SyntheticModelSpec spec, SyntheticTensorRole role, int layer) => role switch
    {
        SyntheticTensorRole.Output => GgmlType.Q6_K,
        SyntheticTensorRole.ExpertGate or SyntheticTensorRole.ExpertUp => GgmlType.IQ1_S,
        SyntheticTensorRole.ExpertDown => layer < spec.EffectiveLeadingDenseLayers + 3 ? GgmlType.IQ2_XXS : GgmlType.IQ1_S,
        SyntheticTensorRole.AttentionV or SyntheticTensorRole.AttentionVB or SyntheticTensorRole.AttentionKvB or SyntheticTensorRole.AttentionKvA
            or SyntheticTensorRole.DenseDown or SyntheticTensorRole.SharedGate or SyntheticTensorRole.SharedUp or SyntheticTensorRole.SharedDown => GgmlType.Q6_K,
        _ => GgmlType.Q4_K,
    };
}
