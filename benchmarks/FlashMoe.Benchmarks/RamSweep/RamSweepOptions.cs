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
    public const string Help = """
        ramsweep: the RAM-limit sweep through FlashMoe's product path, one child process per (model, ratio, mode, repeat)

          --model PATH          an existing GGUF (instead of --size/--quant)
          --size SIZE           size of the synthetic MoE to write (default 2GiB; 1.5GiB, 1800MiB, … )
          --quant LIST          q8_0 (all Q8_0: nothing repacked), q4_0 (Q4_0 experts, Q8_0 elsewhere: the experts are
                                repacked on AVX2/AVX-512) and/or q4_k (Q4_K experts, a K-quant, also repacked on AVX2),
                                comma-separated (default q8_0)
          --model-dir DIR       where synthetic models are written and reused (default /tmp/flashmoe-bench)
          --ratios LIST         RAM limits as multiples of the file size (default 1.5,1.15,1.05,1.02,1.0,0.95,0.9,0.85)
          --modes LIST          mmap,nommap (default both)
          --tokens N            tokens to generate after the prompt (default 64)
          --fill F              the prompt fills the context up to F × ctx minus the generated tokens, as a long
                                chat does (default 1.0: the whole context; 0.5 = half)
          --repeats N           runs per cell; medians are reported (default 1)
          --threads N           generation and batch threads (default 2)
          --ctx N               context size (default 2048)
          --timeout SECONDS     per run; a run still going is killed and recorded as a time-out (default 120)
          --stop-after-timeout  after a time-out, skip the lower ratios of that model and mode (recorded as skipped)
          --wait-for-load X     before the first run, wait up to 15 min for the 1-minute load average to drop below X
          --cgroup-parent DIR   where the per-run memory cgroups are made (default: this process's own cgroup v1
                                memory group, so any limit on the caller still applies)
          --plan-only           run nothing: only what FlashMoe's plan predicts for each limit (no root needed)
          --out FILE            also write the markdown report to FILE (with the decision truth per objective), the raw
                                runs to FILE.json and per model an SVG chart (tok/s vs ratio per mode, auto's pick circled)
        """;

    public string? ModelPath { get; init; }
    public long SizeBytes { get; init; } = 2L << 30;
    public IReadOnlyList<GgmlType> ExpertQuants { get; init; } = new[] { GgmlType.Q8_0 };
    public string ModelDirectory { get; init; } = "/tmp/flashmoe-bench";
    public IReadOnlyList<double> Ratios { get; init; } = new[] { 1.5, 1.15, 1.05, 1.02, 1.0, 0.95, 0.9, 0.85 };
    public IReadOnlyList<SweepMode> Modes { get; init; } = new[] { SweepMode.Mmap, SweepMode.NoMmap };
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
        bool sizeGiven = false, quantGiven = false;
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
                case "--ratios": o = o with { Ratios = List(Value()).Select(PositiveDouble).ToArray() }; break;
                case "--modes": o = o with { Modes = List(Value()).Select(ParseMode).Distinct().ToArray() }; break;
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
        if (o.ModelPath is not null && (sizeGiven || quantGiven)) throw new UsageException("ramsweep: give --model PATH or --size/--quant, not both");
        if (o.Ratios.Count == 0 || o.Modes.Count == 0 || o.ExpertQuants.Count == 0) throw new UsageException("ramsweep: empty --ratios, --modes or --quant");
        return o;
    }

    public static SweepMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "mmap" => SweepMode.Mmap,
        "nommap" or "no-mmap" => SweepMode.NoMmap,
        _ => throw new UsageException($"ramsweep: a mode is mmap or nommap, got '{text}'"),
    };

    private static GgmlType ParseQuant(string text) => text.Trim().ToLowerInvariant() switch
    {
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        "q4_k" => GgmlType.Q4_K,
        _ => throw new UsageException($"ramsweep: --quant takes q8_0, q4_0 and/or q4_k, got '{text}'"),
    };

    private static IEnumerable<string> List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
