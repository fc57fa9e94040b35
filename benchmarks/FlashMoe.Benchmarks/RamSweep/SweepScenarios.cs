using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>One drawn scenario: a preset model of a size under one RAM limit.</summary>
/// <param name="Number">1-based position in the draw.</param>
/// <param name="Preset">The <c>flashmoe synth</c> preset.</param>
/// <param name="Recipe">Its tensor type mix.</param>
/// <param name="SizeBytes">The file size the preset is fitted to (whole MiB).</param>
/// <param name="Ratio">RAM limit ÷ file size (three decimals, never on the 0.05 grid of the documented sweeps).</param>
internal sealed record SweepScenario(int Number, string Preset, SyntheticRecipe Recipe, long SizeBytes, double Ratio)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"#{Number}: --preset {Preset} --recipe {SyntheticRecipes.Name(Recipe)} --size {SizeBytes >> 20}MiB --ratios {Ratio:0.000}");
}

/// <summary>
/// Scenarios nobody tuned for: drawn from a seeded generator over a space wider than the documented grid (presets of
/// three architectures × recipes × 0.5–1.6 GiB × RAM ratios 0.80–1.60 off the 0.05 grid), so a rule fitted to the
/// documented cells is tested where it was not fitted. The same seed draws the same list.
/// </summary>
internal static class SweepScenarios
{
    /// <summary>The presets and the recipes each is drawn with (each architecture's released mixes and one other).</summary>
    public static readonly IReadOnlyList<(string Preset, SyntheticRecipe[] Recipes)> Space = new[]
    {
        ("qwen3-30b-a3b", new[] { SyntheticRecipe.Q4_K_M, SyntheticRecipe.UD_IQ1_S }),
        ("gpt-oss-20b", new[] { SyntheticRecipe.MXFP4, SyntheticRecipe.Q4_K_M }),
        ("deepseek-r1", new[] { SyntheticRecipe.Q4_K_M, SyntheticRecipe.UD_IQ1_S }),
    };

    public const double MinSizeGiB = 0.5, MaxSizeGiB = 1.6, MinRatio = 0.80, MaxRatio = 1.60;

    public static IReadOnlyList<SweepScenario> Draw(int count, int seed)
    {
        // System.Random with a seed uses the same (legacy) algorithm on every .NET version: a seed reproduces a draw.
        var random = new Random(seed);
        var scenarios = new List<SweepScenario>(count);
        for (var i = 1; i <= count; i++)
        {
            var (preset, recipes) = Space[random.Next(Space.Count)];
            var recipe = recipes[random.Next(recipes.Length)];
            var sizeMiB = (long)Math.Round((MinSizeGiB + random.NextDouble() * (MaxSizeGiB - MinSizeGiB)) * 1024);
            double ratio;
            do
            {
                ratio = Math.Round(MinRatio + random.NextDouble() * (MaxRatio - MinRatio), 3);
            }
            while (OnGrid(ratio));
            scenarios.Add(new SweepScenario(i, preset, recipe, sizeMiB << 20, ratio));
        }
        return scenarios;
    }

    /// <summary>True for a ratio on the 0.05 grid the documented sweeps use (to within a thousandth).</summary>
    public static bool OnGrid(double ratio) => Math.Abs(ratio * 20 - Math.Round(ratio * 20)) < 0.02;

    /// <summary>
    /// The configurations a scenario runs besides its picks: both load modes, and for the memory objective the
    /// memory pick's load mode with a smaller ubatch, a q8_0 KV cache and both (dropping those equal to the pick).
    /// </summary>
    public static IReadOnlyList<SweepConfig> Competitors(SweepConfig memoryPick, int threads)
    {
        var list = new List<SweepConfig> { SweepConfig.Mode(true, threads), SweepConfig.Mode(false, threads) };
        var mode = SweepConfig.Mode(memoryPick.Mmap, threads);
        foreach (var variant in new[]
                 {
                     mode with { UBatch = 128 },
                     mode with { TypeK = Profiles.KvCacheType.Q8_0, TypeV = Profiles.KvCacheType.Q8_0 },
                     mode with { UBatch = 128, TypeK = Profiles.KvCacheType.Q8_0, TypeV = Profiles.KvCacheType.Q8_0 },
                     memoryPick with { UBatch = SweepConfig.DefaultUBatch },
                     memoryPick with { TypeK = Profiles.KvCacheType.F16, TypeV = Profiles.KvCacheType.F16 },
                 })
        {
            if (variant != memoryPick && !list.Contains(variant)) list.Add(variant);
        }
        return list;
    }
}
