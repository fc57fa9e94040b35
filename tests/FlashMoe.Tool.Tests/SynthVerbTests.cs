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
    [InlineData("--quant", "q9_k", "--quant must be one of f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq2_xxs, iq2_xs, iq3_xxs, iq1_s, iq4_nl, iq3_s, iq2_s, iq4_xs, iq1_m, bf16, mxfp4, got 'q9_k'.")]
    [InlineData("--arch", "mixtral", "unknown architecture 'mixtral' (known: llama, deepseek2, qwen3moe, gpt-oss)")]
    [InlineData("--recipe", "q3_k_xl", "unknown recipe 'q3_k_xl' (known: q4_k_m, ud-iq1_s, mxfp4)")]
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

    [Theory]
    [InlineData("deepseek2", "deepseek2")]
    [InlineData("qwen3moe", "qwen3moe")]
    [InlineData("gpt-oss", "gpt-oss")]
    [InlineData("llama", "llama")]
    public void Arch_alone_starts_from_that_architectures_tiny_preset(string arch, string expected)
    {
        var path = Path.Combine(_dir, arch + ".gguf");

        var result = ToolRun.Run("synth", path, "--arch", arch);

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("arch       " + expected, result.Stdout);
        Assert.Equal(expected, GgufReader.ReadSummary(path).Architecture);
        Assert.Equal(SyntheticPresets.Get(SyntheticPresets.DefaultFor(SyntheticArchitectures.TryParse(arch, out var a) ? a : default)).Layers,
            GgufReader.ReadSummary(path).BlockCount);
    }

    [Fact]
    public void Arch_turns_a_preset_shape_into_that_architecture_and_the_shape_flags_still_apply()
    {
        var path = Path.Combine(_dir, "moe-as-deepseek.gguf");

        var result = ToolRun.Run("synth", path, "--preset", "tiny-moe", "--arch", "deepseek2", "--layers", "5", "--experts", "6", "--quant", "q8_0", "--expert-quant", "iq4_nl");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        var file = GgufReader.Read(path);
        var summary = file.ToSummary();
        Assert.Equal("deepseek2", summary.Architecture);
        Assert.Equal(5, summary.BlockCount);
        Assert.Equal(6, summary.ExpertCount);
        Assert.NotNull(summary.KvLoraRank);
        Assert.Equal(GgmlType.IQ4_NL, file.Tensors.Single(t => t.Name == "blk.4.ffn_up_exps.weight").Type);
    }

    [Fact]
    public void The_seed_file_deepseek_r1_ud_iq1_s_at_121_GiB_is_one_command()
    {
        var path = Path.Combine(_dir, "seed.gguf");

        var result = ToolRun.Run("synth", path, "--preset", "deepseek-r1", "--recipe", "ud-iq1_s", "--target-size", "121GiB", "--sparse");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("recipe ud-iq1_s: ", result.Stdout);
        Assert.Contains("MLA q_lora 1536, kv_lora 512, rope/nope/v 64/128/128, 3 dense blocks of ff 18432, 1 shared expert(s), sigmoid routing", result.Stdout);
        var length = new FileInfo(path).Length;
        Assert.InRange(length, 0.99 * (121L << 30), 1.01 * (121L << 30));
        Assert.Equal(256, GgufReader.ReadSummary(path).ExpertCount);
    }

    [Fact]
    public void Recipe_and_uniform_types_together_are_refused()
    {
        var result = ToolRun.Run("synth", Path.Combine(_dir, "x.gguf"), "--recipe", "q4_k_m", "--quant", "q8_0");
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--recipe chooses every tensor's type", result.Stderr);
    }

    [Fact]
    public void Legacy_mla_writes_the_unsplit_form_and_only_for_deepseek2()
    {
        var path = Path.Combine(_dir, "legacy.gguf");
        var result = ToolRun.Run("synth", path, "--arch", "deepseek2", "--legacy-mla");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("legacy unsplit MLA", result.Stdout);
        Assert.True(GgufReader.Read(path).TryGetTensor("blk.0.attn_kv_b.weight", out _));

        var refused = ToolRun.Run("synth", Path.Combine(_dir, "x.gguf"), "--arch", "qwen3moe", "--legacy-mla");
        Assert.Equal(ExitCodes.Usage, refused.ExitCode);
        Assert.Contains("--legacy-mla applies to deepseek2 only", refused.Stderr);
    }
}
