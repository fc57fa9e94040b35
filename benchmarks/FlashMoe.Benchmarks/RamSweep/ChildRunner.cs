using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>How a run ended.</summary>
internal enum RunKind
{
    Ok,
    Oom,
    Timeout,
    Error,
    Skipped,
}

/// <summary>One child run: its outcome, what it reported, and what its memory group recorded.</summary>
internal sealed record RunOutcome
{
    public RunKind Kind { get; init; }
    /// <summary>The last phase the child announced (start, load, context, prompt, generate).</summary>
    public string Phase { get; init; } = "start";
    /// <summary>When the child announced each phase (ms since it started): load and prompt times of runs that never finished.</summary>
    public IReadOnlyDictionary<string, long> PhaseMs { get; init; } = new Dictionary<string, long>();
    public ChildResult? Result { get; init; }
    public long LimitBytes { get; init; }
    public long? CgroupPeakBytes { get; init; }
    public long? FailCount { get; init; }
    public long? OomKills { get; init; }
    public long? ResidentBeforeBytes { get; init; }
    public string ResidentProbe { get; init; } = "";
    public string EvictMethod { get; init; } = "";
    public double WallSeconds { get; init; }
    public int? ExitCode { get; init; }
    /// <summary>Tokens seen before a time-out, and their rate after the first (null without two tokens).</summary>
    public int TokensSeen { get; init; }
    public double? PartialTokensPerSecond { get; init; }
    /// <summary>Why an error or an unexplained kill happened.</summary>
    public string? Detail { get; init; }
    public bool GroupRemoved { get; init; }
}

/// <summary>Starts one <c>ramsweep-child</c> inside a fresh memory group and waits for it (bounded).</summary>
internal static class ChildRunner
{
    // The child joins the group before exec, so the whole process (runtime included) is charged to it.
    private const string JoinGroupThenExec = "echo $$ > \"$0\" || exit 97; exec \"$@\"";

    public static async Task<RunOutcome> RunAsync(string cgroupParent, string groupName, long limitBytes, string modelPath, SweepConfig config, RamSweepOptions options)
    {
        var (evictMethod, resident, probe) = PageCache.Evict(modelPath);
        var group = CgroupV1.Create(cgroupParent, groupName, limitBytes);
        var outcome = new RunOutcome { LimitBytes = group.LimitBytes, ResidentBeforeBytes = resident, ResidentProbe = probe, EvictMethod = evictMethod };
        try
        {
            outcome = await RunInGroupAsync(group, modelPath, config, options, outcome);
        }
        finally
        {
            outcome = outcome with
            {
                CgroupPeakBytes = group.PeakBytes,
                FailCount = group.FailCount,
                OomKills = group.OomKills,
            };
            outcome = outcome with { GroupRemoved = group.Remove() };
        }
        return outcome;
    }

    private static async Task<RunOutcome> RunInGroupAsync(MemoryGroup group, string modelPath, SweepConfig config, RamSweepOptions options, RunOutcome outcome)
    {
        var start = new ProcessStartInfo("sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(JoinGroupThenExec);
        start.ArgumentList.Add(group.ProcsFile);
        foreach (var part in SelfCommand()) start.ArgumentList.Add(part);
        foreach (var part in new[] { RamSweepChild.Verb, "--model", modelPath }.Concat(RamSweepChild.ConfigArguments(config)).Concat(new[]
                 {
                     "--tokens", Invariant(options.Tokens), "--fill", options.Fill.ToString("R", CultureInfo.InvariantCulture), "--ctx", Invariant(options.ContextSize),
                 }))
        {
            start.ArgumentList.Add(part);
        }

        var gate = new object();
        var phase = "start";
        var phaseMs = new Dictionary<string, long>();
        ChildResult? result = null;
        var tokenTimes = new List<long>();
        var errors = new Queue<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null || !e.Data.StartsWith(ChildProtocol.Marker, StringComparison.Ordinal)) return;
            var message = e.Data.Substring(ChildProtocol.Marker.Length);
            var parts = message.Split(' ', 3);
            lock (gate)
            {
                switch (parts[0])
                {
                    case "phase" when parts.Length >= 3:
                        phase = parts[1];
                        phaseMs[phase] = long.Parse(parts[2], CultureInfo.InvariantCulture);
                        break;
                    case "token" when parts.Length >= 3:
                        tokenTimes.Add(long.Parse(parts[2], CultureInfo.InvariantCulture));
                        break;
                    case "result":
                        result = JsonSerializer.Deserialize<ChildResult>(message.Substring("result ".Length));
                        break;
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (gate)
            {
                errors.Enqueue(e.Data);
                while (errors.Count > 20) errors.Dequeue();
            }
        };

        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var timedOut = false;
        using (var timeout = new CancellationTokenSource(options.Timeout))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                // A task stuck in reclaim dies when it next returns to user space: give it time, never forever.
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        clock.Stop();

        lock (gate)
        {
            var exitCode = process.HasExited ? process.ExitCode : (int?)null;
            var oomKills = group.OomKills ?? 0;
            double? partial = tokenTimes.Count >= 2 ? (tokenTimes.Count - 1) / ((tokenTimes[^1] - tokenTimes[0]) / 1000.0) : null;
            RunKind kind;
            string? detail = null;
            if (timedOut)
            {
                kind = RunKind.Timeout;
            }
            else if (result is not null && exitCode == 0)
            {
                kind = RunKind.Ok;
            }
            else if (oomKills > 0 || exitCode == 128 + 9)
            {
                kind = RunKind.Oom;
                detail = oomKills > 0 ? null : "SIGKILL without an oom_kill count";
            }
            else
            {
                kind = RunKind.Error;
                detail = exitCode == 97 ? "could not join the memory group" : $"exit {exitCode}: {string.Join(" | ", errors)}";
            }
            return outcome with
            {
                Kind = kind,
                Phase = phase,
                PhaseMs = new Dictionary<string, long>(phaseMs),
                Result = result,
                WallSeconds = clock.Elapsed.TotalSeconds,
                ExitCode = exitCode,
                TokensSeen = tokenTimes.Count,
                PartialTokensPerSecond = partial,
                Detail = detail,
            };
        }
    }

    /// <summary>This program's command line: the apphost, or <c>dotnet</c> + the assembly when run through the muxer.</summary>
    private static IEnumerable<string> SelfCommand()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        yield return processPath;
        if (string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            yield return Assembly.GetExecutingAssembly().Location;
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
