using System;
using System.IO;
using FlashMoe.Gguf;
using FlashMoe.Profiles;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary><c>flashmoe tune</c>, run in-process on the tiny synthetic MoE: it writes a tuned profile file beside the profile, and bad arguments are usage errors.</summary>
public sealed class TuneVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-tune-verb-" + Guid.NewGuid().ToString("N"));
    private readonly string _profileFile;

    public TuneVerbTests()
    {
        Directory.CreateDirectory(_dir);
        SyntheticModel.Write(SyntheticPresets.TinyMoe, Path.Combine(_dir, "tiny.gguf"));
        var profile = new FlashMoeProfile("Tiny", new HardwareSpec(16, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
            new ModelSpec("tiny.gguf", null), LoadOptions.Default with { ContextSize = 256, BatchSize = 256, UBatchSize = 128 });
        _profileFile = Path.Combine(_dir, "flashmoe.json");
        File.WriteAllText(_profileFile, ProfileWriter.Write(new[] { profile }));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tune_writes_the_tuned_profile_beside_the_profile_file()
    {
        var result = ToolRun.Run("tune", "--profile", _profileFile + ":Tiny", "--budget", "60", "--prompt-tokens", "16", "--tokens", "4");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        var written = Path.Combine(_dir, "Tiny.tuned.flashmoe.json");
        Assert.Contains("written: " + written, result.Stdout);
        Assert.Contains("measured  ", result.Stdout);
        var document = ProfileParser.Parse(written, File.ReadAllText(written));
        Assert.Empty(document.Diagnostics);
        Assert.Equal("TinyTuned", Assert.Single(document.Profiles).Profile.Name);
    }

    [Fact]
    public void A_non_positive_budget_is_a_usage_error()
    {
        var result = ToolRun.Run("tune", "--profile", _profileFile + ":Tiny", "--budget", "0");
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--budget", result.Stderr);
    }

    [Fact]
    public void A_missing_model_file_is_an_io_error()
    {
        var result = ToolRun.Run("tune", "--profile", _profileFile + ":Tiny", Path.Combine(_dir, "nope.gguf"));
        Assert.Equal(ExitCodes.IoError, result.ExitCode);
        Assert.Contains("nope.gguf", result.Stderr);
    }
}
