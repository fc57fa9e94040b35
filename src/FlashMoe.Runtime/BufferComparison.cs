using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Runtime.Native;

namespace FlashMoe.Runtime;

/// <summary>The kinds of buffer llama.cpp allocates and the plan estimates.</summary>
public enum BufferKind
{
    /// <summary>Model weights as loaded (mapped file range under mmap, allocated copies otherwise), repacked ones excluded.</summary>
    Weights,
    /// <summary>Weights repacked for the CPU (<c>CPU_REPACK</c>).</summary>
    Repacked,
    /// <summary>The KV cache.</summary>
    KvCache,
    /// <summary>The compute (scratch) buffer.</summary>
    Compute,
    /// <summary>The output (logits) buffer.</summary>
    Output,
}

/// <summary>One buffer: what the plan estimated and what llama.cpp logged.</summary>
/// <param name="Device">The device it lives on (<c>CPU</c>, <c>GPU0</c>, …).</param>
/// <param name="Kind">The buffer kind.</param>
/// <param name="PlannedBytes">The plan's estimate.</param>
/// <param name="ActualBytes">What llama.cpp logged; null when not (yet) known, e.g. context buffers before the first context.</param>
public sealed record BufferEstimate(DeviceRef Device, BufferKind Kind, long PlannedBytes, long? ActualBytes)
{
    /// <summary>Actual − planned (positive: the plan was low); null without an actual figure.</summary>
    public long? ErrorBytes => ActualBytes - PlannedBytes;

    /// <summary>
    /// The error relative to the actual size (to the plan when llama.cpp logged 0.00 MiB); null without an actual
    /// figure. An error below llama.cpp's printed resolution (0.005 MiB) counts as none.
    /// </summary>
    public double? RelativeError => ErrorBytes is not { } error ? null
        : Math.Abs(error) < BufferComparison.PrintedResolutionBytes ? 0
        : ActualBytes > 0 ? error / (double)ActualBytes!.Value
        : PlannedBytes > 0 ? error / (double)PlannedBytes
        : 0;

    /// <summary>
    /// Within the planner's promised accuracy (<see cref="PlanAccuracy"/>: ±3 % or 64 MiB) of the actual size; null
    /// without an actual figure.
    /// </summary>
    public bool? WithinTolerance => ActualBytes is not { } actual ? null : PlanAccuracy.IsWithinTolerance(PlannedBytes, actual);
}

/// <summary>
/// The plan's buffer estimates next to what llama.cpp actually allocated (parsed from its log), per device and
/// buffer kind. Buffers neither side has are left out.
/// </summary>
public sealed class BufferComparison
{
    /// <summary>llama.cpp prints buffer sizes in MiB with two decimals: figures are exact to half of 0.01 MiB.</summary>
    public const long PrintedResolutionBytes = (long)(0.005 * Units.MiB);

    private BufferComparison(IReadOnlyList<BufferEstimate> rows, bool weightsAreMappedRange)
    {
        Rows = rows;
        WeightsAreMappedRange = weightsAreMappedRange;
    }

    /// <summary>One row per device and buffer kind, CPU first, in <see cref="BufferKind"/> order.</summary>
    public IReadOnlyList<BufferEstimate> Rows { get; }

    /// <summary>
    /// True when the CPU weights were memory-mapped: llama.cpp then logs the mapped file range spanning the CPU
    /// tensors (repacked tensors inside that range included), and the planned figure is that range.
    /// </summary>
    public bool WeightsAreMappedRange { get; }

    /// <summary>True when every row with an actual figure is within tolerance.</summary>
    public bool AllWithinTolerance => Rows.All(r => r.WithinTolerance != false);

    /// <summary>The row for <paramref name="kind"/> on <paramref name="device"/>, or null.</summary>
    public BufferEstimate? Find(DeviceRef device, BufferKind kind) => Rows.FirstOrDefault(r => r.Device == device && r.Kind == kind);

    /// <summary>Compares <paramref name="resolved"/>'s plan with <paramref name="actual"/>.</summary>
    public static BufferComparison Compare(ResolvedProfile resolved, LlamaBufferReport actual)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        if (actual is null) throw new ArgumentNullException(nameof(actual));
        var plan = resolved.Plan;
        var mapped = plan.Options.UseMmap && resolved.Model.Tensors.Count > 0;
        var hasContext = actual.ContextCount > 0;

