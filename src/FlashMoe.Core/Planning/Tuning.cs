using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>One configuration the tuner may measure: a concrete profile, its plan on the host, and why it is not run (if so).</summary>
/// <param name="Label">Short text, e.g. <c>mmap off</c>, <c>flash attention on, KV q8_0</c>.</param>
/// <param name="Profile">The profile with the varied options made concrete.</param>
/// <param name="Resolved">That profile resolved for the host.</param>
/// <param name="Excluded">Why the plan forbids running it (<see cref="ProfileSelector.CannotRun"/>); null when it may run.</param>
public sealed record TuneCandidate(string Label, FlashMoeProfile Profile, ResolvedProfile Resolved, ProfileRejection? Excluded);

/// <summary>What one measured configuration did.</summary>
/// <param name="Candidate">The configuration.</param>
/// <param name="LoadSeconds">Weight load time (0 when the weights of an earlier candidate were reused).</param>
/// <param name="PromptTokensPerSecond">Prompt processing speed.</param>
/// <param name="TimeToFirstTokenSeconds">Prompt decode plus the first sample.</param>
/// <param name="GenerationTokensPerSecond">Generation speed after the first token.</param>
/// <param name="PeakRssBytes">Peak resident memory while it ran, when known.</param>
/// <param name="Failure">Why it failed, or null.</param>
public sealed record TuneMeasurement(
    TuneCandidate Candidate,
    double LoadSeconds,
    double PromptTokensPerSecond,
    double TimeToFirstTokenSeconds,
    double GenerationTokensPerSecond,
    long? PeakRssBytes,
    string? Failure = null)
{
    /// <summary>True when it ran to the end.</summary>
    public bool Succeeded => Failure is null;
}

/// <summary>
/// The tuner's rules: which configurations to measure, in three greedy stages (each keeps the winner of the one
/// before, so the number of runs grows with the sum of the choices, not their product), which winner an objective
/// picks, and how many threads a measured curve calls for. The runtime (<c>FlashMoeTuner</c>) only loads, measures
/// and writes.
/// <list type="number">
/// <item>Load: <c>mmap</c> on and off when the profile leaves it to <c>auto</c> (the resolved choice first).</item>
/// <item>Context: flash attention on/off when <c>auto</c>; the physical batch (<c>ubatchSize</c>) 512 and 256; under the
/// memory objective also a q8_0 KV cache (needs flash attention).</item>
/// <item>Threads: 1 … logical cores, each run measuring generation (<c>threads</c>) and prompt processing
/// (<c>batchThreads</c>) separately; <see cref="ChooseThreads"/> reads the two curves.</item>
/// </list>
/// A configuration the plan says cannot run (<see cref="ProfileSelector.CannotRun"/>: would be OOM-killed, or thrash
/// even with mmap) is listed with its reason and never run.
/// </summary>
public static class Tuning
{
    /// <summary>A measured speed within this share of the best counts as equal (the noise of repeated runs here).</summary>
    public const double EqualSpeedShare = 0.97;

