using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Tests.Fixtures;
using FlashMoe.Runtime.Tests.Native;
using LLama;
using LLama.Common;
using LLama.Sampling;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests;

/// <summary>
/// The whole runtime path on the CPU backend: a profile with <c>auto</c> values is resolved on the detected host,
/// the tiny synthetic MoE model loads with exactly those options, generates, and llama.cpp's logged buffers match
/// the plan within the planner's tolerance (±3 % or 64 MiB per buffer).
/// </summary>
[Collection(NativeCollection.Name)]
public class EndToEndTests : IClassFixture<SyntheticModels>
{
    // llama.cpp prints MiB with two decimals: a figure it logs is exact to ±0.005 MiB.
    private const long PrintedRounding = (long)(0.005 * Units.MiB) + 1;
    private readonly SyntheticModels _models;

    public EndToEndTests(SyntheticModels models) => _models = models;

    private static FlashMoeProfile SmallCpuBox(string modelPath) => new(
        "SmallCpuBox",
        new HardwareSpec(24, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
        new ModelSpec(modelPath, null),
        LoadOptions.Default with { ContextSize = 512, BatchSize = 512, UBatchSize = 128 });

    private static async Task<string> GenerateAsync(LoadedModel model, int tokens)
    {
        using var context = model.CreateContext();
        var executor = new InteractiveExecutor(context);
        var text = new List<string>();
        var inference = new InferenceParams { MaxTokens = tokens, SamplingPipeline = new GreedySamplingPipeline() };
        await foreach (var piece in executor.InferAsync("The quick brown fox", inference)) text.Add(piece);
        Assert.NotEmpty(text);
        return string.Concat(text);
    }

    [Fact]
    public async Task Tiny_moe_resolves_on_this_host_loads_generates_and_matches_the_plan()
    {
        var host = HostInfo.Detect(_models.Mixed);
        var resolved = SmallCpuBox(_models.Mixed).Resolve(host);
        var logger = new ListLogger();

        using var model = await FlashMoeModel.LoadAsync(_models.Mixed, resolved, logger: logger);
        Assert.Same(resolved, model.Resolved);
        Assert.Equal(FlashMoe.Runtime.ResolvedLoadOptionsExtensions.ToLoadMode(resolved.Options.UseMmap, false), model.Parameters.LoadMode);
        Assert.Equal(resolved.Options.Threads, model.Parameters.Threads);

        // Before a context only the weights are known.
        var beforeContext = model.CompareWithPlan()!;
        Assert.All(beforeContext.Rows.Where(r => r.Kind is BufferKind.KvCache or BufferKind.Compute or BufferKind.Output), r => Assert.Null(r.ActualBytes));

        using (var context = model.CreateContext())
        {
            var executor = new InteractiveExecutor(context);
            var pieces = new List<string>();
            var inference = new InferenceParams { MaxTokens = 8, SamplingPipeline = new GreedySamplingPipeline() };
            await foreach (var piece in executor.InferAsync("The quick brown fox", inference)) pieces.Add(piece);
            Assert.NotEmpty(pieces);
        }

        var comparison = model.CompareWithPlan()!;
        Assert.True(comparison.AllWithinTolerance, comparison.Describe());
        foreach (var kind in new[] { BufferKind.Weights, BufferKind.KvCache, BufferKind.Compute })
        {
            var row = comparison.Find(DeviceRef.Cpu, kind);
            Assert.True(row is { ActualBytes: > 0 }, $"no actual {kind} buffer:\n{comparison.Describe()}");
        }
        // The logits buffer of a ≈ 400-token vocab is 1.6 KB: llama.cpp logs it as 0.00 MiB, but it is logged.
        Assert.NotNull(comparison.Find(DeviceRef.Cpu, BufferKind.Output)?.ActualBytes);
        // Weights and KV are exact accounting, not estimates: they match to llama.cpp's printed rounding.
        Assert.InRange(comparison.Find(DeviceRef.Cpu, BufferKind.Weights)!.ErrorBytes!.Value, -PrintedRounding, PrintedRounding);
        Assert.InRange(comparison.Find(DeviceRef.Cpu, BufferKind.KvCache)!.ErrorBytes!.Value, -PrintedRounding, PrintedRounding);
        if (resolved.Plan.Host.RepackedBytes > 0)
        {
            Assert.False(resolved.Options.UseMmap); // Q4_0 experts repacked on this CPU → no-mmap
            Assert.InRange(comparison.Find(DeviceRef.Cpu, BufferKind.Repacked)!.ErrorBytes!.Value, -PrintedRounding, PrintedRounding);
        }

        var report = model.DescribePlan(host);
        Assert.Contains("Buffers: estimated vs actual (llama.cpp log)", report);
        Assert.Contains("KV cache", report);
        Assert.DoesNotContain(" NO\n", report);
    }

    [Fact]
    public async Task Mapped_q8_0_model_compares_the_mapped_file_range()
    {
        var resolved = SmallCpuBox(_models.Q8).Resolve(HostInfo.Detect(_models.Q8));
        Assert.True(resolved.Options.UseMmap); // nothing repacked, fits: mmap

        using var model = await FlashMoeModel.LoadAsync(_models.Q8, resolved);
        await GenerateAsync(model, 4);

        var comparison = model.CompareWithPlan()!;
        Assert.True(comparison.WeightsAreMappedRange);
        var weights = comparison.Find(DeviceRef.Cpu, BufferKind.Weights)!;
        Assert.Equal(SyntheticModels.MappedBytes(_models.Q8Layout), weights.PlannedBytes);
        Assert.InRange(weights.ErrorBytes!.Value, -PrintedRounding, PrintedRounding);
        Assert.True(comparison.AllWithinTolerance, comparison.Describe());
    }

    [Fact]
    public async Task Advice_is_logged_with_its_fm_id_and_nothing_else_is_needed_to_see_it()
    {
        // mlock on a host without the lock capability and a tiny limit: FM2003 must reach the logger as event 2003.
        var host = HostInfo.Detect(_models.Q8) with { LockedMemoryLimitBytes = 64 * 1024, HasLockCapability = false };
        var profile = SmallCpuBox(_models.Q8) with { Load = SmallCpuBox(_models.Q8).Load with { Mlock = true } };
        var resolved = profile.Resolve(host);
        Assert.Contains(resolved.Advice, a => a.Id == "FM2003");
        var logger = new ListLogger();

        using var model = await FlashMoeModel.LoadAsync(_models.Q8, resolved, logger: logger);

        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Event.Id == 2003 && e.Message.StartsWith("FM2003: ", StringComparison.Ordinal));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("[mmap.fits-fast-load]"));
    }

    [Fact]
    public async Task A_corrupt_model_fails_with_llama_cpps_reason_and_the_plans_advice()
    {
        // Declared facts (the header is not read): FM1007 travels with the failure.
        var profile = SmallCpuBox(_models.Truncated) with { Model = new ModelSpec(null, 0.01) };
        var resolved = profile.Resolve(HostInfo.Detect());
        Assert.Contains(resolved.Advice, a => a.Id == "FM1007");

        var error = await Assert.ThrowsAsync<FlashMoeLoadException>(() => FlashMoeModel.LoadAsync(_models.Truncated, resolved));

        Assert.Matches(@"^tensor '[^']+' data is not within the file bounds, model is corrupted or incomplete$", error.Reason);
        Assert.Contains(error.Advice, a => a.Id == "FM1007");
    }

    [Fact]
    public void Comparison_without_llama_cpp_figures_judges_nothing()
    {
        var resolved = SmallCpuBox(_models.Q8).Resolve(HostInfo.Detect(_models.Q8));
        var empty = BufferComparison.Compare(resolved, FlashMoe.Runtime.Native.LlamaBufferReport.Empty);
        Assert.All(empty.Rows, r => Assert.Null(r.ActualBytes));
        Assert.All(empty.Rows, r => Assert.Null(r.WithinTolerance));
        Assert.True(empty.AllWithinTolerance);
    }
}
