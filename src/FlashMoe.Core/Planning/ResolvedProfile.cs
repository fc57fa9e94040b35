using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>A number a decision rests on.</summary>
/// <param name="Name">What it is, e.g. <c>usable RAM</c>.</param>
/// <param name="Value">The value.</param>
/// <param name="Unit">Its unit: <c>GiB</c>, <c>×</c>, <c>layers</c>, <c>threads</c>, …</param>
public sealed record DecisionFigure(string Name, double Value, string Unit);

/// <summary>How one option was resolved: the value, the rule that chose it, and why.</summary>
/// <param name="Option">Property path of the option, e.g. <c>load.mmap</c>.</param>
/// <param name="Value">The chosen value as text.</param>
/// <param name="RuleId">Stable ID of the rule that decided, e.g. <c>mmap.pinned-host-buffers</c>.</param>
/// <param name="Reason">Why, with the figures.</param>
/// <param name="Figures">The figures the rule compared.</param>
public sealed record Decision(string Option, string Value, string RuleId, string Reason, EquatableArray<DecisionFigure> Figures);

/// <summary>One piece of advice: a diagnostic and the profile property that drives it.</summary>
/// <param name="Diagnostic">The diagnostic (without location; see <see cref="Locate"/>).</param>
/// <param name="PropertyPath">Dotted path of the profile property to point at, e.g. <c>load.mmap</c>, <c>load.gpuLayers</c>.</param>
public sealed record Advice(FlashMoeDiagnostic Diagnostic, string PropertyPath)
{
    /// <summary>The diagnostic ID.</summary>
    public string Id => Diagnostic.Id;

    /// <summary>The diagnostic placed at the JSON token of <see cref="PropertyPath"/> (or its nearest written parent).</summary>
    public FlashMoeDiagnostic Locate(ProfileLocations? locations) =>
        locations is null ? Diagnostic : Diagnostic with { Location = locations.Find(PropertyPath) };
}

/// <summary>
/// A profile resolved for a model and a host: concrete load options, the decisions behind every <c>auto</c>,
/// the memory plan for those options and the advice. The MSBuild task and the runtime only call
/// <see cref="ProfileResolver.Resolve(FlashMoeProfile, ModelSummary, HostFacts)"/> and report this.
/// </summary>
public sealed record ResolvedProfile
{
    /// <summary>The profile as written.</summary>
    public FlashMoeProfile Profile { get; init; } = null!;
    /// <summary>The model summary the plan used (from the header, or declared facts).</summary>
    public ModelSummary Model { get; init; } = null!;
    /// <summary>The host the profile was resolved for.</summary>
    public HostFacts Host { get; init; } = null!;
    /// <summary>Options with every <c>auto</c> replaced.</summary>
    public ResolvedLoadOptions Options { get; init; } = new();
    /// <summary>How each option was resolved.</summary>
    public EquatableArray<Decision> Decisions { get; init; }
    /// <summary>The memory plan for <see cref="Options"/>.</summary>
    public MemoryPlan Plan { get; init; } = new();
    /// <summary>Advice in ID order: the plan rules (FM1xxx) and, for a detected host (<see cref="HostFacts.IsDetected"/>), the host-only rules (FM2xxx, <see cref="HostAdvice"/>).</summary>
    public EquatableArray<Advice> Advice { get; init; }

    /// <summary>True when any advice is an error.</summary>
    public bool HasErrors => Advice.Any(a => a.Diagnostic.Severity == FlashMoeSeverity.Error);

    /// <summary>The advice as diagnostics located in the profile's JSON.</summary>
    public IEnumerable<FlashMoeDiagnostic> Diagnostics(ProfileLocations? locations) => Advice.Select(a => a.Locate(locations));

    /// <summary>The decision for <paramref name="option"/>, or null.</summary>
    public Decision? DecisionFor(string option) => Decisions.FirstOrDefault(d => d.Option == option);
}
