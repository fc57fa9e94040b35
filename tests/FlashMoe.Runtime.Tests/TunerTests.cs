using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Tests.Fixtures;
using FlashMoe.Runtime.Tests.Native;
using Xunit;

namespace FlashMoe.Runtime.Tests;

/// <summary>
/// <see cref="FlashMoeTuner"/> on the tiny synthetic MoE: it measures, writes a profile file that Core's parser reads
/// clean, never runs what the plan forbids, and stops cleanly on cancellation. Speeds are not asserted (timing is for
/// benchmarks), only that they were measured.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class TunerTests : IClassFixture<SyntheticModels>, IDisposable
{
    private readonly SyntheticModels _models;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashmoe-tuner-tests-" + Guid.NewGuid().ToString("N"));

    public TunerTests(SyntheticModels models) => _models = models;

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static FlashMoeProfile Box(string modelPath) => new(
        "TinyBox",
        new HardwareSpec(24, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
        new ModelSpec(Path.GetFileName(modelPath), null),
        LoadOptions.Default with { ContextSize = 256, BatchSize = 256, UBatchSize = 128 });

    [Fact]
    public async Task Tune_measures_and_writes_a_profile_that_parses_clean()
    {
        var options = new TuneOptions { Budget = TimeSpan.FromMinutes(2), PromptTokens = 32, GeneratedTokens = 8, OutputDirectory = _directory };
        var reports = 0;
        var result = await FlashMoeTuner.TuneAsync(Box(_models.Mixed), _models.Mixed, options, new SyncProgress(() => reports++));

        Assert.False(result.Cancelled);
        Assert.NotNull(result.Tuned);
        Assert.True(reports > 0);
        Assert.All(result.Measurements, m => Assert.True(m.Succeeded, m.Failure));
        Assert.Contains(result.Measurements, m => m.Candidate.Resolved.Options.UseMmap);
        Assert.Contains(result.Measurements, m => !m.Candidate.Resolved.Options.UseMmap);
        Assert.All(result.Measurements, m => Assert.True(m.GenerationTokensPerSecond > 0 && m.PromptTokensPerSecond > 0));
        Assert.NotEmpty(result.GenerationByThreads);

        var path = Path.Combine(_directory, "TinyBox.tuned.flashmoe.json");
        Assert.Equal(path, result.WrittenPath);
        var document = ProfileParser.Parse(path, File.ReadAllText(path));
        Assert.Empty(document.Diagnostics);
        var tuned = Assert.Single(document.Profiles).Profile;
        Assert.Equal("TinyBoxTuned", tuned.Name);
        Assert.Equal(result.Tuned, tuned);
        Assert.Equal(ThreadCountKind.Fixed, tuned.Load.Threads.Kind);
        Assert.NotEqual(AutoSwitch.Auto, tuned.Load.Mmap);
        Assert.Contains("tok/s", tuned.Description);
    }

    [Fact]
    public async Task Configurations_the_plan_forbids_are_never_run()
    {
        // A limit far below the model: every configuration would be OOM-killed or livelock (repacked weights).
        var profile = Box(_models.Q4);
        var model = Gguf.GgufReader.ReadSummary(_models.Q4);
        var host = HostInfo.Detect(_models.Q4).ToHostFacts() with { MemoryLimitBytes = model.FileSizeBytes / 4 };
        var loads = Tuning.LoadCandidates(profile, model, host);
        Assert.All(loads, c => Assert.NotNull(c.Excluded));

        // The runtime applies the same rule on the detected host: with a real host nothing is excluded for this tiny model.
        var result = await FlashMoeTuner.TuneAsync(profile, _models.Q4,
            new TuneOptions { Budget = TimeSpan.FromSeconds(30), PromptTokens = 16, GeneratedTokens = 4, OutputDirectory = "" });
        Assert.Empty(result.Excluded);
        Assert.Null(result.WrittenPath);
    }

    [Fact]
    public async Task Cancellation_stops_cleanly_and_keeps_what_was_measured()
    {
        using var cancel = new CancellationTokenSource();
        var options = new TuneOptions { Budget = TimeSpan.FromMinutes(2), PromptTokens = 32, GeneratedTokens = 8, OutputDirectory = _directory };
        // Cancel as soon as the first measurement is done.
        var progress = new SyncProgress(() => { }, p => { if (p.Completed >= 1) cancel.Cancel(); });
        var result = await FlashMoeTuner.TuneAsync(Box(_models.Q8), _models.Q8, options, progress, cancel.Token);

        Assert.True(result.Cancelled);
        Assert.NotEmpty(result.Measurements);
        Assert.True(result.Measurements.Count < 4);
        Assert.NotNull(result.WrittenPath);
        Assert.Empty(ProfileParser.Parse(result.WrittenPath!, File.ReadAllText(result.WrittenPath!)).Diagnostics);
    }

    [Fact]
    public async Task A_small_budget_ends_the_tuning_early()
    {
        var result = await FlashMoeTuner.TuneAsync(Box(_models.Q8), _models.Q8,
            new TuneOptions { Budget = TimeSpan.FromMilliseconds(1), PromptTokens = 16, GeneratedTokens = 4, OutputDirectory = "" });

        Assert.True(result.BudgetExhausted);
        Assert.Single(result.Measurements); // the resolved configuration is always measured
    }

    private sealed class SyncProgress(Action onReport, Action<TuneProgress>? inspect = null) : IProgress<TuneProgress>
    {
        public void Report(TuneProgress value)
        {
            onReport();
            inspect?.Invoke(value);
        }
    }
}
