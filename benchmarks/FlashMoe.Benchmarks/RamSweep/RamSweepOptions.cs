using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>The <c>ramsweep</c> verb's options.</summary>
internal sealed record RamSweepOptions
{
    public static string Help { get; } = """
        ramsweep: the RAM-limit sweep through FlashMoe's product path, one child process per (model, ratio, mode, repeat)

        The model (one of):
          --model PATH          an existing GGUF
          --size SIZE           size of the synthetic model to write (default 2GiB; 1.5GiB, 1800MiB, … )
          --quant LIST          the sweep's own llama-style MoE (2048 embd, 8 experts / 2 used): q8_0 (all Q8_0: nothing
                                repacked), q4_0 (Q4_0 experts, Q8_0 elsewhere: the experts are repacked on AVX2/AVX-512)
                                and/or q4_k (Q4_K experts, a K-quant, also repacked on AVX2), comma-separated (default q8_0)
          --preset NAME         instead of --quant: a flashmoe synth preset fitted to --size with random weights
                                ({PRESETS})
          --recipe NAME         with --preset: its tensor type mix, {RECIPES} (default: the preset's own)
          --scenarios N         instead of all the above and --ratios: N scenarios drawn from --seed over presets ×
                                recipes × size 0.5–1.6 GiB × ratio 0.80–1.60 (off the 0.05 grid); each runs its picks,
                                mmap, nommap and for the memory objective ubatch/KV variants of its pick
          --seed S              the seed of --scenarios (default 1): the same seed draws the same scenarios
          --model-dir DIR       where synthetic models are written and reused (default /tmp/flashmoe-bench)
          --ratios LIST         RAM limits as multiples of the file size (default 1.5,1.15,1.05,1.02,1.0,0.95,0.9,0.85)
          --configs LIST        configurations run at every ratio, comma-separated (default mmap,nommap); each
                                objective's pick is always run too, so it is never "not measured"
                                {GRAMMAR}
          --modes LIST          shorthand for --configs with load modes only: mmap,nommap
          --tokens N            tokens to generate after the prompt (default 64)
          --fill F              the prompt fills the context up to F × ctx minus the generated tokens, as a long
                                chat does (default 1.0: the whole context; 0.5 = half)
          --repeats N           runs per cell; medians are reported (default 1)
          --threads N           generation and batch threads of --configs without tN (default 2); the picks take
                                what the resolver chose ("physical")
          --ctx N               context size (default 2048)
          --timeout SECONDS     per run; a run still going is killed and recorded as a time-out (default 120)
          --stop-after-timeout  after a time-out, skip the lower ratios of that model and configuration (recorded as skipped)
          --wait-for-load X     before the first run, wait up to 15 min for the 1-minute load average to drop below X
          --cgroup-parent DIR   where the per-run memory cgroups are made (default: this process's own cgroup v1
                                memory group, so any limit on the caller still applies)
          --plan-only           run nothing: the picks and the plan for each limit, and the runs it would make (no root
                                needed; models not yet written are planned from a sparse copy)
          --out FILE            also write the markdown report to FILE (with the decision truth per objective), the raw
                                runs to FILE.json and per model an SVG chart (tok/s vs ratio per configuration, the
                                throughput pick circled)
        """.Replace("{PRESETS}", string.Join(", ", SyntheticPresets.Names.Where(n => !n.EndsWith("-tiny", StringComparison.Ordinal))), StringComparison.Ordinal)
        .Replace("{RECIPES}", string.Join(", ", SyntheticRecipes.Names), StringComparison.Ordinal)
        .Replace("{GRAMMAR}", SweepConfig.Grammar.TrimEnd(), StringComparison.Ordinal);

    public string? ModelPath { get; init; }
    public long SizeBytes { get; init; } = 2L << 30;
    public IReadOnlyList<GgmlType> ExpertQuants { get; init; } = new[] { GgmlType.Q8_0 };
    public string ModelDirectory { get; init; } = "/tmp/flashmoe-bench";
    public IReadOnlyList<double> Ratios { get; init; } = new[] { 1.5, 1.15, 1.05, 1.02, 1.0, 0.95, 0.9, 0.85 };
    /// <summary>The configurations run at every ratio besides the picks (labels, parsed with <see cref="Threads"/> as the default).</summary>
    public IReadOnlyList<SweepConfig> Configs { get; init; } = Array.Empty<SweepConfig>();
    public bool ConfigsGiven { get; init; }
    public string? Preset { get; init; }
    public SyntheticRecipe? Recipe { get; init; }
    public int? Scenarios { get; init; }
    public int Seed { get; init; } = 1;
    public int Tokens { get; init; } = 64;
    public double Fill { get; init; } = 1.0;
    public int Repeats { get; init; } = 1;
    public int Threads { get; init; } = 2;
    public int ContextSize { get; init; } = 2048;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    public bool StopAfterTimeout { get; init; }
    public double? WaitForLoad { get; init; }
    public string? CgroupParent { get; init; }
    public string? OutputPath { get; init; }
    public bool PlanOnly { get; init; }
    public bool ShowHelp { get; init; }

