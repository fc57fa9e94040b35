using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>Everything the advice rules look at.</summary>
internal sealed class AdviceContext
{
    private readonly Func<int> _largestFit;
    private readonly Func<int> _largestFitExpertsOnCpu;
    private int? _largestFitValue;
    private int? _largestFitExpertsOnCpuValue;

    public AdviceContext(FlashMoeProfile profile, ModelSummary model, HostFacts host, ResolvedLoadOptions options,
        MemoryPlan plan, MemoryPlan noMmapPlan, int explicitOverrideCount, Func<int> largestFit, Func<int> largestFitExpertsOnCpu)
    {
        Profile = profile;
        Model = model;
        Host = host;
        Options = options;
        Plan = plan;
        NoMmapPlan = noMmapPlan;
        ExplicitOverrideCount = explicitOverrideCount;
        _largestFit = largestFit;
        _largestFitExpertsOnCpu = largestFitExpertsOnCpu;
    }

    public FlashMoeProfile Profile { get; }
    public ModelSummary Model { get; }
    public HostFacts Host { get; }
    public ResolvedLoadOptions Options { get; }
    public MemoryPlan Plan { get; }
    public MemoryPlan NoMmapPlan { get; }
    public int ExplicitOverrideCount { get; }
    public int LargestFit => _largestFitValue ??= _largestFit();
    public int LargestFitExpertsOnCpu => _largestFitExpertsOnCpuValue ??= _largestFitExpertsOnCpu();
}

/// <summary>Facts about the host share that decide between mmap and no-mmap.</summary>
/// <param name="HostWeightsBesideGpu">Layer/output weights on the CPU while a GPU is present (pinned buffers without mmap).</param>
/// <param name="RepackedTypes">The repacked ggml types, e.g. <c>Q4_0</c>.</param>
internal readonly record struct MmapFacts(long HostWeightsBesideGpu, string RepackedTypes);

/// <summary>
/// The advice rules FM1001–FM1010. Each reads the plan and the resolved options and returns a diagnostic whose
/// message carries the figures and the measured reason; thresholds come from <see cref="EvidenceThresholds"/>.
/// </summary>
internal static class AdviceRules
{
    public static IEnumerable<Advice> Evaluate(AdviceContext c)
    {
        var list = new List<Advice>();
        var hasSize = c.Plan.Tensors.Count > 0;
        if (hasSize)
        {
            Add(list, NoMmapDoesNotFit(c));
            Add(list, MmapWhereNoMmapIsBetter(c));
            Add(list, HostShareExceedsRam(c));
            list.AddRange(GpuOvercommitted(c));
            Add(list, MlockIneffective(c));
            Add(list, GpuUnused(c));
        }
        Add(list, DeclaredFactsUsed(c));
        if (hasSize) Add(list, RepackMmapThrash(c));
        Add(list, QuantizedVCacheWithoutFlashAttention(c));
        list.AddRange(IgnoredOverrides(c));
        return list.OrderBy(a => a.Id, StringComparer.Ordinal).ToList();
    }

