using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;
using LLama;
using LLama.Common;
using LLama.Sampling;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The hidden <c>ramsweep-child</c> verb: one run of the sweep inside the cgroup the parent made. It goes through the
/// product path exactly as an app does — <see cref="HostInfo.Detect"/> (which sees the cgroup limit), the profile
/// resolved for that host, <see cref="FlashMoeModel.LoadAsync(string, ResolvedProfile, IProgress{float}?, Microsoft.Extensions.Logging.ILogger?, System.Threading.CancellationToken)"/>
/// (which maps the options with ToModelParams), a context filled by <see cref="FlashMoeWorkload"/> (a prompt up to
/// fill × n_ctx, then N generated tokens) — and reports on stdout.
/// </summary>
internal static class RamSweepChild
{
    public const string Verb = "ramsweep-child";

    public static async Task<int> RunAsync(string[] args)
    {
        string? model = null;
        bool? mmap = null;
        int tokens = 64, threads = 2, context = 2048, ubatch = SweepConfig.DefaultUBatch;
        int? batchThreads = null;
        var flashAttention = true;
        KvCacheType typeK = KvCacheType.F16, typeV = KvCacheType.F16;
        var fill = 1.0;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{Verb}: {args[i]} needs a value");
            int Int() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--model": model = Value(); break;
                case "--mode": mmap = SweepConfig.Parse(Value(), 1).Mmap; break;
                case "--ubatch": ubatch = Int(); break;
                case "--flash-attention": flashAttention = Value() switch { "on" => true, "off" => false, var v => throw new UsageException($"{Verb}: --flash-attention is on or off, got '{v}'") }; break;
                case "--kv":
                    var kv = Value();
                    var types = kv.Split(',');
                    typeK = SweepConfig.ParseKv(types[0]) ?? throw new UsageException($"{Verb}: --kv takes f16, q8_0 or q4_0 (K,V for different types), got '{kv}'");
                    typeV = SweepConfig.ParseKv(types[^1]) ?? throw new UsageException($"{Verb}: --kv takes f16, q8_0 or q4_0 (K,V for different types), got '{kv}'");
                    break;
                case "--tokens": tokens = Int(); break;
                case "--threads": threads = Int(); break;
                case "--batch-threads": batchThreads = Int(); break;
                case "--ctx": context = Int(); break;
                case "--fill": fill = double.Parse(Value(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture); break;
                default: throw new UsageException($"{Verb}: unknown argument '{args[i]}'");
            }
        }
        if (model is null || mmap is null) throw new UsageException($"{Verb}: --model and --mode are required");
        var config = new SweepConfig(mmap.Value, ubatch, flashAttention, typeK, typeV, threads, batchThreads ?? threads);

        var clock = Stopwatch.StartNew();
        Phase("start", clock);
        var host = HostInfo.Detect(model);
        var profile = SweepProfile.Forced(model, config, context, host.TotalRamBytes ?? 0);
        var resolved = profile.Resolve(host, GgufReader.ReadSummary(model));
        // The profile forces every judged choice; a resolver that still changed one would make the run measure
        // something else than its label says.
        if (SweepConfig.FromResolved(resolved.Options) is var loadedConfig && loadedConfig != config)
        {
            throw new InvalidOperationException($"{Verb}: asked for {config.Label(threads)} but the profile resolved to {loadedConfig.Label(threads)}");
        }

        Phase("load", clock);
        using var loaded = await FlashMoeModel.LoadAsync(model, resolved);
        Phase("context", clock);
        using var llamaContext = loaded.CreateContext();

        // The prompt fills the context up to fill × n_ctx minus the generated tokens, as a long chat does, so the
        // KV cache and the full-size compute buffer are really touched (a short prompt leaves most of them untouched).
        var size = (int)llamaContext.ContextSize;
        var target = Math.Min(size, Math.Max(tokens + 1, (int)Math.Round(fill * size)));
        var promptTokens = Math.Max(1, target - tokens);
        Phase("prompt", clock);
        var firstTokenSeen = false;
        var progress = new SynchronousProgress<int>(generated =>
        {
            if (!firstTokenSeen)
            {
                firstTokenSeen = true;
                Phase("generate", clock);
            }
            Console.WriteLine(FormattableString.Invariant($"{ChildProtocol.Marker}token {generated} {clock.ElapsedMilliseconds}"));
        });
        var run = await FlashMoeWorkload.RunAsync(llamaContext, promptTokens, Math.Min(tokens, size - promptTokens), progress);
        var comparison = loaded.CompareWithPlan();

        var result = new ChildResult
        {
            LoadSeconds = loaded.LoadTime.TotalSeconds,
            PromptSeconds = run.TimeToFirstToken.TotalSeconds,
            PromptTokens = run.PromptTokens,
            PromptTokensPerSecond = run.PromptTokensPerSecond,
            GeneratedTokens = run.GeneratedTokens,
            ContextUsed = run.ContextUsed,
            ContextSize = size,
            TokensPerSecond = run.GenerationTokensPerSecond,
            PeakRssBytes = run.PeakRssBytes ?? 0,
            LlamaLoadMode = loaded.Buffers.LoadMode,
            DetectedLimitBytes = host.MemoryLimitBytes,
            Advice = resolved.Advice.Select(a => a.Id).ToList(),
            UsedMmap = resolved.Options.UseMmap,
            Buffers = comparison?.Rows.Where(r => r.Device.IsCpu).Select(r => new BufferFigure(r.Kind.ToString(), r.PlannedBytes, r.ActualBytes)).ToList() ?? new(),
            PlannedFootprintBytes = resolved.Plan.Host.FootprintBytes,
            PlannedOverheadBytes = resolved.Plan.Host.RuntimeOverheadBytes,
        };
        Phase("end", clock);
        Console.WriteLine(ChildProtocol.Marker + "result " + JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>The child's arguments that make it load exactly <paramref name="config"/>.</summary>
    public static IEnumerable<string> ConfigArguments(SweepConfig config) => new[]
    {
        "--mode", config.Mmap ? "mmap" : "nommap",
        "--ubatch", config.UBatch.ToString(CultureInfo.InvariantCulture),
        "--flash-attention", config.FlashAttention ? "on" : "off",
        "--kv", SweepConfig.KvName(config.TypeK) + "," + SweepConfig.KvName(config.TypeV),
        "--threads", config.Threads.ToString(CultureInfo.InvariantCulture),
        "--batch-threads", config.BatchThreads.ToString(CultureInfo.InvariantCulture),
    };

    private static void Phase(string name, Stopwatch clock)
    {
        Console.WriteLine(FormattableString.Invariant($"{ChildProtocol.Marker}phase {name} {clock.ElapsedMilliseconds}"));
        // What is resident when each phase starts: how the runtime overhead splits (runtime, native code, context).
        Console.WriteLine(FormattableString.Invariant(
            $"{ChildProtocol.Marker}memory {name} anon {ProcessMemory.AnonymousBytes() ?? -1} file {ProcessMemory.FileBackedBytes() ?? -1} hwm {ProcessMemory.PeakResidentBytes() ?? -1}"));
    }
}

/// <summary>An IProgress that reports on the caller's thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
