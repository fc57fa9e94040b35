using System;
using System.IO;
using System.Linq;
using Xunit;

namespace FlashMoe.Tasks.Tests;

/// <summary>
/// The check started early on a worker thread (<see cref="FlashMoeStartProfileCheck"/>) and logged by
/// <see cref="FlashMoeCheckProfiles"/>: the same diagnostics, at the same places, as a check run inside the target.
/// </summary>
public sealed class StartedCheckTests : IDisposable
{
    private readonly TaskHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>A 128 GiB machine with a 16 GiB GPU and the declared 121 GiB MoE: FM1002 with mmap on, FM1004 with all layers on the GPU.</summary>
    private static string Profile(string name = "ArcWorkstation", string mmap = "true", string gpuLayers = "\"auto\"") => $$"""
            "{{name}}": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12 },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ]
              },
              "model": { "path": "models/absent.gguf", "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8 },
              "load": { "mmap": {{mmap}}, "gpuLayers": {{gpuLayers}}, "expertsOnCpu": true, "contextSize": 4096 }
            }
        """;

    private static string Document(params string[] profiles) => "{ \"profiles\": {\n" + string.Join(",\n", profiles) + "\n} }\n";

    private static string[] Coded(FakeBuildEngine engine) => engine.Coded.Select(e => e.ToString()).ToArray();

    [Fact]
    public void A_started_check_logs_the_same_located_diagnostics_as_a_check_in_the_target_and_writes_the_plan()
    {
        _h.Write("flashmoe.json", Document(Profile()));
        var inline = _h.Run(planOutputPath: "obj/inline.plan.json");
        var engine = new FakeBuildEngine();

        var token = _h.Start(engine);
        var (result, _, task) = _h.Run(engine: engine, startedCheck: token);

        Assert.True(result, engine.Dump());
        Assert.Equal(Environment.ProcessorCount >= 2, task.UsedStartedCheck);
        Assert.Equal(Coded(inline.Engine), Coded(engine));
        Assert.Contains(engine.Warnings, w => w.Code == "FM1002");
        Assert.Equal(new[] { "ArcWorkstation" }, task.CheckedProfiles.Select(p => p.ProfileName));
        Assert.True(File.Exists(_h.PlanPath));
        Assert.Empty(engine.RegisteredObjects); // taken back by the task that logged it
        if (task.UsedStartedCheck) Assert.Contains(engine.Messages, m => m.Message.Contains("check started earlier in the build"));
    }

    [Fact]
    public void Errors_of_a_started_check_fail_the_task_that_logs_them()
    {
        _h.Write("flashmoe.json", Document(Profile(mmap: "false", gpuLayers: "\"all\"")));
        var engine = new FakeBuildEngine();

        var token = _h.Start(engine);
        var (result, _, _) = _h.Run(engine: engine, startedCheck: token);

        Assert.False(result);
        Assert.Equal("FM1004", Assert.Single(engine.Errors).Code);
    }

    [Fact]
    public void A_cached_result_is_replayed_by_the_started_check()
    {
        _h.Write("flashmoe.json", Document(Profile()));
        var cache = Path.Combine(_h.Directory, "obj", "flashmoe.check.cache");
        var first = _h.Run(cachePath: cache);
        var engine = new FakeBuildEngine();

        var token = _h.Start(engine, cachePath: cache);
        var (_, _, task) = _h.Run(engine: engine, cachePath: cache, startedCheck: token);

        Assert.Equal(Environment.ProcessorCount >= 2, task.UsedStartedCheck);
        Assert.True(task.Replayed);
        Assert.Equal(Coded(first.Engine), Coded(engine));
    }

    [Fact]
    public void Without_a_started_check_under_the_token_the_task_checks_itself()
    {
        _h.Write("flashmoe.json", Document(Profile()));

        var (result, engine, task) = _h.Run(startedCheck: "no-such-check");

        Assert.True(result);
        Assert.False(task.UsedStartedCheck);
        Assert.Equal("FM1002", Assert.Single(engine.Warnings).Code);
    }

    [Fact]
    public void A_check_started_with_other_parameters_is_not_used()
    {
        _h.Write("flashmoe.json", Document(Profile(name: "Quiet", mmap: "false"), Profile()));
        var engine = new FakeBuildEngine();

        // Started for one profile; a target in between selected every profile.
        var token = _h.Start(engine, profileName: "Quiet");
        var (_, _, task) = _h.Run(engine: engine, startedCheck: token);

        Assert.False(task.UsedStartedCheck);
        Assert.Equal(new[] { "Quiet", "ArcWorkstation" }, task.CheckedProfiles.Select(p => p.ProfileName));
        Assert.Equal("FM1002", Assert.Single(engine.Warnings).Code);
        Assert.Empty(engine.RegisteredObjects);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_profile_written_after_the_check_started_is_checked_again_in_the_target()
    {
        if (Environment.ProcessorCount < 2) return; // nothing is started on one core (the test below pins that)
        _h.Write("flashmoe.json", Document(Profile(mmap: "true")));
        var engine = new FakeBuildEngine();
        var token = _h.Start(engine);
        await Assert.IsType<StartedProfileCheck>(Assert.Single(engine.RegisteredObjects)).Work;

        // A target between the two rewrites the profile: mmap off now, so no FM1002.
        _h.Write("flashmoe.json", Document(Profile(mmap: "false")));
        var (result, _, task) = _h.Run(engine: engine, startedCheck: token);

        Assert.True(result, engine.Dump());
        Assert.False(task.UsedStartedCheck);
        Assert.Empty(engine.Warnings);
        Assert.Contains(engine.Messages, m => m.Message.Contains("changed after the check started early"));
    }

    [Fact]
    public async System.Threading.Tasks.Task Nothing_is_started_without_a_second_core_and_otherwise_one_check_is_registered_for_the_build()
    {
        _h.Write("flashmoe.json", Document(Profile()));
        var engine = new FakeBuildEngine();

        var token = _h.Start(engine);

        if (Environment.ProcessorCount < 2)
        {
            Assert.Equal(string.Empty, token);
            Assert.Empty(engine.RegisteredObjects);
            return;
        }
        Assert.NotEqual(string.Empty, token);
        var started = Assert.IsType<StartedProfileCheck>(Assert.Single(engine.RegisteredObjects));
        await started.Work;
        Assert.NotEqual(token, _h.Start(new FakeBuildEngine())); // each start its own token
    }
}
