using System;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>Profile selection: every rejection reason, each step of the documented order of preference, and the reasons given.</summary>
public sealed class ProfileSelectorTests
{
    private static readonly ModelSummary Model = Moe(8, 8, 2, GgmlType.Q8_0, GgmlType.Q8_0, embd: 1024, expertFf: 2048, vocab: 32000);
    private static readonly ModelSummary RepackedModel = Moe(8, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0, embd: 1024, expertFf: 2048, vocab: 32000);

    /// <summary>A detected 24 GiB, 2-core AVX2 host without GPUs (like this project's CI machine).</summary>
    private static HostFacts Host(int gpus = 0, long? limitBytes = null, bool avx512 = false) => new()
    {
        TotalRamBytes = 24 * Units.GiB,
        ReserveBytes = 0,
        MemoryLimitBytes = limitBytes,
        PhysicalCores = 2,
        LogicalCores = 2,
        Avx2 = true,
        Avx512 = avx512,
        IsDetected = true,
        GpuDeviceCount = gpus,
    };

    private static FlashMoeProfile Named(string name, double ramGiB, Func<LoadOptions, LoadOptions>? load = null, GpuSpec[]? gpus = null,
        ModelSpec? model = null, bool? avx512 = null, int physical = 2)
    {
        var p = Profile(ramGiB, load, gpus, physical: physical, logical: physical, model: model);
        return p with { Name = name, Hardware = p.Hardware with { Cpu = p.Hardware.Cpu with { Avx512 = avx512 } } };
    }

    [Fact]
    public void One_fitting_profile_is_chosen_with_its_resolution()
    {
        var only = Named("Only", 24);
        var selection = new[] { only }.SelectFor(Host(), Model);

        Assert.Same(only, selection.Profile);
        Assert.NotNull(selection.Selected);
        Assert.Equal(ProfileResolver.Resolve(only, Model, Host()).Options, selection.Selected!.Options);
        Assert.Single(selection.Candidates);
        Assert.Contains("fits", selection.Candidates[0].Reason);
        Assert.Empty(selection.Others);
    }

    [Fact]
    public void Model_missing_is_rejected()
    {
        var selection = new[] { Named("NoFile", 24) }.SelectFor(Host(), _ => null);

        Assert.Null(selection.Selected);
        AssertRejected(selection, "NoFile", "select.model-missing", "model.gguf");
    }

    [Fact]
    public void Model_mismatch_is_rejected_and_a_matching_declaration_is_not()
    {
        var other = Named("OtherModel", 24, model: new ModelSpec("m.gguf", null, BlockCount: 61, ExpertCount: 256));
        var same = Named("SameModel", 16, model: new ModelSpec("m.gguf", Gib(Model.FileSizeBytes), BlockCount: 8, ExpertCount: 8, ExpertUsedCount: 2));
        var selection = new[] { other, same }.SelectFor(Host(), Model);

        Assert.Same(same, selection.Profile);
        AssertRejected(selection, "OtherModel", "select.model-mismatch", "61 layers declared, 8 in the file");
    }

    [Fact]
    public void Declared_size_far_from_the_file_is_a_mismatch()
    {
        var big = Named("Big", 24, model: new ModelSpec("m.gguf", Gib(Model.FileSizeBytes) * 2));
        AssertRejected(new[] { big }.SelectFor(Host(), Model), "Big", "select.model-mismatch", "GiB declared");
    }

    [Fact]
    public void Gpu_profile_is_rejected_when_the_host_has_fewer_gpus()
    {
        var gpu = Named("Gpu", 24, gpus: new[] { Gpu("Arc A770", 16) });
        var cpu = Named("Cpu", 24);
        var selection = new[] { gpu, cpu }.SelectFor(Host(gpus: 0), Model);

        Assert.Same(cpu, selection.Profile);
        AssertRejected(selection, "Gpu", "select.gpu-missing", "Arc A770");
    }

    [Fact]
    public void Missing_cpu_feature_is_rejected()
    {
        var avx512 = Named("Avx512", 24, avx512: true);
        AssertRejected(new[] { avx512 }.SelectFor(Host(avx512: false), Model), "Avx512", "select.cpu-feature-missing", "AVX-512");
        Assert.NotNull(new[] { avx512 }.SelectFor(Host(avx512: true), Model).Selected);
    }

    [Fact]
    public void Profile_whose_load_the_plan_says_fails_is_rejected()
    {
        // no-mmap forced with a limit below the footprint: FM1001 (error) — the load would be killed.
        var noMmap = Named("NoMmap", 24, load: o => o with { Mmap = AutoSwitch.Off });
        var limit = (long)(Model.FileSizeBytes * 0.9);
        var selection = new[] { noMmap }.SelectFor(Host(limitBytes: limit), Model);

        Assert.Null(selection.Selected);
        AssertRejected(selection, "NoMmap", "select.load-fails", "FM1001");
    }

    [Fact]
    public void Repacked_profile_that_does_not_fit_even_with_mmap_is_rejected()
    {
        var auto = Named("Auto", 24);
        var selection = new[] { auto }.SelectFor(Host(limitBytes: RepackedModel.FileSizeBytes / 2), RepackedModel);

        Assert.Null(selection.Selected);
        AssertRejected(selection, "Auto", "select.does-not-fit", "FM1003");
    }

    [Fact]
    public void Without_repacked_weights_mmap_short_of_ram_is_a_warning_not_a_rejection()
    {
        // mmap below 1.0 × slows down but runs (measured down to 0.8 ×): the profile stays eligible, ranked by its warning.
        var auto = Named("Auto", 24);
        var selection = new[] { auto }.SelectFor(Host(limitBytes: Model.FileSizeBytes / 2), Model);

        Assert.Same(auto, selection.Profile);
        Assert.Contains(selection.Selected!.Advice, a => a.Id == "FM1003");
        Assert.Contains("1 plan warning(s)", selection.Candidates[0].Reason);
    }

