using System;
using System.IO;
using System.Text.RegularExpressions;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>Each architecture's tiny variant loads and generates through LLamaSharp; llama.cpp's own log shows it read the hyper-parameters as written.</summary>
[Collection(LlamaNativeCollection.Name)]
public sealed class ArchitectureLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-arch-tests-" + Guid.NewGuid().ToString("N"));

    public ArchitectureLoadTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LlamaRun.Result Run(SyntheticModelSpec spec, string name, int tokens = 8)
    {
        var path = Path.Combine(_dir, name + ".gguf");
        SyntheticModel.Write(spec, path);
        return LlamaRun.LoadAndGenerate(path, tokens);
    }

    [Fact]
    public void Deepseek_r1_tiny_loads_and_generates_with_mla_a_dense_lead_a_shared_expert_and_sigmoid_routing()
    {
        var run = Run(SyntheticPresets.DeepseekR1Tiny, "deepseek-r1-tiny");

        Assert.Equal(8, run.Generated);
        Assert.Matches(@"arch\s+=\s+deepseek2", run.Log);
        Assert.Equal(4, LlamaRun.LogInt(run.Log, "n_layer"));
        Assert.Equal(1, LlamaRun.LogInt(run.Log, "n_layer_dense_lead"));
        Assert.Equal(256, LlamaRun.LogInt(run.Log, "n_lora_q"));
        Assert.Equal(256, LlamaRun.LogInt(run.Log, "n_lora_kv"));
        Assert.Equal(96, LlamaRun.LogInt(run.Log, "n_embd_head_k_mla"));
        Assert.Equal(64, LlamaRun.LogInt(run.Log, "n_embd_head_v_mla"));
        // MLA caches one latent "head": kv_lora + rope for K, kv_lora for V.
        Assert.Equal(1, LlamaRun.LogInt(run.Log, "n_head_kv"));
        Assert.Equal(288, LlamaRun.LogInt(run.Log, "n_embd_head_k"));
        Assert.Equal(256, LlamaRun.LogInt(run.Log, "n_embd_head_v"));
        Assert.Equal(32, LlamaRun.LogInt(run.Log, "n_rot"));
        Assert.Equal(1, LlamaRun.LogInt(run.Log, "n_expert_shared"));
        Assert.Equal(256, LlamaRun.LogInt(run.Log, "n_ff_exp"));
        Assert.Matches(@"expert_gating_func\s+=\s+sigmoid", run.Log);
        Assert.Matches(@"expert_weights_scale\s+=\s+2\.5", run.Log);
        Assert.Matches(@"rope scaling\s+=\s+yarn", run.Log);
        Assert.Matches(@"file type\s+=\s+Q4_K - Medium", run.Log);
    }

    [Fact]
    public void Deepseek_r1_tiny_in_the_legacy_unsplit_mla_form_loads_and_caches_every_head()
    {
        var run = Run(SyntheticPresets.DeepseekR1Tiny with { LegacyMla = true }, "deepseek-r1-tiny-legacy");

        Assert.Equal(8, run.Generated);
        Assert.Equal(4, LlamaRun.LogInt(run.Log, "n_head_kv"));
        Assert.Equal(96, LlamaRun.LogInt(run.Log, "n_embd_head_k"));
        Assert.Equal(64, LlamaRun.LogInt(run.Log, "n_embd_head_v"));
        Assert.Matches(@"llama_kv_cache: size =\s+[\d.]+ MiB \(\s+256 cells,\s+4 layers.*K \(f16\):\s+[\d.]+ MiB, V \(f16\):", run.Log);
    }

    [Fact]
    public void Qwen3_moe_tiny_variants_load_and_generate_with_128_wide_heads()
    {
        var run = Run(SyntheticPresets.Qwen3_30B_A3BTiny, "qwen3-30b-tiny");
        Assert.Equal(8, run.Generated);
        Assert.Matches(@"arch\s+=\s+qwen3moe", run.Log);
        Assert.Equal(128, LlamaRun.LogInt(run.Log, "n_embd_head_k"));
        Assert.Equal(128, LlamaRun.LogInt(run.Log, "n_rot"));
        Assert.Equal(256, LlamaRun.LogInt(run.Log, "n_ff_exp"));
        Assert.Equal(8, LlamaRun.LogInt(run.Log, "n_expert"));

        var big = Run(SyntheticPresets.Qwen3_235B_A22BTiny, "qwen3-235b-tiny", tokens: 4);
        Assert.Equal(4, big.Generated);
        Assert.Equal(16, LlamaRun.LogInt(big.Log, "n_expert"));
        Assert.Equal(1, LlamaRun.LogInt(big.Log, "n_head_kv"));
    }

    [Fact]
    public void Gpt_oss_tiny_variants_load_and_generate_with_a_sliding_window_on_alternate_layers_and_mxfp4_experts()
    {
        var run = Run(SyntheticPresets.GptOss20BTiny, "gpt-oss-20b-tiny");
        Assert.Equal(8, run.Generated);
        Assert.Matches(@"arch\s+=\s+gpt-oss", run.Log);
        Assert.Equal(64, LlamaRun.LogInt(run.Log, "n_swa"));
        Assert.Matches(@"layer\s+0 assigned to device CPU, is_swa = 1", run.Log);
        Assert.Matches(@"layer\s+1 assigned to device CPU, is_swa = 0", run.Log);
        Assert.Matches(@"type\s+mxfp4:\s+6 tensors", run.Log);
        Assert.Matches(@"file type\s+=\s+MXFP4 MoE", run.Log);

        var big = Run(SyntheticPresets.GptOss120BTiny, "gpt-oss-120b-tiny", tokens: 4);
        Assert.Equal(4, big.Generated);
        Assert.Equal(16, LlamaRun.LogInt(big.Log, "n_expert"));
    }

    public static TheoryData<string> TinyPresets() => new() { "deepseek-r1-tiny", "qwen3-30b-a3b-tiny", "gpt-oss-20b-tiny" };

    [Theory]
    [MemberData(nameof(TinyPresets))]
    public void The_shape_options_work_with_every_architecture(string preset)
    {
        // What --layers --embd --heads --kv-heads --experts --experts-used --expert-ff --vocab --quant --expert-quant set.
        var spec = SyntheticPresets.Get(preset) with
        {
            Layers = 3,
            EmbeddingLength = 512,
            HeadCount = 8,
            KvHeadCount = 4,
            ExpertCount = 6,
            ExpertUsedCount = 3,
            ExpertFeedForwardLength = 128,
            VocabSize = 1000,
            Recipe = null,
            WeightType = GgmlType.Q8_0,
            ExpertWeightType = GgmlType.Q4_0,
        };
        var run = Run(spec, preset + "-reshaped", tokens: 3);

        Assert.Equal(3, run.Generated);
        Assert.Equal(3, LlamaRun.LogInt(run.Log, "n_layer"));
        Assert.Equal(512, LlamaRun.LogInt(run.Log, "n_embd"));
        Assert.Equal(8, LlamaRun.LogInt(run.Log, "n_head"));
        Assert.Equal(6, LlamaRun.LogInt(run.Log, "n_expert"));
        Assert.Equal(3, LlamaRun.LogInt(run.Log, "n_expert_used"));
        Assert.Equal(128, LlamaRun.LogInt(run.Log, "n_ff_exp"));
        Assert.Equal(1000, LlamaRun.LogInt(run.Log, "n_vocab"));
        // Three routed-expert tensors per MoE block; deepseek2's leading dense block has none.
        var moeBlocks = spec.Layers - spec.EffectiveLeadingDenseLayers;
        Assert.Matches($@"type\s+q4_0:\s+{3 * moeBlocks} tensors", run.Log);
    }
}
