using System;
using System.IO;
using System.Reflection;
using FlashMoe.Synthetic;

namespace FlashMoe.Benchmarks.Micro;

/// <summary>Inputs shared by the micro-benchmarks, made once per benchmark process.</summary>
internal static class BenchmarkInputs
{
    /// <summary>The size of the seed case's model (DeepSeek-R1 IQ1_S class, docs/evidence.md#the-seed-case).</summary>
    public const long SeedModelBytes = 130L << 30;

    /// <summary>
    /// Writes a sparse ≈ 130 GiB DeepSeek-class header (big-moe preset: 4096 embd, 128 experts / 8 used, 129 280-token
    /// vocab) to a new temporary file; the tensor data are holes, so it costs a few MiB of disk.
    /// </summary>
    public static string WriteSparseSeedClassModel()
    {
        var spec = SyntheticModel.FitToSize(SyntheticPresets.BigMoe with { Sparse = true }, SeedModelBytes);
        var path = Path.Combine(Path.GetTempPath(), $"flashmoe-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        SyntheticModel.Write(spec, path);
        return path;
    }

    /// <summary>The sample's <c>flashmoe.json</c> (embedded): two profiles with comments, including the seed machine.</summary>
    public static string ProfileJson()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("flashmoe.json")
            ?? throw new InvalidOperationException("The embedded flashmoe.json is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static void TryDelete(string? path)
    {
        if (path is null) return;
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // a temp file: leaving it behind is harmless
        }
    }
}
