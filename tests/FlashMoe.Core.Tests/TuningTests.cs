using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>The tuner's rules: candidates, what the plan forbids, thread choice from curves, the winner per objective, the written profile.</summary>
public sealed class TuningTests
{
    private static readonly ModelSummary Model = Moe(8, 8, 2, GgmlType.Q8_0, GgmlType.Q8_0, embd: 1024, expertFf: 2048, vocab: 32000);

    private static HostFacts Host(long? limit = null) => new()
    {
        TotalRamBytes = 24 * Units.GiB, ReserveBytes = 0, MemoryLimitBytes = limit, PhysicalCores = 2, LogicalCores = 4,
        Avx2 = true, Avx512 = false, IsDetected = true, Storage = StorageKind.Nvme,
    };

    private static FlashMoeProfile Auto(Objective objective = Objective.Throughput) => Profile(24, objective: objective) with { Name = "Box" };

    [Fact]
    public void Load_candidates_are_the_resolved_mode_first_then_the_other()
    {
        var loads = Tuning.LoadCandidates(Auto(), Model, Host());

        Assert.Equal(2, loads.Count);
        Assert.EndsWith("(as resolved)", loads[0].Label);
        Assert.NotEqual(loads[0].Resolved.Options.UseMmap, loads[1].Resolved.Options.UseMmap);
        Assert.All(loads, c => Assert.Null(c.Excluded));
        Assert.All(loads, c => Assert.NotEqual(AutoSwitch.Auto, c.Profile.Load.Mmap));
    }

    [Fact]
    public void A_load_the_plan_says_would_be_oom_killed_is_excluded_with_its_reason()
    {
        // Below the no-mmap footprint: the resolver picks mmap (slower there, but it runs), and the no-mmap candidate
        // would be killed (FM1001).
        var limit = (long)(Model.FileSizeBytes * 0.98);
        var loads = Tuning.LoadCandidates(Auto(), Model, Host(limit));

        var noMmap = loads.Single(c => !c.Resolved.Options.UseMmap);
        Assert.NotNull(noMmap.Excluded);
        Assert.Equal("select.load-fails", noMmap.Excluded!.RuleId);
        Assert.Contains("FM1001", noMmap.Excluded.Reason);
        Assert.Null(loads.Single(c => c.Resolved.Options.UseMmap).Excluded);
    }

    [Fact]
    public void A_fixed_mmap_is_not_varied()
    {
        var fixedMmap = Auto() with { Load = LoadOptions.Default with { Mmap = AutoSwitch.Off } };
        Assert.Single(Tuning.LoadCandidates(fixedMmap, Model, Host()));
    }

    [Fact]
    public void Context_candidates_vary_flash_attention_and_ubatch_and_add_q8_kv_only_for_memory()
    {
        var loads = Tuning.LoadCandidates(Auto(), Model, Host());
        var throughput = Tuning.ContextCandidates(loads[0].Profile, Auto(), Model, Host());
        Assert.Equal(4, throughput.Count); // flash attention on/off × ubatch 512/256
        Assert.All(throughput, c => Assert.Equal(KvCacheType.F16, c.Profile.Load.KvCache!.V));

        var memory = Tuning.ContextCandidates(loads[0].Profile, Auto(Objective.Memory), Model, Host());
        var quantized = memory.Where(c => c.Profile.Load.KvCache!.V == KvCacheType.Q8_0).ToList();
        Assert.Equal(2, quantized.Count);
        Assert.All(quantized, c => Assert.Equal(AutoSwitch.On, c.Profile.Load.FlashAttention)); // a quantized V cache needs flash attention
        Assert.True(quantized.All(c => c.Resolved.Plan.KvCacheBytes < throughput[0].Resolved.Plan.KvCacheBytes));
    }

    [Fact]
    public void A_cache_auto_shrank_under_throughput_is_measured_against_f16_and_a_fixed_cache_is_not_varied()
    {
        // Below the file size no-mmap never fits, so "auto" shrinks the ubatch and then takes the q8_0 cache.
        var limit = (long)(Model.FileSizeBytes * 0.95);
        var loads = Tuning.LoadCandidates(Auto(), Model, Host(limit));
        var winner = loads[0].Profile;
        Assert.Equal(KvCacheType.Q8_0, winner.Load.KvCache!.V);

        var candidates = Tuning.ContextCandidates(winner, Auto(), Model, Host(limit));
        Assert.Equal(new[] { KvCacheType.Q8_0, KvCacheType.F16 }, candidates.Select(c => c.Profile.Load.KvCache!.V).Distinct());

        var fixedCache = Auto() with { Load = Auto().Load with { KvCache = new KvCacheSpec(KvCacheType.Q8_0, KvCacheType.Q8_0) } };
        Assert.All(Tuning.ContextCandidates(winner, fixedCache, Model, Host(limit)), c => Assert.Equal(KvCacheType.Q8_0, c.Profile.Load.KvCache!.V));
    }

    [Fact]
    public void Thread_counts_run_from_one_to_the_logical_cores()
    {
        Assert.Equal(new[] { 2, 1, 3, 4 }, Tuning.ThreadCounts(Host())); // the prior (physical cores) first
        Assert.Equal(new[] { 1, 2, 3, 4 }, Tuning.ThreadCounts(Host() with { PhysicalCores = null }));
        Assert.Equal(Enumerable.Range(1, EvidenceThresholds.FallbackThreads), Tuning.ThreadCounts(new HostFacts()));
    }

