using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary>
/// <c>flashmoe inspect</c>, run in-process: the JSON carries the summary fields (layers, experts, tensors, bytes by
/// role and type), and a bad file exits with the malformed-input code and its FM01xx ID on stderr.
/// </summary>
public sealed class InspectVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-inspect-" + Guid.NewGuid().ToString("N"));

    public InspectVerbTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int ExitCode, string Stdout, string Stderr) Inspect(params string[] args)
    {
        var result = ToolRun.Run(new[] { "inspect" }.Concat(args).ToArray());
        return (result.ExitCode, result.Stdout, result.Stderr);
    }

    [Fact]
    public void Json_has_the_summary_fields_with_the_models_values()
    {
        var path = Path.Combine(_dir, "tiny-moe.gguf");
        var layout = SyntheticModel.Write(SyntheticPresets.TinyMoe, path);

        var (exit, stdout, stderr) = Inspect(path, "--json");

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, stderr);
        Assert.Single(stdout.TrimEnd('\n').Split('\n')); // one JSON object on one line
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        var spec = SyntheticPresets.TinyMoe;
        Assert.Equal("llama", root.GetProperty("architecture").GetString());
        Assert.Equal(spec.Layers, root.GetProperty("blockCount").GetInt32());
        Assert.Equal(spec.ExpertCount, root.GetProperty("expertCount").GetInt32());
        Assert.Equal(spec.ExpertUsedCount, root.GetProperty("expertUsedCount").GetInt32());
        Assert.Equal(layout.TensorCount, root.GetProperty("tensorCount").GetInt32());
        Assert.Equal(layout.FileBytes, root.GetProperty("fileSizeBytes").GetInt64());
        Assert.Equal(layout.TensorBytes, root.GetProperty("tensorBytes").GetInt64());
        Assert.Equal(layout.ParameterCount, root.GetProperty("parameterCount").GetInt64());

        var byType = root.GetProperty("bytesByType").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(layout.Tensors.GroupBy(t => t.Type.ToString()).ToDictionary(g => g.Key, g => g.Sum(t => t.Bytes)), byType);
        var byRole = root.GetProperty("bytesByRole").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(layout.TensorBytes, byRole.Values.Sum());
        Assert.Equal(layout.Tensors.Where(t => t.Name.EndsWith("_exps.weight", StringComparison.Ordinal)).Sum(t => t.Bytes), byRole["expertFfn"]);
        Assert.Equal(layout.Tensors.Single(t => t.Name == "token_embd.weight").Bytes, byRole["tokenEmbedding"]);
    }

    [Fact]
    public void Text_output_names_the_model_and_its_experts()
    {
        var path = Path.Combine(_dir, "tiny-moe.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyMoe, path);

        var (exit, stdout, _) = Inspect(path);

        Assert.Equal(0, exit);
        Assert.Contains("model        flashmoe-tiny-moe  [llama, GGUF v3", stdout);
        Assert.Contains("experts      8 routed, 2 used per token", stdout);
    }

    [Theory]
    [InlineData("wrong-magic", "FM0101")]
    [InlineData("truncated-header", "FM0104")]
    [InlineData("truncated-data", "FM0105")]
    public void A_bad_file_exits_non_zero_with_its_fm01xx_code_on_stderr(string kind, string expectedId)
    {
        var good = Path.Combine(_dir, "good.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyDense, good);
        var bytes = File.ReadAllBytes(good);
        var bad = Path.Combine(_dir, kind + ".gguf");
        if (kind == "wrong-magic")
        {
            bytes[0] = (byte)'X';
            File.WriteAllBytes(bad, bytes);
        }
        else
        {
            // 100 bytes cut the header (a length then runs past the end); half the file cuts the tensor data.
            File.WriteAllBytes(bad, bytes.Take(kind == "truncated-header" ? 100 : bytes.Length / 2).ToArray());
        }

        var (exit, stdout, stderr) = Inspect(bad, "--json");

        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith($"{bad}: error {expectedId}: ", stderr);
        Assert.Matches(@"\(offset \d+\)\s*$", stderr);
        // The code on stderr is the reader's own ID, not one the verb made up.
        var id = Assert.Throws<GgufFormatException>(() => GgufReader.Read(bad)).Id;
        Assert.Equal(expectedId, id);
    }

    [Fact]
    public void A_missing_file_exits_with_the_io_error_code()
    {
        var (exit, _, stderr) = Inspect(Path.Combine(_dir, "absent.gguf"));
        Assert.Equal(ExitCodes.IoError, exit);
        Assert.Contains("cannot read the file", stderr);
    }
}
