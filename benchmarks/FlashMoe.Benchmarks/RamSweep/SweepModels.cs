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

    /// <summary>The model file for <paramref name="sizeBytes"/> and <paramref name="expertType"/>, written if missing or different.</summary>
    public static string Ensure(string directory, long sizeBytes, GgmlType expertType, TextWriter log)
    {
        var spec = Spec(sizeBytes, expertType);
        var layout = SyntheticModel.Plan(spec);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"ramsweep-{expertType.ToString().ToLowerInvariant()}-{sizeBytes}.gguf");
        if (Matches(path, spec, layout))
        {
            log.WriteLine($"using {path} ({ByteSize.Format(layout.FileBytes)}, {spec.Layers} layers)");
            return path;
        }
        log.WriteLine($"writing {path} ({ByteSize.Format(layout.FileBytes)}, {spec.Layers} layers, experts {expertType}) …");
        var started = DateTime.UtcNow;
        SyntheticModel.Write(spec, path);
        log.WriteLine(FormattableString.Invariant($"  written in {(DateTime.UtcNow - started).TotalSeconds:0.0} s"));
        return path;
    }

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