    [Fact]
    public void Threads_keep_the_physical_prior_within_noise_and_follow_a_clear_gain()
    {
        // Within 3 % of the best: physical cores (the prior) stays.
        Assert.Equal(2, Tuning.ChooseThreads(new Dictionary<int, double> { [1] = 20, [2] = 39, [3] = 38, [4] = 40 }, 2));
        // More than 3 % faster elsewhere: the fastest count.
        Assert.Equal(4, Tuning.ChooseThreads(new Dictionary<int, double> { [1] = 20, [2] = 30, [3] = 35, [4] = 40 }, 2));
        Assert.Equal(1, Tuning.ChooseThreads(new Dictionary<int, double> { [1] = 50, [2] = 30 }, 2));
        // A curve cut short before the prior was measured: the prior stays.
        Assert.Equal(2, Tuning.ChooseThreads(new Dictionary<int, double> { [1] = 7.2 }, 2));
        // No prior: the fastest, the fewest threads among equals.
        Assert.Equal(3, Tuning.ChooseThreads(new Dictionary<int, double> { [1] = 10, [2] = 30, [3] = 40, [4] = 40 }, null));
        // Nothing measured: the prior, else the fallback.
        Assert.Equal(2, Tuning.ChooseThreads(new Dictionary<int, double>(), 2));
        Assert.Equal(EvidenceThresholds.FallbackThreads, Tuning.ChooseThreads(new Dictionary<int, double> { [2] = double.NaN }, null));
    }

    [Fact]
    public void Best_follows_the_objective_and_ignores_failures()
    {
        var c = Tuning.LoadCandidates(Auto(), Model, Host());
        var fast = new TuneMeasurement(c[0], 1, 100, 2.0, 40, 900 * Units.MiB);
        var quickFirstToken = new TuneMeasurement(c[1], 1, 200, 1.0, 30, 800 * Units.MiB);
        var lean = new TuneMeasurement(c[1], 1, 50, 3.0, 20, 500 * Units.MiB);
        var failed = new TuneMeasurement(c[1], 0, 0, 0, 0, 100, "killed");
        var all = new[] { fast, quickFirstToken, lean, failed };

        Assert.Same(fast, Tuning.Best(Objective.Throughput, all));
        Assert.Same(quickFirstToken, Tuning.Best(Objective.Latency, all));
        Assert.Same(lean, Tuning.Best(Objective.Memory, all));
        Assert.Null(Tuning.Best(Objective.Throughput, new[] { failed }));

        // Within 3 %: the earlier (the resolved choice is measured first).
        var almost = new TuneMeasurement(c[1], 1, 100, 2.0, 41, 900 * Units.MiB);
        Assert.Same(fast, Tuning.Best(Objective.Throughput, new[] { fast, almost }));
    }

    [Fact]
    public void The_tuned_profile_is_concrete_names_itself_and_parses_clean_from_the_written_file()
    {
        var original = Auto() with { Description = "the box" };
        var candidate = Tuning.LoadCandidates(original, Model, Host())[1];
        var winner = new TuneMeasurement(candidate, 1.5, 123.4, 0.75, 41.2, 2100 * Units.MiB);
        var tuned = Tuning.TunedProfile(original, winner, 2, 4, Host(), 7, 95, "model.gguf");

        Assert.Equal("BoxTuned", tuned.Name);
        Assert.Equal(ThreadCount.Fixed(2), tuned.Load.Threads);
        Assert.Equal(ThreadCount.Fixed(4), tuned.Load.BatchThreads);
        Assert.NotEqual(AutoSwitch.Auto, tuned.Load.Mmap);
        Assert.NotEqual(AutoSwitch.Auto, tuned.Load.FlashAttention);
        Assert.Equal(24, tuned.Hardware.RamGiB);
        Assert.Equal(4, tuned.Hardware.Cpu.LogicalCores);
        Assert.Contains("41.2 tok/s", tuned.Description);
        Assert.Contains("prompt 123.4 tok/s", tuned.Description);
        Assert.Contains("7 configurations measured in 95 s", tuned.Description);

        var document = ProfileParser.Parse("/app/Box.tuned.flashmoe.json", ProfileWriter.Write(new[] { tuned }));
        Assert.Empty(document.Diagnostics);
        Assert.Equal(tuned, Assert.Single(document.Profiles).Profile);
    }

    [Fact]
    public void The_resolver_decides_threads_from_measured_curves_with_physical_cores_as_the_prior()
    {
        var host = Host() with
        {
            // generation: 4 threads clearly faster than the 2 physical cores; prompt: 2 within 3 % of the best.
            GenerationSpeeds = EquatableArray.Create(new ThreadSpeed(1, 10), new ThreadSpeed(2, 20), new ThreadSpeed(3, 24), new ThreadSpeed(4, 30)),
            PromptSpeeds = EquatableArray.Create(new ThreadSpeed(1, 50), new ThreadSpeed(2, 99), new ThreadSpeed(4, 100)),
        };
        var resolved = ProfileResolver.Resolve(Auto(), Model, host);

        Assert.Equal(4, resolved.Options.Threads);
        Assert.Equal(2, resolved.Options.BatchThreads);
        Assert.Equal("threads.measured", resolved.DecisionFor("load.threads")!.RuleId);
        Assert.Contains(resolved.DecisionFor("load.threads")!.Figures, f => f.Name == "generation with 4 thread(s)" && f.Value == 30);
        Assert.Contains("within 97", resolved.DecisionFor("load.batchThreads")!.Reason);

        // Without curves the prior decides; a fixed count is never overridden.
        Assert.Equal("threads.physical", ProfileResolver.Resolve(Auto(), Model, Host()).DecisionFor("load.threads")!.RuleId);
        var fixedThreads = Auto() with { Load = LoadOptions.Default with { Threads = ThreadCount.Fixed(1) } };
        Assert.Equal(1, ProfileResolver.Resolve(fixedThreads, Model, host).Options.Threads);
    }
}
