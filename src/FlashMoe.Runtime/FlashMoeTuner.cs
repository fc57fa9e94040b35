using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime;

/// <summary>Options of <see cref="FlashMoeTuner.TuneAsync"/>.</summary>
public sealed record TuneOptions
{
    /// <summary>Wall time allowed; no new measurement starts when the estimate says it would end past it (default 2 min).</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Prompt tokens per measurement (capped at half the context).</summary>
    public int PromptTokens { get; init; } = 256;
    /// <summary>Generated tokens per measurement.</summary>
    public int GeneratedTokens { get; init; } = 32;
    /// <summary>Where <c>&lt;name&gt;.tuned.flashmoe.json</c> is written; null = the current directory; empty = do not write.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Receives llama.cpp's log and the configurations the plan forbade.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>Where the tuner is.</summary>
/// <param name="Completed">Measurements finished (or skipped).</param>
/// <param name="Planned">Measurements planned so far (grows as the stages unfold).</param>
/// <param name="Current">What is being measured now.</param>
/// <param name="Elapsed">Time since the start.</param>
/// <param name="Budget">The budget.</param>
public sealed record TuneProgress(int Completed, int Planned, string Current, TimeSpan Elapsed, TimeSpan Budget)
{
    /// <summary>Share of the budget used, 0–1.</summary>
    public double BudgetFraction => Budget <= TimeSpan.Zero ? 1 : Math.Min(1, Elapsed.TotalSeconds / Budget.TotalSeconds);
}

/// <summary>What <see cref="FlashMoeTuner.TuneAsync"/> found.</summary>
public sealed record TuneResult
{
    /// <summary>The tuned profile (null when nothing could be measured).</summary>
    public FlashMoeProfile? Tuned { get; init; }
    /// <summary>The winning measurement.</summary>
    public TuneMeasurement? Winner { get; init; }
    /// <summary>Every measurement, in the order run (thread runs included).</summary>
    public IReadOnlyList<TuneMeasurement> Measurements { get; init; } = Array.Empty<TuneMeasurement>();
    /// <summary>Configurations the plan forbade (never run), with the reason.</summary>
    public IReadOnlyList<TuneCandidate> Excluded { get; init; } = Array.Empty<TuneCandidate>();
    /// <summary>Generation tokens/s per thread count, and prompt tokens/s per (batch) thread count.</summary>
    public IReadOnlyDictionary<int, double> GenerationByThreads { get; init; } = new Dictionary<int, double>();
    /// <summary>Prompt tokens/s per batch-thread count.</summary>
    public IReadOnlyDictionary<int, double> PromptByThreads { get; init; } = new Dictionary<int, double>();
    /// <summary>The profile file written, or null.</summary>
    public string? WrittenPath { get; init; }
    /// <summary>True when the budget ended the tuning before every candidate was measured.</summary>
    public bool BudgetExhausted { get; init; }
    /// <summary>True when cancellation ended it (the best so far is still returned and written).</summary>
    public bool Cancelled { get; init; }
    /// <summary>Wall time.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>
/// Measures a profile's candidate configurations on this machine within a time budget and writes the winner as
/// <c>&lt;name&gt;.tuned.flashmoe.json</c>. Which candidates, in which order, which are never run (the plan says they
/// would be OOM-killed), how the thread curves are read and which measurement wins are Core's rules
/// (<see cref="Tuning"/>); this class loads, measures and writes.
/// </summary>
public static class FlashMoeTuner
{
    /// <summary>The file name the tuned profile is written to.</summary>
    public static string TunedFileName(FlashMoeProfile profile) =>
        (profile ?? throw new ArgumentNullException(nameof(profile))).Name + ".tuned.flashmoe.json";

    /// <summary>
    /// Tunes <paramref name="profile"/> for <paramref name="modelPath"/> on this machine. Cancellation stops after the
    /// current decode call; what was measured until then still decides and is written (<see cref="TuneResult.Cancelled"/>).
    /// </summary>
    /// <exception cref="GgufFormatException">The model file is not a valid GGUF (FM01xx).</exception>
    public static async Task<TuneResult> TuneAsync(FlashMoeProfile profile, string modelPath, TuneOptions? options = null,
        IProgress<TuneProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        if (modelPath is null) throw new ArgumentNullException(nameof(modelPath));
        options ??= new TuneOptions();
        var model = GgufReader.ReadSummary(modelPath);
        var host = HostInfo.Detect(modelPath).ToHostFacts();
        var run = new Run(profile, modelPath, model, host, options, progress, cancellationToken);
        await run.ExecuteAsync().ConfigureAwait(false);
        return run.Finish();
    }

