using System;
using System.Globalization;

namespace FlashMoe.Planning;

/// <summary>
/// The accuracy the memory planner promises per buffer (the project's target, checked against llama.cpp's own buffer
/// figures by the runtime's comparison and the accuracy matrix, docs/measurements.md): within
/// <see cref="ToleranceShare"/> of the larger of plan and actual, or within <see cref="ToleranceBytes"/>, whichever is
/// looser. The one place the contract and its wording live.
/// </summary>
public static class PlanAccuracy
{
    /// <summary>Relative tolerance per buffer: ±3 %.</summary>
    public const double ToleranceShare = 0.03;

    /// <summary>Absolute tolerance per buffer: 64 MiB (small buffers are judged by this).</summary>
    public const long ToleranceBytes = 64 * Units.MiB;

    /// <summary>The contract in words, e.g. for reports: <c>±3 % or 64 MiB</c>.</summary>
    public static string ToleranceText { get; } = string.Format(CultureInfo.InvariantCulture,
        "±{0:0.#} % or {1} MiB", ToleranceShare * 100, ToleranceBytes / Units.MiB);

    /// <summary>True when <paramref name="plannedBytes"/> is within the tolerance of <paramref name="actualBytes"/>.</summary>
    public static bool IsWithinTolerance(long plannedBytes, long actualBytes)
    {
        var error = Math.Abs((double)actualBytes - plannedBytes);
        return error <= ToleranceBytes || error <= ToleranceShare * Math.Max(actualBytes, plannedBytes);
    }
}