        var planned = new SortedDictionary<(int Device, BufferKind Kind), long>();
        foreach (var device in plan.Devices)
        {
            var id = device.Device.GpuIndex;
            var weights = device.WeightBytes - device.RepackedBytes;
            if (device.Device.IsCpu && mapped) weights = plan.Host.MappedBytes; // the planner's mapped span (CPU_Mapped)
            planned[(id, BufferKind.Weights)] = weights;
            planned[(id, BufferKind.Repacked)] = device.RepackedBytes;
            planned[(id, BufferKind.KvCache)] = device.KvCacheBytes;
            planned[(id, BufferKind.Compute)] = device.ComputeBytes;
            planned[(id, BufferKind.Output)] = device.OutputBytes;
        }

        var measured = new Dictionary<(int Device, BufferKind Kind), long>();
        void Add(IReadOnlyDictionary<string, long> buffers, Func<string, BufferKind> kindOf)
        {
            foreach (var pair in buffers)
            {
                var key = (DeviceOf(pair.Key), kindOf(pair.Key));
                measured[key] = (measured.TryGetValue(key, out var prior) ? prior : 0) + pair.Value;
            }
        }
        Add(actual.ModelBuffers, name => string.Equals(name, ResolvedLoadOptionsExtensions.CpuRepackBufferType, StringComparison.Ordinal) ? BufferKind.Repacked : BufferKind.Weights);
        Add(actual.KvBuffers, _ => BufferKind.KvCache);
        Add(actual.ComputeBuffers, _ => BufferKind.Compute);
        Add(actual.OutputBuffers, _ => BufferKind.Output);

        var keys = planned.Keys.Concat(measured.Keys).Distinct()
            .OrderBy(k => k.Device < 0 ? -1 : k.Device).ThenBy(k => k.Kind);
        var rows = new List<BufferEstimate>();
        foreach (var key in keys)
        {
            var plannedBytes = planned.TryGetValue(key, out var p) ? p : 0;
            long? actualBytes = measured.TryGetValue(key, out var a) ? a : null;
            // Weight buffers are known after the load; an absent one means llama.cpp allocated none there.
            var known = key.Kind is BufferKind.Weights or BufferKind.Repacked ? actual.ModelBuffers.Count > 0 : hasContext;
            if (actualBytes is null && known) actualBytes = 0;
            if (plannedBytes == 0 && (actualBytes ?? 0) == 0) continue;
            rows.Add(new BufferEstimate(new DeviceRef(key.Device), key.Kind, plannedBytes, actualBytes));
        }
        return new BufferComparison(rows, mapped);
    }

    /// <summary>
    /// The device of a llama.cpp buffer type name: host buffers (<c>CPU</c>, <c>CPU_Mapped</c>, <c>CPU_REPACK</c>,
    /// <c>Vulkan_Host</c>, <c>CUDA_Host</c>) are the CPU; <c>Vulkan0</c>, <c>CUDA1</c>, … are GPU 0, 1, ….
    /// </summary>
    internal static int DeviceOf(string bufferName)
    {
        if (bufferName.StartsWith("CPU", StringComparison.Ordinal) || bufferName.EndsWith("_Host", StringComparison.Ordinal)) return -1;
        var end = bufferName.Length;
        var start = end;
        while (start > 0 && char.IsDigit(bufferName[start - 1])) start--;
        return start < end && int.TryParse(bufferName.Substring(start), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : -1;
    }

    /// <summary>A table: device, buffer, estimated and actual MiB, error and whether it is within tolerance.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(string.Format(CultureInfo.InvariantCulture, "  {0,-6} {1,-10} {2,12} {3,12} {4,11} {5,8}  {6}\n",
            "device", "buffer", "estimated", "actual", "error", "error %", "within " + PlanAccuracy.ToleranceText));
        foreach (var row in Rows)
        {
            sb.Append(string.Format(CultureInfo.InvariantCulture, "  {0,-6} {1,-10} {2,12} {3,12} {4,11} {5,8}  {6}\n",
                row.Device,
                KindName(row.Kind),
                MiB(row.PlannedBytes),
                row.ActualBytes is { } a ? MiB(a) : "—",
                row.ErrorBytes is { } e ? (e >= 0 ? "+" : "") + MiB(e) : "—",
                row.RelativeError is { } r ? r.ToString("+0.0%;-0.0%;0.0%", CultureInfo.InvariantCulture) : "—",
                row.WithinTolerance switch { true => "yes", false => "NO", null => "not allocated yet" }));
        }
        if (WeightsAreMappedRange)
        {
            sb.Append("  (mmap: CPU weights are the mapped file range, repacked tensors inside it included; nothing is copied)\n");
        }
        return sb.ToString();
    }

    private static string KindName(BufferKind kind) => kind switch
    {
        BufferKind.Weights => "weights",
        BufferKind.Repacked => "repacked",
        BufferKind.KvCache => "KV cache",
        BufferKind.Compute => "compute",
        _ => "output",
    };

    private static string MiB(long bytes) => Units.FormatMiB(bytes);
}
