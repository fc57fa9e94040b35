using System;
using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using X86 = System.Runtime.Intrinsics.X86;
using System.Text;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Host;
using static FlashMoe.Runtime.ReportText;

namespace FlashMoe.Runtime;

/// <summary>
/// Facts about the machine the app runs on, as detected by <see cref="Detect"/> or set by hand (tests, what-if
/// plans). Unknown facts are null (<see cref="StorageKind.Unknown"/> for storage). Convert to Core's
/// <see cref="HostFacts"/> with <see cref="ToHostFacts"/> so the same rules as the build check apply.
/// </summary>
public sealed record HostInfo
{
    /// <summary>Operating system family: <c>linux</c>, <c>windows</c>, <c>macos</c>, or null.</summary>
    public string? OperatingSystem { get; init; }

    /// <summary>Process architecture, e.g. <c>X64</c>, <c>Arm64</c>.</summary>
    public string? Architecture { get; init; }

    /// <summary>Installed RAM in bytes (Linux <c>MemTotal</c>).</summary>
    public long? TotalRamBytes { get; init; }

    /// <summary>RAM available now (Linux <c>MemAvailable</c>: free plus reclaimable page cache).</summary>
    public long? AvailableRamBytes { get; init; }

    /// <summary>cgroup v2 <c>memory.max</c> of the process's cgroup or an ancestor (smallest); null = none.</summary>
    public long? CgroupV2LimitBytes { get; init; }

    /// <summary>cgroup v1 <c>memory.limit_in_bytes</c> of the process's memory cgroup or an ancestor (smallest); null = none.</summary>
    public long? CgroupV1LimitBytes { get; init; }

    /// <summary>The effective container limit: the smaller of the v1 and v2 limits; null = none.</summary>
    public long? MemoryLimitBytes => Min(CgroupV1LimitBytes, CgroupV2LimitBytes);

    /// <summary>Physical cores (distinct package/core pairs: SMT siblings counted once).</summary>
    public int? PhysicalCores { get; init; }

    /// <summary>Logical cores (online CPUs).</summary>
    public int? LogicalCores { get; init; }

    /// <summary>AVX2 present (x86 only; null elsewhere, where llama.cpp repacks with other instructions).</summary>
    public bool? Avx2 { get; init; }

    /// <summary>AVX-512 Foundation present (x86 only).</summary>
    public bool? Avx512 { get; init; }

    /// <summary>The model file the storage probe looked at, if any.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Storage under <see cref="ModelPath"/>.</summary>
    public StorageKind Storage { get; init; }

    /// <summary>How the storage was classified, e.g. <c>ext4 on nvme0n1 (rotational=0)</c>.</summary>
    public string? StorageDetail { get; init; }

    /// <summary>Linux transparent-huge-page mode: <c>always</c>, <c>madvise</c> or <c>never</c>.</summary>
    public string? TransparentHugePages { get; init; }

    /// <summary>RLIMIT_MEMLOCK soft limit in bytes (<c>ulimit -l</c>); <see cref="long.MaxValue"/> = unlimited.</summary>
    public long? LockedMemoryLimitBytes { get; init; }

    /// <summary>Whether the process holds <c>CAP_IPC_LOCK</c> (may lock beyond the limit).</summary>
    public bool? HasLockCapability { get; init; }

    /// <summary>Whether <c>GLIBC_TUNABLES</c> sets <c>glibc.malloc.hugetlb</c> for this process.</summary>
    public bool? MallocHugePages { get; init; }

    /// <summary>
    /// The probes that could not tell their fact, each with the reason (a missing file, an unexpected format, an
    /// exception's message). Empty when every probe succeeded.
    /// </summary>
    public IReadOnlyList<HostProbeFailure> ProbeFailures { get; init; } = Array.Empty<HostProbeFailure>();

