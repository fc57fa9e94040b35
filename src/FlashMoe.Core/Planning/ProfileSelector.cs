using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>Why a profile cannot run on the host (a hard rejection).</summary>
/// <param name="RuleId">Stable ID: <c>select.model-missing</c>, <c>select.model-mismatch</c>, <c>select.gpu-missing</c>, <c>select.cpu-feature-missing</c>, <c>select.load-fails</c> or <c>select.does-not-fit</c>.</param>
/// <param name="Reason">Why, with the figures.</param>
public sealed record ProfileRejection(string RuleId, string Reason);

/// <summary>One profile as the selection saw it.</summary>
/// <param name="Profile">The profile.</param>
/// <param name="Resolved">The profile resolved for the host (null when it could not be: no model).</param>
/// <param name="Rejection">Why it cannot run here; null when it can.</param>
/// <param name="Reason">Why it was chosen, ranked lower, or rejected (one sentence).</param>
public sealed record ProfileCandidate(FlashMoeProfile Profile, ResolvedProfile? Resolved, ProfileRejection? Rejection, string Reason)
{
    /// <summary>True when the profile can run on the host.</summary>
    public bool IsEligible => Rejection is null;
}

/// <summary>The outcome of <see cref="ProfileSelector.SelectFor(IEnumerable{FlashMoeProfile}, HostFacts, ModelSummary)"/>.</summary>
public sealed record ProfileSelection
{
    /// <summary>The chosen profile resolved for the host; null when every profile was rejected.</summary>
    public ResolvedProfile? Selected { get; init; }
    /// <summary>Every profile: the chosen one first, then the other eligible ones in order of preference, then the rejected ones in declaration order.</summary>
    public EquatableArray<ProfileCandidate> Candidates { get; init; }

    /// <summary>The chosen profile, or null.</summary>
    public FlashMoeProfile? Profile => Selected?.Profile;

    /// <summary>The candidates that were not chosen, each with its reason.</summary>
    public IEnumerable<ProfileCandidate> Others => Candidates.Where(c => Selected is null || !ReferenceEquals(c.Profile, Selected.Profile));

    /// <summary>Lines for a log: the choice, then one per other profile.</summary>
    public string Describe() => string.Join("\n", Candidates.Select(c =>
        (Selected is not null && ReferenceEquals(c.Profile, Selected.Profile) ? "chosen   " : c.IsEligible ? "eligible " : "rejected ") + c.Profile.Name + ": " + c.Reason)) + "\n";
}

/// <summary>
/// Picks the profile that fits a host best among several shipped ones. Each profile is resolved for the host with
/// <see cref="ProfileResolver"/>; profiles that cannot run are rejected with a rule ID, and the rest are ranked.
/// <para>Rejections, checked in this order (the first that applies is reported):</para>
/// <list type="number">
/// <item><c>select.model-missing</c>: there is no model for the profile (its file was not found and nothing else was given).</item>
/// <item><c>select.model-mismatch</c>: the profile declares model facts (layers, experts, experts used, size ± 10 %) that the model's header contradicts.</item>
/// <item><c>select.gpu-missing</c>: the profile declares more GPUs than the host is known to have.</item>
/// <item><c>select.cpu-feature-missing</c>: the profile declares AVX2 or AVX-512 and the host is known to lack it.</item>
/// <item><c>select.load-fails</c>: resolved on the host, the plan raises an error (FM1001 no-mmap killed, FM1004 GPU overcommitted, …).</item>
/// <item><c>select.does-not-fit</c>: with repacked weights, the host share does not fit usable RAM even with mmap (FM1003): it would livelock or be killed. (Without repacked weights FM1003 is a slowdown, a warning that ranks the profile lower.)</item>
/// </list>
/// <para>Order of preference among the profiles that can run (the first difference decides):</para>
/// <list type="number">
/// <item>No warning from the plan rules (FM1xxx) before profiles with warnings.</item>
/// <item>Hardware the host has: profiles whose declared RAM and cores the host meets before those that claim more.</item>
/// <item>More GPUs used (declared and present), i.e. more of the host put to work.</item>
/// <item>The largest declared RAM: the profile written for the biggest machine the host still is (closest from below).</item>
/// <item>The larger context size.</item>
/// <item>Declaration order.</item>
/// </list>
/// </summary>
public static class ProfileSelector
{
    /// <summary>Share by which a declared <c>model.sizeGiB</c> may differ from the file before the profile counts as written for another model.</summary>
    public const double DeclaredSizeTolerance = 0.10;

