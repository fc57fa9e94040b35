using System;
using System.Collections.Generic;
using System.Diagnostics;
using FlashMoe.Planning;
using Microsoft.Build.Framework;

namespace FlashMoe.Tasks;

/// <summary>
/// The build-time memory check behind the <c>FlashMoeCheckProfiles</c> target (build/FlashMoe.targets): runs Core's
/// <see cref="ProfileCheck"/> (for each profile: the GGUF header, never the tensor data, or the declared facts,
/// resolved with <see cref="ProfileResolver"/> for the hardware it declares), logs every diagnostic with its FM code
/// at the JSON token that drives it, and writes <c>flashmoe.plan.json</c> plus one <c>flashmoe.plan.&lt;Profile&gt;.svg</c>
/// per planned profile. A thin adapter: every rule lives in FlashMoe.Core, and <c>flashmoe check</c> runs the same.
/// Profile-file diagnostics (FM00xx) are the source generator's and are not repeated here.
/// <para>
/// When <see cref="FlashMoeStartProfileCheck"/> already started the check with the same parameters
/// (<see cref="StartedCheck"/>), this task waits for it and logs what it found; otherwise it checks here.
/// </para>
/// </summary>
public sealed class FlashMoeCheckProfiles : ProfileCheckTask
{
    /// <summary>The token <see cref="FlashMoeStartProfileCheck"/> returned (<c>$(_FlashMoeStartedCheck)</c>); empty checks here.</summary>
    public string? StartedCheck { get; set; }

    /// <summary>What the last <see cref="Execute"/> checked (tests read it; the plan file holds the same). Empty when replayed.</summary>
    internal IReadOnlyList<PlanFileEntry> CheckedProfiles { get; private set; } = Array.Empty<PlanFileEntry>();

    /// <summary>Whether the last <see cref="Execute"/> replayed a cached result instead of checking.</summary>
    internal bool Replayed { get; private set; }

    /// <summary>Whether the last <see cref="Execute"/> logged the result of a check started earlier.</summary>
    internal bool UsedStartedCheck { get; private set; }

    /// <inheritdoc />
    public override bool Execute()
    {
        var log = new LiveCheckLog(Log);
        var parameters = Parameters();
        var run = TakeStartedCheck(parameters, log) ?? new ProfileCheckRun(parameters, log);
        if (!UsedStartedCheck) run.Execute();
        CheckedProfiles = run.CheckedProfiles;
        Replayed = run.Replayed;
        return !Log.HasLoggedErrors && !log.LoggedError;
    }

    /// <summary>
    /// The run <see cref="FlashMoeStartProfileCheck"/> started for these parameters, finished and logged through
    /// <paramref name="log"/>; null when there is none to use (then this task checks itself).
    /// </summary>
    private ProfileCheckRun? TakeStartedCheck(CheckParameters parameters, LiveCheckLog log)
    {
        if (string.IsNullOrEmpty(StartedCheck) || BuildEngine is not IBuildEngine4 engine) return null;
        if (engine.UnregisterTaskObject(StartedCheckKey(StartedCheck!), RegisteredTaskObjectLifetime.Build) is not StartedProfileCheck started) return null;
        var stopwatch = Stopwatch.StartNew();
        // Waited for even when unused: it writes the plan and the cache, which a check here would write too.
        started.Work.Wait();
        // A target between the two may have changed a property the check depends on: then its result is not this one's.
        if (!started.Parameters.Equals(parameters)) return null;
        if (!started.Run.InputsUnchanged())
        {
            Log.LogMessage(MessageImportance.Low, "FlashMoe: a profile or model file changed after the check started early; checking again.");
            return null;
        }
        started.Journal.ReplayInto(log);
        Log.LogMessage(MessageImportance.Low, "FlashMoe: logged the result of the check started earlier in the build (waited {0} ms for it).",
            stopwatch.ElapsedMilliseconds);
        UsedStartedCheck = true;
        return started.Run;
    }
}
