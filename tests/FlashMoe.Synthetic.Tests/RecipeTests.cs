using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>The recipes give each tensor role the type of the released files, at the real shapes (planned, not written).</summary>
public sealed class RecipeTests
{
    private static GgmlType TypeOf(SyntheticModelLayout layout, string name) => layout.Tensors.Single(t => t.Name == name).Type;

    [Fact]
    public void Ud_iq1_s_on_deepseek_r1_puts_routed_experts_in_iq1_s_and_keeps_attention_at_4_to_6_bits_and_shared_experts_at_6()
    {
        var layout = SyntheticModel.Plan(SyntheticPresets.DeepseekR1 with { Recipe = SyntheticRecipe.UD_IQ1_S });

        Assert.Equal(24, layout.FileType); // LLAMA_FTYPE_MOSTLY_IQ1_S
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "token_embd.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "output.weight"));
        Assert.Equal(GgmlType.IQ1_S, TypeOf(layout, "blk.3.ffn_gate_exps.weight"));
        Assert.Equal(GgmlType.IQ1_S, TypeOf(layout, "blk.60.ffn_up_exps.weight"));
        Assert.Equal(GgmlType.IQ2_XXS, TypeOf(layout, "blk.3.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.IQ2_XXS, TypeOf(layout, "blk.5.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.IQ1_S, TypeOf(layout, "blk.6.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.10.ffn_gate_shexp.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.10.ffn_down_shexp.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.0.ffn_gate.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.0.ffn_down.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.7.attn_q_b.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.7.attn_kv_a_mqa.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.7.attn_v_b.weight"));
        // attn_k_b rows are qk_nope = 128 long: not a whole Q4_K block, so llama-quant's fallback Q5_0 applies.
        Assert.Equal(GgmlType.Q5_0, TypeOf(layout, "blk.7.attn_k_b.weight"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.7.ffn_gate_inp.weight"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.7.exp_probs_b.bias"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.7.attn_kv_a_norm.weight"));

        // The same mix on the legacy unsplit MLA form of the January 2025 files.
        var legacy = SyntheticModel.Plan(SyntheticPresets.DeepseekR1 with { Recipe = SyntheticRecipe.UD_IQ1_S, LegacyMla = true });
        Assert.Equal(GgmlType.Q6_K, TypeOf(legacy, "blk.7.attn_kv_b.weight"));
    }

    [Fact]
    public void Q4_k_m_gives_q6_k_to_the_output_and_to_attn_v_and_ffn_down_where_llama_quant_uses_more_bits()
    {
        var layout = SyntheticModel.Plan(SyntheticPresets.Qwen3_30B_A3B);

        Assert.Equal(15, layout.FileType); // LLAMA_FTYPE_MOSTLY_Q4_K_M
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "output.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "token_embd.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.20.attn_q.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.20.ffn_gate_exps.weight"));
        // use_more_bits(i, 48): i < 6, i ≥ 42, or (i − 6) % 3 == 2.
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.0.attn_v.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.5.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.6.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(layout, "blk.7.attn_v.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.8.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q6_K, TypeOf(layout, "blk.47.attn_v.weight"));
        var q6 = layout.Tensors.Count(t => t.Name.EndsWith("ffn_down_exps.weight", System.StringComparison.Ordinal) && t.Type == GgmlType.Q6_K);
        Assert.InRange(q6, 18, 24); // about half, as in the real files
    }

    [Fact]
    public void Mxfp4_on_gpt_oss_puts_experts_in_mxfp4_and_the_rest_in_q8_0()
    {
        var layout = SyntheticModel.Plan(SyntheticPresets.GptOss120B);

        Assert.Equal(38, layout.FileType); // LLAMA_FTYPE_MOSTLY_MXFP4_MOE
        Assert.All(layout.Tensors.Where(t => t.Name.EndsWith("_exps.weight", System.StringComparison.Ordinal)), t => Assert.Equal(GgmlType.MXFP4, t.Type));
        Assert.Equal(GgmlType.Q8_0, TypeOf(layout, "token_embd.weight"));
        Assert.Equal(GgmlType.Q8_0, TypeOf(layout, "output.weight"));
        Assert.Equal(GgmlType.Q8_0, TypeOf(layout, "blk.3.attn_k.weight"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.3.ffn_gate_inp.weight"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.3.attn_sinks.weight"));
        Assert.Equal(GgmlType.F32, TypeOf(layout, "blk.3.ffn_down_exps.bias"));
    }

    [Fact]
    public void K_quants_fall_back_where_llama_quant_does_when_rows_are_not_256_long()
    {
        // GPT-OSS rows are 2880 long: a multiple of 32 but not of 256.
        var layout = SyntheticModel.Plan(SyntheticPresets.GptOss20B with { Recipe = SyntheticRecipe.Q4_K_M });

        Assert.Equal(GgmlType.Q5_0, TypeOf(layout, "blk.2.attn_q.weight"));   // Q4_K → Q5_0
        Assert.Equal(GgmlType.Q8_0, TypeOf(layout, "output.weight"));          // Q6_K → Q8_0
        Assert.Equal(GgmlType.Q8_0, TypeOf(layout, "blk.0.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q5_0, TypeOf(layout, "blk.9.ffn_down_exps.weight"));

        Assert.Equal(GgmlType.IQ4_NL, SyntheticRecipes.Fallback(GgmlType.IQ1_S, 2880));
        Assert.Equal(GgmlType.Q5_1, SyntheticRecipes.Fallback(GgmlType.Q5_K, 2880));
        Assert.Equal(GgmlType.F16, SyntheticRecipes.Fallback(GgmlType.Q4_K, 48));
        Assert.Equal(GgmlType.F16, SyntheticRecipes.Fallback(GgmlType.MXFP4, 48));
        Assert.Equal(GgmlType.Q4_K, SyntheticRecipes.Fallback(GgmlType.Q4_K, 512));
    }

    [Theory]
    [InlineData(0, 61, true)]
    [InlineData(6, 61, true)]
    [InlineData(7, 61, false)]
    [InlineData(8, 61, false)]
    [InlineData(9, 61, true)]
    [InlineData(10, 61, false)]
    [InlineData(52, 61, false)]
    [InlineData(53, 61, true)]
    public void Use_more_bits_matches_llama_quant(int layer, int layers, bool expected) =>
        Assert.Equal(expected, SyntheticRecipes.UseMoreBits(layer, layers));
}
