using System;
using System.Globalization;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Facts about the machine a profile is resolved for. The build check derives them from the profile's
/// declared hardware (<see cref="FromProfile"/>); the runtime detects them (FlashMoe.Runtime <c>HostInfo</c>)
/// and converts to this type, so both go through the same Core rules. Unknown values are null.
/// </summary>
public sealed record HostFacts
{
    /// <summary>Installed RAM in bytes.</summary>
    public long TotalRamBytes { get; init; }
    /// <summary>RAM available now (MemAvailable), if known.</summary>
    public long? AvailableRamBytes { get; init; }
    /// <summary>The effective container/cgroup memory limit, if any (the smaller of v1/v2 limits).</summary>
    public long? MemoryLimitBytes { get; init; }
    /// <summary>RAM kept for the OS and other processes, if declared; null = planner default.</summary>
    public long? ReserveBytes { get; init; }
    /// <summary>Physical cores (no SMT siblings), if known.</summary>
    public int? PhysicalCores { get; init; }
    /// <summary>Logical cores, if known.</summary>
    public int? LogicalCores { get; init; }
    /// <summary>AVX2 present (CPU repack of Q4_0 and friends applies), if known.</summary>
    public bool? Avx2 { get; init; }
    /// <summary>AVX-512 present, if known.</summary>
    public bool? Avx512 { get; init; }
    /// <summary>Storage under the model file.</summary>
    public StorageKind Storage { get; init; }
    /// <summary>Memory read bandwidth in GB/s (decimal), if known.</summary>
    public double? MemoryBandwidthGBs { get; init; }
    /// <summary>GPUs (declared; the CPU-only runtime detects none).</summary>
    public EquatableArray<GpuSpec> Gpus { get; init; }
    /// <summary>
    /// Generation speed measured on this host per thread count (e.g. by the tuner); empty = not measured. With it,
    /// <c>threads: "physical"</c> follows the curve where another count was clearly faster (<see cref="Tuning.ChooseThreads"/>).
    /// </summary>
    public EquatableArray<ThreadSpeed> GenerationSpeeds { get; init; }
    /// <summary>Prompt-processing speed measured on this host per thread count; decides <c>batchThreads: "physical"</c> the same way.</summary>
    public EquatableArray<ThreadSpeed> PromptSpeeds { get; init; }
    /// <summary>
    /// GPU devices the loaded ggml backend offers, when probed (a count without sizes); null = not probed. Profile
    /// selection rejects profiles that declare more GPUs than this (<see cref="ProfileSelector"/>).
    /// </summary>
    public int? GpuDeviceCount { get; init; }
    /// <summary>Linux transparent-huge-page mode (<c>always</c>, <c>madvise</c>, <c>never</c>), if known.</summary>
    public string? TransparentHugePages { get; init; }
    /// <summary>Operating system family: <c>linux</c>, <c>windows</c>, <c>macos</c>, or null.</summary>
    public string? OperatingSystem { get; init; }
    /// <summary>True when detected on a real machine, false when taken from a profile's declaration.</summary>
    public bool IsDetected { get; init; }
    /// <summary>
    /// Largest amount of memory the process may lock (Linux <c>RLIMIT_MEMLOCK</c>, <c>ulimit -l</c>), in bytes;
    /// <see cref="long.MaxValue"/> = unlimited; null = unknown.
    /// </summary>
    public long? LockedMemoryLimitBytes { get; init; }
    /// <summary>Whether the process may lock memory beyond <see cref="LockedMemoryLimitBytes"/> (Linux <c>CAP_IPC_LOCK</c>), if known.</summary>
    public bool? HasLockCapability { get; init; }
    /// <summary>Whether the process runs with glibc's <c>glibc.malloc.hugetlb</c> tunable set (<c>GLIBC_TUNABLES</c>), if known.</summary>
    public bool? MallocHugePages { get; init; }

    /// <summary>The facts a profile declares about its target machine (build-time check).</summary>
    public static HostFacts FromProfile(HardwareSpec hardware) => new()
    {
        TotalRamBytes = (long)(hardware.RamGiB * Units.GiB),
        ReserveBytes = hardware.ReserveGiB is { } r ? (long)(r * Units.GiB) : null,
        PhysicalCores = hardware.Cpu.PhysicalCores,
        LogicalCores = hardware.Cpu.LogicalCores,
        Avx2 = hardware.Cpu.Avx2,
        Avx512 = hardware.Cpu.Avx512,
        Storage = hardware.Storage,
        MemoryBandwidthGBs = hardware.MemoryBandwidthGBs,
        Gpus = hardware.Gpus,
        IsDetected = false,
    };
}

/// <summary>Byte-unit constants. GiB = 2^30 (profiles); GB = 10^9 (vendors' "130 GB").</summary>
public static class Units
{
    /// <summary>2^20 bytes.</summary>
    public const long MiB = 1L << 20;
    /// <summary>2^30 bytes.</summary>
    public const long GiB = 1L << 30;
    /// <summary>10^9 bytes.</summary>
    public const long GB = 1_000_000_000L;

    /// <summary>Bytes in GiB as a number, for format strings (e.g. <c>{ToGiB(x):F1} GiB</c>).</summary>
    public static double ToGiB(long bytes) => bytes / (double)GiB;

    /// <summary>Bytes as GiB text, e.g. <c>12.3 GiB</c>: invariant culture, <paramref name="number"/> a .NET number format.</summary>
    public static string FormatGiB(long bytes, string number = "0.0") =>
        ToGiB(bytes).ToString(number, CultureInfo.InvariantCulture) + " GiB";

    /// <summary>Bytes as MiB text, e.g. <c>417.66 MiB</c> (llama.cpp's own unit and precision by default).</summary>
    public static string FormatMiB(long bytes, string number = "0.00") =>
        (bytes / (double)MiB).ToString(number, CultureInfo.InvariantCulture) + " MiB";

    /// <summary>GiB text from 1 GiB (in absolute value) up, MiB text below, each with its own number format.</summary>
    public static string FormatSize(long bytes, string gibNumber = "0.0", string mibNumber = "0.#") =>
        Math.Abs(bytes) >= GiB ? FormatGiB(bytes, gibNumber) : FormatMiB(bytes, mibNumber);
}

/// <summary>One point of a thread curve: tokens/s measured with <paramref name="Threads"/> threads.</summary>
/// <param name="Threads">Thread count.</param>
/// <param name="TokensPerSecond">Measured speed.</param>
public sealed record ThreadSpeed(int Threads, double TokensPerSecond);
