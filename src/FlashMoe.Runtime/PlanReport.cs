using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using static FlashMoe.Runtime.ReportText;

namespace FlashMoe.Runtime;

/// <summary>
/// Renders a resolved profile as readable text: the host facts, each decision with its rule ID and reason, the
/// options handed to llama.cpp (and what LLamaSharp cannot apply), the memory plan, the advice with FM IDs and,
/// after a load, the estimated vs actual buffers. For people; the data is on <see cref="ResolvedProfile"/> and
/// <see cref="BufferComparison"/>.
/// </summary>
public static class PlanReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Renders the report.</summary>
    /// <param name="resolved">The resolved profile.</param>
    /// <param name="host">The detected host (its full description is printed); null prints <see cref="ResolvedProfile.Host"/>'s facts.</param>
    /// <param name="buffers">The comparison with what llama.cpp allocated; null before a load.</param>
    public static string Render(ResolvedProfile resolved, HostInfo? host = null, BufferComparison? buffers = null)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        var sb = new StringBuilder();
        var profile = resolved.Profile;
        var facts = resolved.Host;
        sb.Append("Profile ").Append(profile.Name).Append(" (objective ").Append(Lower(profile.Objective)).Append("), resolved for ")
          .Append(facts.IsDetected ? "the detected host" : "its declared hardware").Append('\n');

        Section(sb, facts.IsDetected ? "Host (detected)" : "Host (declared in the profile)");
        var hostText = host?.Describe() ?? DescribeFacts(facts);
        foreach (var line in hostText.Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries)) sb.Append("  ").Append(line).Append('\n');

        Section(sb, "Model");
        AppendModel(sb, resolved.Model);

        Section(sb, "Decisions (auto → value  [rule]  reason)");
        if (resolved.Decisions.Count == 0) sb.Append("  none: every option is set explicitly\n");
        foreach (var d in resolved.Decisions)
        {
            sb.Append("  ").Append(d.Option).Append(" = ").Append(d.Value).Append("  [").Append(d.RuleId).Append("]\n");
            sb.Append("      ").Append(d.Reason).Append('\n');
        }

        Section(sb, "Options handed to llama.cpp");
        AppendOptions(sb, resolved.Options);
        var unsupported = resolved.GetUnsupported();
        if (unsupported.Count > 0)
        {
            sb.Append("  not applied by LLamaSharp 0.30:\n");
            foreach (var note in unsupported) sb.Append("    - ").Append(note).Append('\n');
        }

        Section(sb, "Memory plan (estimated)");
        AppendPlan(sb, resolved.Plan);

        Section(sb, "Advice");
        if (resolved.Advice.Count == 0) sb.Append("  none: the plan raises no concern\n");
        foreach (var a in resolved.Advice)
        {
            sb.Append("  ").Append(a.Id).Append(' ').Append(Lower(a.Diagnostic.Severity)).Append(" (").Append(a.PropertyPath).Append("): ")
              .Append(a.Diagnostic.Message).Append('\n');
        }

        if (buffers is not null)
        {
            Section(sb, "Buffers: estimated vs actual (llama.cpp log)");
            sb.Append(buffers.Describe());
        }
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string title) => sb.Append('\n').Append(title).Append('\n');

    private static void AppendModel(StringBuilder sb, ModelSummary m)
    {
        sb.Append("  ").Append(m.Name ?? "(unnamed)").Append(m.IsDeclared ? " [declared facts: the file is not here]" : " [" + m.Architecture + ", from the GGUF header]").Append('\n');
        sb.Append("  ").Append(Size(m.FileSizeBytes)).Append(" file, ").Append(Size(m.TensorBytes)).Append(" of tensors")
          .Append(m.TensorCount > 0 ? string.Format(Invariant, " in {0} tensors", m.TensorCount) : string.Empty)
          .Append(", ").Append(m.BlockCount.ToString(Invariant)).Append(" layers");
        if (m.IsMoe) sb.Append(string.Format(Invariant, ", {0} experts ({1} used per token)", m.ExpertCount, m.ExpertUsedCount));
        if (m.BytesByType.Count > 0)
        {
            sb.Append(", ").Append(string.Join(" + ", m.BytesByType.OrderByDescending(p => p.Value).Select(p => p.Key + " " + Size(p.Value))));
        }
        sb.Append('\n');
        foreach (var assumption in m.Assumptions) sb.Append("  assumed: ").Append(assumption).Append('\n');
    }

    private static void AppendOptions(StringBuilder sb, ResolvedLoadOptions o)
    {
        sb.Append(string.Format(Invariant,
            "  mmap {0}, mlock {1}, gpu layers {2}, threads {3} (batch {4}), context {5}, batch {6} / ubatch {7}\n",
            Bool(o.UseMmap), Bool(o.UseMlock), o.GpuLayerCount, o.Threads, o.BatchThreads, o.ContextSize, o.BatchSize, o.UBatchSize));
        sb.Append(string.Format(Invariant,
            "  flash attention {0}, KV cache {1}/{2}, repack {3}, KV offload {4}",
            Bool(o.FlashAttention), Lower(o.TypeK), Lower(o.TypeV), Bool(o.Repack), Bool(o.KvOffload)));
        if (o.TensorSplits.Count > 0) sb.Append(", main GPU ").Append(o.MainGpu.ToString(Invariant)).Append(", split ").Append(string.Join("/", o.TensorSplits.Select(s => s.ToString("0.##", Invariant))));
        sb.Append('\n');
        sb.Append("  tensor overrides: ").Append(o.TensorOverrides.Count == 0 ? "none" : string.Join(", ", o.TensorOverrides.Select(t => t.Pattern + " → " + t.Device))).Append('\n');
    }

    private static void AppendPlan(StringBuilder sb, MemoryPlan plan)
    {
        sb.Append(string.Format(Invariant, "  {0,-14} {1,7} {2,12} {3,12} {4,12} {5,12} {6,12} {7,12}\n",
            "device", "layers", "weights", "repacked", "KV cache", "compute", "output", "total"));
        foreach (var d in plan.Devices)
        {
            sb.Append(string.Format(Invariant, "  {0,-14} {1,7} {2,12} {3,12} {4,12} {5,12} {6,12} {7,12}",
                Truncate(d.Name, 14), d.LayerCount + (d.HoldsOutputLayer ? "+out" : ""), Size(d.WeightBytes), Size(d.RepackedBytes),
                Size(d.KvCacheBytes), Size(d.ComputeBytes), Size(d.OutputBytes), Size(d.TotalBytes)));
            if (!d.Device.IsCpu)
            {
                sb.Append(string.Format(Invariant, "  of {0} VRAM (+{1} reserve){2}", Size(d.CapacityBytes), Size(d.ReserveBytes), d.Fits ? "" : "  DOES NOT FIT"));
            }
            sb.Append('\n');
        }
        var h = plan.Host;
        sb.Append(string.Format(Invariant,
            "  host RAM: footprint {0} (weights {1}, KV {2}, compute {3} resident of {9} reserved, output {4}, runtime {5}) of {6} usable → {7:0.00} × ({8})\n",
            Size(h.FootprintBytes), Size(h.CpuWeightBytes), Size(h.KvCacheBytes), Size(h.ComputeResidentBytes), Size(h.OutputBytes),
            Size(h.RuntimeOverheadBytes), Size(h.UsableBytes), h.FootprintRatio, h.NoMmapFits ? "no-mmap fits" : "no-mmap does not fit", Size(h.ComputeBytes)));
        sb.Append(string.Format(Invariant,
            "  usable = {0} RAM − {1} reserve{2}{3}; under {4}: {5} anonymous, {6} page cache, peak RSS ≈ {7}{8}\n",
            Size(h.TotalRamBytes), Size(h.ReserveBytes), h.ReserveIsDefault ? " (default)" : "",
            h.MemoryLimitBytes is { } limit ? ", capped by the " + Size(limit) + " memory limit" : "",
            h.UseMmap ? "mmap" : "no-mmap", Size(h.AnonymousBytes), Size(h.FileBackedBytes), Size(h.PeakRssBytes),
            h.LockedBytes > 0 ? ", " + Size(h.LockedBytes) + " locked" : ""));
        if (plan.OffloadedLayerCount > 0 || plan.Devices.Count > 1)
        {
            sb.Append(string.Format(Invariant, "  offloaded {0} layers (incl. output) to GPU\n", plan.OffloadedLayerCount));
        }
        if (plan.Roofline.UpperBoundTokensPerSecond is { } bound)
        {
            sb.Append(string.Format(Invariant, "  roofline: {0} read per token from host memory → at most {1:0.0} tok/s at {2:0} GB/s\n",
                Size(plan.Roofline.ActiveHostBytesPerToken), bound, plan.Roofline.MemoryBandwidthGBs));
        }
        foreach (var ignored in plan.IgnoredOverrides)
        {
            sb.Append("  ignored override ").Append(ignored.Pattern).Append(" → ").Append(ignored.Device).Append(": ").Append(ignored.Reason).Append('\n');
        }
    }

    /// <summary>The facts of a declared host (a detected one prints <see cref="HostInfo.Describe"/>).</summary>
    private static string DescribeFacts(HostFacts f)
    {
        var sb = new StringBuilder();
        sb.Append("RAM           ").Append(Size(f.TotalRamBytes)).Append(f.ReserveBytes is { } r ? ", " + Size(r) + " reserved" : string.Empty).Append('\n');
        sb.Append("CPU           ").Append(Count(f.PhysicalCores)).Append(" physical / ").Append(Count(f.LogicalCores)).Append(" logical cores")
          .Append(", AVX2 ").Append(YesNo(f.Avx2)).Append(", AVX-512 ").Append(YesNo(f.Avx512)).Append('\n');
        if (f.Gpus.Count == 0) sb.Append("GPUs          none\n");
        for (var i = 0; i < f.Gpus.Count; i++)
        {
            var g = f.Gpus[i];
            sb.Append(i == 0 ? "GPUs          " : "              ").Append(g.Name).Append(", ")
              .Append(g.VramGiB.ToString("0.#", Invariant)).Append(" GiB, ").Append(g.Backend).Append('\n');
        }
        sb.Append("Storage       ").Append(Lower(f.Storage)).Append('\n');
        if (f.MemoryBandwidthGBs is { } bandwidth) sb.Append("Bandwidth     ").Append(bandwidth.ToString("0.#", Invariant)).Append(" GB/s\n");
        return sb.ToString();
    }

    private static string Size(long bytes) => Units.FormatSize(bytes, "0.00", "0.00");

    private static string Truncate(string text, int length) => text.Length <= length ? text : text.Substring(0, length - 1) + "…";
#pragma warning disable CA1308 // Normalize strings to uppercase: lower case is the report's spelling of enum names, not a comparison key.
    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
#pragma warning restore CA1308
    private static string Bool(bool value) => value ? "on" : "off";
}