    private sealed class Run(FlashMoeProfile profile, string modelPath, ModelSummary model, HostFacts host, TuneOptions options,
        IProgress<TuneProgress>? progress, CancellationToken cancellationToken)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<TuneMeasurement> _measurements = new();
        private readonly List<TuneCandidate> _excluded = new();
        private readonly Dictionary<int, double> _generation = new();
        private readonly Dictionary<int, double> _prompt = new();
        private int _planned;
        private TimeSpan _slowestRun;
        private TimeSpan _slowestLoad;
        private bool _budgetExhausted;
        private bool _cancelled;

        public async Task ExecuteAsync()
        {
            try
            {
                // Stage 1: load configurations.
                var loads = Tuning.LoadCandidates(profile, model, host);
                var loadResults = new List<TuneMeasurement>();
                Plan(loads);
                foreach (var candidate in loads.Where(c => c.Excluded is null))
                {
                    if (!HasTimeFor(_slowestLoad + _slowestRun) && loadResults.Count > 0) break;
                    var measured = await MeasureAsync(candidate, reuse: null).ConfigureAwait(false);
                    loadResults.Add(measured);
                }
                var loadWinner = Tuning.Best(profile.Objective, loadResults);
                if (loadWinner is null) return;

                // Stages 2 and 3 reuse the winning load's weights: only the context changes.
                using var loaded = await LoadAsync(loadWinner.Candidate).ConfigureAwait(false);
                var contexts = Tuning.ContextCandidates(loadWinner.Candidate.Profile, profile, model, host)
                    .Where(c => !SameOptions(c, loadWinner.Candidate)).ToList();
                Plan(contexts);
                var contextResults = new List<TuneMeasurement> { loadWinner };
                foreach (var candidate in contexts.Where(c => c.Excluded is null))
                {
                    if (!HasTimeFor(_slowestRun)) break;
                    contextResults.Add(await MeasureAsync(candidate, loaded).ConfigureAwait(false));
                }
                var contextWinner = Tuning.Best(profile.Objective, contextResults) ?? loadWinner;

                var threadCounts = Tuning.ThreadCounts(host);
                _planned += threadCounts.Count;
                foreach (var threads in threadCounts)
                {
                    if (!HasTimeFor(_slowestRun)) break;
                    var candidate = contextWinner.Candidate;
                    var withThreads = candidate.Profile with { Load = candidate.Profile.Load with { Threads = ThreadCount.Fixed(threads), BatchThreads = ThreadCount.Fixed(threads) } };
                    var resolved = ProfileResolver.Resolve(withThreads, model, host);
                    var measured = await MeasureAsync(new TuneCandidate(Invariant($"{candidate.Label}, {threads} thread(s)"), withThreads, resolved, null), loaded).ConfigureAwait(false);
                    if (!measured.Succeeded) continue;
                    _generation[threads] = measured.GenerationTokensPerSecond;
                    _prompt[threads] = measured.PromptTokensPerSecond;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _cancelled = true;
            }
        }

        public TuneResult Finish()
        {
            var winner = Tuning.Best(profile.Objective, _measurements.Where(m => !m.Candidate.Label.EndsWith("thread(s)", StringComparison.Ordinal)))
                ?? Tuning.Best(profile.Objective, _measurements);
            FlashMoeProfile? tuned = null;
            string? written = null;
            if (winner is not null)
            {
                var threads = _generation.Count > 0 ? Tuning.ChooseThreads(_generation, host.PhysicalCores) : winner.Candidate.Resolved.Options.Threads;
                var batchThreads = _prompt.Count > 0 ? Tuning.ChooseThreads(_prompt, host.PhysicalCores) : winner.Candidate.Resolved.Options.BatchThreads;
                var best = BestAt(winner, threads);
                tuned = Tuning.TunedProfile(profile, best, threads, batchThreads, host, _measurements.Count, _clock.Elapsed.TotalSeconds, Path.GetFileName(modelPath));
                if (options.OutputDirectory is not "")
                {
                    var directory = options.OutputDirectory ?? Environment.CurrentDirectory;
                    Directory.CreateDirectory(directory);
                    written = Path.Combine(directory, TunedFileName(profile));
                    File.WriteAllText(written, ProfileWriter.Write(new[] { tuned }));
                }
            }
            return new TuneResult
            {
                Tuned = tuned,
                Winner = winner,
                Measurements = _measurements.ToList(),
                Excluded = _excluded.ToList(),
                GenerationByThreads = new Dictionary<int, double>(_generation),
                PromptByThreads = new Dictionary<int, double>(_prompt),
                WrittenPath = written,
                BudgetExhausted = _budgetExhausted,
                Cancelled = _cancelled,
                Elapsed = _clock.Elapsed,
            };
        }

        /// <summary>The thread run of the winning configuration at the chosen count, when measured (its figures describe the tuned profile best).</summary>
        private TuneMeasurement BestAt(TuneMeasurement winner, int threads) =>
            _measurements.LastOrDefault(m => m.Succeeded && m.Candidate.Label == Invariant($"{winner.Candidate.Label}, {threads} thread(s)")) ?? winner;

        private void Plan(IReadOnlyList<TuneCandidate> candidates)
        {
            foreach (var excluded in candidates.Where(c => c.Excluded is not null))
            {
                _excluded.Add(excluded);
                options.Logger?.LogInformation("tune: not run: {Label}: {Reason}", excluded.Label, excluded.Excluded!.Reason);
            }
            _planned += candidates.Count(c => c.Excluded is null);
        }

        private bool HasTimeFor(TimeSpan estimate)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_clock.Elapsed + estimate <= options.Budget) return true;
            _budgetExhausted = true;
            return false;
        }

