using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>
/// The resolver finds the largest fitting n_gpu_layers by bisection; this holds it against the plain top-down scan
/// over a grid of models, GPU sets, context sizes and expert placements, so a planner change that breaks the
/// "more layers never use less VRAM" premise fails here.
/// </summary>
public class PlanningGpuLayerSearchTests
{
    public static TheoryData<string> Models() => new() { "dense-32", "moe-24", "seed" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Bisection_finds_what_the_scan_finds(string modelName)
    {
        var model = modelName switch
        {
            "dense-32" => PlanningTestModels.Dense(32, GgmlType.Q4_0, embd: 4096, ff: 11008, vocab: 32000, heads: 32, kvHeads: 8),
            "moe-24" => PlanningTestModels.Moe(24, 64, 8, GgmlType.Q4_0, GgmlType.Q8_0, embd: 2048, expertFf: 1408, vocab: 32000, heads: 16, kvHeads: 4),
            _ => PlanningTestModels.SeedDeepSeekR1(),
        };
        var gpuSets = new[]
        {
            new[] { PlanningTestModels.Gpu("a", 0.5) },
            new[] { PlanningTestModels.Gpu("a", 2) },
            new[] { PlanningTestModels.Gpu("a", 6) },
            new[] { PlanningTestModels.Gpu("a", 12) },
            new[] { PlanningTestModels.Gpu("a", 16) },
            new[] { PlanningTestModels.Gpu("a", 48) },
            new[] { PlanningTestModels.Gpu("a", 8), PlanningTestModels.Gpu("b", 8) },
            new[] { PlanningTestModels.Gpu("a", 24, 3), PlanningTestModels.Gpu("b", 8, 1) },
            new[] { PlanningTestModels.Gpu("a", 4), PlanningTestModels.Gpu("b", 24) },
        };
        var answers = new List<(int Found, int Max)>();
        foreach (var gpus in gpuSets)
        {
            var host = new HostFacts { TotalRamBytes = 256 * Units.GiB, Gpus = gpus.ToEquatableArray() };
            foreach (var expertsOnCpu in new[] { false, true })
            {
                var overrides = expertsOnCpu ? LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.All) : Array.Empty<TensorOverride>();
                var prepared = new PreparedModel(model, overrides, gpus.Length);
                foreach (var context in new[] { 2048, 32768 })
                {
                    var options = new ResolvedLoadOptions
                    {
                        Threads = 8, BatchThreads = 8, ContextSize = context, BatchSize = 2048, UBatchSize = 512,
                        TensorOverrides = overrides.ToEquatableArray(),
                        TensorSplits = gpus.Any(g => g.SplitRatio is not null) ? gpus.Select(g => (float)(g.SplitRatio ?? 0)).ToEquatableArray() : EquatableArray<float>.Empty,
                    };
                    var scan = ProfileResolver.LargestFittingGpuLayersByScan(prepared, options, host);
                    var bisection = ProfileResolver.LargestFittingGpuLayers(prepared, options, host);
                    Assert.True(scan == bisection,
                        $"{modelName}, GPUs {string.Join("+", gpus.Select(g => g.VramGiB))} GiB, experts on CPU {expertsOnCpu}, context {context}: scan {scan}, bisection {bisection}");
                    answers.Add((bisection, model.BlockCount + 1));
                }
            }
        }
        // The grid reaches both ends and the middle, so the comparison covers every branch of the search.
        Assert.Contains(answers, a => a.Found == 0);
        Assert.Contains(answers, a => a.Found == a.Max);
        Assert.Contains(answers, a => a.Found > 0 && a.Found < a.Max);
    }
}