    [Fact]
    public void Preference_1_no_plan_warning_beats_more_declared_ram()
    {
        // mmap forced on for a repacked model raises FM1002 (a warning); the auto profile resolves clean.
        var warned = Named("Warned", 24, load: o => o with { Mmap = AutoSwitch.On });
        var clean = Named("Clean", 8);
        var selection = new[] { warned, clean }.SelectFor(Host(), RepackedModel);

        Assert.Contains(selection.Candidates.Single(c => c.Profile.Name == "Warned").Resolved!.Advice, a => a.Id.StartsWith("FM1", StringComparison.Ordinal));
        Assert.Same(clean, selection.Profile);
        AssertRanked(selection, "Warned", "raises FM100");
    }

    [Fact]
    public void Preference_2_hardware_the_host_has_beats_a_profile_that_claims_more()
    {
        var claims = Named("Claims64", 64);
        var fits = Named("Fits16", 16);
        var selection = new[] { claims, fits }.SelectFor(Host(), Model);

        Assert.Same(fits, selection.Profile);
        AssertRanked(selection, "Claims64", "64 GiB RAM declared");

        var moreCores = Named("EightCores", 16, physical: 8);
        Assert.Same(fits, new[] { moreCores, fits }.SelectFor(Host(), Model).Profile);
    }

    [Fact]
    public void Preference_3_a_profile_that_uses_a_present_gpu_beats_cpu_only()
    {
        var gpu = Named("Gpu", 16, gpus: new[] { Gpu("Arc A770", 16) });
        var cpu = Named("Cpu", 24);
        var selection = new[] { cpu, gpu }.SelectFor(Host(gpus: 1), Model);

        Assert.Same(gpu, selection.Profile);
        AssertRanked(selection, "Cpu", "uses 0 GPU(s)");
    }

    [Fact]
    public void Preference_4_the_largest_declared_ram_the_host_still_has_wins()
    {
        var small = Named("Small8", 8);
        var close = Named("Close24", 24);
        var mid = Named("Mid16", 16);
        var selection = new[] { small, close, mid }.SelectFor(Host(), Model);

        Assert.Same(close, selection.Profile);
        Assert.Equal(new[] { "Close24", "Mid16", "Small8" }, selection.Candidates.Select(c => c.Profile.Name));
        AssertRanked(selection, "Small8", "declared for 8 GiB RAM");
    }

    [Fact]
    public void Preference_5_the_larger_context_wins_on_equal_hardware()
    {
        var shortContext = Named("Ctx2k", 24, load: o => o with { ContextSize = 2048 });
        var longContext = Named("Ctx8k", 24, load: o => o with { ContextSize = 8192 });
        var selection = new[] { shortContext, longContext }.SelectFor(Host(), Model);

        Assert.Same(longContext, selection.Profile);
        AssertRanked(selection, "Ctx2k", "context is 2048 tokens");
    }

    [Fact]
    public void Preference_6_declaration_order_breaks_a_tie()
    {
        var first = Named("First", 24);
        var second = Named("Second", 24);

        Assert.Same(first, new[] { first, second }.SelectFor(Host(), Model).Profile);
        Assert.Same(second, new[] { second, first }.SelectFor(Host(), Model).Profile);
        AssertRanked(new[] { first, second }.SelectFor(Host(), Model), "Second", "declared later");
    }

    [Fact]
    public void Candidates_list_chosen_then_eligible_then_rejected_and_describe_each()
    {
        var rejected = Named("Rejected", 24, gpus: new[] { Gpu("GPU", 8) });
        var lower = Named("Lower", 8);
        var chosen = Named("Chosen", 24);
        var selection = new[] { rejected, lower, chosen }.SelectFor(Host(), Model);

        Assert.Equal(new[] { "Chosen", "Lower", "Rejected" }, selection.Candidates.Select(c => c.Profile.Name));
        Assert.Equal(new[] { true, true, false }, selection.Candidates.Select(c => c.IsEligible));
        var text = selection.Describe();
        Assert.Contains("chosen   Chosen:", text);
        Assert.Contains("eligible Lower:", text);
        Assert.Contains("rejected Rejected: select.gpu-missing", text);
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        Assert.Throws<ArgumentNullException>(() => ((FlashMoeProfile[])null!).SelectFor(Host(), Model));
        Assert.Throws<ArgumentNullException>(() => new[] { Named("A", 1) }.SelectFor(null!, Model));
        Assert.Throws<ArgumentException>(() => new FlashMoeProfile[] { null! }.SelectFor(Host(), Model));
        Assert.Null(Array.Empty<FlashMoeProfile>().SelectFor(Host(), Model).Selected);
    }

    private static void AssertRejected(ProfileSelection selection, string name, string ruleId, string reasonPart)
    {
        var candidate = selection.Candidates.Single(c => c.Profile.Name == name);
        Assert.False(candidate.IsEligible);
        Assert.Equal(ruleId, candidate.Rejection!.RuleId);
        Assert.Contains(reasonPart, candidate.Reason);
    }

    private static void AssertRanked(ProfileSelection selection, string name, string reasonPart)
    {
        var candidate = selection.Candidates.Single(c => c.Profile.Name == name);
        Assert.True(candidate.IsEligible);
        Assert.NotSame(candidate.Profile, selection.Profile);
        Assert.Contains("ranked below", candidate.Reason);
        Assert.Contains(reasonPart, candidate.Reason);
    }
}
