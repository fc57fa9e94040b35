using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Profiles;

namespace FlashMoe.Runtime.Host;

/// <summary>Linux host detection over an <see cref="IHostSource"/> (procfs, sysfs, cgroupfs).</summary>
internal static class LinuxHostDetector
{
    /// <summary>How far to follow device-mapper / md "slaves" to the physical disk (dm on md on disk, …).</summary>
    private const int MaxSlaveDepth = 4;

    /// <summary>
    /// Fills the Linux-specific facts into <paramref name="host"/>. Each probe runs on its own: one that cannot tell
    /// its fact (a missing or unreadable source, an unexpected exception) leaves it null and adds a
    /// <see cref="HostProbeFailure"/> saying why, and the others still run.
    /// </summary>
    internal static HostInfo Detect(IHostSource source, HostInfo host, string? modelPath)
    {
        var failures = new List<HostProbeFailure>(host.ProbeFailures);

        T Probe<T>(string name, T fallback, Func<T> probe)
        {
            try
            {
                return probe();
            }
#pragma warning disable CA1031 // best effort by contract: the failure is recorded, the other probes still run
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add(HostProbeFailure.From(name, e));
                return fallback;
            }
        }

        string? Read(string probe, string path)
        {
            var text = source.ReadText(path);
            if (text is null) failures.Add(new HostProbeFailure(probe, path + " is missing or unreadable"));
            return text;
        }

        void Unparsed(string probe, string path, object? value)
        {
            if (value is null && source.ReadText(path) is not null) failures.Add(new HostProbeFailure(probe, path + " has no value in the expected format"));
        }

        var (total, available) = Probe(HostProbeFailure.Memory, ((long?)null, (long?)null), () =>
        {
            var memory = LinuxHostParsers.ParseMemInfo(Read(HostProbeFailure.Memory, "/proc/meminfo"));
            Unparsed(HostProbeFailure.Memory, "/proc/meminfo", memory.Total);
            return memory;
        });
        var mounts = Probe(HostProbeFailure.Mounts, (IReadOnlyList<MountEntry>)Array.Empty<MountEntry>(),
            () => LinuxHostParsers.ParseMountInfo(Read(HostProbeFailure.Mounts, "/proc/self/mountinfo")));
        var (v2Limit, v1Limit) = Probe(HostProbeFailure.Cgroup, ((long?)null, (long?)null), () =>
        {
            var membership = LinuxHostParsers.ParseProcSelfCgroup(source.ReadText("/proc/self/cgroup"));
            return (CgroupLimit(source, LinuxHostParsers.FindCgroupV2Mount(mounts), membership.UnifiedPath, "memory.max"),
                    CgroupLimit(source, LinuxHostParsers.FindCgroupV1MemoryMount(mounts), membership.MemoryV1Path, "memory.limit_in_bytes"));
        });
        var (physical, logical) = Probe(HostProbeFailure.Cores, ((int?)null, (int?)null), () =>
        {
            var cores = DetectCores(source);
            if (cores.Physical is null) failures.Add(new HostProbeFailure(HostProbeFailure.Cores, "neither the sysfs CPU topology nor /proc/cpuinfo gives the core count"));
            return cores;
        });
        var (storage, storageDetail) = modelPath is null
            ? (StorageKind.Unknown, null)
            : Probe(HostProbeFailure.Storage, (StorageKind.Unknown, (string?)null), () =>
            {
                var result = DetectStorage(source, mounts, modelPath);
                if (result.Detail == MountNotFound) failures.Add(new HostProbeFailure(HostProbeFailure.Storage, "no mount in /proc/self/mountinfo holds " + modelPath));
                return result;
            });
        var thp = Probe(HostProbeFailure.TransparentHugePages, (string?)null, () =>
        {
            const string path = "/sys/kernel/mm/transparent_hugepage/enabled";
            var mode = LinuxHostParsers.ParseBracketedMode(Read(HostProbeFailure.TransparentHugePages, path));
            Unparsed(HostProbeFailure.TransparentHugePages, path, mode);
            return mode;
        });
        var lockLimit = Probe(HostProbeFailure.LockedMemoryLimit, (long?)null, () =>
        {
            var limit = LinuxHostParsers.ParseLockedMemoryLimit(Read(HostProbeFailure.LockedMemoryLimit, "/proc/self/limits"));
            Unparsed(HostProbeFailure.LockedMemoryLimit, "/proc/self/limits", limit);
            return limit;
        });
        var lockCapability = Probe(HostProbeFailure.LockCapability, (bool?)null, () =>
        {
            var capability = LinuxHostParsers.ParseHasIpcLock(Read(HostProbeFailure.LockCapability, "/proc/self/status"));
            Unparsed(HostProbeFailure.LockCapability, "/proc/self/status", capability);
            return capability;
        });
        var mallocHugePages = Probe(HostProbeFailure.MallocHugePages, (bool?)null,
            () => LinuxHostParsers.ParseMallocHugeTlb(source.GetEnvironmentVariable("GLIBC_TUNABLES")));

