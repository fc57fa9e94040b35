using System;
using System.Globalization;
using System.Threading;
using FlashMoe.Diagnostics;
using Microsoft.Build.Framework;

namespace FlashMoe.Tasks;

/// <summary>
/// Starts the build check on a worker thread early in the build (target <c>_FlashMoeStartProfileCheck</c>, before
/// <c>BeforeBuild</c>), so it runs on another core while MSBuild resolves references and the check's own target,
/// <see cref="FlashMoeCheckProfiles"/>, only logs its result. The started check is registered with MSBuild for this
/// build under the returned <see cref="StartedCheck"/> token; without a second core, or when the engine cannot hold it,
/// nothing is started and <see cref="FlashMoeCheckProfiles"/> checks as before.
/// </summary>
public sealed class FlashMoeStartProfileCheck : ProfileCheckTask
{
    // Tokens need to be unique only within this process (MSBuild keeps registered objects per node).
    private static long s_lastToken;

    /// <summary>The token <see cref="FlashMoeCheckProfiles.StartedCheck"/> takes; empty when nothing was started.</summary>
    [Output]
    public string StartedCheck { get; private set; } = string.Empty;

    /// <inheritdoc />
    public override bool Execute()
    {
        // One core would run the check and the build's own targets in turn: nothing to gain, so the check stays inline.
        if (Environment.ProcessorCount < 2 || BuildEngine is not IBuildEngine4 engine) return true;
        var token = Interlocked.Increment(ref s_lastToken).ToString(CultureInfo.InvariantCulture);
        engine.RegisterTaskObject(StartedCheckKey(token), new StartedProfileCheck(Parameters()), RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        StartedCheck = token;
        Log.LogMessage(MessageImportance.Low, "FlashMoe: the profile check started on a worker thread; FlashMoeCheckProfiles logs its result.");
        return true;
    }
}

/// <summary>A check running on a worker thread, with the journal of what it reports.</summary>
internal sealed class StartedProfileCheck
{
    public StartedProfileCheck(CheckParameters parameters)
    {
        Parameters = parameters;
        // One thread: the build's own targets keep the other cores busy meanwhile (MSBuild's main thread, its
        // background JIT and GC); a second checking thread would slow them by as much as it gains.
        Run = new ProfileCheckRun(parameters, Journal, maxThreads: 1);
        Work = System.Threading.Tasks.Task.Run(() =>
        {
            try
            {
                Run.Execute();
            }
            catch (Exception e)
            {
                // Never a faulted task: a failure is reported like any other failure of the check.
                Run.Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.BuildCheckInternalError, null, e.GetType().Name + ": " + e.Message));
            }
        });
    }

    public CheckParameters Parameters { get; }
    public CheckJournal Journal { get; } = new();
    public ProfileCheckRun Run { get; }
    public System.Threading.Tasks.Task Work { get; }
}