    public static RamSweepOptions Parse(string[] args)
    {
        var o = new RamSweepOptions();
        bool sizeGiven = false, quantGiven = false, ratiosGiven = false;
        string? configs = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"ramsweep: {arg} needs a value (see ramsweep --help)");
            int Positive()
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                    ? n
                    : throw new UsageException($"ramsweep: {arg} needs a positive integer, got '{text}'");
            }
            double PositiveDouble(string text) =>
                double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) && d > 0 && !double.IsInfinity(d)
                    ? d
                    : throw new UsageException($"ramsweep: {arg} needs positive numbers, got '{text}'");
            switch (arg)
            {
                case "-h" or "--help": o = o with { ShowHelp = true }; break;
                case "--model": o = o with { ModelPath = Value() }; break;
                case "--size":
                    var size = Value();
                    o = o with { SizeBytes = ByteSize.TryParse(size, out var bytes) ? bytes : throw new UsageException($"ramsweep: --size needs a size like 2GiB, got '{size}'") };
                    sizeGiven = true;
                    break;
                case "--quant":
                    o = o with { ExpertQuants = List(Value()).Select(ParseQuant).Distinct().ToArray() };
                    quantGiven = true;
                    break;
                case "--model-dir": o = o with { ModelDirectory = Value() }; break;
                case "--ratios":
                    o = o with { Ratios = List(Value()).Select(PositiveDouble).Distinct().ToArray() };
                    ratiosGiven = true;
                    break;
                case "--modes":
                    // Load modes only: kept as shorthand for --configs.
                    var modes = Value();
                    configs = configs is null ? modes : configs + "," + modes;
                    if (List(modes).Any(m => m.Contains('/', StringComparison.Ordinal))) throw new UsageException($"ramsweep: --modes takes mmap and/or nommap, got '{modes}' (use --configs)");
                    break;
                case "--configs":
                    var given = Value();
                    configs = configs is null ? given : configs + "," + given;
                    break;
                case "--preset":
                    var preset = Value();
                    o = o with { Preset = SyntheticPresets.TryGet(preset, out _) ? preset.ToLowerInvariant() : throw new UsageException($"ramsweep: unknown preset '{preset}' (known: {string.Join(", ", SyntheticPresets.Names)})") };
                    break;
                case "--recipe":
                    var recipe = Value();
                    o = o with { Recipe = SyntheticRecipes.TryParse(recipe, out var parsed) ? parsed : throw new UsageException($"ramsweep: unknown recipe '{recipe}' (known: {string.Join(", ", SyntheticRecipes.Names)})") };
                    break;
                case "--scenarios": o = o with { Scenarios = Positive() }; break;
                case "--seed":
                    var seedText = Value();
                    o = o with { Seed = int.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed : throw new UsageException($"ramsweep: --seed needs a non-negative integer, got '{seedText}'") };
                    break;
                case "--tokens": o = o with { Tokens = Positive() }; break;
                case "--fill":
                    var fill = PositiveDouble(Value());
                    o = o with { Fill = fill <= 1 ? fill : throw new UsageException($"ramsweep: --fill is a fraction of the context in (0, 1], got {fill.ToString(CultureInfo.InvariantCulture)}") };
                    break;
                case "--repeats": o = o with { Repeats = Positive() }; break;
                case "--threads": o = o with { Threads = Positive() }; break;
                case "--ctx": o = o with { ContextSize = Positive() }; break;
                case "--timeout": o = o with { Timeout = TimeSpan.FromSeconds(Positive()) }; break;
                case "--stop-after-timeout": o = o with { StopAfterTimeout = true }; break;
                case "--wait-for-load": o = o with { WaitForLoad = PositiveDouble(Value()) }; break;
                case "--cgroup-parent": o = o with { CgroupParent = Value() }; break;
                case "--out": o = o with { OutputPath = Value() }; break;
                case "--plan-only": o = o with { PlanOnly = true }; break;
                default: throw new UsageException($"ramsweep: unknown argument '{arg}' (see ramsweep --help)");
            }
        }
        if (o.ModelPath is not null && (sizeGiven || quantGiven || o.Preset is not null)) throw new UsageException("ramsweep: give --model PATH or --size with --quant or --preset, not both");
        if (o.Preset is not null && quantGiven) throw new UsageException("ramsweep: --preset and --quant choose the model's types both; give one");
        if (o.Recipe is not null && o.Preset is null) throw new UsageException("ramsweep: --recipe needs --preset");
        if (o.Scenarios is not null && (o.ModelPath is not null || sizeGiven || quantGiven || o.Preset is not null || ratiosGiven))
        {
            throw new UsageException("ramsweep: --scenarios draws the models, sizes and ratios itself; drop --model, --size, --quant, --preset and --ratios");
        }
        o = o with
        {
            Configs = SweepConfig.ParseList(configs ?? "mmap,nommap", o.Threads),
            ConfigsGiven = configs is not null,
        };
        if (o.Ratios.Count == 0 || o.Configs.Count == 0 || o.ExpertQuants.Count == 0) throw new UsageException("ramsweep: empty --ratios, --configs or --quant");
        return o;
    }

    private static GgmlType ParseQuant(string text) => text.Trim().ToLowerInvariant() switch
    {
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        "q4_k" => GgmlType.Q4_K,
        _ => throw new UsageException($"ramsweep: --quant takes q8_0, q4_0 and/or q4_k, got '{text}'"),
    };

    private static IEnumerable<string> List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
