using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Runtime;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>One (configuration, ratio) cell: the runs and the plan's prediction for that limit.</summary>
/// <param name="Config">What the runs loaded.</param>
/// <param name="Label">Its label (see <see cref="SweepConfig"/>).</param>
/// <param name="Order">Its place among the ratio's configurations (those asked for first, then the picks).</param>
/// <param name="Ratio">RAM limit ÷ file size.</param>
/// <param name="LimitBytes">The memory group's limit.</param>
/// <param name="Prediction">What the plan says for that limit, the picks included.</param>
/// <param name="Runs">The runs (none with --plan-only).</param>
internal sealed record SweepCell(SweepConfig Config, string Label, int Order, double Ratio, long LimitBytes, SweepPrediction Prediction, IReadOnlyList<RunOutcome> Runs);

/// <summary>The runs of one model (for <c>--scenarios</c>, of one scenario).</summary>
internal sealed class SweepSection(string label, string path, ModelSummary model, SweepScenario? scenario = null)
{
    public string Label { get; } = label;
    public string Path { get; } = path;
    public ModelSummary Model { get; } = model;
    public SweepScenario? Scenario { get; } = scenario;
    public List<SweepCell> Cells { get; } = new();

    public void Add(SweepCell cell) => Cells.Add(cell);
}

/// <summary>The markdown report: machine facts, one table per model, and how the plan's advice matched.</summary>
internal sealed class SweepReport(RamSweepOptions options, HostInfo host, string[] commandLine, string loadBefore, string cgroupParent)
{
    private readonly List<SweepSection> _sections = new();
    private readonly DateTime _started = DateTime.UtcNow;
    private string _loadAfter = "?";
    private TimeSpan _elapsed;

    /// <summary>The models swept so far.</summary>
    public IReadOnlyList<SweepSection> Sections => _sections;

    public SweepSection AddModel(string label, string path, ModelSummary model, SweepScenario? scenario = null)
    {
        var section = new SweepSection(label, path, model, scenario);
        _sections.Add(section);
        return section;
    }

    public void Finish(string loadAfter, TimeSpan elapsed)
    {
        _loadAfter = loadAfter;
        _elapsed = elapsed;
    }

    /// <summary>One line for the progress log.</summary>
    public static string Describe(RunOutcome o) =>
        Invariant($"{ResultText(o)}; load {Seconds(LoadSeconds(o))}, prompt {Rate(o.Result?.PromptTokensPerSecond)} tok/s, TTFT {Seconds(PromptSeconds(o))}, {TokensText(new[] { o })} tok/s, ") +
        Invariant($"VmHWM {MiB(o.Result?.PeakRssBytes)}, group peak {MiB(o.CgroupPeakBytes)} MiB, {o.WallSeconds:0.0} s wall");

