using System;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>One scenario per advice ID plus its clean twin, including the measured boundaries of docs/evidence.md.</summary>
public class AdviceRulesTests
{
    // ≈ 36 GB of Q8_0 (like the 40 GB model measured at scale): KV + compute + overhead ≈ 0.6 GB < 2 % of the file.
    private static readonly Lazy<ModelSummary> BigQ8 = new(() =>
        Dense(40, GgmlType.Q8_0, embd: 8192, ff: 28672, vocab: 1024, heads: 64, kvHeads: 8));

    // The same shape in Q4_0 (repacked on AVX2), embeddings Q8_0.
    private static readonly Lazy<ModelSummary> BigQ4 = new(() =>
        Dense(40, GgmlType.Q4_0, embd: 8192, ff: 28672, vocab: 1024, heads: 64, kvHeads: 8, embeddingType: GgmlType.Q8_0));

    private static FlashMoeProfile CpuProfile(AutoSwitch mmap, Func<LoadOptions, LoadOptions>? more = null, StorageKind storage = StorageKind.Nvme,
        Objective objective = Objective.Throughput) =>
        // Flash attention, ubatch and cache written out: these tests place limits against one fixed footprint.
        Profile(64, o => (more ?? (x => x))(o with { Mmap = mmap, ContextSize = 2048, FlashAttention = AutoSwitch.On, UBatchSize = 512, KvCache = KvCacheSpec.Default }),
            storage: storage, objective: objective);

    /// <summary>Resolves on a host whose RAM limit is <paramref name="ratio"/> × the file (the cgroup sweep).</summary>
    private static ResolvedProfile AtFileRatio(FlashMoeProfile profile, ModelSummary model, double ratio) =>
        ProfileResolver.Resolve(profile, model, SweepHost(profile, model.FileSizeBytes, ratio));

    /// <summary>Resolves on a host whose usable RAM is <paramref name="ratio"/> × the plan's host footprint.</summary>
    private static ResolvedProfile AtFootprintRatio(FlashMoeProfile profile, ModelSummary model, double ratio)
    {
        var probe = ProfileResolver.Resolve(profile, model, SweepHost(profile, model.FileSizeBytes, 4));
        return ProfileResolver.Resolve(profile, model, SweepHost(profile, probe.Plan.Host.FootprintBytes, ratio));
    }

    private static Advice Single(ResolvedProfile r, string id) => Assert.Single(r.Advice, a => a.Id == id);

    private static void None(ResolvedProfile r, string id) => Assert.DoesNotContain(r.Advice, a => a.Id == id);

    // ---- FM1001 -------------------------------------------------------------------------------

