using System.Globalization;
using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Gguf;
using FlashMoe.Runtime.Native;
using FlashMoe.Synthetic;
using LLama;
using LLama.Common;
using LLama.Native;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

/// <summary>
/// Synthetic models loaded by llama.cpp through LLamaSharp directly (no FlashMoe runtime in between): the writer's
/// files are models llama.cpp accepts, loads with every weight type, and runs.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class LlamaSharpLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-llama-tests-" + Guid.NewGuid().ToString("N"));

    public LlamaSharpLoadTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tiny_dense_model_loads_and_generates()
    {
        var run = LoadAndGenerate(SyntheticPresets.TinyDense, "tiny-dense", tokens: 16);

        Assert.Equal(16, run.Generated);
        Assert.Equal(2, LlamaTestHelpers.LogInt(run.Log, "n_layer"));
        Assert.Equal(128, LlamaTestHelpers.LogInt(run.Log, "n_embd"));
        Assert.Equal(0, LlamaTestHelpers.LogInt(run.Log, "n_expert"));
        // The extra pieces work: "Hello world" is BOS + ▁Hello + ▁world, not one token per byte.
        Assert.True(run.PromptTokens <= 4, $"prompt took {run.PromptTokens} tokens");
    }

    [Fact]
    public void Tiny_moe_model_loads_and_generates_with_its_experts()
    {
        var run = LoadAndGenerate(SyntheticPresets.TinyMoe, "tiny-moe", tokens: 32);

        Assert.Equal(32, run.Generated);
        Assert.Equal(2, LlamaTestHelpers.LogInt(run.Log, "n_layer"));
        Assert.Equal(8, LlamaTestHelpers.LogInt(run.Log, "n_expert"));
        Assert.Equal(2, LlamaTestHelpers.LogInt(run.Log, "n_expert_used"));
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public void Every_weight_type_loads_and_generates(GgmlType type)
    {
        var spec = SyntheticPresets.TinyMoe with { WeightType = type, ExpertWeightType = type, Seed = 7 };
        var run = LoadAndGenerate(spec, $"moe-{type}", tokens: 4);

        Assert.Equal(4, run.Generated);
        // llama.cpp names general.file_type back: our ftype matches the weights' type.
        var ftypeName = type == GgmlType.F32 ? "all F32" : type.ToString();
        Assert.Matches($@"file type\s*=\s*{Regex.Escape(ftypeName)}\r?\n", run.Log);
    }

    [Fact]
    public void Sparse_model_with_a_realistic_vocab_loads_and_generates()
    {
        // Holes read as zeros; llama.cpp still loads and runs (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare), and the 129 280-token vocab is parsed for real.
        var spec = SyntheticPresets.TinyMoe with { Sparse = true, VocabSize = 129280 };
        var run = LoadAndGenerate(spec, "sparse", tokens: 2);

        Assert.Equal(2, run.Generated);
        Assert.Equal(129280, LlamaTestHelpers.LogInt(run.Log, "n_vocab"));
    }

    [Fact]
    public void Llama_cpp_tensor_check_rejects_a_non_finite_block_scale()
    {
        // Shows the check above is real: one NaN Q8_0 scale in an otherwise valid model fails the load.
        var path = Path.Combine(_dir, "nan.gguf");
        var layout = SyntheticModel.Write(SyntheticPresets.TinyDense, path);
        var tensor = layout.Tensors.First(t => t.Name == "blk.1.attn_q.weight");
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Seek(layout.DataOffset + tensor.Offset + (34 * 5), SeekOrigin.Begin);
            stream.Write([0x00, 0x7E]); // f16 NaN as the sixth block's scale
        }
        using var capture = LlamaNativeLog.BeginCapture();

        Assert.ThrowsAny<Exception>(() => LoadWithTensorCheck(path));
        Assert.Contains("blk.1.attn_q.weight", Text(capture));
    }

    private sealed record Run(int Generated, int PromptTokens, string Log);

    private Run LoadAndGenerate(SyntheticModelSpec spec, string name, int tokens)
    {
        var path = Path.Combine(_dir, name + ".gguf");
        SyntheticModel.Write(spec, path);
        using var capture = LlamaNativeLog.BeginCapture();
        LlamaNativeLog.Install(); // the process's one log callback, before the first native call
        var (generated, promptTokens) = LlamaTestHelpers.LoadAndGenerate(path, "Hello world", tokens);
        return new Run(generated, promptTokens, Text(capture));
    }

    private static string Text(NativeLogCapture capture) => string.Concat(capture.Lines.Select(l => l.Text + "\n"));

    private static void LoadWithTensorCheck(string path)
    {
        LlamaNativeLog.Install(); // the process's one log callback, before the first native call
        LlamaTestHelpers.LoadWithTensorCheck(path);
    }
}
