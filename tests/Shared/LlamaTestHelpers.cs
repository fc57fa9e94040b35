using System;
using System.Globalization;
using System.Text.RegularExpressions;
using FlashMoe.Synthetic;
using LLama;
using LLama.Common;
using LLama.Native;
using Xunit;

namespace FlashMoe.Tests.Shared;

/// <summary>llama.cpp helpers for the test projects that load synthetic models (linked into each of them).</summary>
public static class LlamaTestHelpers
{
    /// <summary>
    /// Loads <paramref name="path"/> with llama.cpp's row validation on (finite values, finite block scales). ModelParams
    /// does not expose <c>check_tensors</c>, so the load goes through the native parameters. Install the project's log
    /// callback first: it must precede the first native call.
    /// </summary>
    public static void LoadWithTensorCheck(string path)
    {
        NativeApi.llama_empty_call(); // LLamaModelParams.Default() is a P/Invoke that does not itself resolve the library
        var native = LLamaModelParams.Default();
        native.check_tensors = true;
        native.n_gpu_layers = 0;
        using var model = SafeLlamaModelHandle.LoadFromFile(path, native);
    }

    /// <summary>
    /// Loads <paramref name="path"/> (first with the row check), decodes <paramref name="prompt"/> and generates
    /// <paramref name="tokens"/> tokens greedily on the CPU; returns how many were generated and the prompt's length.
    /// </summary>
    public static (int Generated, int PromptTokens) LoadAndGenerate(string path, string prompt, int tokens)
    {
        LoadWithTensorCheck(path);
        var parameters = new ModelParams(path) { ContextSize = 256, GpuLayerCount = 0, Threads = 2, BatchSize = 64 };

        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var promptTokens = context.Tokenize(prompt, addBos: true);
        var batch = new LLamaBatch();
        batch.AddRange(promptTokens, 0, LLamaSeqId.Zero, true);
        Assert.Equal(DecodeResult.Ok, context.Decode(batch));

        var generated = 0;
        for (var position = promptTokens.Length; generated < tokens; position++)
        {
            var next = Greedy(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            batch.Clear();
            batch.Add(next, position, LLamaSeqId.Zero, true);
            Assert.Equal(DecodeResult.Ok, context.Decode(batch));
            generated++;
        }
        return (generated, promptTokens.Length);
    }

    /// <summary>Greedy over every token but EOS, so a random model cannot stop early; finite logits prove the graph ran sanely.</summary>
    public static LLamaToken Greedy(Span<float> logits)
    {
        var best = -1;
        for (var i = 0; i < logits.Length; i++)
        {
            Assert.True(float.IsFinite(logits[i]), $"logit {i} is {logits[i]}");
            if (i != SyntheticVocab.EosId && (best < 0 || logits[i] > logits[best])) best = i;
        }
        return best;
    }

    /// <summary>The integer llama.cpp's print_info logs for <paramref name="key"/> (e.g. <c>n_layer = 4</c>).</summary>
    public static int LogInt(string log, string key)
    {
        var match = Regex.Match(log, $@"\b{Regex.Escape(key)}\s*=\s*(\d+)");
        Assert.True(match.Success, $"llama.cpp's log has no '{key} = N':\n{log}");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
