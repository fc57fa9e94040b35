using System.Globalization;
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>The real-shape presets write full-size sparse headers, fit a target size, and read back through Core.</summary>
public sealed class PresetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-preset-tests-" + Guid.NewGuid().ToString("N"));

    public PresetTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string, int, int, int> RealPresets() => new()
    {
        // name, architecture, blocks, experts, vocab
        { "deepseek-r1", "deepseek2", 61, 256, 129280 },
        { "qwen3-30b-a3b", "qwen3moe", 48, 128, 151936 },
        { "qwen3-235b-a22b", "qwen3moe", 94, 128, 151936 },
        { "gpt-oss-20b", "gpt-oss", 24, 32, 201088 },
        { "gpt-oss-120b", "gpt-oss", 36, 128, 201088 },
    };

    [Theory]
    [MemberData(nameof(RealPresets))]
    public void Each_real_preset_writes_its_full_size_header_sparse_and_reads_back(string preset, string architecture, int blocks, int experts, int vocab)
    {
        var spec = SyntheticPresets.Get(preset) with { Sparse = true };
        var path = Path.Combine(_dir, preset + ".gguf");

        var layout = SyntheticModel.Write(spec, path);
        var summary = GgufReader.ReadSummary(path);

        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
        AssertAllocatedBelow(path, layout.DataOffset + (1L << 20));
        Assert.Equal(architecture, summary.Architecture);
        Assert.Equal(blocks, summary.BlockCount);
        Assert.Equal(experts, summary.ExpertCount);
        Assert.Equal(vocab, summary.VocabSize);
        Assert.Equal(layout.TensorCount, summary.Tensors.Count);
        Assert.Equal(layout.FileBytes, summary.FileSizeBytes);
    }

    [Theory]
    [MemberData(nameof(RealPresets))]
    public void Each_real_preset_fits_a_target_size_by_its_layer_count(string preset, string architecture, int blocks, int experts, int vocab)
    {
        _ = (architecture, experts, vocab);
        var full = SyntheticModel.Plan(SyntheticPresets.Get(preset)).FileBytes;
        var target = full * 6 / 10;

        var fitted = SyntheticModel.FitToSize(SyntheticPresets.Get(preset), target);
        var bytes = SyntheticModel.Plan(fitted).FileBytes;

        Assert.InRange(fitted.Layers, 2, blocks - 1);
        // Within one block either way.
        Assert.InRange(bytes, target - (full / blocks), target + (full / blocks));
        Assert.Equal(SyntheticPresets.Get(preset).EmbeddingLength, fitted.EmbeddingLength);
    }

    [Fact]
    public void The_seed_deepseek_r1_ud_iq1_s_at_121_GiB_is_writable_sparse_and_its_header_readable()
    {
        var target = 121L << 30;
        var spec = SyntheticModel.FitToSize(SyntheticPresets.DeepseekR1 with { Recipe = SyntheticRecipe.UD_IQ1_S }, target) with { Sparse = true };
        var path = Path.Combine(_dir, "deepseek-r1-ud-iq1_s.gguf");

        var layout = SyntheticModel.Write(spec, path);
        var file = GgufReader.Read(path);
        var summary = file.ToSummary();

        Assert.InRange(layout.FileBytes, target * 0.99, target * 1.01);
        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
        AssertAllocatedBelow(path, layout.DataOffset + (1L << 20));
        Assert.Equal("deepseek2", summary.Architecture);
        Assert.Equal(spec.Layers, summary.BlockCount);
        Assert.InRange(spec.Layers, 50, 61);
        Assert.Equal(7168, summary.EmbeddingLength);
        Assert.Equal(256, summary.ExpertCount);
        Assert.Equal(512, summary.KvLoraRank);
        Assert.Equal(1536, summary.QLoraRank);
        Assert.Equal(GgmlType.IQ1_S, file.Tensors.Single(t => t.Name == "blk.20.ffn_up_exps.weight").Type);
        Assert.True(file.TryGetUInt64("general.file_type", out var fileType));
        Assert.Equal(24ul, fileType);
    }

    [Fact]
    public void Every_tiny_variant_keeps_its_parents_architecture_and_recipe()
    {
        foreach (var name in SyntheticPresets.Names.Where(n => n.EndsWith("-tiny", StringComparison.Ordinal)))
        {
            var tiny = SyntheticPresets.Get(name);
            var parent = SyntheticPresets.Get(name.Substring(0, name.Length - "-tiny".Length));
            Assert.Equal(parent.Architecture, tiny.Architecture);
            Assert.Equal(parent.Recipe, tiny.Recipe);
            Assert.True(SyntheticModel.Plan(tiny).FileBytes < (16L << 20), $"{name} is not tiny");
        }
    }

    private static void AssertAllocatedBelow(string path, long maxBytes)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // NTFS needs FSCTL_SET_SPARSE for holes
        var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        stat.WaitForExit();
        var allocated = long.Parse(output[0], CultureInfo.InvariantCulture) * long.Parse(output[1], CultureInfo.InvariantCulture);
        Assert.True(allocated <= maxBytes, $"{path}: {allocated} bytes allocated, expected ≤ {maxBytes}");
    }
}