    /// <summary>Selects among <paramref name="profiles"/> for <paramref name="host"/>, all running <paramref name="model"/>.</summary>
    public static ProfileSelection SelectFor(this IEnumerable<FlashMoeProfile> profiles, HostFacts host, ModelSummary model)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        return SelectFor(profiles, host, _ => model);
    }

    /// <summary>
    /// Selects among <paramref name="profiles"/> for <paramref name="host"/>, each with its own model
    /// (<paramref name="modelOf"/> returns null when a profile's model is not available: rejected as <c>select.model-missing</c>).
    /// </summary>
    public static ProfileSelection SelectFor(this IEnumerable<FlashMoeProfile> profiles, HostFacts host, Func<FlashMoeProfile, ModelSummary?> modelOf)
    {
        if (profiles is null) throw new ArgumentNullException(nameof(profiles));
        if (host is null) throw new ArgumentNullException(nameof(host));
        if (modelOf is null) throw new ArgumentNullException(nameof(modelOf));

        var evaluated = new List<Evaluated>();
        var index = 0;
        foreach (var profile in profiles)
        {
            if (profile is null) throw new ArgumentException("The profile list contains null.", nameof(profiles));
            evaluated.Add(Evaluate(profile, host, modelOf(profile), index++));
        }

        var eligible = evaluated.Where(e => e.Rejection is null).ToList();
        eligible.Sort(Compare);
        var chosen = eligible.FirstOrDefault();
        var candidates = new List<ProfileCandidate>();
        if (chosen is not null)
        {
            candidates.Add(new ProfileCandidate(chosen.Profile, chosen.Resolved, null, ChosenReason(chosen, eligible.Count, evaluated.Count)));
            foreach (var other in eligible.Skip(1))
            {
                candidates.Add(new ProfileCandidate(other.Profile, other.Resolved, null, "can run here, but ranked below " + chosen.Profile.Name + ": " + WhyLower(other, chosen, host)));
            }
        }
        foreach (var rejected in evaluated.Where(e => e.Rejection is not null))
        {
            candidates.Add(new ProfileCandidate(rejected.Profile, rejected.Resolved, rejected.Rejection, rejected.Rejection!.RuleId + ": " + rejected.Rejection.Reason));
        }
        return new ProfileSelection { Selected = chosen?.Resolved, Candidates = candidates.ToEquatableArray() };
    }

    private sealed class Evaluated(FlashMoeProfile profile, ResolvedProfile? resolved, ProfileRejection? rejection, int index)
    {
        public FlashMoeProfile Profile { get; } = profile;
        public ResolvedProfile? Resolved { get; } = resolved;
        public ProfileRejection? Rejection { get; } = rejection;
        public int Index { get; } = index;
        public int Warnings { get; init; }
        public bool HardwareMet { get; init; }
        public string? HardwareShortfall { get; init; }
        public int GpusUsed { get; init; }
    }

    private static Evaluated Evaluate(FlashMoeProfile profile, HostFacts host, ModelSummary? model, int index)
    {
        if (model is null)
        {
            return new Evaluated(profile, null, new ProfileRejection("select.model-missing",
                "no model for this profile: " + (profile.Model.Path is { } path ? "its model file '" + path + "' was not found" : "it names no model file and none was given")), index);
        }
        if (ModelMismatch(profile.Model, model) is { } mismatch)
        {
            return new Evaluated(profile, null, new ProfileRejection("select.model-mismatch", mismatch), index);
        }
        if (MissingGpus(profile, host) is { } gpus) return new Evaluated(profile, null, gpus, index);
        if (MissingCpuFeature(profile.Hardware.Cpu, host) is { } feature) return new Evaluated(profile, null, feature, index);

        var resolved = ProfileResolver.Resolve(profile, model, host);
        if (CannotRun(resolved) is { } rejection) return new Evaluated(profile, resolved, rejection, index);

        var shortfall = HardwareShortfall(profile.Hardware, host);
        return new Evaluated(profile, resolved, null, index)
        {
            Warnings = resolved.Advice.Count(a => a.Diagnostic.Severity == FlashMoeSeverity.Warning && a.Id.StartsWith("FM1", StringComparison.Ordinal)),
            HardwareMet = shortfall is null,
            HardwareShortfall = shortfall,
            GpusUsed = resolved.Plan.Devices.Count(d => !d.Device.IsCpu && (d.WeightBytes > 0 || d.LayerCount > 0)),
        };
    }

    /// <summary>
    /// Why the plan says <paramref name="resolved"/> cannot run on its host, or null when it can:
    /// <c>select.load-fails</c> (an error-severity rule: FM1001 no-mmap killed, FM1004 GPU overcommitted, …) or
    /// <c>select.does-not-fit</c> (FM1003 with repacked weights: livelock or OOM kill even with mmap). The tuner never runs a
    /// configuration this rejects.
    /// </summary>
    public static ProfileRejection? CannotRun(ResolvedProfile resolved)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        var errors = resolved.Advice.Where(a => a.Diagnostic.Severity == FlashMoeSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            return new ProfileRejection("select.load-fails",
                "resolved on this host the plan raises " + string.Join(", ", errors.Select(a => a.Id)) + ": " + FirstSentence(errors[0].Diagnostic.Message));
        }
        // FM1003 without repacked weights means a slowdown (mmap re-reads pages; measured running down to 0.8 ×): a
        // warning that ranks the profile lower. With repacked weights it means livelock or an OOM kill.
        var h = resolved.Plan.Host;
        if (h.RepackedBytes > 0 && resolved.Advice.Any(a => a.Id == DiagnosticCatalog.HostShareExceedsRam.Id))
        {
            return new ProfileRejection("select.does-not-fit", Invariant.Text(
                $"{Gib(h.FootprintBytes):F1} GiB must stay resident but {Gib(h.UsableBytes):F1} GiB is usable ({h.FootprintRatio:F2} ×) and {Gib(h.RepackedBytes):F1} GiB is repacked: even with mmap it would livelock or be killed (FM1003)"));
        }
        return null;
    }

    /// <summary>The documented order of preference: negative when <paramref name="a"/> is preferred.</summary>
    private static int Compare(Evaluated a, Evaluated b)
    {
        int c;
        if ((c = (a.Warnings == 0 ? 0 : 1).CompareTo(b.Warnings == 0 ? 0 : 1)) != 0) return c;
        if ((c = (a.HardwareMet ? 0 : 1).CompareTo(b.HardwareMet ? 0 : 1)) != 0) return c;
        if ((c = b.GpusUsed.CompareTo(a.GpusUsed)) != 0) return c;
        if ((c = b.Profile.Hardware.RamGiB.CompareTo(a.Profile.Hardware.RamGiB)) != 0) return c;
        if ((c = (b.Resolved?.Options.ContextSize ?? 0).CompareTo(a.Resolved?.Options.ContextSize ?? 0)) != 0) return c;
        return a.Index.CompareTo(b.Index);
    }

    private static string ChosenReason(Evaluated chosen, int eligible, int total)
    {
        var h = chosen.Resolved!.Plan.Host;
        var parts = new List<string>
        {
            Invariant.Text($"fits ({Gib(h.FootprintBytes):F1} GiB host footprint, {Gib(h.UsableBytes):F1} GiB usable, {h.FootprintRatio:F2} ×)"),
            chosen.Warnings == 0 ? "no plan warnings" : Invariant.Text($"{chosen.Warnings} plan warning(s), as every eligible profile"),
        };
        if (chosen.GpusUsed > 0) parts.Add(Invariant.Text($"uses {chosen.GpusUsed} GPU(s)"));
        parts.Add(Invariant.Text($"declared for {chosen.Profile.Hardware.RamGiB:0.##} GiB RAM"));
        parts.Add(Invariant.Text($"best of {eligible} eligible of {total}"));
        return string.Join("; ", parts);
    }

    private static string WhyLower(Evaluated other, Evaluated chosen, HostFacts host)
    {
        if ((other.Warnings == 0) != (chosen.Warnings == 0))
        {
            return "its plan raises " + string.Join(", ", other.Resolved!.Advice.Where(a => a.Diagnostic.Severity == FlashMoeSeverity.Warning && a.Id.StartsWith("FM1", StringComparison.Ordinal)).Select(a => a.Id).Distinct())
                + " where the chosen one's raises none";
        }
        if (other.HardwareMet != chosen.HardwareMet) return "it declares more than this host has (" + other.HardwareShortfall + ")";
        if (other.GpusUsed != chosen.GpusUsed) return Invariant.Text($"it uses {other.GpusUsed} GPU(s), the chosen one {chosen.GpusUsed}");
        if (other.Profile.Hardware.RamGiB != chosen.Profile.Hardware.RamGiB)
        {
            return Invariant.Text($"it is declared for {other.Profile.Hardware.RamGiB:0.##} GiB RAM, the chosen one for {chosen.Profile.Hardware.RamGiB:0.##} GiB (closer to this host's {Gib(host.TotalRamBytes):0.#} GiB from below)");
        }
        var otherContext = other.Resolved?.Options.ContextSize ?? 0;
        var chosenContext = chosen.Resolved?.Options.ContextSize ?? 0;
        if (otherContext != chosenContext) return Invariant.Text($"its context is {otherContext} tokens, the chosen one's {chosenContext}");
        return "equal on every criterion; declared later";
    }

    private static string? ModelMismatch(ModelSpec spec, ModelSummary model)
    {
        if (model.IsDeclared) return null;
        var problems = new List<string>();
        if (spec.BlockCount is { } blocks && blocks != model.BlockCount) problems.Add(Invariant.Text($"{blocks} layers declared, {model.BlockCount} in the file"));
        if (spec.ExpertCount is { } experts && experts != model.ExpertCount) problems.Add(Invariant.Text($"{experts} experts declared, {model.ExpertCount} in the file"));
        if (spec.ExpertUsedCount is { } used && used != model.ExpertUsedCount) problems.Add(Invariant.Text($"{used} experts used declared, {model.ExpertUsedCount} in the file"));
        if (spec.SizeGiB is { } size && size > 0 && model.FileSizeBytes > 0)
        {
            var actual = Gib(model.FileSizeBytes);
            if (Math.Abs(actual - size) > DeclaredSizeTolerance * Math.Max(actual, size))
            {
                problems.Add(Invariant.Text($"{size:0.##} GiB declared, {actual:0.##} GiB file (more than {DeclaredSizeTolerance:P0} apart)"));
            }
        }
        return problems.Count == 0 ? null : "the profile is written for another model: " + string.Join(", ", problems);
    }

    private static ProfileRejection? MissingGpus(FlashMoeProfile profile, HostFacts host)
    {
        var declared = profile.Hardware.Gpus.Count;
        if (declared == 0) return null;
        var present = host.GpuDeviceCount ?? (host.Gpus.Count > 0 ? host.Gpus.Count : (int?)null);
        if (present is not { } count || count >= declared) return null;
        return new ProfileRejection("select.gpu-missing", Invariant.Text(
            $"it declares {declared} GPU(s) ({string.Join(", ", profile.Hardware.Gpus.Select(g => g.Name))}) but this host has {count}"));
    }

    private static ProfileRejection? MissingCpuFeature(CpuSpec cpu, HostFacts host)
    {
        if (cpu.Avx512 == true && host.Avx512 == false) return new ProfileRejection("select.cpu-feature-missing", "it declares AVX-512 and this CPU has none");
        if (cpu.Avx2 == true && host.Avx2 == false) return new ProfileRejection("select.cpu-feature-missing", "it declares AVX2 and this CPU has none");
        return null;
    }

    private static string? HardwareShortfall(HardwareSpec hardware, HostFacts host)
    {
        var problems = new List<string>();
        if (host.TotalRamBytes > 0 && hardware.RamGiB > Gib(host.TotalRamBytes) * (1 + DeclaredSizeTolerance))
        {
            problems.Add(Invariant.Text($"{hardware.RamGiB:0.##} GiB RAM declared, {Gib(host.TotalRamBytes):0.#} GiB here"));
        }
        if (hardware.Cpu.PhysicalCores is { } physical && host.PhysicalCores is { } hostPhysical && physical > hostPhysical)
        {
            problems.Add(Invariant.Text($"{physical} physical cores declared, {hostPhysical} here"));
        }
        return problems.Count == 0 ? null : string.Join(", ", problems);
    }

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? text.TrimEnd('.') : text.Substring(0, end);
    }

    private static double Gib(long bytes) => Units.ToGiB(bytes);

}