    /// <summary>Stage 1: the load configurations (mmap on/off when <c>auto</c>), the resolved choice first.</summary>
    public static IReadOnlyList<TuneCandidate> LoadCandidates(FlashMoeProfile profile, ModelSummary model, HostFacts host)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        var resolved = ProfileResolver.Resolve(profile, model, host);
        var list = new List<TuneCandidate> { Candidate(Label(resolved.Options.UseMmap ? "mmap on" : "mmap off", "as resolved"), Fix(profile, resolved), model, host) };
        if (profile.Load.Mmap == AutoSwitch.Auto)
        {
            var other = !resolved.Options.UseMmap;
            list.Add(Candidate(other ? "mmap on" : "mmap off", Fix(profile, resolved) with { Load = Fix(profile, resolved).Load with { Mmap = other ? AutoSwitch.On : AutoSwitch.Off } }, model, host));
        }
        return list;
    }

    /// <summary>
    /// Stage 2: context configurations on the winning load (flash attention, ubatch, and the KV cache: under the memory
    /// objective also q8_0; under the others also f16 when "auto" resolved to a smaller cache).
    /// </summary>
    public static IReadOnlyList<TuneCandidate> ContextCandidates(FlashMoeProfile loadWinner, FlashMoeProfile original, ModelSummary model, HostFacts host)
    {
        if (loadWinner is null) throw new ArgumentNullException(nameof(loadWinner));
        if (original is null) throw new ArgumentNullException(nameof(original));
        var flash = original.Load.FlashAttention == AutoSwitch.Auto ? new[] { AutoSwitch.On, AutoSwitch.Off } : new[] { loadWinner.Load.FlashAttention };
        // The winner's ubatch and KV types are concrete (the load stage fixed what "auto" resolved to).
        var smallest = original.Objective == Objective.Memory ? EvidenceThresholds.MemoryObjectiveUBatchSize : 256;
        var ubatches = new[] { loadWinner.Load.UBatchSize, smallest, LoadDefaults.UBatchSize }.Where(u => u > 0 && u <= Math.Max(1, loadWinner.Load.BatchSize)).Distinct().ToArray();
        var winnerKv = loadWinner.Load.KvCache ?? KvCacheSpec.Default;
        var kvTypes = new List<KvCacheSpec> { winnerKv };
        var memoryKv = new KvCacheSpec(EvidenceThresholds.MemoryObjectiveKvCacheType, EvidenceThresholds.MemoryObjectiveKvCacheType);
        if (original.Objective == Objective.Memory && !winnerKv.Equals(memoryKv)) kvTypes.Add(memoryKv);
        // A cache the resolver shrank to fit ("auto" under throughput or latency) is measured against the objective's own
        // f16 too: the smaller cache spares page cache but costs attention time, more on some models than the paging
        // it spares (docs/evidence.md#the-memory-objective).
        if (original.Objective != Objective.Memory && original.Load.KvCache is null && !winnerKv.Equals(KvCacheSpec.Default)) kvTypes.Add(KvCacheSpec.Default);

        var list = new List<TuneCandidate>();
        foreach (var fa in flash)
        {
            foreach (var ubatch in ubatches)
            {
                foreach (var kv in kvTypes)
                {
                    // A quantized V cache needs flash attention (llama.cpp refuses the context otherwise).
                    if (ProfileSchema.IsQuantized(kv.V) && fa == AutoSwitch.Off) continue;
                    var profile = loadWinner with { Load = loadWinner.Load with { FlashAttention = fa, UBatchSize = ubatch, KvCache = kv } };
                    list.Add(Candidate(Invariant.Text($"flash attention {(fa == AutoSwitch.On ? "on" : "off")}, ubatch {ubatch}, KV {Kv(kv.K)}/{Kv(kv.V)}"), profile, model, host));
                }
            }
        }
        return list;
    }

    /// <summary>
    /// Stage 3: thread counts to measure, 1 … logical cores (physical when logical is unknown; the fallback when
    /// neither is), the physical core count (the prior) first so that a short budget still measures it.
    /// </summary>
    public static IReadOnlyList<int> ThreadCounts(HostFacts host)
    {
        if (host is null) throw new ArgumentNullException(nameof(host));
        var max = Math.Max(1, Math.Min(host.LogicalCores ?? host.PhysicalCores ?? EvidenceThresholds.FallbackThreads, ProfileParser.MaxCount));
        var all = Enumerable.Range(1, max).ToList();
        if (host.PhysicalCores is { } prior && prior >= 1 && prior <= max)
        {
            all.Remove(prior);
            all.Insert(0, prior);
        }
        return all;
    }

    /// <summary>
    /// The thread count a measured curve calls for, with the physical core count as the prior: physical cores
    /// unless another count was measured more than <see cref="EqualSpeedShare"/> faster than it (then the fastest); a
    /// prior that was not measured stays. Without a prior, the fastest; among equals the fewest threads.
    /// </summary>
    /// <param name="curve">Tokens/s per thread count (failed or unmeasured counts left out).</param>
    /// <param name="physicalCores">The prior.</param>
    public static int ChooseThreads(IReadOnlyDictionary<int, double> curve, int? physicalCores)
    {
        if (curve is null) throw new ArgumentNullException(nameof(curve));
        var valid = curve.Where(p => p.Key > 0 && p.Value > 0 && !double.IsNaN(p.Value) && !double.IsInfinity(p.Value)).ToList();
        if (valid.Count == 0) return Math.Max(1, physicalCores ?? EvidenceThresholds.FallbackThreads);
        var best = valid.Max(p => p.Value);
        if (physicalCores is { } prior && prior > 0)
        {
            // Not measured at the prior (a budget cut the curve short): nothing to compare it with, so it stays.
            if (!curve.TryGetValue(prior, out var atPrior) || !(atPrior > 0)) return prior;
            if (atPrior >= EqualSpeedShare * best) return prior;
        }
        return valid.Where(p => p.Value >= best).Min(p => p.Key);
    }

    /// <summary>
    /// The best measurement for <paramref name="objective"/> among those that succeeded: throughput = highest
    /// generation tokens/s; latency = shortest time to first token; memory = smallest peak RSS (the resident
    /// footprint the plan gives when the peak is unknown). Ties (within <see cref="EqualSpeedShare"/> for speeds)
    /// go to the earlier measurement (the resolved choice is measured first). Null when none succeeded.
    /// </summary>
    public static TuneMeasurement? Best(Objective objective, IEnumerable<TuneMeasurement> measurements)
    {
        if (measurements is null) throw new ArgumentNullException(nameof(measurements));
        var ok = measurements.Where(m => m.Succeeded).ToList();
        if (ok.Count == 0) return null;
        switch (objective)
        {
            case Objective.Latency:
            {
                var best = ok.Min(m => m.TimeToFirstTokenSeconds);
                return ok.First(m => m.TimeToFirstTokenSeconds * EqualSpeedShare <= best);
            }
            case Objective.Memory:
            {
                long Peak(TuneMeasurement m) => m.PeakRssBytes ?? m.Candidate.Resolved.Plan.Host.AnonymousBytes;
                var best = ok.Min(Peak);
                return ok.First(m => Peak(m) == best);
            }
            default:
            {
                var best = ok.Max(m => m.GenerationTokensPerSecond);
                return ok.First(m => m.GenerationTokensPerSecond >= EqualSpeedShare * best);
            }
        }
    }

    /// <summary>
    /// The tuned profile: <paramref name="winner"/>'s options made concrete (mmap, threads, batch threads, flash
    /// attention, ubatch, KV cache), the hardware as detected here, named <c>{Name}Tuned</c>, with the measured
    /// figures in its description.
    /// </summary>
    public static FlashMoeProfile TunedProfile(FlashMoeProfile original, TuneMeasurement winner, int threads, int batchThreads, HostFacts host,
        int measuredCount, double elapsedSeconds, string modelFileName)
    {
        if (original is null) throw new ArgumentNullException(nameof(original));
        if (winner is null) throw new ArgumentNullException(nameof(winner));
        if (host is null) throw new ArgumentNullException(nameof(host));
        var options = winner.Candidate.Resolved.Options;
        var load = winner.Candidate.Profile.Load with
        {
            Mmap = options.UseMmap ? AutoSwitch.On : AutoSwitch.Off,
            Threads = ThreadCount.Fixed(threads),
            BatchThreads = ThreadCount.Fixed(batchThreads),
            FlashAttention = options.FlashAttention ? AutoSwitch.On : AutoSwitch.Off,
            UBatchSize = options.UBatchSize,
            ContextSize = options.ContextSize,
            BatchSize = options.BatchSize,
        };
        var ram = host.TotalRamBytes > 0 ? Math.Round(Units.ToGiB(host.TotalRamBytes), 2) : original.Hardware.RamGiB;
        var hardware = original.Hardware with
        {
            RamGiB = ram,
            Cpu = new CpuSpec(host.PhysicalCores ?? original.Hardware.Cpu.PhysicalCores, host.LogicalCores ?? original.Hardware.Cpu.LogicalCores,
                host.Avx2 ?? original.Hardware.Cpu.Avx2, host.Avx512 ?? original.Hardware.Cpu.Avx512),
            Storage = host.Storage != StorageKind.Unknown ? host.Storage : original.Hardware.Storage,
        };
        var peak = winner.PeakRssBytes is { } bytes ? Invariant.Text($", peak RSS {bytes / (double)Units.MiB:0} MiB") : string.Empty;
        var description = Invariant.Text(
            $"Tuned from {original.Name} on this machine for {modelFileName} (objective {Invariant.Lower(original.Objective)}): {winner.Candidate.Label}, threads {threads}, batch threads {batchThreads}; measured generation {winner.GenerationTokensPerSecond:0.0} tok/s, prompt {winner.PromptTokensPerSecond:0.0} tok/s, time to first token {winner.TimeToFirstTokenSeconds:0.00} s, load {winner.LoadSeconds:0.00} s{peak}; {measuredCount} configurations measured in {elapsedSeconds:0} s.");
        return original with { Name = original.Name + "Tuned", Hardware = hardware, Load = load, Description = description };
    }

    private static TuneCandidate Candidate(string label, FlashMoeProfile profile, ModelSummary model, HostFacts host)
    {
        var resolved = ProfileResolver.Resolve(profile, model, host);
        return new TuneCandidate(label, profile, resolved, ProfileSelector.CannotRun(resolved));
    }

    /// <summary>The profile with its <c>auto</c> mmap made concrete as resolved (threads stay as written until stage 3).</summary>
    private static FlashMoeProfile Fix(FlashMoeProfile profile, ResolvedProfile resolved) =>
        profile with
        {
            Load = profile.Load with
            {
                Mmap = resolved.Options.UseMmap ? AutoSwitch.On : AutoSwitch.Off,
                FlashAttention = resolved.Options.FlashAttention ? AutoSwitch.On : AutoSwitch.Off,
                UBatchSize = resolved.Options.UBatchSize,
                KvCache = new KvCacheSpec(resolved.Options.TypeK, resolved.Options.TypeV),
            },
        };

    private static string Label(string what, string note) => what + " (" + note + ")";

    private static string Kv(KvCacheType type) => Invariant.Lower(type);

}
