using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>The keys (with llama.cpp's exact GGUF types) and tensor shapes each architecture is written with.</summary>
public sealed class ArchitectureHeaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-header-tests-" + Guid.NewGuid().ToString("N"));

    public ArchitectureHeaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private GgufFile WriteAndRead(SyntheticModelSpec spec)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".gguf");
        SyntheticModel.Write(spec, path);
        return GgufReader.Read(path);
    }

    private static void AssertKey(GgufFile file, string key, GgufValueType type, object expected)
    {
        Assert.True(file.TryGetValue(key, out var value), $"missing {key}");
        Assert.Equal(type, value.Type);
        Assert.Equal(expected, value.Value);
    }

    private static void AssertTensor(GgufFile file, string name, params long[] dimensions)
    {
        Assert.True(file.TryGetTensor(name, out var tensor), $"missing tensor {name}");
        Assert.Equal(dimensions, tensor.Dimensions.ToArray());
    }

    [Fact]
    public void Deepseek2_writes_the_mla_moe_keys_and_tensors_llama_cpp_reads()
    {
        var f = WriteAndRead(SyntheticPresets.DeepseekR1Tiny);
        const GgufValueType u32 = GgufValueType.UInt32, f32 = GgufValueType.Float32;

        AssertKey(f, "general.architecture", GgufValueType.String, "deepseek2");
        AssertKey(f, "deepseek2.block_count", u32, 4u);
        AssertKey(f, "deepseek2.embedding_length", u32, 256u);
        AssertKey(f, "deepseek2.feed_forward_length", u32, 512u);
        AssertKey(f, "deepseek2.attention.head_count", u32, 4u);
        AssertKey(f, "deepseek2.attention.head_count_kv", u32, 1u);
        AssertKey(f, "deepseek2.attention.key_length", u32, 288u);
        AssertKey(f, "deepseek2.attention.value_length", u32, 256u);
        AssertKey(f, "deepseek2.attention.key_length_mla", u32, 96u);
        AssertKey(f, "deepseek2.attention.value_length_mla", u32, 64u);
        AssertKey(f, "deepseek2.attention.q_lora_rank", u32, 256u);
        AssertKey(f, "deepseek2.attention.kv_lora_rank", u32, 256u);
        AssertKey(f, "deepseek2.rope.dimension_count", u32, 32u);
        AssertKey(f, "deepseek2.leading_dense_block_count", u32, 1u);
        AssertKey(f, "deepseek2.expert_count", u32, 8u);
        AssertKey(f, "deepseek2.expert_used_count", u32, 2u);
        AssertKey(f, "deepseek2.expert_shared_count", u32, 1u);
        AssertKey(f, "deepseek2.expert_feed_forward_length", u32, 256u);
        AssertKey(f, "deepseek2.expert_gating_func", u32, 2u);
        AssertKey(f, "deepseek2.expert_weights_scale", f32, 2.5f);
        AssertKey(f, "deepseek2.expert_weights_norm", GgufValueType.Bool, true);
        AssertKey(f, "deepseek2.attention.layer_norm_rms_epsilon", f32, 1e-6f);
        AssertKey(f, "deepseek2.rope.scaling.type", GgufValueType.String, "yarn");
        AssertKey(f, "deepseek2.rope.scaling.factor", f32, 4f);
        AssertKey(f, "deepseek2.rope.scaling.original_context_length", u32, 128u);
        AssertKey(f, "deepseek2.rope.scaling.yarn_log_multiplier", f32, 0.1f);

        // Block 0 is the dense lead, blocks 1… are MoE with a shared expert and the routing bias.
        AssertTensor(f, "blk.0.ffn_gate.weight", 256, 512);
        Assert.False(f.TryGetTensor("blk.0.ffn_gate_exps.weight", out _));
        AssertTensor(f, "blk.0.attn_q_a.weight", 256, 256);
        AssertTensor(f, "blk.0.attn_q_a_norm.weight", 256);
        AssertTensor(f, "blk.0.attn_q_b.weight", 256, 4 * 96);
        AssertTensor(f, "blk.0.attn_kv_a_mqa.weight", 256, 256 + 32);
        AssertTensor(f, "blk.0.attn_kv_a_norm.weight", 256);
        AssertTensor(f, "blk.0.attn_k_b.weight", 64, 256, 4);
        AssertTensor(f, "blk.0.attn_v_b.weight", 256, 64, 4);
        AssertTensor(f, "blk.0.attn_output.weight", 4 * 64, 256);
        AssertTensor(f, "blk.1.ffn_gate_inp.weight", 256, 8);
        AssertTensor(f, "blk.1.exp_probs_b.bias", 8);
        AssertTensor(f, "blk.1.ffn_gate_exps.weight", 256, 256, 8);
        AssertTensor(f, "blk.1.ffn_down_exps.weight", 256, 256, 8);
        AssertTensor(f, "blk.1.ffn_up_exps.weight", 256, 256, 8);
        AssertTensor(f, "blk.1.ffn_gate_shexp.weight", 256, 256);
        AssertTensor(f, "blk.1.ffn_down_shexp.weight", 256, 256);
        AssertTensor(f, "blk.1.ffn_up_shexp.weight", 256, 256);
        Assert.False(f.TryGetTensor("blk.0.attn_kv_b.weight", out _)); // the legacy unsplit form is not written

        // Core's summary reads the same facts.
        var s = f.ToSummary();
        Assert.Equal("deepseek2", s.Architecture);
        Assert.Equal(256, s.KvLoraRank);
        Assert.Equal(256, s.QLoraRank);
        Assert.Equal(1, s.ExpertSharedCount);
    }

    [Fact]
    public void Deepseek2_with_a_lite_layer_count_writes_an_uncompressed_query_because_llama_cpp_skips_q_lora_rank()
    {
        var f = WriteAndRead(SyntheticPresets.DeepseekR1Tiny with { Layers = 27, ExpertCount = 2, ExpertUsedCount = 1 });

        Assert.False(f.ContainsKey("deepseek2.attention.q_lora_rank"));
        AssertTensor(f, "blk.5.attn_q.weight", 256, 4 * 96);
        Assert.False(f.TryGetTensor("blk.5.attn_q_a.weight", out _));
    }

    [Fact]
    public void Deepseek2_legacy_mla_writes_attn_kv_b_and_per_head_key_value_lengths()
    {
        var f = WriteAndRead(SyntheticPresets.DeepseekR1Tiny with { LegacyMla = true });

        AssertKey(f, "deepseek2.attention.head_count_kv", GgufValueType.UInt32, 4u);
        AssertKey(f, "deepseek2.attention.key_length", GgufValueType.UInt32, 96u);
        AssertKey(f, "deepseek2.attention.value_length", GgufValueType.UInt32, 64u);
        Assert.False(f.ContainsKey("deepseek2.attention.key_length_mla"));
        AssertTensor(f, "blk.2.attn_kv_b.weight", 256, 4 * (64 + 64));
        Assert.False(f.TryGetTensor("blk.2.attn_k_b.weight", out _));
    }

    [Fact]
    public void Qwen3moe_writes_head_length_and_q_k_norms()
    {
        var f = WriteAndRead(SyntheticPresets.Qwen3_30B_A3BTiny);
        const GgufValueType u32 = GgufValueType.UInt32;

        AssertKey(f, "general.architecture", GgufValueType.String, "qwen3moe");
        AssertKey(f, "qwen3moe.attention.key_length", u32, 128u);
        AssertKey(f, "qwen3moe.attention.value_length", u32, 128u);
        AssertKey(f, "qwen3moe.expert_feed_forward_length", u32, 256u);
        AssertKey(f, "qwen3moe.feed_forward_length", u32, 768u);
        AssertKey(f, "qwen3moe.attention.head_count_kv", u32, 2u);
        AssertTensor(f, "blk.1.attn_q.weight", 256, 4 * 128);
        AssertTensor(f, "blk.1.attn_k.weight", 256, 2 * 128);
        AssertTensor(f, "blk.1.attn_output.weight", 4 * 128, 256);
        AssertTensor(f, "blk.1.attn_q_norm.weight", 128);
        AssertTensor(f, "blk.1.attn_k_norm.weight", 128);
        AssertTensor(f, "blk.1.ffn_down_exps.weight", 256, 256, 8);
    }

    [Fact]
    public void Gpt_oss_writes_the_window_sinks_and_biases()
    {
        var f = WriteAndRead(SyntheticPresets.GptOss20BTiny);
        const GgufValueType u32 = GgufValueType.UInt32;

        AssertKey(f, "general.architecture", GgufValueType.String, "gpt-oss");
        AssertKey(f, "gpt-oss.attention.sliding_window", u32, 64u);
        AssertKey(f, "gpt-oss.attention.key_length", u32, 64u);
        AssertKey(f, "gpt-oss.expert_feed_forward_length", u32, 320u);
        AssertKey(f, "gpt-oss.rope.scaling.type", GgufValueType.String, "yarn");
        AssertTensor(f, "blk.0.attn_sinks.weight", 4);
        AssertTensor(f, "blk.0.post_attention_norm.weight", 320);
        AssertTensor(f, "blk.0.attn_q.weight", 320, 4 * 64);
        AssertTensor(f, "blk.0.attn_q.bias", 4 * 64);
        AssertTensor(f, "blk.0.attn_output.bias", 320);
        AssertTensor(f, "blk.0.ffn_gate_inp.bias", 8);
        AssertTensor(f, "blk.0.ffn_gate_exps.bias", 320, 8);
        AssertTensor(f, "blk.0.ffn_down_exps.bias", 320, 8);
        Assert.Equal(GgmlType.MXFP4, f.Tensors.Single(t => t.Name == "blk.1.ffn_up_exps.weight").Type);
        Assert.All(f.Tensors.Where(t => t.Name.EndsWith(".bias", StringComparison.Ordinal) || t.Name.Contains("sinks")), t => Assert.Equal(GgmlType.F32, t.Type));
    }

    [Fact]
    public void Architectures_refuse_shapes_llama_cpp_cannot_load()
    {
        Assert.Contains((SyntheticPresets.DeepseekR1Tiny with { SharedExpertCount = 0 }).Validate(), p => p.Contains("SharedExpertCount"));
        Assert.Contains((SyntheticPresets.DeepseekR1Tiny with { KvLoraRank = 0 }).Validate(), p => p.Contains("KvLoraRank"));
        Assert.Contains((SyntheticPresets.DeepseekR1Tiny with { RopeHeadLength = 31 }).Validate(), p => p.Contains("RopeHeadLength"));
        // A plain attn_q (no query compression) loads only in llama.cpp's lite shapes.
        Assert.Contains((SyntheticPresets.DeepseekR1Tiny with { QLoraRank = 0 }).Validate(), p => p.Contains("QLoraRank 0"));
        Assert.Empty((SyntheticPresets.DeepseekR1Tiny with { QLoraRank = 0, Layers = 27 }).Validate());
        Assert.Contains((SyntheticPresets.Qwen3_30B_A3BTiny with { ExpertCount = 0, ExpertUsedCount = 0 }).Validate(), p => p.Contains("needs experts"));
        Assert.Contains((SyntheticPresets.GptOss20BTiny with { SlidingWindow = 0 }).Validate(), p => p.Contains("SlidingWindow"));
        Assert.Contains((SyntheticPresets.Qwen3_30B_A3BTiny with { HeadLength = 63 }).Validate(), p => p.Contains("HeadLength"));
        foreach (var name in SyntheticPresets.Names) Assert.Empty(SyntheticPresets.Get(name).Validate());
    }

    [Fact]
    public void Architecture_and_recipe_names_parse_both_ways()
    {
        foreach (var name in SyntheticArchitectures.Names)
        {
            Assert.True(SyntheticArchitectures.TryParse(name.ToUpperInvariant(), out var arch));
            Assert.Equal(name, SyntheticArchitectures.Name(arch));
        }
        foreach (var name in SyntheticRecipes.Names)
        {
            Assert.True(SyntheticRecipes.TryParse(name, out var recipe));
            Assert.Equal(name, SyntheticRecipes.Name(recipe));
        }
        Assert.False(SyntheticArchitectures.TryParse("mixtral", out _));
        Assert.False(SyntheticRecipes.TryParse("q3_k_xl", out _));
    }
}