    /// <summary>
    /// Detects the current machine. Every probe is best effort: an unreadable or malformed source leaves its
    /// fact null (storage <see cref="StorageKind.Unknown"/>) and is listed in <see cref="ProbeFailures"/>; this
    /// method does not throw.
    /// </summary>
    /// <param name="modelPath">The model file whose storage to classify; null skips the storage probe.</param>
    public static HostInfo Detect(string? modelPath = null)
    {
        var host = new HostInfo
        {
            Architecture = RuntimeInformation.ProcessArchitecture.ToString(),
            ModelPath = modelPath,
            LogicalCores = Environment.ProcessorCount,
            TotalRamBytes = GcTotalMemory(),
        };
        host = DetectCpuFeatures(host);

        if (System.OperatingSystem.IsLinux())
        {
            host = Guard(host, "linux", h => LinuxHostDetector.Detect(RealHostSource.Instance, h, modelPath));
        }
        else if (System.OperatingSystem.IsWindows())
        {
            host = host with { OperatingSystem = "windows" };
            host = Guard(host, HostProbeFailure.Cores + ", " + HostProbeFailure.Memory, h =>
            {
                var (physical, logical) = WindowsProbes.DetectCores();
                var (total, available) = WindowsProbes.DetectMemory();
                return h with
                {
                    PhysicalCores = physical,
                    LogicalCores = logical ?? h.LogicalCores,
                    TotalRamBytes = total ?? h.TotalRamBytes,
                    AvailableRamBytes = available,
                };
            });
            host = Guard(host, HostProbeFailure.Storage, h => h with { Storage = DetectStorageByDrive(modelPath) });
        }
        else if (System.OperatingSystem.IsMacOS())
        {
            host = host with { OperatingSystem = "macos" };
            host = Guard(host, HostProbeFailure.Cores + ", " + HostProbeFailure.Memory, h =>
            {
                var (physical, logical) = MacProbes.DetectCores();
                return h with
                {
                    PhysicalCores = physical,
                    LogicalCores = logical ?? h.LogicalCores,
                    TotalRamBytes = MacProbes.DetectTotalMemory() ?? h.TotalRamBytes,
                };
            });
            host = Guard(host, HostProbeFailure.Storage, h => h with { Storage = DetectStorageByDrive(modelPath) });
        }
        return host;
    }

    /// <summary>
    /// The facts Core's planner and advice rules take. The container limit is folded in: the available RAM is
    /// capped at <see cref="MemoryLimitBytes"/>, which is passed on as the limit.
    /// </summary>
    public HostFacts ToHostFacts() => new()
    {
        TotalRamBytes = TotalRamBytes ?? 0,
        AvailableRamBytes = Min(AvailableRamBytes, MemoryLimitBytes),
        MemoryLimitBytes = MemoryLimitBytes,
        PhysicalCores = PhysicalCores,
        LogicalCores = LogicalCores,
        Avx2 = Avx2,
        Avx512 = Avx512,
        Storage = Storage,
        TransparentHugePages = TransparentHugePages,
        OperatingSystem = OperatingSystem,
        LockedMemoryLimitBytes = LockedMemoryLimitBytes,
        HasLockCapability = HasLockCapability,
        MallocHugePages = MallocHugePages,
        IsDetected = true,
    };

    /// <summary>A multi-line, aligned description for logs and the sample's plan output.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        void Line(string label, string value) => sb.Append(label.PadRight(14)).Append(value).Append('\n');