        private async Task<LoadedModel> LoadAsync(TuneCandidate candidate)
        {
            ProcessMemory.ResetPeak();
            return await FlashMoeModel.LoadAsync(modelPath, candidate.Resolved, null, options.Logger, cancellationToken).ConfigureAwait(false);
        }

        private async Task<TuneMeasurement> MeasureAsync(TuneCandidate candidate, LoadedModel? reuse)
        {
            Report(candidate.Label);
            var started = _clock.Elapsed;
            LoadedModel? owned = null;
            try
            {
                var loaded = reuse;
                double loadSeconds = 0;
                if (loaded is null)
                {
                    owned = await LoadAsync(candidate).ConfigureAwait(false);
                    loaded = owned;
                    loadSeconds = owned.LoadTime.TotalSeconds;
                    _slowestLoad = Max(_slowestLoad, owned.LoadTime);
                }
                else
                {
                    // Weights loaded once for this load configuration: its load time describes every context on them.
                    loadSeconds = loaded.LoadTime.TotalSeconds;
                    ProcessMemory.ResetPeak();
                }
                var runStarted = _clock.Elapsed;
                using var context = CreateContext(loaded, candidate.Resolved.Options);
                var size = (int)context.ContextSize;
                var generated = Math.Max(1, Math.Min(options.GeneratedTokens, size / 2));
                var prompt = Math.Max(1, Math.Min(options.PromptTokens, size - generated));
                var result = await FlashMoeWorkload.RunAsync(context, prompt, generated, null, cancellationToken).ConfigureAwait(false);
                _slowestRun = Max(_slowestRun, _clock.Elapsed - runStarted);
                var measured = new TuneMeasurement(candidate, loadSeconds, result.PromptTokensPerSecond, result.TimeToFirstToken.TotalSeconds,
                    result.GenerationTokensPerSecond, result.PeakRssBytes);
                _measurements.Add(measured);
                return measured;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
            {
                var failed = new TuneMeasurement(candidate, 0, 0, 0, 0, null, e.GetBaseException().GetType().Name + ": " + e.GetBaseException().Message);
                _measurements.Add(failed);
                _slowestRun = Max(_slowestRun, _clock.Elapsed - started);
                return failed;
            }
            finally
            {
                owned?.Dispose();
                Report(candidate.Label);
            }
        }

        /// <summary>A context with the candidate's context options on weights loaded for another candidate of the same load.</summary>
        private static LLama.LLamaContext CreateContext(LoadedModel loaded, ResolvedLoadOptions options)
        {
            var parameters = options.ToModelParams(loaded.ModelPath);
            return loaded.Weights.CreateContext(parameters);
        }

        private static bool SameOptions(TuneCandidate a, TuneCandidate b) => a.Resolved.Options == b.Resolved.Options;

        private void Report(string current) =>
            progress?.Report(new TuneProgress(_measurements.Count, Math.Max(_planned, _measurements.Count), current, _clock.Elapsed, options.Budget));

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    }
}