    public string Render()
    {
        var sb = new StringBuilder();
        var all = _sections.SelectMany(s => s.Cells).SelectMany(c => c.Runs).Where(r => r.Kind != RunKind.Skipped).ToList();
        sb.AppendLine(Invariant($"RAM-limit sweep, {_started:yyyy-MM-dd HH:mm} UTC ({_elapsed.TotalMinutes:0.0} min)"));
        sb.AppendLine();
        sb.AppendLine("Command: `dotnet run -c Release --project benchmarks/FlashMoe.Benchmarks -- " + string.Join(' ', commandLine.Skip(1).Select(Quote)) + "`");
        sb.AppendLine();
        sb.AppendLine(Invariant(
            $"Machine: {Environment.ProcessorCount} CPUs ({MachineFacts.CpuModel()}), RAM {Gib(host.TotalRamBytes ?? 0):0.0} GiB, kernel {MachineFacts.Kernel()}, THP `{MachineFacts.TransparentHugePages()}`, AVX2 {YesNo(host.Avx2)} / AVX-512 {YesNo(host.Avx512)}; load average {loadBefore} before, {_loadAfter} after."));
        sb.AppendLine();
        var probes = string.Join("/", all.Select(r => r.ResidentProbe).Where(p => p.Length > 0).Distinct());
        var methods = string.Join("; ", all.Select(r => r.EvictMethod).Where(p => p.Length > 0).Distinct());
        var maxResident = all.Select(r => r.ResidentBeforeBytes ?? -1).DefaultIfEmpty(-1).Max();
        sb.AppendLine(Invariant(
            $"Runs: {options.Threads} threads unless the configuration says tN, context {options.ContextSize} filled to {options.Fill:0.##} × (prompt + {options.Tokens} generated tokens), {options.Repeats} repeat(s) (medians), time-out {options.Timeout.TotalSeconds:0} s; each run a fresh process in its own cgroup v1 memory group under `{cgroupParent}` with `memory.limit_in_bytes` = ratio × file size; the model evicted from the page cache first ({methods}; still cached before a run, by {probes}: at most {(maxResident < 0 ? "unknown" : ByteSize.Format(maxResident))})."));
        sb.AppendLine();
        if (options.PlanOnly)
        {
            var cells = _sections.Sum(s => s.Cells.Count);
            sb.AppendLine(Invariant($"--plan-only: nothing was run; the tables list the {cells} configuration × limit cells a real sweep runs ({cells * options.Repeats} child runs with --repeats {options.Repeats}); the columns after \"group peak\" are the plan's prediction for each limit."));
            sb.AppendLine();
        }
        if (_sections.Any(s => s.Scenario is not null))
        {
            sb.AppendLine(Invariant($"Scenarios drawn with --seed {options.Seed}:"));
            sb.AppendLine();
            foreach (var scenario in _sections.Select(s => s.Scenario).OfType<SweepScenario>()) sb.AppendLine("- " + scenario);
            sb.AppendLine();
        }
        sb.AppendLine("Columns: result (OOM = killed by the group's OOM killer, with the phase it was in; time-out = still running at the time-out, killed); load = weights load (LoadAsync); prompt = prompt processing tokens/s (the prompt fills the context up to the fill fraction minus the generated tokens, decoded in n_batch chunks); TTFT = time to the first token (prompt processing included); gen = tokens/s after the first (median, with the range over repeats; ≈ partial rate before a time-out); VmHWM = the child's peak RSS; plan − VmHWM = the plan's host footprint minus that peak (no-mmap: what the calibration of the runtime overhead is checked against); group peak = `memory.max_usage_in_bytes` (anonymous memory + page cache charged to the group); plan × = the plan's usable RAM ÷ host footprint for that limit; plan advice = the FM1xxx IDs FlashMoe raises for that configuration at that limit (FM1001 no-mmap will not fit, FM1002 mmap where no-mmap is better, FM1003 mmap short of RAM, FM1008 mmap + repack thrash); picked by = the objectives whose resolved choices are this configuration (thr, lat, mem). Configuration labels: the load mode, then what differs from ub512, fa-on, kv-f16 and the --threads count.");
        foreach (var section in _sections)
        {
            sb.AppendLine();
            RenderSection(sb, section, withTruth: section.Scenario is null);
        }
        if (_sections.Any(s => s.Scenario is not null))
        {
            sb.AppendLine();
            sb.AppendLine("**All scenarios**");
            DecisionTruth.Render(sb, _sections.SelectMany(DecisionTruth.Cells).ToList(), withModel: true);
        }
        return sb.ToString();
    }

