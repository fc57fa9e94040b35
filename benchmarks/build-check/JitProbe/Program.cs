using System;
using System.Collections;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace FlashMoe.JitProbe;

/// <summary>
/// Usage: JitProbe &lt;tasks-dir&gt; &lt;msbuild-dir&gt; &lt;project-dir&gt; &lt;profile-file&gt; [runs]. Runs the task with the
/// parameters build/FlashMoe.targets passes (plan and cache under obj/jit-probe), deleting the cache before each run
/// so every run is a full check. Prints each run's time; the JIT log marks where the first run starts and ends.
/// FLASHMOE_PROBE_MESSAGES=1 also prints every message the task logs, with the milliseconds since its run started
/// (where a cold run's time goes: header read, plan file, pictures, cache).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 4)
        {
            Console.Error.WriteLine("usage: JitProbe <tasks-dir> <msbuild-dir> <project-dir> <profile-file> [runs]");
            return 2;
        }
        var tasksDirectory = Path.GetFullPath(args[0]);
        var msbuildDirectory = Path.GetFullPath(args[1]);
        var projectDirectory = Path.GetFullPath(args[2]);
        var runs = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1;
        // The host's MSBuild assemblies (ReadyToRun, as in `dotnet build`) and the packed task's own folder.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            foreach (var directory in new[] { tasksDirectory, msbuildDirectory })
            {
                var candidate = Path.Combine(directory, name.Name + ".dll");
                if (File.Exists(candidate)) return context.LoadFromAssemblyPath(candidate);
            }
            return null;
        };
        return Run(tasksDirectory, projectDirectory, Path.GetFullPath(args[3]), runs);
    }

    // Kept out of Main so that Microsoft.Build.* loads only after the resolver above is in place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Run(string tasksDirectory, string projectDirectory, string profileFile, int runs)
    {
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(tasksDirectory, "FlashMoe.Tasks.dll"));
        var taskType = assembly.GetType("FlashMoe.Tasks.FlashMoeCheckProfiles", throwOnError: true)!;
        var outputDirectory = Path.Combine(projectDirectory, "obj", "jit-probe");
        Directory.CreateDirectory(outputDirectory);
        var engine = new ConsoleBuildEngine();
        var ok = true;
        for (var run = 1; run <= runs; run++)
        {
            var task = (ITask)Activator.CreateInstance(taskType)!;
            task.BuildEngine = engine;
            Set(task, "ProfileFiles", new ITaskItem[] { new TaskItem(profileFile) });
            Set(task, "ProjectDirectory", projectDirectory);
            Set(task, "PlanOutputPath", Path.Combine(outputDirectory, "flashmoe.plan.json"));
            var cache = Path.Combine(outputDirectory, "flashmoe.check.cache");
            Set(task, "CachePath", cache);
            File.Delete(cache);
            // After the parameters are set (MSBuild's work, through reflection stubs the runtime may or may not emit).
            if (run == 1) FirstCheckStartsHere();
            var stopwatch = Stopwatch.StartNew();
            engine.RunStarted = stopwatch;
            ok &= task.Execute();
            if (run == 1) FirstCheckEndsHere();
            Console.WriteLine($"run {run}: Execute {stopwatch.Elapsed.TotalMilliseconds:F1} ms, {engine.Warnings} warning(s), {engine.Errors} error(s)");
            engine.Warnings = engine.Errors = 0;
        }
        return ok ? 0 : 1;
    }

    /// <summary>Its own JIT entry in the log: everything compiled after it belongs to the check (jit-count.sh splits there).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FirstCheckStartsHere() { }

    /// <summary>Its own JIT entry after the first run: what follows (the warm runs) is not counted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FirstCheckEndsHere() { }

    private static void Set(object task, string property, object value) =>
        task.GetType().GetProperty(property)!.SetValue(task, value);

    /// <summary>The least of a build engine: counts warnings and errors and prints them as MSBuild would.</summary>
    private sealed class ConsoleBuildEngine : IBuildEngine
    {
        private readonly bool _printMessages = Environment.GetEnvironmentVariable("FLASHMOE_PROBE_MESSAGES") == "1";

        public Stopwatch? RunStarted { get; set; }
        public int Warnings { get; set; }
        public int Errors { get; set; }
        public bool ContinueOnError => false;
        public int LineNumberOfTaskNode => 0;
        public int ColumnNumberOfTaskNode => 0;
        public string ProjectFileOfTaskNode => "JitProbe";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => false;
        public void LogCustomEvent(CustomBuildEventArgs e) { }
        public void LogMessageEvent(BuildMessageEventArgs e)
        {
            if (_printMessages) Console.WriteLine($"  +{RunStarted?.Elapsed.TotalMilliseconds:F1} ms {e.Message}");
        }

        public void LogWarningEvent(BuildWarningEventArgs e)
        {
            Warnings++;
            Console.WriteLine($"{e.File}({e.LineNumber},{e.ColumnNumber},{e.EndLineNumber},{e.EndColumnNumber}): warning {e.Code}: {e.Message}");
        }

        public void LogErrorEvent(BuildErrorEventArgs e)
        {
            Errors++;
            Console.WriteLine($"{e.File}({e.LineNumber},{e.ColumnNumber},{e.EndLineNumber},{e.EndColumnNumber}): error {e.Code}: {e.Message}");
        }
    }
}
