using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;
using LLama;
using LLama.Common;
using LLama.Sampling;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Sample;

/// <summary>
/// The main job (no arguments): make a small synthetic MoE once, select the generated profile that fits this machine
/// (<c>FlashMoeProfiles.All.SelectFor</c>: <c>SmallCpuBox</c> here, with the reason the other was rejected), print the plan, load with a progress bar, generate, and print speed and estimated vs actual
/// buffers; then show the seed profile (<c>ArcWorkstation</c>) resolved on its declared hardware. The `run` verb
/// does the same with a named profile and a real model.
/// </summary>
internal static class RunCommand
{
    private const string DefaultPrompt = "Once upon a time";
    private const int DefaultTokens = 32;

    private const string Help = """
        run [--profile NAME] [--model PATH] [--prompt TEXT] [--tokens N]
          Resolves the profile (from flashmoe.json) on this machine, prints the plan, loads the model with exactly
          those options, generates N tokens and prints the speed and the estimated vs actual buffers.
          --profile   the profile; without it, the one that fits this machine best for --model
                      (FlashMoeProfiles.All.SelectFor, with the reason each other profile was not chosen)
          --model     the GGUF file (default: the profile's model.path, relative to the app or current directory)
          --prompt    the prompt (default "Once upon a time")
          --tokens    tokens to generate (default 32)
        """;

