using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>One (model, ratio, objective) cell of the decision truth: the configuration the resolver picked against the best measured one.</summary>
/// <param name="Model">The model's label.</param>
/// <param name="Ratio">RAM limit ÷ file size.</param>
/// <param name="Objective">The profile's objective.</param>
/// <param name="Pick">The label of the configuration the resolver picked.</param>
/// <param name="Best">The label of the best configuration that finished (null when none did).</param>
/// <param name="PickValue">The pick's measure (tok/s, TTFT s, or peak MiB), null when it did not finish.</param>
/// <param name="BestValue">The best measure.</param>
/// <param name="Score">pick ÷ best for speeds, best ÷ pick for time and memory (1 = the pick is the best); 0 when the pick failed where another ran.</param>
/// <param name="Verdict">ok (≥ 0.97, the pick alone finishing included), below, OOM / failed where another ran, nothing ran, not measured, only the pick was run.</param>
/// <param name="PickOom">The pick was killed by the OOM killer where another configuration ran.</param>
internal sealed record TruthCell(string Model, double Ratio, Objective Objective, string Pick, string? Best, double? PickValue, double? BestValue, double? Score, string Verdict, bool PickOom = false);

/// <summary>
/// The decision truth of a sweep: for every ratio and objective, the configuration the resolver picked (load mode,
/// threads, ubatch, flash attention, KV cache types) against the best measured configuration among those that
/// finished (throughput: generation tok/s; latency: time to first token; memory: the smallest peak RSS), and an SVG
/// chart of generation tok/s against the RAM ratio per configuration with the pick marked.
/// </summary>
internal static class DecisionTruth
{
    /// <summary>The pick must reach this share of the best.</summary>
    public const double Required = 0.97;

    /// <summary>Lines the chart draws at most (more would not be readable).</summary>
    public const int MaxChartLines = 6;

    public static IReadOnlyList<TruthCell> Cells(SweepSection section)
    {
        var cells = new List<TruthCell>();
        foreach (var group in section.Cells.GroupBy(c => c.Ratio).OrderByDescending(g => g.Key))
        {
            var prediction = group.First().Prediction;
            foreach (var objective in SweepPrediction.Objectives)
            {
                var pick = prediction.Picks[objective].Config;
                var measured = group.Where(c => c.Runs.Any(r => r.Kind != RunKind.Skipped))
                    .Select(c => new Measured(c.Label, c.Config == pick, Measure(c.Runs, objective), c.Runs.Any(r => r.Kind == RunKind.Oom)))
                    .ToList();
                cells.Add(Judge(section.Label, group.Key, objective, group.First(c => c.Config == pick).Label, measured));
            }
        }
        return cells;
    }

    /// <summary>One configuration's measure under an objective (null when it did not finish).</summary>
    /// <param name="Label">The configuration.</param>
    /// <param name="IsPick">It is the objective's pick.</param>
    /// <param name="Value">The median measure of its finished runs.</param>
    /// <param name="Oom">One of its runs was killed by the OOM killer.</param>
    internal sealed record Measured(string Label, bool IsPick, double? Value, bool Oom);

    /// <summary>The verdict for one objective at one limit, from the measures of every configuration run there.</summary>
    internal static TruthCell Judge(string model, double ratio, Objective objective, string pickLabel, IReadOnlyList<Measured> measured)
    {
        var pick = measured.FirstOrDefault(m => m.IsPick);
        if (pick is null) return new TruthCell(model, ratio, objective, pickLabel, null, null, null, null, "not measured");
        if (measured.Count < 2) return new TruthCell(model, ratio, objective, pickLabel, null, pick.Value, null, null, "only the pick was run");
        var finished = measured.Where(m => m.Value is not null).ToList();
        if (finished.Count == 0) return new TruthCell(model, ratio, objective, pickLabel, null, null, null, null, "nothing ran");
        var higherIsBetter = objective == Objective.Throughput;
        // Ties go to the pick: it is as good as the best.
        var best = higherIsBetter
            ? finished.OrderByDescending(m => m.Value).ThenByDescending(m => m.IsPick).First()
            : finished.OrderBy(m => m.Value).ThenByDescending(m => m.IsPick).First();
        if (pick.Value is not { } pickValue)
        {
            var verdict = (pick.Oom ? "OOM where " : "pick failed where ") + best.Label + " ran";
            return new TruthCell(model, ratio, objective, pickLabel, best.Label, null, best.Value, 0, verdict, pick.Oom);
        }
        var score = higherIsBetter ? pickValue / best.Value!.Value : best.Value!.Value / pickValue;
        return new TruthCell(model, ratio, objective, pickLabel, best.Label, pickValue, best.Value, score, score >= Required ? "ok" : "below " + Required.ToString("0.00", CultureInfo.InvariantCulture));
    }

