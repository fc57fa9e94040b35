using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;

// Linked into every test project that starts child processes (dotnet build/pack/run), so they share one hermetic runner.

namespace FlashMoe.Tests.Shared;

/// <summary>The outcome of one child process: exit code and the interleaved stdout/stderr.</summary>
public sealed record ProcessResult(string CommandLine, string WorkingDirectory, int ExitCode, bool TimedOut, TimeSpan Elapsed, string Output)
{
    /// <summary>Everything needed to understand a failed assertion, for the assertion message.</summary>
    public override string ToString() =>
        $"$ {CommandLine}\n  (in {WorkingDirectory}; exit {ExitCode}{(TimedOut ? ", TIMED OUT" : "")}; {Elapsed.TotalSeconds:F1} s)\n{Output}";
}

/// <summary>
/// Runs the dotnet CLI the way a user's shell would, but hermetically: no stdin, a timeout that kills the whole
/// process tree, telemetry off, and none of the MSBuild/NuGet variables the test host inherits from `dotnet test`
/// (they would point the child build at the outer build's SDK state or packages folder).
/// </summary>
public static class ProcessRunner
{
    /// <summary>The dotnet executable running these tests (the SDK sets DOTNET_HOST_PATH for its children).</summary>
    public static string DotnetPath { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static readonly string[] ScrubbedPrefixes = { "MSBUILD", "NUGET_PACKAGES", "NUGET_FALLBACK_PACKAGES", "VSTEST", "TESTINGPLATFORM", "DOTNET_CLI_UI_LANGUAGE" };

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static ProcessResult Dotnet(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        Run(DotnetPath, arguments, workingDirectory, timeout, environment: null);

    /// <summary>Runs <paramref name="fileName"/>; <paramref name="environment"/> adds or overrides variables.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) startInfo.ArgumentList.Add(argument);

        foreach (var name in startInfo.Environment.Keys.ToList())
        {
            if (ScrubbedPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))) startInfo.Environment.Remove(name);
        }
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        startInfo.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        // No long-lived helpers: a reused MSBuild node or compiler server would outlive the test, keep the child's
        // output pipe open and (for nodes) keep the packaged task assembly loaded.
        startInfo.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        startInfo.Environment["UseSharedCompilation"] = "false";
        startInfo.Environment["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        if (environment != null)
        {
            foreach (var pair in environment) startInfo.Environment[pair.Key] = pair.Value;
        }

        var output = new StringBuilder();
        using var outputClosed = new CountdownEvent(2);
        void Append(string? line, CountdownEvent closed)
        {
            if (line == null) { closed.Signal(); return; }
            lock (output) output.AppendLine(line);
        }

        var commandLine = fileName + " " + string.Join(" ", startInfo.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data, outputClosed);
        process.ErrorDataReceived += (_, e) => Append(e.Data, outputClosed);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var exited = process.WaitForExit((int)timeout.TotalMilliseconds);
        if (!exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* exited meanwhile */ }
            process.WaitForExit(10_000);
        }
        // The finite WaitForExit does not wait for end of output; a grandchild that inherited the pipe would hold it
        // open forever, so wait for the end of the streams only briefly.
        outputClosed.Wait(TimeSpan.FromSeconds(5));
        stopwatch.Stop();

        string text;
        lock (output) text = output.ToString();
        return new ProcessResult(commandLine, workingDirectory, exited ? process.ExitCode : -1, !exited, stopwatch.Elapsed, text);
    }
}