    public static async Task<int> RunAsync(string[] args, bool demo)
    {
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = false;
            })
            .SetMinimumLevel(LogLevel.Warning));
        var logger = loggerFactory.CreateLogger("FlashMoe");
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return demo
                ? await DemoAsync(args, logger, cancel.Token)
                : await RunProfileAsync(args, logger, cancel.Token);
        }
        catch (FlashMoeLoadException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (GgufFormatException e)
        {
            Console.Error.WriteLine($"error {e.Id}: {e.Message} (offset {e.Offset.ToString(CultureInfo.InvariantCulture)})");
            return 3;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> DemoAsync(string[] args, ILogger logger, CancellationToken cancellationToken)
    {
        if (args.Length > 0) throw new UsageException("The main job takes no arguments; see `run --help` for a real model.");

        Heading("1. The model: a small synthetic MoE made by FlashMoe.Synthetic");
        var cache = SampleModel.CacheDirectory();
        var (modelPath, written, elapsed) = SampleModel.Ensure(cache);
        Console.WriteLine(written
            ? $"wrote {modelPath} ({Size(new FileInfo(modelPath).Length)}) in {elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s"
            : $"using the cached {modelPath} ({Size(new FileInfo(modelPath).Length)})");

        Heading("2. The profile for this machine: FlashMoeProfiles.All.SelectFor(host, model) (flashmoe.json)");
        var host = HostInfo.Detect(modelPath);
        var selection = FlashMoeProfiles.All.SelectFor(host, GgufReader.ReadSummary(modelPath));
        Console.Write(selection.Describe());
        var resolved = selection.Selected
            ?? throw new UsageException("No profile in flashmoe.json can run this model on this machine (the reasons are above).");

        Heading($"3. The plan: FlashMoeProfiles.{resolved.Profile.Name} resolved on this machine");
        Console.Write(resolved.DescribePlan(host));

        Heading("4. Load and generate through LLamaSharp with exactly these options");
        await LoadAndGenerateAsync(resolved, host, modelPath, DefaultPrompt, DefaultTokens, logger, cancellationToken);

        Heading("5. The seed machine: FlashMoeProfiles.ArcWorkstation resolved on its declared hardware (no load)");
        var seed = FlashMoeProfiles.ArcWorkstation;
        // The seed's model is a 121 GiB DeepSeek-R1 UD-IQ1_S: a sparse synthetic file of that shape and size stands in,
        // so the plan reads a deepseek2 header (MLA cache, dense lead, shared expert) rather than declared facts.
        var stopwatch = Stopwatch.StartNew();
        var seedModel = SampleModel.ReadSeedHeader();
        Console.WriteLine(seedModel is null
            ? "this file system needs extra calls for sparse files: planning from the profile's declared facts (architecture deepseek2)"
            : $"wrote and read a sparse {Size(seedModel.FileSizeBytes)} deepseek2 header ({seedModel.BlockCount} layers, {seedModel.ExpertCount} experts, UD-IQ1_S mix) in {Seconds(stopwatch.Elapsed)}");
        var seedPlan = ProfileResolver.Resolve(seed, seedModel ?? seed.ReadModel(AppContext.BaseDirectory));
        Console.Write(PlanReport.Render(seedPlan));
        return 0;
    }

    private static async Task<int> RunProfileAsync(string[] args, ILogger logger, CancellationToken cancellationToken)
    {
        string? profileName = null, modelPath = null, prompt = null;
        int? tokens = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"run: {arg} needs a value (see run --help).");
            switch (arg)
            {
                case "-h" or "--help":
                    Console.WriteLine(Help);
                    return 0;
                case "--profile": profileName = Value(); break;
                case "--model": modelPath = Value(); break;
                case "--prompt": prompt = Value(); break;
                case "--tokens":
                    var text = Value();
                    tokens = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                        ? n
                        : throw new UsageException($"run: --tokens needs a positive integer, got '{text}'.");
                    break;
                default:
                    throw new UsageException($"run: unknown argument '{arg}' (see run --help).");
            }
        }
        if (profileName is null) return await RunSelectedAsync(modelPath, prompt, tokens, logger, cancellationToken);
        var profile = FlashMoeProfiles.All.FirstOrDefault(p => string.Equals(p.Name, profileName, StringComparison.OrdinalIgnoreCase))
            ?? throw new UsageException($"run: no profile '{profileName}' in flashmoe.json (known: {string.Join(", ", FlashMoeProfiles.All.Select(p => p.Name))}).");
        modelPath ??= profile.FindModelFile()
            ?? throw new UsageException($"run: profile {profile.Name}'s model '{profile.Model.Path}' is not next to the app or in the current directory; pass --model PATH.");
        modelPath = Path.GetFullPath(modelPath);
        if (!File.Exists(modelPath)) throw new UsageException($"run: no such model file '{modelPath}'.");

        var host = HostInfo.Detect(modelPath);
        var resolved = profile.Resolve(host, GgufReader.ReadSummary(modelPath));
        Heading($"Plan: {profile.Name} resolved on this machine for {modelPath}");
        Console.Write(resolved.DescribePlan(host));
        Heading("Load and generate");
        await LoadAndGenerateAsync(resolved, host, modelPath, prompt ?? DefaultPrompt, tokens ?? DefaultTokens, logger, cancellationToken);
        return 0;
    }

    /// <summary>`run --model PATH` without a profile: the one that fits this machine best (FlashMoeProfiles.All.SelectFor).</summary>
    private static async Task<int> RunSelectedAsync(string? modelPath, string? prompt, int? tokens, ILogger logger, CancellationToken cancellationToken)
    {
        if (modelPath is null) throw new UsageException("run: give --profile NAME, or --model PATH to select the profile that fits (see run --help).");
        modelPath = Path.GetFullPath(modelPath);
        if (!File.Exists(modelPath)) throw new UsageException($"run: no such model file '{modelPath}'.");
        var host = HostInfo.Detect(modelPath);
        var selection = FlashMoeProfiles.All.SelectFor(host, GgufReader.ReadSummary(modelPath));
        Heading("Profile selection");
        Console.Write(selection.Describe());
        if (selection.Selected is not { } resolved)
        {
            Console.Error.WriteLine("error: no profile in flashmoe.json can run this model on this machine (the reasons are above).");
            return 1;
        }
        Heading($"Plan: {resolved.Profile.Name} resolved on this machine for {modelPath}");
        Console.Write(resolved.DescribePlan(host));
        Heading("Load and generate");
        await LoadAndGenerateAsync(resolved, host, modelPath, prompt ?? DefaultPrompt, tokens ?? DefaultTokens, logger, cancellationToken);
        return 0;
    }

    private static async Task LoadAndGenerateAsync(
        ResolvedProfile resolved, HostInfo host, string modelPath, string prompt, int tokens, ILogger logger, CancellationToken cancellationToken)
    {
        var bar = new ConsoleProgressBar("loading");
        using var model = await FlashMoeModel.LoadAsync(modelPath, resolved, bar, logger, cancellationToken);
        bar.Done();
        Console.WriteLine($"loaded in {Seconds(model.LoadTime)} (llama.cpp load mode: {model.Buffers.LoadMode ?? "?"})");

        using var context = model.CreateContext();
        var executor = new InteractiveExecutor(context);
        var inference = new InferenceParams
        {
            MaxTokens = tokens,
            SamplingPipeline = new DefaultSamplingPipeline { Temperature = 0.8f, Seed = 42 },
        };

        var completion = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        TimeSpan? firstToken = null;
        var generated = 0;
        Console.WriteLine($"prompt: {prompt}");
        Console.Write("completion: ");
        await foreach (var piece in executor.InferAsync(prompt, inference, cancellationToken))
        {
            firstToken ??= stopwatch.Elapsed;
            generated++;
            completion.Append(piece);
            Console.Write(Printable(piece));
        }
        stopwatch.Stop();
        Console.WriteLine();
        Console.WriteLine("(random weights: the text is noise; the speed and the memory are real)");

        var ttft = firstToken ?? stopwatch.Elapsed;
        var rest = stopwatch.Elapsed - ttft;
        var rate = generated > 1 && rest > TimeSpan.Zero ? (generated - 1) / rest.TotalSeconds : 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{generated} tokens; time to first token {ttft.TotalMilliseconds:0} ms (prompt included); generation {rate:0.0} tokens/s with {resolved.Options.Threads} threads"));

        Heading("Buffers: estimated vs actual (from llama.cpp's log)");
        var comparison = model.CompareWithPlan()!;
        Console.Write(comparison.Describe());
        Console.WriteLine(comparison.AllWithinTolerance
            ? $"every buffer is within the planner's tolerance ({PlanAccuracy.ToleranceText})"
            : $"some buffers are outside the planner's tolerance ({PlanAccuracy.ToleranceText}): see the rows marked NO");
        foreach (var note in model.Unsupported) Console.WriteLine("not applied by LLamaSharp 0.30: " + note);
    }

    // Random weights produce control characters and partial UTF-8; keep the terminal sane.
    private static string Printable(string piece) =>
        new(piece.Select(c => char.IsControl(c) && c != '\n' ? '·' : c).ToArray());

    private static void Heading(string title)
    {
        Console.WriteLine();
        Console.WriteLine("== " + title);
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static string Size(long bytes) => Units.FormatMiB(bytes, "0.0");

    /// <summary>A one-line progress bar on the console, updated synchronously (Progress&lt;T&gt; would post out of order).</summary>
    private sealed class ConsoleProgressBar(string label) : IProgress<float>
    {
        private const int Width = 30;
        private readonly object _gate = new();
        private int _lastPercent = -1;

        public void Report(float value)
        {
            var percent = (int)Math.Clamp(value * 100, 0, 100);
            lock (_gate)
            {
                if (percent == _lastPercent) return;
                _lastPercent = percent;
                var filled = percent * Width / 100;
                var bar = new string('#', filled) + new string('.', Width - filled);
                if (Console.IsOutputRedirected)
                {
                    if (percent == 100) Console.WriteLine($"{label} [{bar}] 100%");
                    return;
                }
                Console.Write($"\r{label} [{bar}] {percent,3}%");
            }
        }

        public void Done()
        {
            lock (_gate)
            {
                if (_lastPercent < 100) Report(1f);
                if (!Console.IsOutputRedirected) Console.WriteLine();
            }
        }
    }
}
