using System;
using System.IO;
using System.Linq;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Tasks.Tests;

/// <summary>
/// The check's result cache in obj: an unchanged build logs exactly what the full check logged (codes, locations,
/// messages), and any change to what the result depends on runs the full check again.
/// </summary>
public sealed class CheckResultCacheTests : IDisposable
{
    private const string Cache = "obj/flashmoe.check.cache";
    private readonly TaskHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>The seed machine over a model file: FM1002 at the mmap token (a warning to replay).</summary>
    private static string Profile(string modelPath, string mmap = "true") => $$"""
        {
          "profiles": {
            "ArcWorkstation": {
              "hardware": { "ramGiB": 128, "cpu": { "physicalCores": 6, "logicalCores": 12 }, "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ] },
              "model": { "path": "{{modelPath}}", "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8, "expertFraction": 0.95, "weightType": "iq1_s" },
              "load": { "mmap": {{mmap}}, "gpuLayers": "all", "expertsOnCpu": true, "contextSize": 4096 }
            }
          }
        }
        """;

    private static string[] Logged(FakeBuildEngine engine) => engine.Coded.Select(e => e.ToString()).ToArray();

    [Fact]
    public void An_unchanged_build_replays_the_same_located_warnings_without_checking()
    {
        _h.Write("flashmoe.json", Profile("models/absent.gguf"));
        var (_, first, firstTask) = _h.Run(cachePath: Cache);
        var (_, second, secondTask) = _h.Run(cachePath: Cache);

        Assert.False(firstTask.Replayed);
        Assert.True(secondTask.Replayed);
        Assert.Empty(secondTask.CheckedProfiles); // nothing was parsed or planned
        Assert.Contains(first.Warnings, w => w.Code == "FM1002" && w.Line > 0 && w.Column > 0);
        Assert.Equal(Logged(first), Logged(second));
        Assert.Contains(second.Messages, m => m.Message.Contains("replayed from"));
    }

    [Fact]
    public void Changed_profile_bytes_run_the_check_again()
    {
        _h.Write("flashmoe.json", Profile("models/absent.gguf"));
        _h.Run(cachePath: Cache);
        _h.Write("flashmoe.json", Profile("models/absent.gguf", mmap: "false"));

        var (_, engine, task) = _h.Run(cachePath: Cache);

        Assert.False(task.Replayed);
        Assert.DoesNotContain(engine.Warnings, w => w.Code == "FM1002");
    }

    [Fact]
    public void A_model_file_that_appears_or_changes_runs_the_check_again()
    {
        _h.Write("flashmoe.json", Profile("models/tiny.gguf"));
        var (_, declared, _) = _h.Run(cachePath: Cache);
        Assert.Contains(declared.Coded, e => e.Code == "FM1007"); // planned from the declared facts

        var model = Path.Combine(_h.Directory, "models", "tiny.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(model)!);
        SyntheticModel.Write(SyntheticPresets.TinyMoe, model);
        var (_, appeared, appearedTask) = _h.Run(cachePath: Cache);
        Assert.False(appearedTask.Replayed);
        Assert.DoesNotContain(appeared.Coded, e => e.Code == "FM1007");

        Assert.True(_h.Run(cachePath: Cache).Task.Replayed);
        SyntheticModel.Write(SyntheticPresets.TinyMoe with { Layers = 3 }, model);
        Assert.False(_h.Run(cachePath: Cache).Task.Replayed);

        // Same size and time, another header: the fingerprint tells them apart.
        var info = new FileInfo(model);
        var (length, time) = (info.Length, info.LastWriteTimeUtc);
        Assert.True(_h.Run(cachePath: Cache).Task.Replayed);
        using (var stream = new FileStream(model, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 40; // inside the first metadata key/value
            stream.WriteByte(0x5A);
        }
        File.SetLastWriteTimeUtc(model, time);
        Assert.Equal(length, new FileInfo(model).Length);
        Assert.False(_h.Run(cachePath: Cache).Task.Replayed);
    }

    [Fact]
    public void A_deleted_plan_file_or_picture_or_other_parameters_run_the_check_again()
    {
        _h.Write("flashmoe.json", Profile("models/absent.gguf"));
        _h.Run(cachePath: Cache);
        File.Delete(_h.PlanPath);
        Assert.False(_h.Run(cachePath: Cache).Task.Replayed);
        Assert.True(File.Exists(_h.PlanPath));

        Assert.True(_h.Run(cachePath: Cache).Task.Replayed);
        var picture = Path.Combine(Path.GetDirectoryName(_h.PlanPath)!, "flashmoe.plan.ArcWorkstation.svg");
        Assert.True(File.Exists(picture));
        File.Delete(picture);
        Assert.False(_h.Run(cachePath: Cache).Task.Replayed);
        Assert.True(File.Exists(picture));

        Assert.True(_h.Run(cachePath: Cache).Task.Replayed);
        Assert.False(_h.Run(cachePath: Cache, profileName: "ArcWorkstation").Task.Replayed);
    }

    [Fact]
    public void A_result_with_errors_is_not_kept()
    {
        _h.Write("flashmoe.json", Profile("models/bad.gguf"));
        _h.Write("models/bad.gguf", "not a gguf file at all");

        var (firstResult, _, _) = _h.Run(cachePath: Cache);
        var (secondResult, second, secondTask) = _h.Run(cachePath: Cache);

        Assert.False(firstResult);
        Assert.False(secondResult);
        Assert.False(secondTask.Replayed);
        Assert.Contains(second.Errors, e => e.Code!.StartsWith("FM01", StringComparison.Ordinal));
    }

    [Fact]
    public void A_damaged_cache_file_is_a_miss_not_an_error()
    {
        _h.Write("flashmoe.json", Profile("models/absent.gguf"));
        _h.Run(cachePath: Cache);
        var cache = Path.Combine(_h.Directory, Cache);
        var bytes = File.ReadAllBytes(cache);
        File.WriteAllBytes(cache, bytes.Take(bytes.Length / 2).ToArray());

        var (result, engine, task) = _h.Run(cachePath: Cache);

        Assert.True(result, engine.Dump());
        Assert.False(task.Replayed);
        Assert.True(_h.Run(cachePath: Cache).Task.Replayed); // rewritten whole
    }
}
