using System;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Fuzz;

/// <summary>
/// Writes the seed corpora: small, valid GGUF files from FlashMoe.Synthetic (a dense and an MoE shape) and the
/// repository's own profile files. AFL works best from small seeds, so the shapes are as small as the writer allows,
/// the vocabulary is little more than the byte tokens, and the weights are Q4_0 (smallest data; the reader skips it)
/// with one Q8_0 file for the other block size.
/// </summary>
internal static class SeedCorpus
{
    internal static void Write(string outputDirectory, string repoRoot)
    {
        var gguf = Directory.CreateDirectory(Path.Combine(outputDirectory, "gguf")).FullName;
        var profile = Directory.CreateDirectory(Path.Combine(outputDirectory, "profile")).FullName;

        var dense = new SyntheticModelSpec
        {
            Name = "seed",
            Layers = 1,
            EmbeddingLength = 32,
            FeedForwardLength = 32,
            HeadCount = 2,
            KvHeadCount = 1,
            VocabSize = 260,
            ContextLength = 64,
        };
        var moe = dense with { Name = "seed-moe", ExpertCount = 4, ExpertUsedCount = 2, ExpertFeedForwardLength = 32 };
        SyntheticModel.Write(dense with { WeightType = GgmlType.Q4_0 }, Path.Combine(gguf, "dense-q4_0.gguf"));
        SyntheticModel.Write(moe with { WeightType = GgmlType.Q4_0 }, Path.Combine(gguf, "moe-q4_0.gguf"));
        SyntheticModel.Write(moe with { WeightType = GgmlType.Q8_0, ExpertWeightType = GgmlType.Q4_0 }, Path.Combine(gguf, "moe-q8_0-q4_0.gguf"));

        var profiles = new[] { "samples/App/flashmoe.json", "tests/assets/GeneratorDemo/flashmoe.json", "tests/assets/TaskDemo/flashmoe.json" }
            .Select(p => Path.Combine(repoRoot, p))
            .Where(File.Exists)
            .ToArray();
        if (profiles.Length == 0) throw new InvalidOperationException("No profile files under " + repoRoot);
        for (var i = 0; i < profiles.Length; i++) File.Copy(profiles[i], Path.Combine(profile, $"profile-{i}.json"), overwrite: true);

        foreach (var dir in new[] { gguf, profile })
        {
            foreach (var file in Directory.GetFiles(dir)) Console.WriteLine($"{file}: {new FileInfo(file).Length} bytes");
        }
    }
}
