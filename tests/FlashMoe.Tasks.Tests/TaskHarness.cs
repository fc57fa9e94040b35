using System;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Xunit;

namespace FlashMoe.Tasks.Tests;

/// <summary>A temporary project directory with profile files, and a way to run the task on them with a fake engine.</summary>
public sealed class TaskHarness : IDisposable
{
    public TaskHarness()
    {
        Directory = Path.Combine(Path.GetTempPath(), "flashmoe-task-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string PlanPath => Path.Combine(Directory, "obj", "flashmoe.plan.json");

    public string Write(string relativePath, string text)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public (bool Result, FakeBuildEngine Engine, FlashMoeCheckProfiles Task) Run(
        string[]? files = null, string? profileName = null, string? modelRoot = null, string? planOutputPath = "obj/flashmoe.plan.json",
        FakeBuildEngine? engine = null, string? cachePath = null, string? startedCheck = null)
    {
        engine ??= new FakeBuildEngine();
        var task = Parameters(new FlashMoeCheckProfiles { BuildEngine = engine, StartedCheck = startedCheck }, files, profileName, modelRoot, planOutputPath, cachePath);
        var result = task.Execute();
        // The task's contract: success exactly when it logged no error.
        Assert.Equal(!engine.Errors.Any(), result);
        return (result, engine, task);
    }

    /// <summary>Runs <see cref="FlashMoeStartProfileCheck"/> with the parameters <see cref="Run"/> takes; returns its token.</summary>
    public string Start(FakeBuildEngine engine, string[]? files = null, string? profileName = null, string? planOutputPath = "obj/flashmoe.plan.json",
        string? cachePath = null)
    {
        var task = Parameters(new FlashMoeStartProfileCheck { BuildEngine = engine }, files, profileName, null, planOutputPath, cachePath);
        Assert.True(task.Execute());
        return task.StartedCheck;
    }

    private T Parameters<T>(T task, string[]? files, string? profileName, string? modelRoot, string? planOutputPath, string? cachePath)
        where T : ProfileCheckTask
    {
        task.ProfileFiles = (files ?? new[] { "flashmoe.json" }).Select(f => (ITaskItem)new TaskItem(Path.IsPathRooted(f) ? f : Path.Combine(Directory, f))).ToArray();
        task.ProfileName = profileName;
        task.ModelRoot = modelRoot;
        task.ProjectDirectory = Directory;
        task.PlanOutputPath = planOutputPath;
        task.CachePath = cachePath;
        return task;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Line and column (1-based) of JSON tokens in a test's text, computed independently of the parser.</summary>
public static class JsonPosition
{
    /// <summary>The position of <paramref name="value"/> following the first <paramref name="key"/> (after <paramref name="after"/>, when given).</summary>
    public static (int Line, int Column) OfValue(string text, string key, string value, string? after = null)
    {
        var start = after is null ? 0 : text.IndexOf(after, StringComparison.Ordinal);
        Assert.True(start >= 0, after);
        var keyAt = text.IndexOf(key, start, StringComparison.Ordinal);
        Assert.True(keyAt >= 0, key);
        var valueAt = text.IndexOf(value, keyAt + key.Length, StringComparison.Ordinal);
        Assert.True(valueAt >= 0, value);
        return At(text, valueAt);
    }

    public static (int Line, int Column) At(string text, int offset)
    {
        var before = text.Substring(0, offset);
        var line = before.Count(c => c == '\n') + 1;
        var column = offset - (before.LastIndexOf('\n') + 1) + 1;
        return (line, column);
    }
}
