using System;
using System.IO;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The sweep's synthetic MoE models, shaped like those of docs/evidence.md#ram-limit-sweep-small-models (2048 embd, 8 experts / 2 used, expert width 5632,
/// 32 000-token vocab), sized by layer count, with random weights (not sparse: holes would read as zero pages and
/// cost no disk I/O, hiding exactly what the sweep measures). Written once and reused while the file matches.
/// </summary>
internal static class SweepModels
{
    public static SyntheticModelSpec Spec(long sizeBytes, GgmlType expertType)
    {
        var shape = new SyntheticModelSpec
        {
            Name = $"flashmoe-ramsweep-{expertType.ToString().ToLowerInvariant()}",
            EmbeddingLength = 2048,
            HeadCount = 16,
            KvHeadCount = 4,
            FeedForwardLength = 5632,
            ExpertFeedForwardLength = 5632,
            ExpertCount = 8,
            ExpertUsedCount = 2,
            VocabSize = 32000,
            ExtraVocabPieces = new EquatableArray<string>(SyntheticVocab.CommonPieces),
            ContextLength = 4096,
            WeightType = GgmlType.Q8_0,
            ExpertWeightType = expertType,
            Seed = 7,
        };
        return SyntheticModel.FitToSize(shape, sizeBytes);
    }

    /// <summary>
    /// A <c>flashmoe synth</c> preset (with <paramref name="recipe"/> if given) fitted to <paramref name="sizeBytes"/>
    /// as <c>synth --preset NAME --target-size SIZE</c> does, with random weights.
    /// </summary>
    public static SyntheticModelSpec PresetSpec(string preset, SyntheticRecipe? recipe, long sizeBytes)
    {
        var spec = SyntheticPresets.Get(preset);
        if (recipe is { } r) spec = spec with { Recipe = r };
        spec = spec with { Name = $"flashmoe-ramsweep-{preset}-{RecipeName(spec)}", Seed = 7 };
        var problems = spec.Validate();
        if (problems.Count > 0) throw new UsageException($"ramsweep: {preset} with {RecipeName(spec)}: " + string.Join("; ", problems));
        try
        {
            return SyntheticModel.FitToSize(spec, sizeBytes);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"ramsweep: {preset} cannot be fitted to {ByteSize.Format(sizeBytes)}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>The model's label in reports, e.g. <c>qwen3-30b-a3b q4_k_m</c>.</summary>
    public static string PresetLabel(string preset, SyntheticModelSpec spec) => preset + " " + RecipeName(spec);

    /// <summary>The model file for <paramref name="sizeBytes"/> and <paramref name="expertType"/>, written if missing or different.</summary>
    public static string Ensure(string directory, long sizeBytes, GgmlType expertType, TextWriter log, string? scratch = null) =>
        Ensure(directory, $"ramsweep-{expertType.ToString().ToLowerInvariant()}-{sizeBytes}.gguf", Spec(sizeBytes, expertType), log, scratch);

    /// <summary>The preset model (see <see cref="PresetSpec"/>), written if missing or different.</summary>
    public static string EnsurePreset(string directory, string preset, SyntheticRecipe? recipe, long sizeBytes, TextWriter log, string? scratch = null)
    {
        var spec = PresetSpec(preset, recipe, sizeBytes);
        return Ensure(directory, $"ramsweep-{preset}-{RecipeName(spec)}-{sizeBytes}.gguf", spec, log, scratch);
    }

    /// <summary>
    /// Where the model for <paramref name="spec"/> is (or would be) in <paramref name="directory"/>. With
    /// <paramref name="scratch"/> (<c>--plan-only</c>) a model not written yet is planned from a sparse copy in that folder
    /// (same file system, so the detected storage is the same), which costs no disk and no time.
    /// </summary>
    public static string Ensure(string directory, string fileName, SyntheticModelSpec spec, TextWriter log, string? scratch = null)
    {
        var layout = SyntheticModel.Plan(spec);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        if (Matches(path, spec, layout))
        {
            log.WriteLine($"using {path} ({ByteSize.Format(layout.FileBytes)}, {spec.Layers} layers)");
            return path;
        }
        if (scratch is not null)
        {
            Directory.CreateDirectory(scratch);
            var sparse = Path.Combine(scratch, fileName);
            SyntheticModel.Write(spec with { Sparse = true }, sparse);
            log.WriteLine($"planning from a sparse {sparse} ({ByteSize.Format(layout.FileBytes)}, {spec.Layers} layers; the real file is not written by --plan-only)");
            return sparse;
        }
        log.WriteLine($"writing {path} ({ByteSize.Format(layout.FileBytes)}, {spec.Layers} layers) …");
        var started = DateTime.UtcNow;
        SyntheticModel.Write(spec, path);
        log.WriteLine(FormattableString.Invariant($"  written in {(DateTime.UtcNow - started).TotalSeconds:0.0} s"));
        return path;
    }

    private static string RecipeName(SyntheticModelSpec spec) =>
        spec.Recipe is { } recipe ? SyntheticRecipes.Name(recipe) : spec.WeightType.ToString().ToLowerInvariant();

    private static bool Matches(string path, SyntheticModelSpec spec, SyntheticModelLayout layout)
    {
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length != layout.FileBytes) return false;
            var summary = GgufReader.ReadSummary(path);
            return summary.Name == spec.Name && summary.BlockCount == spec.Layers && summary.TensorBytes == layout.TensorBytes;
        }
        catch (Exception e) when (e is GgufFormatException or IOException)
        {
            return false;
        }
    }
}
