using System;
using System.Diagnostics;
using System.IO;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Sample;

/// <summary>
/// The sample's own model: a small synthetic MoE (≈ 130 MiB: 8 layers, 1024 embd, 8 experts / 2 used, Q8_0 with
/// Q4_0 experts, the mix real MoE quantizations use), written once into the user's cache directory and reused while
/// its header still matches the spec.
/// </summary>
internal static class SampleModel
{
    /// <summary>The file name the <c>SmallCpuBox</c> profile's <c>model.path</c> names (flashmoe.json).</summary>
    public const string FileName = "flashmoe-sample-moe.gguf";

    public static SyntheticModelSpec Spec { get; } = SyntheticPresets.TinyMoe with
    {
        Name = "flashmoe-sample-moe",
        Layers = 8,
        EmbeddingLength = 1024,
        FeedForwardLength = 1024,
        ExpertFeedForwardLength = 1024,
        HeadCount = 16,
        KvHeadCount = 4,
        ExpertCount = 8,
        ExpertUsedCount = 2,
        ContextLength = 4096,
        WeightType = GgmlType.Q8_0,
        ExpertWeightType = GgmlType.Q4_0,
        Seed = 42,
    };

    /// <summary>
    /// The cache directory: <c>$XDG_CACHE_HOME/flashmoe</c>, else <c>%LOCALAPPDATA%\flashmoe</c> on Windows or
    /// <c>~/.cache/flashmoe</c> elsewhere; the temp directory when none of those can be created.
    /// </summary>
    public static string CacheDirectory()
    {
        foreach (var candidate in Candidates())
        {
            try
            {
                Directory.CreateDirectory(candidate);
                return candidate;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                // Read-only home or odd variable: try the next place.
            }
        }
        return Path.GetTempPath();

        static System.Collections.Generic.IEnumerable<string> Candidates()
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) yield return Path.Combine(xdg, "flashmoe");
            if (OperatingSystem.IsWindows())
            {
                var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
                if (!string.IsNullOrEmpty(local)) yield return Path.Combine(local, "flashmoe");
            }
            else
            {
                var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                if (!string.IsNullOrEmpty(home)) yield return Path.Combine(home, ".cache", "flashmoe");
            }
            yield return Path.Combine(Path.GetTempPath(), "flashmoe");
        }
    }

    /// <summary>
    /// The seed case's model: DeepSeek-R1's shape (deepseek2: MLA, 3 dense layers, 256 experts / 8, a shared expert) with
    /// the UD-IQ1_S mix, fitted to the seed file's ≈ 121 GiB. Written sparse: only its header takes disk.
    /// </summary>
    public static SyntheticModelSpec SeedSpec { get; } =
        SyntheticModel.FitToSize(SyntheticPresets.DeepseekR1 with { Recipe = SyntheticRecipe.UD_IQ1_S }, 121L << 30) with { Sparse = true };

    /// <summary>
    /// Writes <see cref="SeedSpec"/> into a fresh temporary folder, reads its header and deletes it again; null where
    /// files cannot be sparse without extra calls (Windows: a 121 GiB file would take 121 GiB of disk).
    /// </summary>
    public static ModelSummary? ReadSeedHeader()
    {
        if (OperatingSystem.IsWindows()) return null;
        var directory = Path.Combine(Path.GetTempPath(), "flashmoe-seed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var path = Path.Combine(directory, "DeepSeek-R1-UD-IQ1_S.gguf");
            SyntheticModel.Write(SeedSpec, path);
            return GgufReader.ReadSummary(path);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Returns the cached model, writing it first when it is missing or does not match <see cref="Spec"/>.</summary>
    public static (string Path, bool Written, TimeSpan Elapsed) Ensure(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var stopwatch = Stopwatch.StartNew();
        if (IsValid(path)) return (path, false, stopwatch.Elapsed);

        // Write beside it and move into place, so an interrupted write never leaves a half model under the real name.
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        SyntheticModel.Write(Spec, temporary);
        File.Move(temporary, path, overwrite: true);
        return (path, true, stopwatch.Elapsed);
    }

    /// <summary>True when <paramref name="path"/> is a GGUF whose header is exactly what <see cref="Spec"/> writes.</summary>
    private static bool IsValid(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            var expected = SyntheticModel.Plan(Spec);
            var summary = GgufReader.ReadSummary(path);
            return summary.Name == Spec.Name
                && summary.FileSizeBytes == expected.FileBytes
                && summary.TensorCount == expected.TensorCount
                && summary.TensorBytes == expected.TensorBytes
                && summary.BlockCount == Spec.Layers
                && summary.ExpertCount == Spec.ExpertCount;
        }
        catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
