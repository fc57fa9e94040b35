using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Xml.Linq;
using FlashMoe.Synthetic;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary><c>flashmoe plan</c>, run in-process: decisions with rule IDs, plan and advice; JSON; the picture; exit codes.</summary>
public sealed class PlanVerbTests : IDisposable
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-plan-" + Guid.NewGuid().ToString("N"));

    public PlanVerbTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string SampleProfiles => Path.Combine(RepoPaths.Root, "samples", "App", "flashmoe.json");

    [Fact]
    public void The_seed_profile_prints_its_decisions_with_rule_ids_the_plan_and_the_advice()
    {
        var result = ToolRun.Run("plan", "--profile", SampleProfiles + ":ArcWorkstation");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("resolved for its declared hardware", result.Stdout);
        Assert.Contains("load.threads = 6  [threads.physical]", result.Stdout);
        Assert.Contains("Memory plan (estimated)", result.Stdout);
        Assert.Contains("FM1002 warning (load.mmap)", result.Stdout);
        Assert.False(result.Stdout.Contains((char)0x1b), "no colour when stdout is not a terminal");
    }

    [Fact]
    public void Svg_writes_the_picture_with_one_bar_per_device_the_same_as_docs_seed_plan()
    {
        var picture = Path.Combine(_dir, "seed.svg");

        var result = ToolRun.Run("plan", "--profile", SampleProfiles + ":ArcWorkstation", "--svg", picture);

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        var svg = XDocument.Load(picture);
        Assert.Equal(2, svg.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "device"));
        // The README's picture is this command's output (regenerate it with the command in README.md when this fails).
        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "seed-plan.svg")), File.ReadAllText(picture));
    }

    [Fact]
    public void Json_is_the_plan_files_form_for_one_profile()
    {
        var result = ToolRun.Run("plan", "--profile", SampleProfiles + ":ArcWorkstation", "--json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var profile = Assert.Single(json.RootElement.GetProperty("profiles").EnumerateArray());
        Assert.Equal("ArcWorkstation", profile.GetProperty("name").GetString());
        Assert.True(profile.GetProperty("options").GetProperty("mmap").GetBoolean());
        Assert.Contains(profile.GetProperty("advice").EnumerateArray(), a => a.GetProperty("id").GetString() == "FM1002");
    }

    [Fact]
    public void A_model_file_given_beside_a_profile_replaces_its_declared_facts()
    {
        var model = Path.Combine(_dir, "tiny.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyMoe, model);

        var result = ToolRun.Run("plan", model, "--profile", SampleProfiles + ":SmallCpuBox", "--json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var source = json.RootElement.GetProperty("profiles")[0].GetProperty("model");
        Assert.Equal("file", source.GetProperty("source").GetString());
        Assert.Equal(Path.GetFullPath(model), source.GetProperty("path").GetString());
        Assert.Equal(SyntheticPresets.TinyMoe.Layers, source.GetProperty("layers").GetInt32());
    }

    [Fact]
    public void Load_flags_describe_the_profile_for_a_model_file()
    {
        var model = Path.Combine(_dir, "tiny.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyMoe, model);

        var result = ToolRun.Run("plan", model, "--ram-gib", "8", "--mmap", "false", "--context", "256", "--threads", "2", "--json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var profile = json.RootElement.GetProperty("profiles")[0];
        Assert.Equal("file", profile.GetProperty("model").GetProperty("source").GetString());
        var options = profile.GetProperty("options");
        Assert.False(options.GetProperty("mmap").GetBoolean());
        Assert.Equal(256, options.GetProperty("contextSize").GetInt32());
        Assert.Equal(2, options.GetProperty("threads").GetInt32());
        Assert.Equal(8L << 30, profile.GetProperty("plan").GetProperty("host").GetProperty("totalRamBytes").GetInt64());
    }

    [Fact]
    public void Host_detected_resolves_on_this_machine()
    {
        var model = Path.Combine(_dir, "tiny.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyMoe, model);

        var result = ToolRun.Run("plan", model, "--host", "detected", "--mmap", "auto");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Contains("resolved for the detected host", result.Stdout);
        Assert.Contains("Host (detected)", result.Stdout);
        Assert.Contains("load.mmap = ", result.Stdout); // auto resolved, with its rule
    }

    [Fact]
    public void An_overcommitted_gpu_is_an_error_in_the_plan_and_exit_1()
    {
        var model = Path.Combine(_dir, "tiny.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyMoe, model);

        var result = ToolRun.Run("plan", model, "--ram-gib", "8", "--gpu", "Tiny:0.5:cuda", "--gpu-layers", "all");

        Assert.True(result.ExitCode == ExitCodes.ErrorsFound, result.ToString());
        Assert.Contains("FM1004 error (load.gpuLayers)", result.Stdout);
    }

    [Fact]
    public void A_malformed_model_is_exit_3_with_its_FM01xx_line()
    {
        var model = Path.Combine(_dir, "bad.gguf");
        File.WriteAllText(model, "not a gguf file at all");

        var result = ToolRun.Run("plan", model, "--ram-gib", "8");

        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains("error FM0101: ", result.Stderr);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Theory]
    [InlineData(new[] { "plan" }, "name a model.gguf")]
    [InlineData(new[] { "plan", "--profile", "x.json:A", "--mmap", "false" }, "do not mix")]
    [InlineData(new[] { "plan", "m.gguf", "--host", "somewhere" }, "somewhere")]
    public void Bad_usage_is_exit_2_with_one_line(string[] args, string expected)
    {
        var result = ToolRun.Run(args);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains(expected, result.Stderr.Split('\n')[0]);
    }

    [Fact]
    public void An_unknown_profile_name_is_exit_2_and_names_the_closest()
    {
        var result = ToolRun.Run("plan", "--profile", SampleProfiles + ":ArcWorkstaton");

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("did you mean 'ArcWorkstation'?", result.Stderr);
    }
}