    /// <summary>Every run with its cell and prediction, for re-analysis.</summary>
    public string RenderJson() => System.Text.Json.JsonSerializer.Serialize(
        _sections.Select(s => new
        {
            s.Label,
            s.Path,
            FileBytes = s.Model.FileSizeBytes,
            Scenario = s.Scenario?.ToString(),
            Cells = s.Cells.Select(c => new
            {
                Config = c.Label,
                c.Ratio,
                c.LimitBytes,
                Prediction = new
                {
                    c.Prediction.FootprintRatio,
                    c.Prediction.FootprintBytes,
                    c.Prediction.RepackedBytes,
                    Advice = c.Prediction.AdviceFor(c.Config),
                    PickedBy = c.Prediction.PickedBy(c.Config).Select(o => o.ToString()).ToList(),
                    Picks = c.Prediction.Picks.ToDictionary(p => p.Key.ToString(), p => new { Config = p.Value.Config.Label(options.Threads), p.Value.Rules }),
                },
                Runs = c.Runs.Select(r => new
                {
                    Kind = r.Kind.ToString(),
                    r.Phase,
                    r.PhaseMs,
                    r.Result,
                    r.LimitBytes,
                    r.CgroupPeakBytes,
                    r.FailCount,
                    r.OomKills,
                    r.ResidentBeforeBytes,
                    r.WallSeconds,
                    r.ExitCode,
                    r.TokensSeen,
                    r.PartialTokensPerSecond,
                    r.Detail,
                }),
            }),
        }),
        new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    private void RenderSection(StringBuilder sb, SweepSection section, bool withTruth)
    {
        var m = section.Model;
        var first = section.Cells.FirstOrDefault()?.Prediction;
        var types = string.Join(", ", m.BytesByType.OrderByDescending(p => p.Value).Select(p => Invariant($"{p.Key} {Gib(p.Value):0.00} GiB")));
        sb.AppendLine(Invariant(
            $"**{section.Label}**: `{section.Path}`, {Gib(m.FileSizeBytes):0.00} GiB ({m.FileSizeBytes:N0} B), {m.BlockCount} layers, {m.ExpertUsedCount}/{m.ExpertCount} experts, {types}; plan: host footprint {Gib(first?.FootprintBytes ?? 0):0.00} GiB ({(first?.FootprintBytes ?? 0) / (double)Math.Max(1, m.FileSizeBytes):0.000} × file), repacked {Gib(first?.RepackedBytes ?? 0):0.00} GiB."));
        sb.AppendLine();
        sb.AppendLine("Picks (the shipped profile resolved for each limit; the rule behind each resolved choice):");
        sb.AppendLine();
        sb.AppendLine("| × file | objective | pick | rules |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var group in section.Cells.GroupBy(c => c.Ratio).OrderByDescending(g => g.Key))
        {
            foreach (var (objective, pick) in group.First().Prediction.Picks)
            {
                sb.AppendLine(Invariant($"| {group.Key:0.00#} | {objective.ToString().ToLowerInvariant()} | {pick.Config.Label(options.Threads)} | {pick.Rules} |"));
            }
        }
        sb.AppendLine();
        sb.AppendLine("| configuration | × file | limit MiB | result | load s | prompt tok/s | TTFT s | gen tok/s | VmHWM MiB | plan − VmHWM MiB | group peak MiB | plan × | plan advice | picked by |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in section.Cells)
        {
            var runs = c.Runs;
            var p = c.Prediction;
            var advice = p.AdviceFor(c.Config).Where(id => id.StartsWith("FM1", StringComparison.Ordinal)).ToList();
            var pickedBy = string.Join(" ", p.PickedBy(c.Config).Select(o => o.ToString().ToLowerInvariant().Substring(0, 3)));
            sb.AppendLine(Invariant(
                $"| {c.Label} | {c.Ratio:0.00#} | {c.LimitBytes / (double)(1 << 20):0} | {ResultsText(runs)} | {Seconds(Median(runs.Select(LoadSeconds)))} | {Rate(Median(runs.Select(r => r.Result?.PromptTokensPerSecond)))} | {Seconds(Median(runs.Select(PromptSeconds)))} | {TokensText(runs)} | {MiB(Median(runs.Select(r => (double?)r.Result?.PeakRssBytes)))} | {SignedMiB(Median(runs.Select(r => r.Result is { PeakRssBytes: > 0 } x ? (double?)(x.PlannedFootprintBytes - x.PeakRssBytes) : null)))} | {MiB(Median(runs.Select(r => (double?)r.CgroupPeakBytes)))} | {p.FootprintRatio:0.00} | {(advice.Count == 0 ? "–" : string.Join(" ", advice))} | {(pickedBy.Length == 0 ? "–" : pickedBy)} |"));
        }
        var mismatches = section.Cells.SelectMany(c => c.Runs.Where(r => r.Result is not null && !SameAdvice(r.Result.Advice, c.Prediction.AdviceFor(c.Config)))
            .Select(r => Invariant($"{c.Label} {c.Ratio:0.00#}×: child saw limit {MiB(r.Result!.DetectedLimitBytes)} MiB and raised {string.Join(" ", r.Result.Advice)}"))).ToList();
        var buffers = section.Cells.SelectMany(c => c.Runs).Select(r => r.Result).FirstOrDefault(r => r is { UsedMmap: false, Buffers.Count: > 0 });
        if (buffers is not null)
        {
            sb.AppendLine();
            sb.AppendLine(Invariant($"Host buffers, plan vs llama.cpp's log (a no-mmap run): ") + string.Join(", ", buffers.Buffers.Select(b =>
                Invariant($"{b.Kind} {MiB(b.PlannedBytes)} vs {MiB(b.ActualBytes)} MiB"))) +
                Invariant($"; the plan adds {MiB(buffers.PlannedOverheadBytes)} MiB runtime overhead: footprint {MiB(buffers.PlannedFootprintBytes)} MiB ({buffers.PlannedFootprintBytes / (double)Math.Max(1, m.FileSizeBytes):0.000} × file)."));
        }
        var finished = section.Cells.SelectMany(c => c.Runs).Count(r => r.Result is not null);
        sb.AppendLine();
        sb.AppendLine(mismatches.Count == 0
            ? Invariant($"In every finished run ({finished}) the child's own HostInfo.Detect saw its group's limit and the resolved profile raised exactly the predicted advice.")
            : "Where the child's in-group resolution differed from the prediction: " + string.Join("; ", mismatches) + ".");
        var hostAdvice = section.Cells.SelectMany(c => c.Prediction.AdviceFor(c.Config)).Where(id => !id.StartsWith("FM1", StringComparison.Ordinal)).Distinct().OrderBy(id => id, StringComparer.Ordinal).ToList();
        if (hostAdvice.Count > 0) sb.AppendLine("Host advice also raised (not in the table): " + string.Join(" ", hostAdvice) + (hostAdvice.Contains("FM2002") ? " (FM2002: a container limit decides the plan)." : "."));
        if (withTruth) DecisionTruth.Render(sb, DecisionTruth.Cells(section), withModel: false);
        var leftovers = section.Cells.SelectMany(c => c.Runs).Count(r => r.Kind != RunKind.Skipped && !r.GroupRemoved);
        if (leftovers > 0) sb.AppendLine(Invariant($"{leftovers} memory group(s) could not be removed."));
    }

    private static bool SameAdvice(IReadOnlyList<string> a, IReadOnlyList<string> b) => a.OrderBy(x => x, StringComparer.Ordinal).SequenceEqual(b.OrderBy(x => x, StringComparer.Ordinal));

    private static string ResultsText(IReadOnlyList<RunOutcome> runs)
    {
        var texts = runs.Select(ResultText).ToList();
        if (texts.Count == 0) return "not run";
        if (texts.Distinct().Count() == 1) return texts[0];
        return string.Join(", ", texts.GroupBy(t => t).Select(g => Invariant($"{g.Key} {g.Count()}/{runs.Count}")));
    }

    private static string ResultText(RunOutcome o) => o.Kind switch
    {
        RunKind.Ok => "ok",
        RunKind.Oom => "OOM in " + o.Phase + (o.Detail is null ? "" : $" ({o.Detail})"),
        RunKind.Timeout => "time-out in " + o.Phase,
        RunKind.Skipped => "skipped (time-out above)",
        _ => "error in " + o.Phase + ": " + o.Detail,
    };

    private static double? LoadSeconds(RunOutcome o) =>
        o.Result?.LoadSeconds ?? Between(o, "load", "context");

    private static double? PromptSeconds(RunOutcome o) =>
        o.Result?.PromptSeconds ?? Between(o, "prompt", "generate");

    private static double? Between(RunOutcome o, string from, string to) =>
        o.PhaseMs.TryGetValue(from, out var a) && o.PhaseMs.TryGetValue(to, out var b) ? (b - a) / 1000.0 : null;

    private static string TokensText(IReadOnlyList<RunOutcome> runs)
    {
        var ok = runs.Where(r => r.Result is not null).Select(r => (double?)r.Result!.TokensPerSecond).ToList();
        if (ok.Count > 1) return Rate(Median(ok)) + " (" + Rate(ok.Min()) + "–" + Rate(ok.Max()) + ")";
        if (ok.Count == 1) return Rate(ok[0]);
        var partial = runs.Where(r => r.PartialTokensPerSecond is not null).ToList();
        if (partial.Count > 0) return Invariant($"≈ {Rate(Median(partial.Select(r => r.PartialTokensPerSecond)))} ({partial.Max(r => r.TokensSeen)} tok)");
        return "–";
    }

    private static double? Median(IEnumerable<double?> values)
    {
        var list = values.Where(v => v is not null).Select(v => v!.Value).OrderBy(v => v).ToList();
        if (list.Count == 0) return null;
        return list.Count % 2 == 1 ? list[list.Count / 2] : (list[list.Count / 2 - 1] + list[list.Count / 2]) / 2;
    }

    private static string Rate(double? value) => value switch
    {
        null => "–",
        < 10 => value.Value.ToString("0.00", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0.0", CultureInfo.InvariantCulture),
    };

    private static string Seconds(double? value) => value is null ? "–" : value.Value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string MiB(double? bytes) => bytes is null ? "–" : (bytes.Value / (1 << 20)).ToString("0", CultureInfo.InvariantCulture);

    private static string MiB(long? bytes) => MiB((double?)bytes);

    private static string SignedMiB(double? bytes) => bytes is null ? "–" : (bytes.Value / (1 << 20)).ToString("+0;−0;0", CultureInfo.InvariantCulture);

    private static double Gib(long bytes) => bytes / (double)Units.GiB;

    private static string YesNo(bool? value) => value switch { true => "yes", false => "no", null => "?" };

    private static string Quote(string arg) => arg.Length > 0 && arg.All(ch => char.IsLetterOrDigit(ch) || "-_.,/=:".Contains(ch)) ? arg : "'" + arg + "'";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