    /// <summary>The one-line summary: judged cells that reach the requirement, and picks killed where another configuration ran.</summary>
    public static string Summary(IReadOnlyList<TruthCell> cells)
    {
        var judged = cells.Where(c => c.Score is not null).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"{judged.Count(c => c.Score >= Required)} of {judged.Count} judged cells ≥ {Required:0.00}; {cells.Count(c => c.PickOom)} pick(s) OOM where another ran; {cells.Count(c => c.Score == 0 && !c.PickOom)} other pick failure(s) where another ran.");
    }

    /// <summary>The markdown table of <paramref name="cells"/> (with a model column when they span models) and its summary.</summary>
    public static void Render(StringBuilder sb, IReadOnlyList<TruthCell> cells, bool withModel)
    {
        if (cells.Count == 0) return;
        sb.AppendLine();
        sb.AppendLine("Decision truth (each objective's pick — load mode, threads, ubatch, flash attention, KV cache — against the best configuration that finished; throughput = gen tok/s, latency = TTFT s, memory = VmHWM MiB; score = pick ÷ best for tok/s, best ÷ pick otherwise):");
        sb.AppendLine();
        sb.AppendLine((withModel ? "| model " : "") + "| × file | objective | pick | best | pick value | best value | score | verdict |");
        sb.AppendLine((withModel ? "|---" : "") + "|---|---|---|---|---|---|---|---|");
        foreach (var c in cells)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{(withModel ? "| " + c.Model + " " : "")}| {c.Ratio:0.00#} | {c.Objective.ToString().ToLowerInvariant()} | {c.Pick} | {c.Best ?? "–"} | {Value(c.PickValue, c.Objective)} | {Value(c.BestValue, c.Objective)} | {(c.Score is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {c.Verdict} |"));
        }
        sb.AppendLine();
        sb.AppendLine(Summary(cells));
    }

    /// <summary>
    /// An SVG chart: generation tok/s against the RAM ratio, one line per configuration (at most
    /// <see cref="MaxChartLines"/>: the throughput picks first, then the configurations asked for), the throughput pick
    /// circled, failures as crosses on the axis. Empty with fewer than two ratios.
    /// </summary>
    public static string Chart(SweepSection section)
    {
        const int width = 720, height = 360, left = 56, right = 210, top = 36, bottom = 44;
        var cells = section.Cells.Where(c => c.Runs.Any(r => r.Kind != RunKind.Skipped)).ToList();
        var ratios = cells.Select(c => c.Ratio).Distinct().OrderBy(r => r).ToList();
        if (ratios.Count < 2) return string.Empty;
        bool IsThroughputPick(SweepCell c) => c.Prediction.Picks[Objective.Throughput].Config == c.Config;
        var labels = cells.GroupBy(c => c.Label)
            .OrderByDescending(g => g.Any(IsThroughputPick))
            .ThenBy(g => g.Min(c => c.Order))
            .Select(g => g.Key)
            .Take(MaxChartLines)
            .ToList();
        double? Rate(SweepCell c) => Median(c.Runs.Where(r => r.Result is not null).Select(r => r.Result!.TokensPerSecond));
        var maxRate = Math.Max(1, cells.Select(Rate).Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(1).Max());
        var minRatio = ratios.First();
        var maxRatio = ratios.Last();
        double X(double ratio) => left + (ratio - minRatio) / (maxRatio - minRatio) * (width - left - right);
        double Y(double rate) => height - bottom - rate / maxRate * (height - top - bottom);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <title>{Escape(section.Label)}: generation tok/s against RAM limit ÷ file size</title>\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{left}\" y=\"20\" font-size=\"13\">{Escape(section.Label)}: generation tok/s vs RAM ratio (circle = throughput pick, × = killed or timed out)</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"#57606a\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#57606a\"/>\n");
        foreach (var ratio in ratios)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{F(X(ratio))}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{ratio:0.00}</text>\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{(left + width - right) / 2}\" y=\"{height - 8}\" text-anchor=\"middle\">RAM limit ÷ file size</text>\n");
        for (var i = 0; i <= 4; i++)
        {
            var rate = maxRate * i / 4;
            sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{left - 6}\" y=\"{F(Y(rate) + 4)}\" text-anchor=\"end\">{rate:0}</text>\n");
        }
        var palette = new[] { "#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2" };
        for (var index = 0; index < labels.Count; index++)
        {
            var label = labels[index];
            var colour = palette[index % palette.Length];
            var points = cells.Where(c => c.Label == label).OrderBy(c => c.Ratio).ToList();
            var line = string.Join(" ", points.Where(c => Rate(c) is not null).Select(c => F(X(c.Ratio)) + "," + F(Y(Rate(c)!.Value))));
            if (line.Length > 0) sb.Append(CultureInfo.InvariantCulture, $"  <polyline points=\"{line}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n");
            foreach (var c in points)
            {
                var picked = IsThroughputPick(c);
                if (Rate(c) is { } r)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"  <circle cx=\"{F(X(c.Ratio))}\" cy=\"{F(Y(r))}\" r=\"{(picked ? 6 : 2.5)}\" fill=\"{(picked ? "none" : colour)}\" stroke=\"{colour}\" stroke-width=\"2\"><title>{Escape(label)} {c.Ratio:0.00}×: {r:0.0} tok/s{(picked ? " (throughput pick)" : "")}</title></circle>\n");
                }
                else
                {
                    var x = X(c.Ratio);
                    var y = height - bottom;
                    sb.Append(CultureInfo.InvariantCulture, $"  <path d=\"M{F(x - 4)},{F(y - 4)} L{F(x + 4)},{F(y + 4)} M{F(x - 4)},{F(y + 4)} L{F(x + 4)},{F(y - 4)}\" stroke=\"{colour}\" stroke-width=\"2\"><title>{Escape(label)} {c.Ratio:0.00}×: {Escape(string.Join(", ", c.Runs.Select(r => r.Kind.ToString())))}{(picked ? " (throughput pick)" : "")}</title></path>\n");
                }
            }
            sb.Append(CultureInfo.InvariantCulture, $"  <rect x=\"{width - right + 14}\" y=\"{top + index * 18}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{width - right + 30}\" y=\"{top + index * 18 + 6}\">{Escape(label)}</text>\n");
        }
        var hidden = cells.Select(c => c.Label).Distinct().Count() - labels.Count;
        if (hidden > 0) sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{width - right + 14}\" y=\"{top + labels.Count * 18 + 6}\">+ {hidden} more in the table</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static double? Measure(IReadOnlyList<RunOutcome> runs, Objective objective)
    {
        var ok = runs.Where(r => r.Kind == RunKind.Ok && r.Result is not null).Select(r => r.Result!).ToList();
        if (ok.Count == 0) return null;
        return objective switch
        {
            Objective.Latency => Median(ok.Select(r => r.PromptSeconds)),
            Objective.Memory => Median(ok.Select(r => r.PeakRssBytes / (double)(1 << 20))),
            _ => Median(ok.Select(r => r.TokensPerSecond)),
        };
    }

    private static double? Median(IEnumerable<double> values)
    {
        var list = values.OrderBy(v => v).ToList();
        if (list.Count == 0) return null;
        return list.Count % 2 == 1 ? list[list.Count / 2] : (list[list.Count / 2 - 1] + list[list.Count / 2]) / 2;
    }

    private static string Value(double? value, Objective objective) => value is not { } v ? "–" : objective switch
    {
        Objective.Latency => v.ToString("0.00", CultureInfo.InvariantCulture) + " s",
        Objective.Memory => v.ToString("0", CultureInfo.InvariantCulture) + " MiB",
        _ => v.ToString("0.0", CultureInfo.InvariantCulture) + " tok/s",
    };

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