    [Fact]
    public void FM1001_no_mmap_at_1_0x_the_file_will_be_killed()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.Off), BigQ8.Value, 1.0);

        var advice = Single(r, "FM1001");
        Assert.Equal(FlashMoeSeverity.Error, advice.Diagnostic.Severity);
        Assert.Equal("load.mmap", advice.PropertyPath);
        Assert.Contains(Gib(r.Plan.Host.FootprintBytes).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " GiB", advice.Diagnostic.Message);
        Assert.Contains("1.0 ×", advice.Diagnostic.Message);
        Assert.Contains("set load.mmap to true", advice.Diagnostic.Message);
        Assert.Contains("on the 4.9 GB model and ≈", advice.Diagnostic.Message); // the mmap alternative by both measured curves
        Assert.Contains("× slower on the 40 GB model by the measured curves", advice.Diagnostic.Message);
        Assert.True(r.HasErrors);
    }

    [Fact]
    public void FM1001_clean_no_mmap_at_1_02x_the_file_fits()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.Off), BigQ8.Value, 1.02);
        None(r, "FM1001");
        Assert.True(r.Plan.Host.NoMmapFits);
        Assert.False(r.HasErrors);
    }

    // ---- FM1002 -------------------------------------------------------------------------------

    [Fact]
    public void FM1002_mmap_on_with_repacked_weights_where_no_mmap_fits()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.On), BigQ4.Value, 1.5);

        var advice = Single(r, "FM1002");
        Assert.Contains("repacked", advice.Diagnostic.Message);
        Assert.Contains("Q4_0", advice.Diagnostic.Message);
        Assert.Equal("load.mmap", advice.PropertyPath);
    }

    [Fact]
    public void FM1002_mmap_on_with_the_model_on_hdd()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.On, storage: StorageKind.Hdd), BigQ8.Value, 1.5);
        Assert.Contains("hdd", Single(r, "FM1002").Diagnostic.Message);
    }

    [Fact]
    public void FM1002_clean_mmap_on_for_a_fitting_unrepacked_model_on_nvme()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.On), BigQ8.Value, 1.5);
        Assert.Empty(r.Advice);
    }

    // ---- FM1003 -------------------------------------------------------------------------------

    [Fact]
    public void FM1003_mmap_below_0_95x_gives_the_measured_slowdown()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.On), BigQ8.Value, 0.85);

        var advice = Single(r, "FM1003");
        var loss = AdviceRules.SlowdownFraction(r.Plan.Host.FootprintRatio);
        Assert.InRange(loss, 0.73, 0.91);
        Assert.Contains($"≈ {loss * 100:F0} %", advice.Diagnostic.Message);
        Assert.Contains("nvme", advice.Diagnostic.Message); // storage known: the re-read
        Assert.Contains("Q2_K", advice.Diagnostic.Message); // a quantization that fits
        Assert.DoesNotContain("Q8_0 (", advice.Diagnostic.Message);
    }

    // The 40 GB model ran at full speed only at ≥ 1.0 × and ≈ 7 × slower at 0.95 × (docs/evidence.md#ram-limit-sweep-at-scale): FM1003 ("even with mmap the
    // host share exceeds usable RAM") fires for every ratio below 1.0.
    [Theory]
    [InlineData(1.0, false)]
    [InlineData(0.99, true)]
    [InlineData(0.96, true)]
    public void FM1003_boundary_is_1_0x_the_footprint(double ratio, bool expected)
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ8.Value, ratio);
        Assert.Equal(expected, r.Advice.Any(a => a.Id == "FM1003"));
    }

    [Fact]
    public void FM1003_between_0_95x_and_1_0x_gives_both_measured_curves()
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ8.Value, 0.97);

        var message = Single(r, "FM1003").Diagnostic.Message;
        var ratio = r.Plan.Host.FootprintRatio;
        var times = 1 / (1 - AdviceRules.LargeModelSlowdownFraction(ratio));
        Assert.InRange(times, 1.5, 7);                 // between full speed (1.0 ×) and ≈ 7 × slower (0.95 ×)
        Assert.Contains("no loss by the 4.9 GB model's curve (no loss down to 0.95 ×, −60 % at 0.9 ×, −73 % at 0.85 ×, −91 % at 0.7 ×)", message);
        Assert.Contains($"≈ {times.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} × slower by the 40 GB model's (full speed at 1.0 ×, ≈ 7 × slower at 0.95 ×, ≈ 13 × at 0.75 ×)", message);
    }

    [Fact]
    public void FM1003_repacked_weights_below_1_0x_livelock_or_are_killed()
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ4.Value, 0.97);
        Assert.Contains("livelock", Single(r, "FM1003").Diagnostic.Message);
        None(r, "FM1008");
    }

    [Fact]
    public void Large_model_curve_matches_the_measured_points()
    {
        static double Times(double ratio) => 1 / (1 - AdviceRules.LargeModelSlowdownFraction(ratio));
        Assert.Equal(1, Times(1.2), 6);
        Assert.Equal(1, Times(1.0), 6);
        Assert.Equal(38.5 / 5.6, Times(0.95), 6);  // ≈ 7 × (docs/evidence.md#ram-limit-sweep-at-scale)
        Assert.Equal(38.5 / 3.9, Times(0.80), 6);
        Assert.Equal(38.5 / 2.9, Times(0.75), 6);  // ≈ 13 × (docs/evidence.md#ram-limit-sweep-at-scale)
        Assert.Equal(38.5 / 2.9, Times(0.50), 6);  // below the last point: at least that slow
    }

    [Fact]
    public void Slowdown_curves_are_read_only()
    {
        Assert.False(EvidenceThresholds.MmapSlowdownCurve is (double, double)[]);
        Assert.Throws<NotSupportedException>(() => ((System.Collections.Generic.IList<(double, double)>)EvidenceThresholds.MmapSlowdownCurve)[0] = (2, 0));
        Assert.Throws<NotSupportedException>(() => ((System.Collections.Generic.IList<(double, double)>)EvidenceThresholds.MmapLargeModelSlowdownCurve)[0] = (2, 0));
    }

    [Fact]
    public void SlowdownCurve_matches_the_measured_points()
    {
        Assert.Equal(0, AdviceRules.SlowdownFraction(1.2));
        Assert.Equal(0, AdviceRules.SlowdownFraction(0.95));
        Assert.Equal(0.60, AdviceRules.SlowdownFraction(0.90), 6);
        Assert.Equal(0.73, AdviceRules.SlowdownFraction(0.85), 6);
        Assert.Equal(0.91, AdviceRules.SlowdownFraction(0.70), 6);
        Assert.Equal(0.91, AdviceRules.SlowdownFraction(0.30), 6);
        Assert.Equal(0.30, AdviceRules.SlowdownFraction(0.925), 6);
    }

    // ---- FM1004 -------------------------------------------------------------------------------

    private static readonly Lazy<ModelSummary> Mid = new(() =>
        Dense(16, GgmlType.Q8_0, embd: 4096, ff: 11008, vocab: 32000, heads: 32, kvHeads: 8));

    [Fact]
    public void FM1004_all_layers_on_a_too_small_gpu()
    {
        var profile = Profile(64, o => o with { GpuLayers = GpuLayers.All, ContextSize = 2048 }, gpus: new[] { Gpu("Arc A380", 3) });
        var r = ProfileResolver.Resolve(profile, Mid.Value);

        var advice = Single(r, "FM1004");
        Assert.Equal(FlashMoeSeverity.Error, advice.Diagnostic.Severity);
        Assert.Equal("load.gpuLayers", advice.PropertyPath);
        var fit = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 2048 }, gpus: new[] { Gpu("Arc A380", 3) }), Mid.Value).Options.GpuLayerCount;
        Assert.InRange(fit, 1, 16);
        Assert.Contains($"The largest gpuLayers that fits is {fit} as configured.", advice.Diagnostic.Message); // dense: no experts alternative
        Assert.Contains("Arc A380 (3.0 GiB)", advice.Diagnostic.Message);
    }

    [Fact]
    public void FM1004_for_a_moe_also_says_how_many_layers_fit_with_experts_on_cpu()
    {
        var model = Moe(8, 64, 8, GgmlType.Q4_0, GgmlType.Q8_0, embd: 1024, expertFf: 1024, vocab: 4096, heads: 8, kvHeads: 8);
        var gpus = new[] { Gpu("small", 1.5) };
        var r = ProfileResolver.Resolve(Profile(64, o => o with { GpuLayers = GpuLayers.All, ContextSize = 1024 }, gpus: gpus), model);

        var advice = Single(r, "FM1004");
        var withExperts = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 1024, ExpertsOnCpu = ExpertsOnCpu.All }, gpus: gpus), model).Options.GpuLayerCount;
        var asConfigured = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 1024 }, gpus: gpus), model).Options.GpuLayerCount;
        Assert.True(withExperts > asConfigured);
        Assert.Contains($"is {asConfigured} as configured, {withExperts} with expertsOnCpu true.", advice.Diagnostic.Message);
    }

    [Fact]
    public void FM1004_clean_auto_picks_the_most_layers_that_fit()
    {
        var gpus = new[] { Gpu("Arc A380", 3) };
        var r = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 2048 }, gpus: gpus), Mid.Value);
        None(r, "FM1004");
        var n = r.Options.GpuLayerCount;
        Assert.True(r.Plan.Devices[1].Fits);
        var oneMore = ProfileResolver.Resolve(Profile(64, o => o with { ContextSize = 2048, GpuLayers = GpuLayers.Of(n + 1) }, gpus: gpus), Mid.Value);
        Assert.Contains(oneMore.Advice, a => a.Id == "FM1004");
        Assert.Equal("gpu-layers.most-that-fit", r.DecisionFor("load.gpuLayers")!.RuleId);
    }

    // ---- FM1005 -------------------------------------------------------------------------------

    [Fact]
    public void FM1005_mlock_that_cannot_hold()
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On, o => o with { Mlock = true }), BigQ8.Value, 0.9);
        var advice = Single(r, "FM1005");
        Assert.Contains("cannot hold", advice.Diagnostic.Message);
        Assert.Equal("load.mlock", advice.PropertyPath);
    }

    [Fact]
    public void FM1005_mlock_on_repacked_weights_does_nothing_for_them()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.Off, o => o with { Mlock = true }), BigQ4.Value, 1.5);
        Assert.Contains("never locked", Single(r, "FM1005").Diagnostic.Message);
    }

    [Fact]
    public void FM1005_mlock_with_everything_on_the_gpu_does_nothing()
    {
        var profile = Profile(64, o => o with { Mlock = true, GpuLayers = GpuLayers.All, Mmap = AutoSwitch.Off }, gpus: new[] { Gpu("A770", 16) });
        var model = Dense(4, GgmlType.Q8_0, tiedOutput: false);
        // Only the token embedding stays on the host; remove it from the picture with an override to the GPU.
        var r = ProfileResolver.Resolve(profile with { Load = profile.Load with { TensorOverrides = new[] { new TensorOverride("token_embd", "Vulkan0") }.ToEquatableArray() } }, model);
        Assert.Contains("does nothing", Single(r, "FM1005").Diagnostic.Message);
    }

    [Fact]
    public void FM1005_clean_mlock_on_a_fitting_unrepacked_model()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.Off, o => o with { Mlock = true }), BigQ8.Value, 1.5);
        None(r, "FM1005");
        Assert.Equal(r.Plan.Host.CpuWeightBytes, r.Plan.Host.LockedBytes);
    }

    // ---- FM1006 -------------------------------------------------------------------------------

    [Fact]
    public void FM1006_gpu_declared_but_gpu_layers_is_zero()
    {
        var r = ProfileResolver.Resolve(Profile(64, o => o with { GpuLayers = GpuLayers.Of(0) }, gpus: new[] { Gpu("A770", 16) }), Dense(4, GgmlType.Q8_0));
        var advice = Single(r, "FM1006");
        Assert.Contains("5 of 5 layers would fit", advice.Diagnostic.Message);
        Assert.Equal("load.gpuLayers", advice.PropertyPath);
    }

    [Fact]
    public void FM1006_gpu_layers_without_a_gpu()
    {
        var r = ProfileResolver.Resolve(Profile(64, o => o with { GpuLayers = GpuLayers.Of(10) }), Dense(4, GgmlType.Q8_0));
        Assert.Contains("no GPU is declared", Single(r, "FM1006").Diagnostic.Message);
    }

    [Fact]
    public void FM1006_clean_auto_with_and_without_gpu()
    {
        None(ProfileResolver.Resolve(Profile(64, gpus: new[] { Gpu("A770", 16) }), Dense(4, GgmlType.Q8_0)), "FM1006");
        None(ProfileResolver.Resolve(Profile(64), Dense(4, GgmlType.Q8_0)), "FM1006");
    }

    // ---- FM1007 -------------------------------------------------------------------------------

    [Fact]
    public void FM1007_declared_facts_say_what_was_assumed()
    {
        var spec = new ModelSpec("models/r1.gguf", 121.0, BlockCount: 61, ExpertCount: 256);
        var r = ProfileResolver.Resolve(Profile(128, model: spec), DeclaredModel.FromSpec(spec));

        var advice = Single(r, "FM1007");
        Assert.Equal(FlashMoeSeverity.Info, advice.Diagnostic.Severity);
        Assert.Equal("model.path", advice.PropertyPath);
        Assert.Contains("models/r1.gguf", advice.Diagnostic.Message);
        Assert.Contains("121.0 GiB, 61 layers, MoE 8/256 experts", advice.Diagnostic.Message);
        Assert.Contains("8 experts used per token", advice.Diagnostic.Message);
        Assert.Contains("Q4_K weights", advice.Diagnostic.Message);
        Assert.DoesNotContain("61 layers;", advice.Diagnostic.Message.Split(new[] { "Assumed:" }, StringSplitOptions.None)[1]);
    }

    [Fact]
    public void FM1007_clean_for_a_model_read_from_its_header()
    {
        None(ProfileResolver.Resolve(Profile(64), Dense(4, GgmlType.Q8_0)), "FM1007");
    }

    // ---- FM1008 -------------------------------------------------------------------------------

    [Fact]
    public void FM1008_mmap_with_repacked_weights_in_the_thrash_zone()
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ4.Value, 1.05);

        var advice = Single(r, "FM1008");
        Assert.Contains("1.4 vs 24 tok/s", advice.Diagnostic.Message);
        Assert.Contains("1.15 ×", advice.Diagnostic.Message);
        Assert.Contains("set load.mmap to false", advice.Diagnostic.Message);
        None(r, "FM1002"); // the repack reason is FM1008's here
        None(r, "FM1003");
    }

    [Theory]
    [InlineData(0.99, false)] // livelock zone: FM1003
    [InlineData(1.00, true)]
    [InlineData(1.14, true)]
    [InlineData(1.16, false)]
    public void FM1008_thrash_zone_is_1_0_to_1_15x(double ratio, bool expected)
    {
        var r = AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ4.Value, ratio);
        Assert.Equal(expected, r.Advice.Any(a => a.Id == "FM1008"));
    }

    [Fact]
    public void FM1008_clean_without_repack()
    {
        None(AtFootprintRatio(CpuProfile(AutoSwitch.On), BigQ8.Value, 1.05), "FM1008");
    }

    // ---- FM1009 -------------------------------------------------------------------------------

    [Fact]
    public void FM1009_quantized_v_cache_without_flash_attention()
    {
        var profile = Profile(64, o => o with { FlashAttention = AutoSwitch.Off, KvCache = new KvCacheSpec(KvCacheType.Q8_0, KvCacheType.Q8_0) });
        var advice = Single(ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0)), "FM1009");
        Assert.Contains("q8_0", advice.Diagnostic.Message);
        Assert.Equal("load.flashAttention", advice.PropertyPath);
    }

    [Fact]
    public void FM1009_clean_with_flash_attention_auto()
    {
        var profile = Profile(64, o => o with { KvCache = new KvCacheSpec(KvCacheType.Q8_0, KvCacheType.Q8_0) });
        None(ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0)), "FM1009");
    }

    // ---- FM1010 -------------------------------------------------------------------------------

    [Fact]
    public void FM1010_override_to_an_undeclared_gpu_is_ignored()
    {
        var profile = Profile(64, o => o with { TensorOverrides = new[] { new TensorOverride("ffn_up", "CPU"), new TensorOverride("ffn_down", "Vulkan0") }.ToEquatableArray() });
        var advice = Single(ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0)), "FM1010");
        Assert.Equal("load.tensorOverrides[1]", advice.PropertyPath);
        Assert.Contains("'Vulkan0' does not exist", advice.Diagnostic.Message);
    }

    // An override to CPU_REPACK is FM0012 of the profile check at the same token; the plan still ignores it (places
    // those tensors by their layer, as LLamaSharp drops it) but FM1010 does not report it a second time.
    [Fact]
    public void FM1010_is_not_raised_for_cpu_repack_which_FM0012_reports()
    {
        var profile = Profile(64, o => o with { TensorOverrides = new[] { new TensorOverride("ffn_up", "CPU"), new TensorOverride("ffn_down", "cpu_repack") }.ToEquatableArray() });
        var r = ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0));
        None(r, "FM1010");
        var ignored = Assert.Single(r.Plan.IgnoredOverrides);
        Assert.Equal(1, ignored.Index);
        Assert.Null(r.Plan.Tensors.Single(t => t.Name == "blk.0.ffn_down.weight").OverridePattern);
    }

    [Fact]
    public void A_cpu_repack_override_in_a_profile_file_is_reported_once()
    {
        const string json = """
            { "profiles": { "P": { "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 2 },
              "load": { "tensorOverrides": [ { "pattern": "ffn_down", "device": "CPU_REPACK" } ] } } } }
            """;
        var document = ProfileParser.Parse("/p/flashmoe.json", json);
        var parsed = Assert.Single(document.Profiles);
        var resolved = ProfileResolver.Resolve(parsed.Profile, Dense(4, GgmlType.Q8_0));

        var reports = document.Diagnostics.Select(d => d.Id).Concat(resolved.Advice.Select(a => a.Id)).ToList();
        Assert.Equal(new[] { "FM0012" }, reports.Where(id => id is "FM0012" or "FM1010"));
    }

    [Theory]
    [InlineData("CPU_REPACK", true)]
    [InlineData("cpu_repack", true)]
    [InlineData("CPU", false)]
    [InlineData("Vulkan0", false)]
    [InlineData(null, false)]
    public void The_cpu_repack_test_is_one_predicate(string? device, bool dropped) =>
        Assert.Equal(dropped, LlamaPlacement.IsDroppedByLlamaSharp(device));

    [Fact]
    public void FM1010_clean_for_valid_overrides()
    {
        var profile = Profile(64, o => o with { TensorOverrides = new[] { new TensorOverride("ffn_up", "CPU") }.ToEquatableArray() });
        None(ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0)), "FM1010");
    }

    // ---- catalogue ------------------------------------------------------------------------------

    [Fact]
    public void Every_advice_descriptor_is_in_the_catalogue_with_category_advice()
    {
        var ids = DiagnosticCatalog.All.Where(d => d.Category == "Advice").Select(d => d.Id).ToArray();
        Assert.Equal(new[] { "FM1001", "FM1002", "FM1003", "FM1004", "FM1005", "FM1006", "FM1007", "FM1008", "FM1009", "FM1010" }, ids);
    }

    [Fact]
    public void Advice_is_located_at_its_property_in_the_json()
    {
        var r = AtFileRatio(CpuProfile(AutoSwitch.Off), BigQ8.Value, 1.0);
        var mmapToken = new SourceLocation("flashmoe.json", 7, 17, 7, 22, 120, 5);
        var profileToken = new SourceLocation("flashmoe.json", 2, 3, 2, 9, 4, 6);
        var locations = new ProfileLocations(profileToken, new[]
        {
            new System.Collections.Generic.KeyValuePair<string, SourceLocation>("load.mmap", mmapToken),
        }.ToEquatableArray());

        var diagnostic = Assert.Single(r.Diagnostics(locations), d => d.Id == "FM1001");
        Assert.Equal(mmapToken, diagnostic.Location);
        Assert.StartsWith("flashmoe.json(7,17): error FM1001:", diagnostic.ToString());
    }
}
