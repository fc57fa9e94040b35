using System.Linq;
using FlashMoe.Gguf;
using Xunit;

namespace FlashMoe.Core.Tests.Gguf;

public sealed class ModelSummaryTests
{
    [Theory]
    [InlineData("token_embd.weight", TensorRole.TokenEmbedding, null)]
    [InlineData("token_embd_norm.weight", TensorRole.Norm, null)]
    [InlineData("output.weight", TensorRole.Output, null)]
    [InlineData("output_norm.weight", TensorRole.Output, null)]
    [InlineData("rope_freqs.weight", TensorRole.Other, null)]
    [InlineData("blk.0.attn_norm.weight", TensorRole.Norm, 0)]
    [InlineData("blk.12.ffn_norm.weight", TensorRole.Norm, 12)]
    [InlineData("blk.3.attn_q_a_norm.weight", TensorRole.Norm, 3)]
    [InlineData("blk.3.attn_kv_a_norm.weight", TensorRole.Norm, 3)]
    [InlineData("blk.3.post_attention_norm.weight", TensorRole.Norm, 3)]
    [InlineData("blk.0.attn_q.weight", TensorRole.Attention, 0)]
    [InlineData("blk.0.attn_output.weight", TensorRole.Attention, 0)]
    [InlineData("blk.7.attn_kv_a_mqa.weight", TensorRole.Attention, 7)]
    [InlineData("blk.7.attn_kv_b.weight", TensorRole.Attention, 7)]
    [InlineData("blk.0.attn_q.bias", TensorRole.Attention, 0)]
    [InlineData("blk.60.ffn_gate_exps.weight", TensorRole.ExpertFfn, 60)]
    [InlineData("blk.60.ffn_up_exps.weight", TensorRole.ExpertFfn, 60)]
    [InlineData("blk.60.ffn_down_exps.weight", TensorRole.ExpertFfn, 60)]
    [InlineData("blk.5.ffn_gate_shexp.weight", TensorRole.SharedExpertFfn, 5)]
    [InlineData("blk.5.ffn_down_shexp.weight", TensorRole.SharedExpertFfn, 5)]
    [InlineData("blk.5.ffn_gate_inp.weight", TensorRole.ExpertRouter, 5)]
    [InlineData("blk.5.exp_probs_b.bias", TensorRole.ExpertRouter, 5)]
    [InlineData("blk.1.ffn_gate.weight", TensorRole.DenseFfn, 1)]
    [InlineData("blk.1.ffn_up.weight", TensorRole.DenseFfn, 1)]
    [InlineData("blk.1.ffn_down.weight", TensorRole.DenseFfn, 1)]
    [InlineData("blk.1.layer_output_scale.weight", TensorRole.Other, 1)]
    [InlineData("blk.x.attn_q.weight", TensorRole.Other, null)]
    [InlineData("blk.99999999.attn_q.weight", TensorRole.Other, null)]
    public void ClassifiesTensorNames(string name, TensorRole role, int? layer)
    {
        Assert.Equal(role, TensorClassifier.Classify(name));
        Assert.Equal(layer, TensorClassifier.TryGetLayer(name, out var l) ? l : null);
    }

    [Fact]
    public void SummarisesASmallMoeModelWithHandComputedFigures()
    {
        var summary = GgufReaderTests.Read(GgufBytes.SmallMoe().Build()).ToSummary();

        Assert.Equal("llama", summary.Architecture);
        Assert.Equal("tiny moe", summary.Name);
        Assert.Equal(3u, summary.GgufVersion);
        Assert.Equal(2, summary.BlockCount);
        Assert.Equal(64, summary.EmbeddingLength);
        Assert.Equal(128, summary.FeedForwardLength);
        Assert.Equal(new[] { 4, 4 }, summary.HeadCountPerLayer);
        Assert.Equal(new[] { 2, 2 }, summary.HeadCountKvPerLayer);
        Assert.Equal(16, summary.KeyLength);   // default: 64 embd / 4 heads
        Assert.Equal(16, summary.ValueLength);
        Assert.Null(summary.KvLoraRank);
        Assert.Equal(16, summary.RopeDimensionCount);
        Assert.Equal(2048, summary.ContextLength);
        Assert.Equal(300, summary.VocabSize);
        Assert.Equal(4, summary.ExpertCount);
        Assert.Equal(2, summary.ExpertUsedCount);
        Assert.True(summary.IsMoe);
        Assert.Equal(7, summary.FileType);
        Assert.Equal(23, summary.TensorCount);

        // Q8_0: 34 bytes per 32; Q4_0: 18 bytes per 32; F32: 4 bytes.
        const long embedding = 300 * (64 / 32) * 34;                                       // 20400
        const long attention = (64 * 2 * 34) + (32 * 2 * 34) * 2 + (64 * 2 * 34);          // q, k, v, o = 13056
        const long norms = 2 * 64 * 4;                                                      // attn_norm + ffn_norm
        const long router = 4 * 64 * 4;                                                     // ffn_gate_inp F32
        const long experts = (512 * 2 * 18) * 2 + (256 * 4 * 18);                           // gate, up, down = 55296
        Assert.Equal(embedding, summary.BytesByRole[TensorRole.TokenEmbedding]);
        Assert.Equal(embedding + (64 * 4), summary.BytesByRole[TensorRole.Output]);
        Assert.Equal(2 * attention, summary.BytesByRole[TensorRole.Attention]);
        Assert.Equal(2 * norms, summary.BytesByRole[TensorRole.Norm]);
        Assert.Equal(2 * router, summary.BytesByRole[TensorRole.ExpertRouter]);
        Assert.Equal(2 * experts, summary.BytesByRole[TensorRole.ExpertFfn]);
        Assert.Equal(0, summary.BytesByRole[TensorRole.DenseFfn]);
        Assert.Equal(new[] { attention + norms + router + experts, attention + norms + router + experts }, summary.BytesByLayer);
        Assert.Equal(summary.TensorBytes, summary.BytesByRole.Values.Sum());
        Assert.Equal(summary.TensorBytes, summary.BytesByType.Values.Sum());
        Assert.Equal(2 * experts, summary.BytesByType[GgmlType.Q4_0]);
        Assert.Equal((64 * 300 * 2) + 2 * ((64 * 64 * 2) + (64 * 32 * 2) + (64 * 2) + (64 * 4) + (64 * 128 * 4 * 3)) + 64, summary.ParameterCount);
        Assert.Equal(2, summary.Tensors.Count(t => t.Role == TensorRole.ExpertRouter));
        Assert.Equal(1, summary.Tensors.Single(t => t.Name == "blk.1.ffn_up_exps.weight").Layer);
    }

