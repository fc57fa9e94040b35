using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using LLama;
using LLama.Native;
using LLama.Sampling;

namespace FlashMoe.Runtime;

/// <summary>What one <see cref="FlashMoeWorkload.RunAsync"/> measured.</summary>
public sealed record WorkloadResult
{
    /// <summary>Prompt tokens decoded (BOS included).</summary>
    public int PromptTokens { get; init; }
    /// <summary>Wall time of the prompt's decode calls.</summary>
    public TimeSpan PromptTime { get; init; }
    /// <summary>From the start of the prompt to the first sampled token (prompt decode + first sample).</summary>
    public TimeSpan TimeToFirstToken { get; init; }
    /// <summary>Tokens generated after the prompt (the first sampled one included).</summary>
    public int GeneratedTokens { get; init; }
    /// <summary>Wall time from the first sampled token to the last.</summary>
    public TimeSpan GenerationTime { get; init; }
    /// <summary>Context cells used at the end (prompt + generated tokens).</summary>
    public int ContextUsed { get; init; }
    /// <summary>The process's peak resident set (Linux <c>VmHWM</c>) after the run; null elsewhere.</summary>
    public long? PeakRssBytes { get; init; }

    /// <summary>Prompt processing speed.</summary>
    public double PromptTokensPerSecond => PromptTime > TimeSpan.Zero ? PromptTokens / PromptTime.TotalSeconds : 0;

    /// <summary>Generation speed after the first token (the first one's time belongs to the prompt).</summary>
    public double GenerationTokensPerSecond => GeneratedTokens > 1 && GenerationTime > TimeSpan.Zero ? (GeneratedTokens - 1) / GenerationTime.TotalSeconds : 0;
}

/// <summary>
/// A chat-shaped workload that fills a context: a prompt of a given length decoded in <c>n_batch</c> chunks (prompt
/// processing, <c>batchThreads</c>), then single-token greedy generation (<c>threads</c>). The benchmarks and
/// the tuner measure decisions with it, so that the KV cache and compute buffer are really touched.
/// </summary>
public static class FlashMoeWorkload
{
    // Plain text every vocabulary tokenizes into ordinary tokens; repeated to the wanted prompt length.
    private const string FillerText = "The quick brown fox jumps over the lazy dog, and then the dog runs after the fox into the forest. ";

    /// <summary>
    /// Decodes a <paramref name="promptTokens"/>-token prompt and generates <paramref name="generatedTokens"/> tokens
    /// greedily (end-of-generation tokens do not stop it: the point is the work, not the text).
    /// </summary>
    /// <param name="context">A fresh context (its memory is cleared first).</param>
    /// <param name="promptTokens">Prompt length, at least 1.</param>
    /// <param name="generatedTokens">Tokens to generate, at least 1.</param>
    /// <param name="tokenProgress">Told the number of tokens generated so far after each one (a run that is stopped still shows its rate).</param>
    /// <param name="cancellationToken">Checked between decode calls.</param>
    /// <exception cref="ArgumentOutOfRangeException">The prompt plus generation exceeds the context.</exception>
    public static async Task<WorkloadResult> RunAsync(LLamaContext context, int promptTokens, int generatedTokens,
        IProgress<int>? tokenProgress = null, CancellationToken cancellationToken = default)
    {
        if (context is null) throw new ArgumentNullException(nameof(context));
        if (promptTokens < 1) throw new ArgumentOutOfRangeException(nameof(promptTokens), "at least one prompt token");
        if (generatedTokens < 1) throw new ArgumentOutOfRangeException(nameof(generatedTokens), "at least one generated token");
        if ((long)promptTokens + generatedTokens > context.ContextSize)
        {
            throw new ArgumentOutOfRangeException(nameof(promptTokens), string.Create(CultureInfo.InvariantCulture,
                $"prompt {promptTokens} + generation {generatedTokens} tokens exceed the context of {context.ContextSize}"));
        }

        var prompt = PromptOf(context, promptTokens);
        context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        var chunk = (int)Math.Max(1, context.BatchSize);
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < prompt.Count; start += chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.Clear();
            var end = Math.Min(prompt.Count, start + chunk);
            for (var i = start; i < end; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
            Check(await context.DecodeAsync(batch, cancellationToken).ConfigureAwait(false));
        }
        var promptTime = clock.Elapsed;

        using var sampler = new GreedySamplingPipeline();
        var token = sampler.Sample(context.NativeHandle, batch.TokenCount - 1);
        var firstToken = clock.Elapsed;
        tokenProgress?.Report(1);
        var position = prompt.Count;
        var generated = 1;
        while (generated < generatedTokens)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.Clear();
            batch.Add(token, position++, LLamaSeqId.Zero, true);
            Check(await context.DecodeAsync(batch, cancellationToken).ConfigureAwait(false));
            token = sampler.Sample(context.NativeHandle, 0);
            generated++;
            tokenProgress?.Report(generated);
        }
        var total = clock.Elapsed;

        return new WorkloadResult
        {
            PromptTokens = prompt.Count,
            PromptTime = promptTime,
            TimeToFirstToken = firstToken,
            GeneratedTokens = generated,
            GenerationTime = total - firstToken,
            ContextUsed = position + 1,
            PeakRssBytes = ProcessMemory.PeakResidentBytes(),
        };
    }

    /// <summary>The prompt: BOS (when the vocabulary adds one) and the filler text's tokens repeated to <paramref name="length"/>.</summary>
    private static List<LLamaToken> PromptOf(LLamaContext context, int length)
    {
        var withBos = context.Tokenize(FillerText, addBos: true);
        var plain = context.Tokenize(FillerText, addBos: false);
        if (plain.Length == 0) throw new InvalidOperationException("The vocabulary tokenizes the filler text to nothing.");
        var prompt = new List<LLamaToken>(length);
        if (withBos.Length > plain.Length) prompt.Add(withBos[0]);
        while (prompt.Count < length) prompt.Add(plain[(prompt.Count) % plain.Length]);
        return prompt;
    }

    private static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed: " + result);
    }
}

/// <summary>The process's own memory figures (Linux <c>/proc/self/status</c>); null where they are not available.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Peak resident set size (<c>VmHWM</c>): anonymous memory plus the file pages mapped in (the model under mmap,
    /// the runtime's and llama.cpp's code). Null off Linux.
    /// </summary>
    public static long? PeakResidentBytes() => ReadStatusKiB("VmHWM:");

    /// <summary>Current resident set size (<c>VmRSS</c>); null off Linux.</summary>
    public static long? ResidentBytes() => ReadStatusKiB("VmRSS:");

    /// <summary>Current anonymous resident memory (<c>RssAnon</c>: heaps, llama.cpp's buffers without mmap); null off Linux.</summary>
    public static long? AnonymousBytes() => ReadStatusKiB("RssAnon:");

    /// <summary>Current file-backed resident memory (<c>RssFile</c>: code of the runtime and llama.cpp, a mapped model); null off Linux.</summary>
    public static long? FileBackedBytes() => ReadStatusKiB("RssFile:");

    /// <summary>
    /// Resets the peak (<c>echo 5 &gt; /proc/self/clear_refs</c>, Linux ≥ 4.0), so that several measurements in one
    /// process each get their own peak. False when the kernel does not allow it.
    /// </summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    private static long? ReadStatusKiB(string key)
    {
        try
        {
            if (!File.Exists("/proc/self/status")) return null;
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                var kb = line.Substring(key.Length).Trim().Split(' ')[0];
                return long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value * 1024 : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
