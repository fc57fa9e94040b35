using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>One (ratio, objective) cell of the decision truth: what <c>mmap: "auto"</c> picked against the best measured mode.</summary>
/// <param name="Ratio">RAM limit ÷ file size.</param>
/// <param name="Objective">The profile's objective.</param>
/// <param name="Pick">The mode auto resolved to.</param>
/// <param name="Best">The best mode that finished (null when none did).</param>
/// <param name="PickValue">The pick's measure (tok/s, TTFT s, or peak MiB), null when it did not finish.</param>
/// <param name="BestValue">The best measure.</param>
/// <param name="Score">pick ÷ best for speeds, best ÷ pick for time and memory (1 = the pick is the best); 0 when the pick failed where another ran.</param>
/// <param name="Verdict">ok (≥ 0.97), below, OOM where another ran, nothing ran, not measured.</param>
internal sealed record TruthCell(double Ratio, Objective Objective, SweepMode Pick, SweepMode? Best, double? PickValue, double? BestValue, double? Score, string Verdict);

/// <summary>
/// The decision truth of a sweep: for every ratio and objective, the mode <c>mmap: "auto"</c> resolved to against the
/// best measured mode among those that finished (throughput: generation tok/s; latency: time to first token; memory:
/// the smallest peak RSS), and an SVG chart of generation tok/s against the RAM ratio per mode with the pick marked.
/// </summary>
internal static class DecisionTruth
{
    /// <summary>The pick must reach this share of the best.</summary>
    public const double Required = 0.97;

    public static IReadOnlyList<TruthCell> Cells(SweepSection section)
    {
        var cells = new List<TruthCell>();
        foreach (var group in section.Cells.GroupBy(c => c.Ratio).OrderByDescending(g => g.Key))
        {
            var byMode = group.ToDictionary(c => c.Mode);
            var prediction = group.First().Prediction;
            foreach (var objective in new[] { Objective.Throughput, Objective.Latency, Objective.Memory })
            {
                var pick = prediction.AutoByObjective[objective].UseMmap ? SweepMode.Mmap : SweepMode.NoMmap;
                var measured = byMode.Where(p => p.Value.Runs.Any(r => r.Kind != RunKind.Skipped))
                    .ToDictionary(p => p.Key, p => Measure(p.Value.Runs, objective));
                if (!measured.ContainsKey(pick) || measured.Count < 2)
                {
                    cells.Add(new TruthCell(group.Key, objective, pick, null, null, null, null, "not measured (both modes needed)"));
                    continue;
                }
                var finished = measured.Where(p => p.Value is not null).ToList();
                if (finished.Count == 0)
                {
                    cells.Add(new TruthCell(group.Key, objective, pick, null, null, null, null, "nothing ran"));
                    continue;
                }
                var higherIsBetter = objective == Objective.Throughput;
                var best = higherIsBetter ? finished.OrderByDescending(p => p.Value).First() : finished.OrderBy(p => p.Value).First();
                var pickValue = measured[pick];
                if (pickValue is null)
                {
                    cells.Add(new TruthCell(group.Key, objective, pick, best.Key, null, best.Value, 0, "pick failed where " + Mode(best.Key) + " ran"));
                    continue;
                }
                var score = higherIsBetter ? pickValue.Value / best.Value!.Value : best.Value!.Value / pickValue.Value;
                cells.Add(new TruthCell(group.Key, objective, pick, best.Key, pickValue, best.Value, score, score >= Required ? "ok" : "below 0.97"));
            }
        }
        return cells;
    }

