using FlashMoe.Gguf;
using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>
/// Which weights the CPU repack buffer takes (ggml-cpu repack.cpp, supports_op), as measured on an AVX-512 CPU with
/// LLamaSharp 0.30 (docs/measurements.md#cpu-repacking): Q4_0, Q4_K, Q2_K, IQ4_NL and MXFP4, 2-D matmul weights and
/// 3-D expert tensors only.
/// </summary>
public class RepackRuleTests
{
    private static TensorSummary Tensor(string name, GgmlType type, TensorRole role, params long[] dims) =>
        new(name, type, dims.ToEquatableArray(), 0, GgmlTypeTable.TensorBytes(type, dims) ?? 0, role, 0);

    [Theory]
    [InlineData(GgmlType.Q4_0, true)]
    [InlineData(GgmlType.Q4_K, true)]
    [InlineData(GgmlType.Q2_K, true)]
    [InlineData(GgmlType.IQ4_NL, true)]
    [InlineData(GgmlType.MXFP4, true)]
    [InlineData(GgmlType.Q8_0, false)]
    [InlineData(GgmlType.Q6_K, false)]
    [InlineData(GgmlType.Q5_K, false)]
    [InlineData(GgmlType.Q3_K, false)]
    [InlineData(GgmlType.IQ4_XS, false)]
    [InlineData(GgmlType.IQ1_S, false)]
    [InlineData(GgmlType.IQ2_XXS, false)]
    [InlineData(GgmlType.F16, false)]
    [InlineData(GgmlType.BF16, false)]
    public void Only_the_measured_types_repack(GgmlType type, bool repacked)
    {
        Assert.Equal(repacked, LlamaPlacement.IsRepackable(Tensor("blk.0.attn_q.weight", type, TensorRole.Attention, 256, 256)));
        Assert.Equal(repacked, LlamaPlacement.IsRepackable(Tensor("blk.0.ffn_up_exps.weight", type, TensorRole.ExpertFfn, 256, 256, 8)));
    }

    [Fact]
    public void Per_head_3d_matmul_weights_and_the_embedding_stay_in_the_plain_buffer()
    {
        // DeepSeek's attn_k_b / attn_v_b are 3-D MUL_MAT weights: the repack buffer only takes 2-D ones (measured: 16 of
        // the 34 Q4_0 tensors of a 2-layer deepseek2 stayed in the CPU buffer, these four among them).
        Assert.False(LlamaPlacement.IsRepackable(Tensor("blk.0.attn_k_b.weight", GgmlType.Q4_0, TensorRole.Attention, 64, 64, 4)));
        Assert.False(LlamaPlacement.IsRepackable(Tensor("token_embd.weight", GgmlType.Q4_0, TensorRole.TokenEmbedding, 256, 2048)));
        // An expert tensor must be 3-D (MUL_MAT_ID); a single-expert tensor collapses to 2-D in ggml_n_dims.
        Assert.False(LlamaPlacement.IsRepackable(Tensor("blk.0.ffn_up_exps.weight", GgmlType.Q4_0, TensorRole.ExpertFfn, 256, 256, 1)));
        // Rows must fill the 8-row interleave.
        Assert.False(LlamaPlacement.IsRepackable(Tensor("blk.0.attn_q.weight", GgmlType.Q4_0, TensorRole.Attention, 256, 4)));
        Assert.True(LlamaPlacement.IsRepackable(Tensor("output.weight", GgmlType.Q4_K, TensorRole.Output, 256, 2048)));
    }
}