        return host with
        {
            OperatingSystem = "linux",
            TotalRamBytes = total ?? host.TotalRamBytes,
            AvailableRamBytes = available ?? host.AvailableRamBytes,
            CgroupV2LimitBytes = v2Limit,
            CgroupV1LimitBytes = v1Limit,
            PhysicalCores = physical ?? host.PhysicalCores,
            LogicalCores = logical ?? host.LogicalCores,
            Storage = storage,
            StorageDetail = storageDetail,
            TransparentHugePages = thp,
            LockedMemoryLimitBytes = lockLimit,
            HasLockCapability = lockCapability,
            MallocHugePages = mallocHugePages,
            ProbeFailures = failures,
        };
    }

    private const string MountNotFound = "mount not found";

    /// <summary>The smallest limit on the process's cgroup and its ancestors; null = none or unreadable.</summary>
    internal static long? CgroupLimit(IHostSource source, MountEntry? mount, string? cgroupPath, string fileName)
    {
        if (mount is null || cgroupPath is null) return null;
        long? smallest = null;
        foreach (var directory in LinuxHostParsers.CgroupDirectories(mount, cgroupPath))
        {
            var limit = LinuxHostParsers.ParseCgroupLimit(source.ReadText(directory + "/" + fileName));
            if (limit is { } l && (smallest is null || l < smallest)) smallest = l;
        }
        return smallest;
    }

    /// <summary>sysfs topology of the online CPUs; /proc/cpuinfo when sysfs is not there (some containers).</summary>
    internal static (int? Physical, int? Logical) DetectCores(IHostSource source)
    {
        var online = LinuxHostParsers.ParseCpuList(source.ReadText("/sys/devices/system/cpu/online"));
        if (online is { Count: > 0 })
        {
            var topology = online
                .Select(cpu => $"/sys/devices/system/cpu/cpu{cpu.ToString(CultureInfo.InvariantCulture)}/topology/")
                .Select(dir => (
                    LinuxHostParsers.ParseInt(source.ReadText(dir + "physical_package_id")),
                    LinuxHostParsers.ParseInt(source.ReadText(dir + "core_id"))))
                .ToArray();
            var physical = LinuxHostParsers.CountPhysicalCores(topology);
            if (physical is not null) return (physical, online.Count);
        }
        var (cpuinfoPhysical, cpuinfoLogical) = LinuxHostParsers.ParseCpuInfo(source.ReadText("/proc/cpuinfo"));
        return (cpuinfoPhysical, online?.Count ?? cpuinfoLogical);
    }

    /// <summary>The storage kind under <paramref name="modelPath"/>, with a one-line explanation.</summary>
    internal static (StorageKind Kind, string? Detail) DetectStorage(IHostSource source, IReadOnlyList<MountEntry> mounts, string modelPath)
    {
        var path = source.RealPath(modelPath) ?? modelPath;
        var mount = LinuxHostParsers.FindMount(mounts, path);
        if (mount is null) return (StorageKind.Unknown, MountNotFound);

        var fsType = mount.FileSystemType;
        if (mount.Major == 0)
        {
            // Virtual/network file systems have no block device (major 0).
            var kind = LinuxHostParsers.ClassifyStorage(fsType, null, null);
            return (kind, $"{fsType} at {mount.MountPoint} ({mount.Source})");
        }

        var deviceId = mount.Major.ToString(CultureInfo.InvariantCulture) + ":" + mount.Minor.ToString(CultureInfo.InvariantCulture);
        var disk = ResolveDisk(source, "/sys/dev/block/" + deviceId, 0);
        var rotational = disk is null ? null : LinuxHostParsers.ParseRotational(source.ReadText(disk.Value.SysPath + "/queue/rotational"));
        var classified = LinuxHostParsers.ClassifyStorage(fsType, disk?.Name, rotational);
        var rotationalText = rotational switch { true => "1", false => "0", null => "?" };
        return (classified, $"{fsType} on {disk?.Name ?? deviceId} (rotational={rotationalText})");
    }

    /// <summary>
    /// From a block device's sysfs directory to the whole disk whose queue/rotational describes it: a partition's
    /// parent directory is its disk; device-mapper and md devices are followed through their first slave.
    /// </summary>
    private static (string Name, string SysPath)? ResolveDisk(IHostSource source, string devicePath, int depth)
    {
        var sysPath = source.ResolveLink(devicePath) ?? devicePath;
        var (name, type) = LinuxHostParsers.ParseBlockUevent(source.ReadText(sysPath + "/uevent"));
        name ??= LastSegment(sysPath);
        if (type == "partition")
        {
            var parent = ParentPath(sysPath);
            if (parent is null) return null;
            var (parentName, _) = LinuxHostParsers.ParseBlockUevent(source.ReadText(parent + "/uevent"));
            return (parentName ?? LastSegment(parent), parent);
        }
        if (depth < MaxSlaveDepth && (name.StartsWith("dm-", StringComparison.Ordinal) || name.StartsWith("md", StringComparison.Ordinal)))
        {
            var slave = source.ListDirectory(sysPath + "/slaves").OrderBy(s => s, StringComparer.Ordinal).FirstOrDefault();
            if (slave is not null) return ResolveDisk(source, sysPath + "/slaves/" + slave, depth + 1);
        }
        return (name, sysPath);
    }

    private static string LastSegment(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash < 0 ? trimmed : trimmed.Substring(slash + 1);
    }

    private static string? ParentPath(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? null : trimmed.Substring(0, slash);
    }
}
