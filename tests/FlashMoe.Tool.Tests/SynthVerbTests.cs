using System;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary><c>flashmoe synth</c>, run in-process: the flags reach the written file, and bad flags are one usage line with exit 2.</summary>
public sealed class SynthVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-synth-" + Guid.NewGuid().ToString("N"));

    public SynthVerbTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Shape_flags_reach_the_written_header()
    {
        var path = Path.Combine(_dir, "shaped.gguf");

        var result = ToolRun.Run("synth", path, "--layers", "3", "--experts", "4", "--experts-used", "1", "--quant", "q8_0",
            "--expert-quant", "q4_0", "--ctx", "1024", "--seed", "7", "--name", "shaped");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("wrote " + path, result.Stdout);
        var summary = GgufReader.ReadSummary(path);
        Assert.Equal(3, summary.BlockCount);
        Assert.Equal(4, summary.ExpertCount);
        Assert.Equal(1, summary.ExpertUsedCount);
        Assert.Equal(1024, summary.ContextLength);
        Assert.Equal("shaped", summary.Name);
        Assert.Contains(GgmlType.Q8_0, summary.BytesByType.Keys);
        Assert.Contains(GgmlType.Q4_0, summary.BytesByType.Keys);
    }

    [Fact]
    public void The_same_seed_writes_the_same_file_and_a_preset_is_the_starting_shape()
    {
        var a = Path.Combine(_dir, "a.gguf");
        var b = Path.Combine(_dir, "b.gguf");
        Assert.Equal(ExitCodes.Ok, ToolRun.Run("synth", a, "--preset", "tiny-dense", "--seed", "3").ExitCode);
        Assert.Equal(ExitCodes.Ok, ToolRun.Run("synth", b, "--preset", "tiny-dense", "--seed", "3").ExitCode);

        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.False(GgufReader.ReadSummary(a).IsMoe);
        Assert.Equal(SyntheticPresets.TinyDense.Layers, GgufReader.ReadSummary(a).BlockCount);
    }

    [Theory]
    [InlineData("--layers", "-3", "--layers needs a non-negative integer, got '-3'.")]
    [InlineData("--quant", "q5_k", "--quant must be f32, f16, q8_0 or q4_0, got 'q5_k'.")]
    [InlineData("--target-size", "lots", "--target-size needs a size like 130GiB")]
    [InlineData("--preset", "huge", "unknown preset 'huge'")]
    [InlineData("--bogus", "1", "'--bogus'")]
    public void A_bad_flag_is_one_usage_line_and_exit_2(string option, string value, string expected)
    {
        var path = Path.Combine(_dir, "never.gguf");

        var result = ToolRun.Run("synth", path, option, value);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Equal(string.Empty, result.Stdout);
        var first = result.Stderr.Split('\n')[0];
        Assert.StartsWith("flashmoe synth: ", first);
        Assert.Contains(expected, first);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Target_size_and_layers_together_are_refused()
    {
        var result = ToolRun.Run("synth", Path.Combine(_dir, "x.gguf"), "--target-size", "1MiB", "--layers", "2");
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--target-size chooses the layer count", result.Stderr);
    }

    [Fact]
    public void Sparse_target_size_writes_a_header_faithful_file_of_about_that_size()
    {
        var path = Path.Combine(_dir, "big.gguf");

        var result = ToolRun.Run("synth", path, "--preset", "big-moe", "--target-size", "2GiB", "--sparse");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("sparse: tensor data left as holes", result.Stdout);
        var length = new FileInfo(path).Length;
        Assert.InRange(length, 1.9 * (1L << 30), 2.1 * (1L << 30));
    }
}
