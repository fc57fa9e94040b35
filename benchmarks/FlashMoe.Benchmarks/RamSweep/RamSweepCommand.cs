using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Profiles;
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
        var clock = Stopwatch.StartNew();
        var runNumber = 0;
        SweepReport? report = null;
        var loadBefore = MachineFacts.LoadAverage();
        if (options.WaitForLoad is { } wanted && !options.PlanOnly) loadBefore = await WaitForQuietAsync(wanted, log);

        // --plan-only plans models not written yet from sparse copies in a scratch folder beside the models (the
        // same file system, so the detected storage is the same), removed at the end.
        var scratch = options.PlanOnly ? Path.Combine(options.ModelDirectory, ".plan-" + Guid.NewGuid().ToString("N")) : null;
        try
        {
            var jobs = new List<SweepJob>();
            if (options.Scenarios is { } count)
            {
                var scenarios = SweepScenarios.Draw(count, options.Seed);
                Console.WriteLine($"ramsweep: {count} scenario(s) drawn with --seed {options.Seed.ToString(CultureInfo.InvariantCulture)}:");
                foreach (var scenario in scenarios) Console.WriteLine("  " + scenario);
                foreach (var scenario in scenarios)
                {
                    var spec = SweepModels.PresetSpec(scenario.Preset, scenario.Recipe, scenario.SizeBytes);
                    var path = SweepModels.EnsurePreset(options.ModelDirectory, scenario.Preset, scenario.Recipe, scenario.SizeBytes, log, scratch);
                    jobs.Add(new SweepJob(Invariant($"#{scenario.Number} {SweepModels.PresetLabel(scenario.Preset, spec)} {scenario.SizeBytes >> 20} MiB"), path, new[] { scenario.Ratio }, scenario));
                }
            }
            else if (options.ModelPath is { } given)
            {
                if (!File.Exists(given)) throw new UsageException($"ramsweep: no such model '{given}'");
                jobs.Add(new SweepJob(Path.GetFileName(given), Path.GetFullPath(given), options.Ratios, null));
            }
            else if (options.Preset is { } preset)
            {
                var spec = SweepModels.PresetSpec(preset, options.Recipe, options.SizeBytes);
                jobs.Add(new SweepJob(SweepModels.PresetLabel(preset, spec), SweepModels.EnsurePreset(options.ModelDirectory, preset, options.Recipe, options.SizeBytes, log, scratch), options.Ratios, null));
            }
            else
            {
                foreach (var quant in options.ExpertQuants)
                {
                    var path = SweepModels.Ensure(options.ModelDirectory, options.SizeBytes, quant, log, scratch);
                    jobs.Add(new SweepJob(quant == GgmlType.Q8_0 ? "Q8_0" : quant + " experts", path, options.Ratios, null));
                }
            }

            // The report's time is the runs' time, not the models' writing.
            clock.Restart();
            var host = HostInfo.Detect(jobs[0].Path);
            report = new SweepReport(options, host, Environment.GetCommandLineArgs(), loadBefore, parent);
            foreach (var job in jobs)
            {
                var summary = GgufReader.ReadSummary(job.Path);
                var fileBytes = summary.FileSizeBytes > 0 ? summary.FileSizeBytes : new FileInfo(job.Path).Length;
                var section = report.AddModel(job.Label, job.Path, summary, job.Scenario);
                var timedOut = new HashSet<SweepConfig>();
                foreach (var ratio in job.Ratios.OrderByDescending(r => r))
                {
                    var limit = (long)Math.Round(ratio * fileBytes);
                    var prediction = SweepPrediction.For(host, summary, job.Path, limit, options.Threads, options.ContextSize);
                    var configs = ConfigsFor(options, job.Scenario is not null, prediction);
                    for (var order = 0; order < configs.Count; order++)
                    {
                        var config = configs[order];
                        var label = config.Label(options.Threads);
                        var runs = new List<RunOutcome>();
                        for (var repeat = 0; repeat < (options.PlanOnly ? 0 : options.Repeats); repeat++)
                        {
                            if (timedOut.Contains(config) && options.StopAfterTimeout)
                            {
                                runs.Add(new RunOutcome { Kind = RunKind.Skipped, LimitBytes = limit });
                                continue;
                            }
                            runNumber++;
                            log.Write(Invariant($"[{clock.Elapsed:mm\\:ss}] {job.Label} {label} {ratio:0.00#}× ({limit / (double)(1 << 20):0} MiB) run {repeat + 1}/{options.Repeats} … "));
                            var outcome = await ChildRunner.RunAsync(parent, $"flashmoe-bench-{Environment.ProcessId}-{runNumber}", limit, job.Path, config, options);
                            log.WriteLine(SweepReport.Describe(outcome));
                            runs.Add(outcome);
                            if (outcome.Kind == RunKind.Timeout) timedOut.Add(config);
                        }
                        section.Add(new SweepCell(config, label, order, ratio, limit, prediction, runs));
                    }
                }
            }
        }
        finally
        {
            if (scratch is not null && Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
        if (report is null) return 0;
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

    /// <summary>
    /// The configurations run at one limit, each once, in order: those asked for (for a scenario: both load modes and
    /// the memory pick's ubatch/KV variants, then any asked for), then each objective's pick, so a pick is always measured.
    /// </summary>
    internal static IReadOnlyList<SweepConfig> ConfigsFor(RamSweepOptions options, bool scenario, SweepPrediction prediction)
    {
        var configs = new List<SweepConfig>();
        var asked = scenario
            ? SweepScenarios.Competitors(prediction.Picks[Objective.Memory].Config, options.Threads).Concat(options.ConfigsGiven ? options.Configs : Array.Empty<SweepConfig>())
            : options.Configs;
        // llama.cpp clamps n_ubatch to n_batch (512, itself clamped to n_ctx): a label says what really loads.
        var largestUBatch = Math.Min(512, options.ContextSize);
        foreach (var config in asked.Select(c => c with { UBatch = Math.Min(c.UBatch, largestUBatch) }).Concat(SweepPrediction.Objectives.Select(o => prediction.Picks[o].Config)))
        {
            if (!configs.Contains(config)) configs.Add(config);
        }
        return configs;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

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

/// <summary>One model to sweep and the ratios to sweep it at (a scenario: its one ratio).</summary>
internal sealed record SweepJob(string Label, string Path, IReadOnlyList<double> Ratios, SweepScenario? Scenario);

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