    public static MmapFacts MmapFacts(MemoryPlan plan, HostFacts host)
    {
        long beside = 0;
        var types = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var t in plan.Tensors)
        {
            if (!t.Device.IsCpu) continue;
            if (host.Gpus.Count > 0 && (t.Layer is not null || t.Role == TensorRole.Output) && !t.IsDuplicate) beside += t.Bytes;
            if (t.Repacked) types.Add(t.Type.ToString());
        }
        return new MmapFacts(beside, string.Join("/", types));
    }

    // FM1001: no-mmap and the anonymous need exceeds usable RAM (docs/evidence.md#ram-limit-sweep-small-models: OOM at 1.0 ×, fine at 1.02 ×).
    private static Advice? NoMmapDoesNotFit(AdviceContext c)
    {
        if (c.Options.UseMmap) return null;
        var h = c.Plan.Host;
        if (h.NoMmapFits) return null;

        var fixes = new List<string>();
        var mmapRatio = h.FootprintRatio;
        fixes.Add(h.RepackedBytes > 0
            ? Invariant.Text($"mmap keeps it loadable only with enough RAM for the repacked copy (≥ {h.MmapSafeRatio:F2} ×; below {EvidenceThresholds.RepackMmapLivelockRatio:F1} × it livelocks)")
            : Invariant.Text($"set load.mmap to true (it runs, {MmapSlowdownText(mmapRatio, withPoints: false)} by the measured curves)"));
        if (c.Host.Gpus.Count > 0 && c.Options.GpuLayerCount < c.Model.BlockCount + 1) fixes.Add("offload more layers to the GPU (load.gpuLayers)");
        if (h.KvCacheBytes > 0) fixes.Add(Invariant.Text($"a smaller context or KV type (host KV {Units.ToGiB(h.KvCacheBytes):F1} GiB)"));
        fixes.Add("a quantization that fits: " + FittingQuantizations(c.Plan));

        return Create(DiagnosticCatalog.NoMmapDoesNotFit, "load.mmap",
            Units.ToGiB(h.FootprintBytes), Units.ToGiB(h.CpuWeightBytes), Units.ToGiB(h.KvCacheBytes), Units.ToGiB(h.ComputeResidentBytes + h.OutputBytes), Units.ToGiB(h.RuntimeOverheadBytes),
            Units.ToGiB(h.UsableBytes), UsableText(h), h.FootprintRatio, string.Join("; ", fixes) + ".");
    }

    // FM1002: mmap on where no-mmap fits and is faster or leaner (docs/evidence.md#the-rules-of-thumb-revisited, docs/evidence.md#pinned-host-buffers-beside-a-gpu, docs/evidence.md#the-seed-case).
    private static Advice? MmapWhereNoMmapIsBetter(AdviceContext c)
    {
        if (!c.Options.UseMmap || c.Profile.Load.Mmap != AutoSwitch.On) return null;
        var noMmap = c.NoMmapPlan.Host;
        if (!noMmap.NoMmapFits) return null;

        var facts = MmapFacts(c.NoMmapPlan, c.Host);
        var reasons = new List<string>();
        if (facts.HostWeightsBesideGpu > 0)
        {
            var windows = string.Equals(c.Host.OperatingSystem, "windows", StringComparison.OrdinalIgnoreCase)
                ? "; on Windows the weights already copied to the GPU also stay mapped"
                : string.Empty;
            reasons.Add(Invariant.Text(
                $"{Units.ToGiB(facts.HostWeightsBesideGpu):F1} GiB of layer weights stay on the CPU beside the GPU, and under mmap they lose the pinned host buffers used for transfers (seed case: {EvidenceThresholds.SeedMmapTokensPerSecond:F1} → {EvidenceThresholds.SeedNoMmapTokensPerSecond:F1} tok/s with no-mmap; llama.cpp PR 20978: prompt {EvidenceThresholds.Pr20978MmapPromptTokensPerSecond:F0} → {EvidenceThresholds.Pr20978NoMmapPromptTokensPerSecond:F0} t/s){windows}"));
        }
        if (noMmap.RepackedBytes > 0 && !InRepackThrashZone(c.Plan.Host))
        {
            reasons.Add(Invariant.Text(
                $"{Units.ToGiB(noMmap.RepackedBytes):F1} GiB of {facts.RepackedTypes} weights are repacked, so mmap holds the file pages plus the repacked copy (measured peak RSS {EvidenceThresholds.RepackMmapPeakRssMiB / 1024:F1} vs {EvidenceThresholds.RepackNoMmapPeakRssMiB / 1024:F1} GiB) and thrashes below ≈ {EvidenceThresholds.RepackMmapSafeRatio:F2} ×"));
        }
        if (c.Host.Storage is StorageKind.Hdd or StorageKind.Network)
        {
            reasons.Add("the model is on " + Invariant.Lower(c.Host.Storage) + " storage, where every page-cache miss under mmap is a slow re-read");
        }
        if (reasons.Count == 0) return null;
        return Create(DiagnosticCatalog.MmapWhereNoMmapIsBetter, "load.mmap",
            Units.ToGiB(noMmap.FootprintBytes), Units.ToGiB(noMmap.UsableBytes), noMmap.FootprintRatio, string.Join("; ", reasons));
    }

    // FM1003: even with mmap the footprint exceeds usable RAM, i.e. ratio < 1.0 (docs/evidence.md#ram-limit-sweep-small-models, docs/evidence.md#ram-limit-sweep-at-scale, docs/evidence.md#the-rules-of-thumb-revisited).
    private static Advice? HostShareExceedsRam(AdviceContext c)
    {
        if (!c.Options.UseMmap) return null;
        var h = c.Plan.Host;
        var ratio = h.FootprintRatio;
        string consequence;
        if (h.RepackedBytes > 0)
        {
            if (ratio >= EvidenceThresholds.RepackMmapLivelockRatio) return null; // the thrash zone above 1.0 × is FM1008
            consequence = Invariant.Text(
                $"With {Units.ToGiB(h.RepackedBytes):F1} GiB of repacked weights it will livelock or be killed (measured: livelock at {EvidenceThresholds.RepackMmapMeasuredLivelockRatio:F2} ×, OOM-killed at {EvidenceThresholds.RepackMmapMeasuredOomRatio:F2} ×).");
        }
        else
        {
            if (ratio >= EvidenceThresholds.MmapFullSpeedRatio) return null;
            consequence = "Expected generation slowdown with mmap: " + MmapSlowdownText(ratio, withPoints: true) + ".";
            if (c.Host.Storage != StorageKind.Unknown)
            {
                consequence += Invariant.Text($" About {Units.ToGiB(h.FootprintBytes - h.UsableBytes):F1} GiB cannot stay cached and is re-read from {Invariant.Lower(c.Host.Storage)} storage as tokens need it.");
            }
        }
        return Create(DiagnosticCatalog.HostShareExceedsRam, "model.path",
            Units.ToGiB(h.FootprintBytes), Units.ToGiB(h.CpuWeightBytes), Units.ToGiB(h.UsableBytes), ratio, Units.ToGiB(Math.Max(0, h.FootprintBytes - h.UsableBytes)),
            consequence, FittingQuantizations(c.Plan));
    }

    // FM1004: a GPU is overcommitted (weights + KV + compute + llama.cpp's 1 GiB fit margin > VRAM).
    private static IEnumerable<Advice> GpuOvercommitted(AdviceContext c)
    {
        foreach (var d in c.Plan.Devices.Skip(1))
        {
            if (d.Fits) continue;
            // Experts on CPU is only an alternative for a MoE whose experts are not all on the CPU already.
            var expertsAlternative = c.Model.IsMoe && c.Profile.Load.ExpertsOnCpu.Kind != ExpertsOnCpuKind.All
                ? Invariant.Text($", {c.LargestFitExpertsOnCpu} with expertsOnCpu true")
                : string.Empty;
            yield return Create(DiagnosticCatalog.GpuOvercommitted, "load.gpuLayers",
                d.Name, Units.ToGiB(d.CapacityBytes), Units.ToGiB(d.WeightBytes), Units.ToGiB(d.KvCacheBytes), Units.ToGiB(d.ComputeBytes), Units.ToGiB(d.ReserveBytes),
                Units.ToGiB(d.TotalBytes + d.ReserveBytes), c.Options.GpuLayerCount, c.LargestFit, expertsAlternative)!;
        }
    }

    // FM1005: mlock that cannot hold (locked > usable) or does nothing (repacked weights are never locked, docs/evidence.md#llamasharp-030-behaviour).
    private static Advice? MlockIneffective(AdviceContext c)
    {
        if (!c.Options.UseMlock) return null;
        var h = c.Plan.Host;
        string reason;
        if (h.LockedBytes > h.UsableBytes)
        {
            reason = Invariant.Text($"it would lock {Units.ToGiB(h.LockedBytes):F1} GiB of weights while only {Units.ToGiB(h.UsableBytes):F1} GiB is usable: the lock cannot hold and the rest of the system is starved. Turn load.mlock off or keep more weights on the GPU.");
        }
        else if (h.LockedBytes <= 0 || h.RepackedBytes >= h.CpuWeightBytes * EvidenceThresholds.MlockUselessRepackedShare)
        {
            reason = h.RepackedBytes > 0
                ? Invariant.Text($"{Units.ToGiB(h.RepackedBytes):F1} of the {Units.ToGiB(h.CpuWeightBytes):F1} GiB host weights are repacked, and repacked weights are never locked: mlock holds only {Units.ToGiB(h.LockedBytes):F1} GiB and does nothing useful. Turn load.mlock off.")
                : "no weights stay on the host (all are on the GPU): mlock does nothing. Turn load.mlock off.";
        }
        else if (h.RepackedBytes > 0)
        {
            reason = Invariant.Text($"{Units.ToGiB(h.RepackedBytes):F1} GiB of the {Units.ToGiB(h.CpuWeightBytes):F1} GiB host weights are repacked and never locked: only {Units.ToGiB(h.LockedBytes):F1} GiB is held. Expect the repacked part to be swappable.");
        }
        else
        {
            return null;
        }
        return Create(DiagnosticCatalog.MlockIneffective, "load.mlock", reason);
    }

    // FM1006: a GPU declared but unused while layers would fit it, or gpuLayers set without a GPU.
    private static Advice? GpuUnused(AdviceContext c)
    {
        var requested = c.Profile.Load.GpuLayers;
        if (c.Host.Gpus.Count == 0)
        {
            if (requested.Kind == GpuLayersKind.All || (requested.Kind == GpuLayersKind.Count && requested.Count > 0))
            {
                var text = requested.Kind == GpuLayersKind.All ? "\"all\"" : requested.Count.ToString(CultureInfo.InvariantCulture);
                return Create(DiagnosticCatalog.GpuUnused, "load.gpuLayers", Invariant.Text(
                    $"gpuLayers is {text} but no GPU is declared or detected: every layer stays on the CPU ({Units.ToGiB(c.Plan.Host.CpuWeightBytes):F1} GiB host share). Declare the GPU under hardware.gpus or set load.gpuLayers to 0 or \"auto\"."));
            }
            return null;
        }
        if (requested.Kind != GpuLayersKind.Count || requested.Count != 0) return null;
        var fit = c.LargestFit;
        if (fit <= 0) return null;
        var gpu = c.Host.Gpus[0];
        return Create(DiagnosticCatalog.GpuUnused, "load.gpuLayers", Invariant.Text(
            $"{gpu.Name} ({gpu.VramGiB:F1} GiB) is declared but gpuLayers is 0 while {fit} of {c.Model.BlockCount + 1} layers would fit it, taking that share off the {Units.ToGiB(c.Plan.Host.CpuWeightBytes):F1} GiB host share. Set load.gpuLayers to \"auto\" or {fit}."));
    }

    // FM1007: declared facts stood in for the file.
    private static Advice? DeclaredFactsUsed(AdviceContext c)
    {
        if (!c.Model.IsDeclared) return null;
        var spec = c.Profile.Model;
        var kind = c.Model.IsMoe
            ? Invariant.Text($"MoE {c.Model.ExpertUsedCount}/{c.Model.ExpertCount} experts")
            : "dense";
        var assumed = c.Model.Assumptions.Count == 0 ? "nothing" : string.Join("; ", c.Model.Assumptions);
        return Create(DiagnosticCatalog.DeclaredFactsUsed, "model.path",
            spec.Path ?? "(none)", Units.ToGiB(c.Model.FileSizeBytes), c.Model.BlockCount, kind, assumed);
    }

    // FM1008: mmap with repacked types in the thrash zone 1.0 × ≤ ratio < required (docs/evidence.md#ram-limit-sweep-small-models).
    private static Advice? RepackMmapThrash(AdviceContext c)
    {
        if (!c.Options.UseMmap) return null;
        var h = c.Plan.Host;
        if (!InRepackThrashZone(h)) return null;
        var noMmap = c.NoMmapPlan.Host;
        var fix = noMmap.NoMmapFits
            ? Invariant.Text($"no-mmap fits ({Units.ToGiB(noMmap.FootprintBytes):F1} of {Units.ToGiB(noMmap.UsableBytes):F1} GiB) at full speed: set load.mmap to false.")
            : "no-mmap does not fit either: offload more layers, shrink the context, or pick a smaller quantization.";
        var facts = MmapFacts(c.Plan, c.Host);
        return Create(DiagnosticCatalog.RepackMmapThrash, "load.mmap",
            Units.ToGiB(h.RepackedBytes), facts.RepackedTypes, h.MmapSafeRatio, Units.ToGiB(h.FootprintBytes), Units.ToGiB(h.UsableBytes), h.FootprintRatio,
            EvidenceThresholds.RepackThrashTokensPerSecond, EvidenceThresholds.RepackNoMmapTokensPerSecond, fix);
    }

    // FM1009: a quantized V cache needs flash attention (docs/evidence.md#kv-cache-size).
    private static Advice? QuantizedVCacheWithoutFlashAttention(AdviceContext c)
    {
        if (c.Options.FlashAttention || !KvCacheEstimator.IsQuantized(c.Options.TypeV)) return null;
        return Create(DiagnosticCatalog.QuantizedVCacheNeedsFlashAttention, "load.flashAttention",
            Invariant.Lower(c.Options.TypeV), Units.ToGiB(c.Plan.KvCacheBytes));
    }

    // FM1010: overrides the plan could not apply. An override to CPU_REPACK (dropped by LLamaSharp, docs/evidence.md#llamasharp-030-behaviour) is the
    // profile check's FM0012 at the same JSON token: it is not reported twice.
    private static IEnumerable<Advice> IgnoredOverrides(AdviceContext c)
    {
        foreach (var o in c.Plan.IgnoredOverrides)
        {
            if (LlamaPlacement.IsDroppedByLlamaSharp(o.Device)) continue;
            var path = o.Index < c.ExplicitOverrideCount
                ? "load.tensorOverrides[" + o.Index.ToString(CultureInfo.InvariantCulture) + "]"
                : "load.expertsOnCpu";
            yield return Create(DiagnosticCatalog.TensorOverrideIgnored, path, o.Pattern, o.Device, o.Reason)!;
        }
    }

    internal static bool InRepackThrashZone(HostMemoryPlan h) =>
        h.UseMmap && h.RepackedBytes > 0 && h.FootprintRatio >= EvidenceThresholds.RepackMmapLivelockRatio && h.FootprintRatio < h.MmapSafeRatio;

    /// <summary>Fraction of generation speed lost under mmap without repack at <paramref name="ratio"/> on the 4.9 GB model (docs/evidence.md#ram-limit-sweep-small-models).</summary>
    internal static double SlowdownFraction(double ratio) => Interpolate(EvidenceThresholds.MmapSlowdownCurve, ratio);

    /// <summary>Fraction of generation speed lost under mmap without repack at <paramref name="ratio"/> on the 40 GB model (docs/evidence.md#ram-limit-sweep-at-scale).</summary>
    internal static double LargeModelSlowdownFraction(double ratio) => Interpolate(EvidenceThresholds.MmapLargeModelSlowdownCurve, ratio);

    /// <summary>
    /// The expected slowdown of mmap (no repack) at <paramref name="ratio"/> by BOTH measured curves, with the measured
    /// points they rest on: the 4.9 GB model lost nothing down to 0.95 ×, the 40 GB model was ≈ 7 × slower there.
    /// </summary>
    internal static string MmapSlowdownText(double ratio, bool withPoints)
    {
        var small = EvidenceThresholds.MmapSlowdownCurve;
        var large = EvidenceThresholds.MmapLargeModelSlowdownCurve;
        var smallLoss = SlowdownFraction(ratio);
        var largeLoss = LargeModelSlowdownFraction(ratio);
        var smallText = smallLoss <= 0 ? "no loss" : Invariant.Text($"≈ {smallLoss * 100:F0} % lost{OrWorse(small, ratio)}");
        var largeText = largeLoss <= 0 ? "no loss" : Invariant.Text($"≈ {Times(largeLoss):F1} × slower{OrWorse(large, ratio)}");
        if (!withPoints)
        {
            return Invariant.Text($"at {ratio:F2} × {smallText} on the {EvidenceThresholds.MmapSmallModelGB:0.#} GB model and {largeText} on the {EvidenceThresholds.MmapLargeModelGB:F0} GB model");
        }
        // An index loop, not Skip/Select: LINQ over (double, double) tuples is JIT-compiled on a build's first check.
        var lossPoints = new string[Math.Max(0, small.Count - 1)];
        for (var i = 1; i < small.Count; i++) lossPoints[i - 1] = Invariant.Text($"−{small[i].Loss * 100:F0} % at {small[i].Ratio:0.0#} ×");
        var smallPoints = Invariant.Text($"no loss down to {small[0].Ratio:0.0#} ×, ") + string.Join(", ", lossPoints);
        var largePoints = Invariant.Text($"full speed at {large[0].Ratio:F1} ×, ≈ {Times(large[1].Loss):F0} × slower at {large[1].Ratio:0.0#} ×, ≈ {Times(large[large.Count - 1].Loss):F0} × at {large[large.Count - 1].Ratio:0.0#} ×");
        return Invariant.Text(
            $"at {ratio:F2} × {smallText} by the {EvidenceThresholds.MmapSmallModelGB:0.#} GB model's curve ({smallPoints}) and {largeText} by the {EvidenceThresholds.MmapLargeModelGB:F0} GB model's ({largePoints}); linear between measured points");
    }

    private static double Times(double loss) => 1 / (1 - loss);

    private static string OrWorse(IReadOnlyList<(double Ratio, double Loss)> curve, double ratio) =>
        ratio < curve[curve.Count - 1].Ratio ? " or worse" : string.Empty;

    private static double Interpolate(IReadOnlyList<(double Ratio, double Loss)> curve, double ratio)
    {
        if (ratio >= curve[0].Ratio) return 0;
        for (var i = 1; i < curve.Count; i++)
        {
            if (ratio >= curve[i].Ratio)
            {
                var (r0, l0) = curve[i - 1];
                var (r1, l1) = curve[i];
                return l0 + (l1 - l0) * (r0 - ratio) / (r0 - r1);
            }
        }
        return curve[curve.Count - 1].Loss;
    }

    private static string FittingQuantizations(MemoryPlan plan)
    {
        var fits = plan.QuantizationFits.Where(q => q.Fits).Select(q => Invariant.Text($"{q.Name} ({Units.ToGiB(q.SizeBytes):F1} GiB)")).ToList();
        return fits.Count == 0 ? "none of IQ1_S…Q8_0" : string.Join(", ", fits);
    }

    private static string UsableText(HostMemoryPlan h)
    {
        var text = Invariant.Text($"RAM {Units.ToGiB(h.TotalRamBytes):F1} GiB − reserve {Units.ToGiB(h.ReserveBytes):F1} GiB");
        if (h.MemoryLimitBytes is { } limit) text += Invariant.Text($", container limit {Units.ToGiB(limit):F1} GiB");
        return text;
    }

    private static Advice? Create(FlashMoeDiagnosticDescriptor descriptor, string path, params object?[] args) =>
        new(FlashMoeDiagnostic.Create(descriptor, null, args), path);

    private static void Add(List<Advice> list, Advice? advice)
    {
        if (advice is not null) list.Add(advice);
    }
}
