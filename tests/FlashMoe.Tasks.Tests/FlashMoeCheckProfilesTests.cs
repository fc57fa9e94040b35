using System.Globalization;
using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using FlashMoe.Synthetic;
using Microsoft.Build.Framework;
using Xunit;

namespace FlashMoe.Tasks.Tests;

/// <summary>
/// The task with a fake build engine: which codes it logs, at which file/line/column, what it writes, and that it never
/// throws. The rules themselves are Core's (tested in FlashMoe.Core.Tests); these tests pin the adapter.
/// </summary>
public sealed class FlashMoeCheckProfilesTests : IDisposable
{
    /// <summary>The seed's ~130 GB (decimal) DeepSeek-R1 IQ1_S-class MoE, declared: the file is not on the build machine.</summary>
    private const string SeedModel =
        """{ "path": "models/DeepSeek-R1-UD-IQ1_S.gguf", "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8 }""";

    private readonly TaskHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>The seed case: 128 GiB RAM, a 16 GiB Arc A770, the MoE's experts on the CPU.</summary>
    private static string Seed(string mmap = "true", string gpuLayers = "\"auto\"", string model = SeedModel, string name = "ArcWorkstation") => $$"""
        {
          "profiles": {
            "{{name}}": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12 },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ],
                "storage": "nvme"
              },
              "model": {{model}},
              "load": { "mmap": {{mmap}}, "gpuLayers": {{gpuLayers}}, "expertsOnCpu": true, "contextSize": 4096 }
            }
          }
        }
        """;

    /// <summary>A CPU-only 16 GiB laptop running the model at <paramref name="modelPath"/>.</summary>
    private static string Laptop(string modelPath, string name = "Laptop", string mmap = "\"auto\"") => $$"""
        {
          "profiles": {
            "{{name}}": {
              "hardware": { "ramGiB": 16, "cpu": { "physicalCores": 4, "logicalCores": 8 }, "storage": "nvme" },
              "model": { "path": "{{modelPath}}" },
              "load": { "mmap": {{mmap}}, "contextSize": 512 }
            }
          }
        }
        """;

    // ---- advice, located ------------------------------------------------------------------------------------