        Line("OS", $"{OperatingSystem ?? "unknown"} ({Architecture ?? "unknown"})");
        Line("RAM", $"{Size(TotalRamBytes)} total, {Size(AvailableRamBytes)} available");
        Line("Memory limit", MemoryLimitBytes is { } limit
            ? $"{Size(limit)} (cgroup v1: {Size(CgroupV1LimitBytes, "none")}, v2: {Size(CgroupV2LimitBytes, "none")})"
            : "none");
        Line("CPU", $"{Count(PhysicalCores)} physical / {Count(LogicalCores)} logical cores, AVX2 {YesNo(Avx2)}, AVX-512 {YesNo(Avx512)}");
        Line("Storage", ModelPath is null
            ? "not probed (no model path)"
            : $"{Storage}{(StorageDetail is null ? string.Empty : " — " + StorageDetail)}");
        Line("THP", TransparentHugePages ?? "unknown");
        Line("malloc THP", MallocHugePages switch
        {
            true => "on (GLIBC_TUNABLES glibc.malloc.hugetlb)",
            false => "off",
            null => "unknown",
        });
        Line("mlock", $"limit {LockText(LockedMemoryLimitBytes)}, CAP_IPC_LOCK {YesNo(HasLockCapability)}");
        foreach (var failure in ProbeFailures) Line("Not probed", $"{failure.Probe}: {failure.Reason}");
        return sb.ToString();
    }

    /// <summary>One-line summary.</summary>
    public override string ToString() =>
        $"{OperatingSystem ?? "unknown"}/{Architecture ?? "unknown"}, RAM {Size(TotalRamBytes)}" +
        (MemoryLimitBytes is { } l ? $" (limit {Size(l)})" : string.Empty) +
        $", {Count(PhysicalCores)}/{Count(LogicalCores)} cores, storage {Storage}, THP {TransparentHugePages ?? "unknown"}";

    private static HostInfo DetectCpuFeatures(HostInfo host)
    {
        // Only meaningful on x86: on Arm llama.cpp repacks with NEON/SVE, so "no AVX2" would mislead the planner.
        if (RuntimeInformation.ProcessArchitecture is not (System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86)) return host;
        return host with { Avx2 = X86.Avx2.IsSupported, Avx512 = X86.Avx512F.IsSupported };
    }

    private static StorageKind DetectStorageByDrive(string? modelPath)
    {
        if (modelPath is null) return StorageKind.Unknown;
        var full = Path.GetFullPath(modelPath);
        if (full.StartsWith(@"\\", StringComparison.Ordinal) && !full.StartsWith(@"\\?\", StringComparison.Ordinal)) return StorageKind.Network;
        var root = Path.GetPathRoot(full);
        if (string.IsNullOrEmpty(root)) return StorageKind.Unknown;
        return new DriveInfo(root).DriveType == DriveType.Network ? StorageKind.Network : StorageKind.Unknown;
    }

    private static long? GcTotalMemory()
    {
        var bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return bytes > 0 ? bytes : null;
    }

    /// <summary>Runs one probe; a failure keeps what was known before and is recorded (detection never throws).</summary>
    private static HostInfo Guard(HostInfo host, string probeName, Func<HostInfo, HostInfo> probe)
    {
        try
        {
            return probe(host);
        }
#pragma warning disable CA1031 // best effort by contract: a probe's failure must not stop the app; it is recorded instead
        catch (Exception e)
#pragma warning restore CA1031
        {
            return host with { ProbeFailures = host.ProbeFailures.Append(HostProbeFailure.From(probeName, e)).ToArray() };
        }
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static string Size(long? bytes, string unknown = "unknown") => bytes is { } b ? Units.FormatGiB(b) : unknown;

    private static string LockText(long? bytes) => bytes switch
    {
        null => "unknown",
        long.MaxValue => "unlimited",
        { } b => Units.FormatSize(b),
    };
}

/// <summary>A host probe that could not tell its fact (<see cref="HostInfo.ProbeFailures"/>).</summary>
/// <param name="Probe">Which probe: <see cref="Memory"/>, <see cref="Cores"/>, <see cref="Storage"/>, ….</param>
/// <param name="Reason">Why, e.g. <c>/proc/meminfo is missing or unreadable</c> or an exception's type and message.</param>
public sealed record HostProbeFailure(string Probe, string Reason)
{
    /// <summary>Installed and available RAM.</summary>
    public const string Memory = "memory";

    /// <summary>The mount table (storage and cgroup limits rest on it).</summary>
    public const string Mounts = "mounts";

    /// <summary>cgroup memory limits.</summary>
    public const string Cgroup = "cgroup";

    /// <summary>Physical and logical cores.</summary>
    public const string Cores = "cores";

    /// <summary>The storage under the model file.</summary>
    public const string Storage = "storage";

    /// <summary>The transparent-huge-page mode.</summary>
    public const string TransparentHugePages = "transparent huge pages";

    /// <summary>RLIMIT_MEMLOCK.</summary>
    public const string LockedMemoryLimit = "mlock limit";

    /// <summary>CAP_IPC_LOCK.</summary>
    public const string LockCapability = "CAP_IPC_LOCK";

    /// <summary>glibc malloc huge pages (GLIBC_TUNABLES).</summary>
    public const string MallocHugePages = "malloc huge pages";

    /// <summary>A failure from an exception a probe threw.</summary>
    internal static HostProbeFailure From(string probe, Exception exception) =>
        new(probe, exception.GetType().Name + ": " + exception.Message);
}