    /// <summary>The markdown table: per ratio, the pick, the best and the ratio per objective.</summary>
    public static void Render(StringBuilder sb, SweepSection section)
    {
        var cells = Cells(section);
        if (cells.Count == 0) return;
        sb.AppendLine();
        sb.AppendLine("Decision truth (`mmap: \"auto\"` per objective against the best mode that finished; throughput = gen tok/s, latency = TTFT s, memory = VmHWM MiB; score = pick ÷ best for tok/s, best ÷ pick otherwise):");
        sb.AppendLine();
        sb.AppendLine("| × file | objective | pick | best | pick value | best value | score | verdict |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var c in cells)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Ratio:0.00} | {c.Objective.ToString().ToLowerInvariant()} | {Mode(c.Pick)} | {(c.Best is { } b ? Mode(b) : "–")} | {Value(c.PickValue, c.Objective)} | {Value(c.BestValue, c.Objective)} | {(c.Score is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {c.Verdict} |"));
        }
        var judged = cells.Where(c => c.Score is not null).ToList();
        sb.AppendLine();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{judged.Count(c => c.Score >= Required)} of {judged.Count} judged cells reach ≥ {Required:0.00} × the best; {cells.Count(c => c.Verdict.StartsWith("pick failed", StringComparison.Ordinal))} pick(s) failed where another mode ran."));
    }

    /// <summary>An SVG chart: generation tok/s against the RAM ratio, one line per mode, the throughput pick circled, failures as crosses on the axis.</summary>
    public static string Chart(SweepSection section)
    {
        const int width = 640, height = 360, left = 56, right = 130, top = 36, bottom = 44;
        var cells = section.Cells.Where(c => c.Runs.Any(r => r.Kind != RunKind.Skipped)).ToList();
        var ratios = cells.Select(c => c.Ratio).Distinct().OrderBy(r => r).ToList();
        if (ratios.Count == 0) return string.Empty;
        double? Rate(SweepCell c) => Median(c.Runs.Where(r => r.Result is not null).Select(r => r.Result!.TokensPerSecond));
        var maxRate = Math.Max(1, cells.Select(Rate).Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(1).Max());
        var minRatio = ratios.First();
        var maxRatio = Math.Max(ratios.Last(), minRatio + 0.01);
        double X(double ratio) => left + (ratio - minRatio) / (maxRatio - minRatio) * (width - left - right);
        double Y(double rate) => height - bottom - rate / maxRate * (height - top - bottom);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <title>{Escape(section.Label)}: generation tok/s against RAM limit ÷ file size</title>\n");
        sb.Append(CultureInfo.InvariantCulture, $"  <text x=\"{left}\" y=\"20\" font-size=\"13\">{Escape(section.Label)}: generation tok/s vs RAM ratio (circle = auto's pick, × = killed or timed out)</text>\n");
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
        var colours = new Dictionary<SweepMode, string> { [SweepMode.Mmap] = "#4e79a7", [SweepMode.NoMmap] = "#e15759" };
        var legend = 0;
        foreach (var mode in new[] { SweepMode.Mmap, SweepMode.NoMmap })
        {
            var points = cells.Where(c => c.Mode == mode).OrderBy(c => c.Ratio).ToList();
            if (points.Count == 0) continue;
            var line = string.Join(" ", points.Where(c => Rate(c) is not null).Select(c => F(X(c.Ratio)) + "," + F(Y(Rate(c)!.Value))));
            if (line.Length > 0) sb.Append(CultureInfo.InvariantCulture, $"  <polyline points=\"{line}\" fill=\"none\" stroke=\"{colours[mode]}\" stroke-width=\"2\"/>\n");
            foreach (var c in points)
            {
                var picked = c.Prediction.AutoByObjective[Objective.Throughput].UseMmap == (mode == SweepMode.Mmap);
                if (Rate(c) is { } r)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"  <circle cx=\"{F(X(c.Ratio))}\" cy=\"{F(Y(r))}\" r=\"{(picked ? 6 : 2.5)}\" fill=\"{(picked ? "none" : colours[mode])}\" stroke=\"{colours[mode]}\" stroke-width=\"2\"><title>{RamSweepCommand.ModeText(mode)} {c.Ratio:0.00}×: {r:0.0} tok/s{(picked ? " (auto's pick)" : "")}</title></circle>\n");
                }
                else
                {
                    var x = X(c.Ratio);
                    var y = height - bottom;
                    sb.Append(CultureInfo.InvariantCulture, $"  <path d=\"M{F(x - 4)},{F(y - 4)} L{F(x + 4)},{F(y + 4)} M{F(x - 4)},{F(y + 4)} L{F(x + 4)},{F(y - 4)}\" stroke=\"{colours[mode]}\" stroke-width=\"2\"><title>{RamSweepCommand.ModeText(mode)} {c.Ratio:0.00}×: {Escape(string.Join(", ", c.Runs.Select(r => r.Kind.ToString())))}{(picked ? " (auto's pick)" : "")}</title></path>\n");
                }
            }
            sb.Append(CultureInfo.InvariantCulture, $"  <rect x=\"{width - right + 14}\" y=\"{top + legend * 18}\" width=\"12\" height=\"4\" fill=\"{colours[mode]}\"/><text x=\"{width - right + 30}\" y=\"{top + legend * 18 + 6}\">{RamSweepCommand.ModeText(mode)}</text>\n");
            legend++;
        }
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

    private static string Mode(SweepMode mode) => RamSweepCommand.ModeText(mode);

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