    [Fact]
    public void ReadsPerLayerHeadArraysAndDefaultsKvHeadsToHeads()
    {
        var builder = new GgufBytes()
            .Add("general.architecture", Val.Str("gemma3n"))
            .Add("gemma3n.block_count", Val.U32(3))
            .Add("gemma3n.embedding_length", Val.U32(2048))
            .Add("gemma3n.feed_forward_length", Val.Arr(GgufValueType.Int32, Val.I32(8192), Val.I32(4096), Val.I32(4096)))
            .Add("gemma3n.attention.head_count", Val.Arr(GgufValueType.Int32, Val.I32(8), Val.I32(16), Val.I32(0)));

        var summary = GgufReaderTests.Read(builder.Build()).ToSummary();

        Assert.Equal(new[] { 8, 16, 0 }, summary.HeadCountPerLayer);
        Assert.Equal(new[] { 8, 16, 0 }, summary.HeadCountKvPerLayer);
        Assert.Equal(8, summary.HeadCount);
        Assert.Equal(256, summary.KeyLength); // 2048 / layer 0's 8 heads, as llama.cpp
        Assert.Equal(8192, summary.FeedForwardLength);
        Assert.Equal(new long[] { 0, 0, 0 }, summary.BytesByLayer);
    }

    [Fact]
    public void ScalarHeadCountsAreExpandedToEveryLayer()
    {
        var builder = new GgufBytes()
            .Add("general.architecture", Val.Str("qwen3moe"))
            .Add("qwen3moe.block_count", Val.U32(4))
            .Add("qwen3moe.attention.head_count", Val.U32(32))
            .Add("qwen3moe.attention.head_count_kv", Val.Arr(GgufValueType.UInt32, Val.U32(4), Val.U32(4), Val.U32(2), Val.U32(2)))
            .Add("qwen3moe.attention.key_length", Val.U32(128));

        var summary = GgufReaderTests.Read(builder.Build()).ToSummary();

        Assert.Equal(Enumerable.Repeat(32, 4), summary.HeadCountPerLayer);
        Assert.Equal(new[] { 4, 4, 2, 2 }, summary.HeadCountKvPerLayer);
        Assert.Equal(128, summary.KeyLength);
        Assert.Equal(0, summary.ValueLength); // no embedding length, no default
    }

    [Fact]
    public void ReadsMlaAndSharedExpertKeys()
    {
        var builder = GgufReaderTests.DeepSeekLikeHeader(layers: 4, denseLayers: 1, vocab: 50);

        var summary = GgufReaderTests.ReadHeaderOnly(builder).ToSummary();

        Assert.Equal("deepseek2", summary.Architecture);
        Assert.Equal(512, summary.KvLoraRank);
        Assert.Equal(1536, summary.QLoraRank);
        Assert.Equal(64, summary.RopeDimensionCount);
        Assert.Equal(192, summary.KeyLength);
        Assert.Equal(128, summary.ValueLength);
        Assert.Equal(1, summary.ExpertSharedCount);
        Assert.Equal(2048, summary.ExpertFeedForwardLength);
        Assert.Equal(1, summary.LeadingDenseBlockCount);
        Assert.Equal(256, summary.ExpertCount);
        Assert.Equal(8, summary.ExpertUsedCount);
        Assert.Equal(24, summary.FileType);
        Assert.Equal(50, summary.VocabSize);
        Assert.True(summary.BytesByRole[TensorRole.SharedExpertFfn] > 0);
        Assert.True(summary.BytesByRole[TensorRole.DenseFfn] > 0);
        Assert.True(summary.BytesByLayer[1] > summary.BytesByLayer[0]); // MoE layer outweighs the dense one
    }

    [Fact]
    public void VocabSizeFallsBackToTheVocabSizeKeyThenTheEmbedding()
    {
        var fromKey = new GgufBytes().Add("general.architecture", Val.Str("llama")).Add("llama.vocab_size", Val.U32(32000));
        var fromEmbedding = new GgufBytes().Tensor("token_embd.weight", GgmlType.F16, new long[] { 8, 1234 });

        Assert.Equal(32000, GgufReaderTests.Read(fromKey.Build()).ToSummary().VocabSize);
        var summary = GgufReaderTests.Read(fromEmbedding.Build()).ToSummary();
        Assert.Equal(1234, summary.VocabSize);
        Assert.Equal("unknown", summary.Architecture);
        Assert.Empty(summary.BytesByLayer);
    }
}
