using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Runtime;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The <c>ramsweep</c> verb: the project's own version of the cgroup sweep in
/// docs/evidence.md#ram-limit-sweep-small-models. For every model, mode, ratio (high to low) and repeat it evicts the model from the page cache, makes a
/// memory group limited to ratio × the file size, runs <see cref="RamSweepChild"/> in it, records what happened and
/// removes the group; next to each cell it puts what FlashMoe's plan predicts for that limit.
/// </summary>
internal static class RamSweepCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = RamSweepOptions.Parse(args);
        if (options.ShowHelp)
        {
            Console.WriteLine(RamSweepOptions.Help);
            return 0;
        }

        var parent = "(none: --plan-only)";
        if (!options.PlanOnly)
        {
            var found = CgroupV1.FindParent(options.CgroupParent, out var problem);
            if (found is null)
            {
                Console.WriteLine($"ramsweep skipped: {problem}.");
                return 0;
            }
            parent = found;
        }

        var log = Console.Error;
        var loadBefore = MachineFacts.LoadAverage();
        if (options.WaitForLoad is { } wanted && !options.PlanOnly) loadBefore = await WaitForQuietAsync(wanted, log);

        var models = new List<(string Label, string Path)>();
        if (options.ModelPath is { } given)
        {
            if (!File.Exists(given)) throw new UsageException($"ramsweep: no such model '{given}'");
            models.Add((Path.GetFileName(given), Path.GetFullPath(given)));
        }
        else
        {
            foreach (var quant in options.ExpertQuants)
            {
                var path = SweepModels.Ensure(options.ModelDirectory, options.SizeBytes, quant, log);
                models.Add((quant == GgmlType.Q8_0 ? "Q8_0" : quant + " experts", path));
            }
        }

        var host = HostInfo.Detect(models[0].Path);
        var report = new SweepReport(options, host, Environment.GetCommandLineArgs(), loadBefore, parent);
        var clock = Stopwatch.StartNew();
        var runNumber = 0;
        foreach (var (label, path) in models)
        {
            var summary = GgufReader.ReadSummary(path);
            var fileBytes = new FileInfo(path).Length;
            var section = report.AddModel(label, path, summary);
            foreach (var mode in options.Modes)
            {
                var timedOut = false;
                foreach (var ratio in options.Ratios.OrderByDescending(r => r))
                {
                    var limit = (long)Math.Round(ratio * fileBytes);
                    var prediction = SweepPrediction.For(host, summary, path, limit, options.Threads, options.ContextSize);
                    var runs = new List<RunOutcome>();
                    for (var repeat = 0; repeat < (options.PlanOnly ? 0 : options.Repeats); repeat++)
                    {
                        if (timedOut && options.StopAfterTimeout)
                        {
                            runs.Add(new RunOutcome { Kind = RunKind.Skipped, LimitBytes = limit });
                            continue;
                        }
                        runNumber++;
                        log.Write(FormattableString.Invariant($"[{clock.Elapsed:mm\\:ss}] {label} {ModeText(mode)} {ratio:0.00}× ({limit / (double)(1 << 20):0} MiB) run {repeat + 1}/{options.Repeats} … "));
                        var outcome = await ChildRunner.RunAsync(parent, $"flashmoe-bench-{Environment.ProcessId}-{runNumber}", limit, path, mode, options);
                        log.WriteLine(SweepReport.Describe(outcome));
                        runs.Add(outcome);
                        timedOut |= outcome.Kind == RunKind.Timeout;
                    }
                    section.Add(new SweepCell(mode, ratio, limit, prediction, runs));
                }
            }
        }
        report.Finish(MachineFacts.LoadAverage(), clock.Elapsed);

        var markdown = report.Render();
        Console.WriteLine(markdown);
        if (options.OutputPath is { } output)
        {
            File.WriteAllText(output, markdown);
            var raw = Path.ChangeExtension(output, ".json");
            File.WriteAllText(raw, report.RenderJson());
            log.WriteLine($"wrote {output} and the raw runs to {raw}");
            foreach (var section in report.Sections)
            {
                var chart = DecisionTruth.Chart(section);
                if (chart.Length == 0) continue;
                var name = new string(section.Label.Select(ch => char.IsLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '-').ToArray());
                var svg = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".", Path.GetFileNameWithoutExtension(output) + "-" + name + ".svg");
                File.WriteAllText(svg, chart);
                log.WriteLine($"wrote the chart {svg}");
            }
        }
        return 0;
    }

    internal static string ModeText(SweepMode mode) => mode == SweepMode.Mmap ? "mmap" : "no-mmap";

    private static async Task<string> WaitForQuietAsync(double wanted, TextWriter log)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (true)
        {
            var now = MachineFacts.LoadAverage();
            var oneMinute = double.Parse(now.Split(' ')[0], CultureInfo.InvariantCulture);
            if (oneMinute < wanted) return now;
            if (DateTime.UtcNow >= deadline)
            {
                log.WriteLine($"load average still {now} after 15 min: starting anyway (noted in the report)");
                return now;
            }
            log.WriteLine($"load average {now}: waiting for < {wanted.ToString(CultureInfo.InvariantCulture)} …");
            await Task.Delay(TimeSpan.FromSeconds(20));
        }
    }
}

/// <summary>Facts about the machine for the report header.</summary>
internal static class MachineFacts
{
    public static string LoadAverage() => Read("/proc/loadavg") is { } text ? string.Join(' ', text.Split(' ').Take(3)) : "?";

    public static string Kernel() => Read("/proc/sys/kernel/osrelease")?.Trim() ?? Environment.OSVersion.VersionString;

    public static string TransparentHugePages() => Read("/sys/kernel/mm/transparent_hugepage/enabled")?.Trim() ?? "?";

    public static string CpuModel() =>
        Read("/proc/cpuinfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