    [Fact]
    public void Seed_case_with_mmap_on_warns_FM1002_at_the_mmap_token_and_not_FM1001()
    {
        var json = Seed(mmap: "true");
        var file = _h.Write("flashmoe.json", json);

        var (result, engine, _) = _h.Run();

        Assert.True(result, engine.Dump());
        var warning = Assert.Single(engine.Warnings);
        var (line, column) = JsonPosition.OfValue(json, "\"mmap\"", "true");
        Assert.Equal(("FM1002", file, line, column), (warning.Code, warning.File, warning.Line, warning.Column));
        Assert.Equal((line, column + "true".Length), (warning.EndLine, warning.EndColumn));
        Assert.Contains("pinned host buffers", warning.Message);
        Assert.DoesNotContain(engine.Coded, e => e.Code == "FM1001");
        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void Seed_case_with_mmap_off_reports_neither_FM1001_nor_FM1002()
    {
        _h.Write("flashmoe.json", Seed(mmap: "false"));

        var (result, engine, _) = _h.Run();

        Assert.True(result, engine.Dump());
        Assert.DoesNotContain(engine.Coded, e => e.Code is "FM1001" or "FM1002");
        Assert.Empty(engine.Warnings);
        Assert.Empty(engine.Errors);
    }

    [Fact]
    public void An_overcommitted_GPU_is_FM1004_at_the_gpuLayers_token_and_fails_the_task()
    {
        var json = Seed(mmap: "false", gpuLayers: "\"all\"");
        var file = _h.Write("flashmoe.json", json);

        var (result, engine, _) = _h.Run();

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        var (line, column) = JsonPosition.OfValue(json, "\"gpuLayers\"", "\"all\"");
        Assert.Equal(("FM1004", file, line, column), (error.Code, error.File, error.Line, error.Column));
        Assert.Contains("Arc A770", error.Message);
        Assert.Contains("largest gpuLayers that fits", error.Message);
    }

    [Fact]
    public void The_same_GPU_with_gpuLayers_auto_is_not_overcommitted()
    {
        _h.Write("flashmoe.json", Seed(mmap: "false", gpuLayers: "\"auto\""));

        var (result, engine, _) = _h.Run();

        Assert.True(result, engine.Dump());
        Assert.DoesNotContain(engine.Coded, e => e.Code == "FM1004");
    }

    [Fact]
    public void An_absent_model_file_is_FM1007_a_coded_message_at_model_path_never_a_warning()
    {
        var json = Seed(mmap: "false");
        var file = _h.Write("flashmoe.json", json);

        var (result, engine, task) = _h.Run();

        Assert.True(result, engine.Dump());
        var info = Assert.Single(engine.Coded, e => e.Code == "FM1007");
        Assert.Equal("message", info.Severity);
        Assert.Equal(MessageImportance.Normal, info.Importance);
        var (line, column) = JsonPosition.OfValue(json, "\"path\"", "\"models/");
        Assert.Equal((file, line, column), (info.File, info.Line, info.Column));
        Assert.Contains("models/DeepSeek-R1-UD-IQ1_S.gguf", info.Message);
        Assert.DoesNotContain(engine.Warnings, w => w.Code == "FM1007");

        var entry = Assert.Single(task.CheckedProfiles);
        Assert.Equal(ModelSource.Declared, entry.ModelSource);
        Assert.Null(entry.HeaderBytesRead);
        // Where it looked: relative to the JSON file.
        Assert.Equal(new[] { Path.Combine(_h.Directory, "models", "DeepSeek-R1-UD-IQ1_S.gguf") }, entry.SearchedPaths);
    }

    [Fact]
    public void A_message_with_braces_reaches_the_log_intact()
    {
        // FM1010's message quotes the override pattern; MSBuild must not treat "{1,2}" as a format item.
        var json = """
            {
              "profiles": {
                "Braces": {
                  "hardware": { "ramGiB": 64 },
                  "model": { "sizeGiB": 8 },
                  "load": { "mmap": false, "tensorOverrides": [ { "pattern": "blk\\.[0-9]{1,2}\\.ffn_up", "device": "Vulkan3" } ] }
                }
              }
            }
            """;
        _h.Write("flashmoe.json", json);

        var (_, engine, _) = _h.Run();

        var ignored = Assert.Single(engine.Coded, e => e.Code == "FM1010");
        Assert.Contains(@"blk\.[0-9]{1,2}\.ffn_up", ignored.Message);
    }

    // ---- model files ------------------------------------------------------------------------------------------

    [Fact]
    public void A_real_synthetic_model_is_read_by_its_header_and_planned_without_FM1007()
    {
        var modelPath = Path.Combine(_h.Directory, "models", "tiny-moe.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
        var layout = SyntheticModel.Write(SyntheticPresets.TinyMoe, modelPath);
        _h.Write("flashmoe.json", Laptop("models/tiny-moe.gguf"));

        var (result, engine, task) = _h.Run();

        Assert.True(result, engine.Dump());
        Assert.DoesNotContain(engine.Coded, e => e.Code == "FM1007");
        var entry = Assert.Single(task.CheckedProfiles);
        Assert.Equal(ModelSource.File, entry.ModelSource);
        Assert.Equal(modelPath, entry.ModelPath);
        var model = entry.Resolved!.Model;
        Assert.False(model.IsDeclared);
        Assert.Equal("llama", model.Architecture);
        Assert.Equal(8, model.ExpertCount);
        Assert.Equal(layout.FileBytes, model.FileSizeBytes);
        Assert.Equal(layout.TensorCount, model.TensorCount);
        Assert.InRange(entry.HeaderBytesRead!.Value, 1, layout.FileBytes);
        Assert.Contains(engine.Messages, m => m.Message.Contains("read the GGUF header of '" + modelPath + "'"));
    }

    [Fact]
    public void A_model_under_FlashMoeModelRoot_relative_to_the_project_is_found()
    {
        var modelPath = Path.Combine(_h.Directory, "shared-models", "tiny.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(modelPath)!);
        SyntheticModel.Write(SyntheticPresets.TinyDense, modelPath);
        _h.Write(Path.Combine("profiles", "flashmoe.json"), Laptop("tiny.gguf"));

        var (without, engineWithout, taskWithout) = _h.Run(files: new[] { Path.Combine("profiles", "flashmoe.json") });
        var (with, engineWith, taskWith) = _h.Run(files: new[] { Path.Combine("profiles", "flashmoe.json") }, modelRoot: "shared-models");

        Assert.True(without, engineWithout.Dump());
        Assert.Equal(ModelSource.Declared, Assert.Single(taskWithout.CheckedProfiles).ModelSource);
        Assert.True(with, engineWith.Dump());
        var entry = Assert.Single(taskWith.CheckedProfiles);
        Assert.Equal(ModelSource.File, entry.ModelSource);
        Assert.Equal(modelPath, entry.ModelPath);
        Assert.Equal(Path.Combine(_h.Directory, "profiles", "tiny.gguf"), entry.SearchedPaths[0]);
    }

    [Fact]
    public void A_corrupt_GGUF_is_its_FM01xx_error_at_the_model_path_token()
    {
        _h.Write(Path.Combine("models", "broken.gguf"), "NOPE, this is not a GGUF file at all");
        var json = Laptop("models/broken.gguf");
        var file = _h.Write("flashmoe.json", json);

        var (result, engine, task) = _h.Run();

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        var (line, column) = JsonPosition.OfValue(json, "\"path\"", "\"models/broken.gguf\"");
        Assert.Equal(("FM0101", file, line, column), (error.Code, error.File, error.Line, error.Column));
        Assert.Contains("broken.gguf", error.Message);
        Assert.Contains("(offset 0)", error.Message);
        Assert.DoesNotContain(engine.Coded, e => e.Code is "FM1007" or "FM0399");
        var entry = Assert.Single(task.CheckedProfiles);
        Assert.Equal(ModelSource.Unusable, entry.ModelSource);
        Assert.Null(entry.Resolved);
    }

    [Fact]
    public void A_truncated_GGUF_is_a_located_FM01xx_error_too()
    {
        var whole = Path.Combine(_h.Directory, "whole.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyDense, whole);
        var bytes = File.ReadAllBytes(whole);
        File.WriteAllBytes(Path.Combine(_h.Directory, "cut.gguf"), bytes.Take(200).ToArray());
        var json = Laptop("cut.gguf");
        _h.Write("flashmoe.json", json);

        var (result, engine, _) = _h.Run();

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        Assert.StartsWith("FM01", error.Code);
        Assert.Equal(JsonPosition.OfValue(json, "\"path\"", "\"cut.gguf\""), (error.Line, error.Column));
    }

    [Fact]
    public void A_model_file_that_cannot_be_opened_is_FM0303_at_model_path()
    {
        var modelPath = Path.Combine(_h.Directory, "locked.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyDense, modelPath);
        var json = Laptop("locked.gguf");
        _h.Write("flashmoe.json", json);

        // .NET enforces FileShare on every OS (advisory locks on Unix): the reader's shared open is refused.
        using (new FileStream(modelPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var (result, engine, _) = _h.Run();

            Assert.False(result);
            var error = Assert.Single(engine.Errors);
            Assert.Equal("FM0303", error.Code);
            Assert.Equal(JsonPosition.OfValue(json, "\"path\"", "\"locked.gguf\""), (error.Line, error.Column));
            Assert.Contains(modelPath, error.Message);
        }
    }

    // ---- selection, bad profile files, robustness -------------------------------------------------------------

    [Fact]
    public void FlashMoeProfile_checks_only_the_named_profile()
    {
        var json = Seed(mmap: "true").Replace("\"profiles\": {", "\"profiles\": {\n    \"Quiet\": { \"hardware\": { \"ramGiB\": 64 }, \"model\": { \"sizeGiB\": 2 }, \"load\": { \"mmap\": false } },");
        _h.Write("flashmoe.json", json);

        var (_, all, allTask) = _h.Run();
        var (_, quiet, quietTask) = _h.Run(profileName: "Quiet");

        Assert.Equal(new[] { "Quiet", "ArcWorkstation" }, allTask.CheckedProfiles.Select(p => p.ProfileName));
        Assert.Contains(all.Warnings, w => w.Code == "FM1002");
        Assert.Equal(new[] { "Quiet" }, quietTask.CheckedProfiles.Select(p => p.ProfileName));
        Assert.Empty(quiet.Warnings);
        Assert.Empty(quiet.Errors);
    }

    [Fact]
    public void An_unknown_FlashMoeProfile_is_FM0302_naming_the_known_profiles_and_the_closest()
    {
        _h.Write("flashmoe.json", Seed());

        var (result, engine, task) = _h.Run(profileName: "ArcWorkstaton");

        Assert.True(result, engine.Dump());
        var warning = Assert.Single(engine.Warnings);
        Assert.Equal("FM0302", warning.Code);
        Assert.Contains("'ArcWorkstaton'", warning.Message);
        Assert.Contains("did you mean 'ArcWorkstation'", warning.Message);
        Assert.Contains("known profiles: ArcWorkstation", warning.Message);
        Assert.Empty(task.CheckedProfiles);
    }

    [Fact]
    public void Selecting_a_profile_that_has_errors_is_not_FM0302_and_its_errors_are_left_to_the_generator()
    {
        // "mmap": "yes" is FM0003 (the generator's); the profile exists, so naming it is no typo.
        _h.Write("flashmoe.json", Seed(mmap: "\"yes\""));

        var (result, engine, task) = _h.Run(profileName: "ArcWorkstation");

        Assert.True(result, engine.Dump());
        Assert.Empty(engine.Coded);
        Assert.Empty(task.CheckedProfiles);
    }

    [Fact]
    public void A_profile_file_with_JSON_errors_neither_crashes_nor_repeats_FM0001_and_other_files_are_still_checked()
    {
        _h.Write("broken.flashmoe.json", "{ \"profiles\": { \"A\": { \"hardware\": { \"ramGiB\": 16 }, ");
        _h.Write("flashmoe.json", Seed(mmap: "true"));

        var (result, engine, task) = _h.Run(files: new[] { "broken.flashmoe.json", "flashmoe.json" });

        Assert.True(result, engine.Dump());
        Assert.DoesNotContain(engine.Coded, e => e.Code!.StartsWith("FM00", StringComparison.Ordinal));
        Assert.Equal("FM1002", Assert.Single(engine.Warnings).Code);
        Assert.Equal(new[] { "ArcWorkstation" }, task.CheckedProfiles.Select(p => p.ProfileName));
    }

    [Fact]
    public void Profile_warnings_of_the_generator_are_not_repeated_but_the_profile_is_checked()
    {
        // FM0002 (unknown property) is a generator warning; the profile stays valid and is checked.
        _h.Write("flashmoe.json", Seed(mmap: "true").Replace("\"storage\": \"nvme\"", "\"storage\": \"nvme\", \"colour\": \"red\""));

        var (_, engine, task) = _h.Run();

        Assert.DoesNotContain(engine.Coded, e => e.Code == "FM0002");
        Assert.Equal("FM1002", Assert.Single(engine.Warnings).Code);
        Assert.Single(task.CheckedProfiles);
    }

    [Fact]
    public void A_missing_profile_file_is_FM0301_not_a_crash()
    {
        var (result, engine, _) = _h.Run(files: new[] { "missing.flashmoe.json" });

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("FM0301", error.Code);
        Assert.Equal(Path.Combine(_h.Directory, "missing.flashmoe.json"), error.File);
        Assert.Equal(0, error.Line);
    }

    [Fact]
    public void A_failure_inside_the_check_is_FM0399_not_an_exception()
    {
        _h.Write("flashmoe.json", Seed());
        var engine = new FakeBuildEngine { ThrowOnMessage = m => m.Message?.Contains("not found at") == true };

        var (result, _, _) = _h.Run(engine: engine);

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("FM0399", error.Code);
        Assert.Contains("injected logger failure", error.Message);
    }

    [Fact]
    public void A_failure_inside_one_profile_is_FM0399_for_it_alone_and_the_others_are_checked_and_planned()
    {
        var badJson = Seed(name: "Broken");
        var badFile = _h.Write("broken.flashmoe.json", badJson);
        _h.Write("flashmoe.json", Seed(mmap: "true"));
        var engine = new FakeBuildEngine { ThrowOnMessage = m => m.Message?.Contains("profile 'Broken'") == true };

        var (result, _, task) = _h.Run(files: new[] { "broken.flashmoe.json", "flashmoe.json" }, engine: engine);

        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("FM0399", error.Code);
        Assert.Contains("profile 'Broken'", error.Message);
        Assert.Contains("injected logger failure", error.Message);
        Assert.Equal((badFile, JsonPosition.At(badJson, badJson.IndexOf("\"Broken\"", StringComparison.Ordinal))), (error.File, (error.Line, error.Column)));
        Assert.Equal("FM1002", Assert.Single(engine.Warnings).Code); // the other profile was still checked
        Assert.Equal(new[] { ("Broken", ModelSource.Unusable), ("ArcWorkstation", ModelSource.Declared) },
            task.CheckedProfiles.Select(p => (p.ProfileName, p.ModelSource)));
        using var plan = JsonDocument.Parse(File.ReadAllText(_h.PlanPath));
        Assert.Equal(new[] { "Broken", "ArcWorkstation" }, plan.RootElement.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_FIFO_as_model_path_is_FM0303_at_model_path_instead_of_blocking_the_build()
    {
        if (OperatingSystem.IsWindows()) return; // no FIFOs in the Windows file system
        var fifo = Path.Combine(_h.Directory, "model.gguf");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", "\"" + fifo + "\""))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var json = Laptop("model.gguf", name: "FromFifo");
        _h.Write("fifo.flashmoe.json", json);
        _h.Write("flashmoe.json", Seed(mmap: "true"));

        var run = System.Threading.Tasks.Task.Run(() => _h.Run(files: new[] { "fifo.flashmoe.json", "flashmoe.json" }));
        var finished = await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(60))) == run;
        if (!finished)
        {
            // Release the reader blocked in open(): a writer that opens and closes gives it end of file.
            using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }
        Assert.True(finished, "the build check blocked on the FIFO");

        var (result, engine, task) = await run;
        Assert.False(result);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("FM0303", error.Code);
        Assert.Equal(JsonPosition.OfValue(json, "\"path\"", "\"model.gguf\""), (error.Line, error.Column));
        Assert.Contains("not a regular file", error.Message);
        Assert.Equal(new[] { ModelSource.Unusable, ModelSource.Declared }, task.CheckedProfiles.Select(p => p.ModelSource));
        Assert.True(File.Exists(_h.PlanPath));
    }

    [Fact]
    public void The_same_file_listed_twice_is_checked_once()
    {
        _h.Write("flashmoe.json", Seed(mmap: "true"));

        var (_, engine, task) = _h.Run(files: new[] { "flashmoe.json", Path.Combine(_h.Directory, ".", "flashmoe.json") });

        Assert.Single(task.CheckedProfiles);
        Assert.Single(engine.Warnings);
    }

    // ---- the plan file ------------------------------------------------------------------------------------------

    [Fact]
    public void The_plan_file_holds_model_options_decisions_devices_host_roofline_fits_and_advice()
    {
        var json = Seed(mmap: "true");
        var file = _h.Write("flashmoe.json", json);

        _h.Run();

        using var plan = JsonDocument.Parse(File.ReadAllText(_h.PlanPath));
        var root = plan.RootElement;
        Assert.Equal(PlanFile.FormatVersion, root.GetProperty("formatVersion").GetInt32());
        var profile = Assert.Single(root.GetProperty("profiles").EnumerateArray());
        Assert.Equal("ArcWorkstation", profile.GetProperty("name").GetString());
        Assert.Equal(file, profile.GetProperty("file").GetString());

        var model = profile.GetProperty("model");
        Assert.Equal("declared", model.GetProperty("source").GetString());
        Assert.Equal(61, model.GetProperty("layers").GetInt32());
        Assert.Equal(256, model.GetProperty("experts").GetInt32());
        Assert.Equal((long)(121 * (double)Units.GiB), model.GetProperty("sizeBytes").GetInt64());
        Assert.NotEmpty(model.GetProperty("assumptions").EnumerateArray());

        var options = profile.GetProperty("options");
        Assert.True(options.GetProperty("mmap").GetBoolean());
        Assert.Equal(4096, options.GetProperty("contextSize").GetInt32());
        Assert.Contains(options.GetProperty("tensorOverrides").EnumerateArray(), o => o.GetProperty("pattern").GetString()!.Contains("exps"));

        var decisions = profile.GetProperty("decisions").EnumerateArray().ToList();
        var gpuLayers = Assert.Single(decisions, d => d.GetProperty("option").GetString() == "load.gpuLayers");
        Assert.Equal("gpu-layers.most-that-fit", gpuLayers.GetProperty("rule").GetString());
        Assert.False(string.IsNullOrEmpty(gpuLayers.GetProperty("reason").GetString()));

        var p = profile.GetProperty("plan");
        var devices = p.GetProperty("devices").EnumerateArray().ToList();
        Assert.Equal(new[] { "CPU", "GPU0" }, devices.Select(d => d.GetProperty("device").GetString()));
        Assert.Equal("Arc A770", devices[1].GetProperty("name").GetString());
        foreach (var d in devices)
        {
            Assert.Equal(
                d.GetProperty("weightBytes").GetInt64() + d.GetProperty("kvCacheBytes").GetInt64() + d.GetProperty("computeBytes").GetInt64() + d.GetProperty("outputBytes").GetInt64(),
                d.GetProperty("totalBytes").GetInt64());
        }
        var host = p.GetProperty("host");
        Assert.True(host.GetProperty("mmap").GetBoolean());
        Assert.InRange(host.GetProperty("usableBytes").GetInt64(), 120 * Units.GiB, 128 * Units.GiB);
        Assert.True(host.GetProperty("hostShareBytes").GetInt64() > 100 * Units.GiB);
        Assert.True(host.GetProperty("fileBackedBytes").GetInt64() > 0);
        Assert.True(host.GetProperty("footprintRatio").GetDouble() > 1);
        Assert.True(p.GetProperty("roofline").GetProperty("activeBytesPerToken").GetInt64() > 0);
        Assert.Contains(p.GetProperty("quantizationFits").EnumerateArray(), q => q.GetProperty("name").GetString() == "IQ1_S");

        var advice = profile.GetProperty("advice").EnumerateArray().ToList();
        var fm1002 = Assert.Single(advice, a => a.GetProperty("id").GetString() == "FM1002");
        Assert.Equal("warning", fm1002.GetProperty("severity").GetString());
        Assert.Equal("load.mmap", fm1002.GetProperty("property").GetString());
        Assert.Equal(JsonPosition.OfValue(json, "\"mmap\"", "true"), (fm1002.GetProperty("line").GetInt32(), fm1002.GetProperty("column").GetInt32()));
        Assert.Contains(advice, a => a.GetProperty("id").GetString() == "FM1007");
    }

    [Fact]
    public void The_plan_file_is_rewritten_only_when_its_content_changes()
    {
        _h.Write("flashmoe.json", Seed(mmap: "true"));
        _h.Run();
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(_h.PlanPath, past);
        var first = File.ReadAllText(_h.PlanPath);

        _h.Run();
        Assert.Equal(past, File.GetLastWriteTimeUtc(_h.PlanPath));
        Assert.Equal(first, File.ReadAllText(_h.PlanPath));

        _h.Write("flashmoe.json", Seed(mmap: "false"));
        _h.Run();
        Assert.NotEqual(past, File.GetLastWriteTimeUtc(_h.PlanPath));
        Assert.NotEqual(first, File.ReadAllText(_h.PlanPath));
    }

    [Fact]
    public void A_plan_file_that_cannot_be_written_is_the_FM0304_warning_and_the_advice_still_stands()
    {
        _h.Write("flashmoe.json", Seed(mmap: "true"));
        _h.Write("blocker", "a file where the plan's folder should be");

        var (result, engine, _) = _h.Run(planOutputPath: Path.Combine("blocker", "flashmoe.plan.json"));

        Assert.True(result, engine.Dump());
        // One FM0304 for the plan file, one for the profile's picture beside it.
        Assert.Equal(new[] { "FM1002", "FM0304", "FM0304" }, engine.Warnings.Select(w => w.Code));
        Assert.Contains("flashmoe.plan.ArcWorkstation.svg", engine.Warnings.Last().Message);
    }

    [Fact]
    public void Each_planned_profile_gets_its_picture_beside_the_plan_file_rewritten_only_when_it_changes()
    {
        _h.Write("flashmoe.json", Seed(mmap: "true"));
        _h.Run();
        var picture = Path.Combine(Path.GetDirectoryName(_h.PlanPath)!, "flashmoe.plan.ArcWorkstation.svg");
        var svg = System.Xml.Linq.XDocument.Parse(File.ReadAllText(picture));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        Assert.Contains("FM1002", svg.Root.Value);
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(picture, past);

        _h.Run();
        Assert.Equal(past, File.GetLastWriteTimeUtc(picture));

        _h.Write("flashmoe.json", Seed(mmap: "false"));
        _h.Run();
        Assert.NotEqual(past, File.GetLastWriteTimeUtc(picture));
        Assert.DoesNotContain("FM1002", File.ReadAllText(picture));
    }

    // ---- cost ---------------------------------------------------------------------------------------------------

    [Fact]
    public void A_sparse_130_GiB_model_is_checked_by_reading_only_its_header()
    {
        var spec = SyntheticModel.FitToSize(SyntheticPresets.BigMoe with { Sparse = true }, 130 * Units.GiB);
        var modelPath = Path.Combine(_h.Directory, "big.gguf");
        var layout = SyntheticModel.Write(spec, modelPath);
        Assert.True(layout.FileBytes > 120 * Units.GiB, layout.FileBytes.ToString(CultureInfo.InvariantCulture));
        _h.Write("flashmoe.json", Seed(mmap: "true", model: """{ "path": "big.gguf" }"""));

        var (result, engine, task) = _h.Run();

        Assert.True(result, engine.Dump());
        var entry = Assert.Single(task.CheckedProfiles);
        Assert.Equal(ModelSource.File, entry.ModelSource);
        Assert.Equal(layout.FileBytes, entry.Resolved!.Model.FileSizeBytes);
        // The reader reads the header (skipping the vocabulary array by seeking) and at most one buffer beyond it.
        Assert.InRange(entry.HeaderBytesRead!.Value, 1, layout.DataOffset + Gguf.GgufReadOptions.Default.BufferSize);
        Assert.True(entry.HeaderBytesRead.Value < layout.FileBytes / 10_000, $"{entry.HeaderBytesRead} bytes read of {layout.FileBytes}");
        // Planned from the header's facts, not declared ones.
        Assert.Equal(spec.Layers, entry.Resolved.Model.BlockCount);
        Assert.Equal(layout.TensorCount, entry.Resolved.Model.TensorCount);
        Assert.DoesNotContain(engine.Coded, e => e.Code == "FM1007");
    }
}
