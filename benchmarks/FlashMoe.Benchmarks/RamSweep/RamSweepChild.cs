using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Runtime;
using LLama;
using LLama.Common;
using LLama.Sampling;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The hidden <c>ramsweep-child</c> verb: one run of the sweep inside the cgroup the parent made. It goes through the
/// product path exactly as an app does — <see cref="HostInfo.Detect"/> (which sees the cgroup limit), the profile
/// resolved for that host, <see cref="FlashMoeModel.LoadAsync(string, ResolvedProfile, IProgress{float}?, Microsoft.Extensions.Logging.ILogger?, System.Threading.CancellationToken)"/>
/// (which maps the options with ToModelParams), a context and N generated tokens — and reports on stdout.
/// </summary>
internal static class RamSweepChild
{
    public const string Verb = "ramsweep-child";

    // 21 tokens (with BOS) in the synthetic vocab: long enough that prompt processing shows up under memory pressure.
    public const string DefaultPrompt = "The quick brown fox jumps over the lazy dog, and then the dog";

    public static async Task<int> RunAsync(string[] args)
    {
        string? model = null, prompt = null;
        SweepMode? mode = null;
        int tokens = 32, threads = 2, context = 2048;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{Verb}: {args[i]} needs a value");
            int Int() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--model": model = Value(); break;
                case "--mode": mode = RamSweepOptions.ParseMode(Value()); break;
                case "--tokens": tokens = Int(); break;
                case "--threads": threads = Int(); break;
                case "--ctx": context = Int(); break;
                case "--prompt": prompt = Value(); break;
                default: throw new UsageException($"{Verb}: unknown argument '{args[i]}'");
            }
        }
        if (model is null || mode is null) throw new UsageException($"{Verb}: --model and --mode are required");

        var clock = Stopwatch.StartNew();
        Phase("start", clock);
        var host = HostInfo.Detect(model);
        var profile = SweepProfile.Create(model, SweepProfile.ModeSwitch(mode.Value), threads, context, host.TotalRamBytes ?? 0);
        var resolved = profile.Resolve(host, GgufReader.ReadSummary(model));

        Phase("load", clock);
        using var loaded = await FlashMoeModel.LoadAsync(model, resolved);
        Phase("context", clock);
        using var llamaContext = loaded.CreateContext();
        var promptTokens = llamaContext.Tokenize(prompt ?? DefaultPrompt, addBos: true).Length;

        Phase("prompt", clock);
        var executor = new InteractiveExecutor(llamaContext);
        var inference = new InferenceParams { MaxTokens = tokens, SamplingPipeline = new GreedySamplingPipeline() };
        var generation = Stopwatch.StartNew();
        TimeSpan? firstToken = null;
        var generated = 0;
        await foreach (var _ in executor.InferAsync(prompt ?? DefaultPrompt, inference))
        {
            generated++;
            if (firstToken is null)
            {
                firstToken = generation.Elapsed;
                Phase("generate", clock);
            }
            Console.WriteLine(FormattableString.Invariant($"{ChildProtocol.Marker}token {generated} {clock.ElapsedMilliseconds}"));
        }
        generation.Stop();
        var comparison = loaded.CompareWithPlan();

        var ttft = firstToken ?? generation.Elapsed;
        var rest = generation.Elapsed - ttft;
        var result = new ChildResult
        {
            LoadSeconds = loaded.LoadTime.TotalSeconds,
            PromptSeconds = ttft.TotalSeconds,
            PromptTokens = promptTokens,
            GeneratedTokens = generated,
            TokensPerSecond = generated > 1 && rest > TimeSpan.Zero ? (generated - 1) / rest.TotalSeconds : 0,
            PeakRssBytes = PeakRssBytes(),
            LlamaLoadMode = loaded.Buffers.LoadMode,
            DetectedLimitBytes = host.MemoryLimitBytes,
            Advice = resolved.Advice.Select(a => a.Id).ToList(),
            UsedMmap = resolved.Options.UseMmap,
            Buffers = comparison?.Rows.Where(r => r.Device.IsCpu).Select(r => new BufferFigure(r.Kind.ToString(), r.PlannedBytes, r.ActualBytes)).ToList() ?? new(),
            PlannedFootprintBytes = resolved.Plan.Host.FootprintBytes,
            PlannedOverheadBytes = resolved.Plan.Host.RuntimeOverheadBytes,
        };
        Console.WriteLine(ChildProtocol.Marker + "result " + JsonSerializer.Serialize(result));
        return 0;
    }

    private static void Phase(string name, Stopwatch clock) =>
        Console.WriteLine(FormattableString.Invariant($"{ChildProtocol.Marker}phase {name} {clock.ElapsedMilliseconds}"));

    /// <summary>VmHWM of /proc/self/status: the peak resident set (file pages mapped in + anonymous memory).</summary>
    private static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var kb = line.Substring(6).Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}
