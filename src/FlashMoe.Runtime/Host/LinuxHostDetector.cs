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

    /// <summary>Fills the Linux-specific facts into <paramref name="host"/>.</summary>
    internal static HostInfo Detect(IHostSource source, HostInfo host, string? modelPath)
    {
        var (total, available) = LinuxHostParsers.ParseMemInfo(source.ReadText("/proc/meminfo"));
        var mounts = LinuxHostParsers.ParseMountInfo(source.ReadText("/proc/self/mountinfo"));
        var membership = LinuxHostParsers.ParseProcSelfCgroup(source.ReadText("/proc/self/cgroup"));
        var (physical, logical) = DetectCores(source);
        var (storage, storageDetail) = modelPath is null ? (StorageKind.Unknown, null) : DetectStorage(source, mounts, modelPath);

        return host with
        {
            OperatingSystem = "linux",
            TotalRamBytes = total ?? host.TotalRamBytes,
            AvailableRamBytes = available ?? host.AvailableRamBytes,
            CgroupV2LimitBytes = CgroupLimit(source, LinuxHostParsers.FindCgroupV2Mount(mounts), membership.UnifiedPath, "memory.max"),
            CgroupV1LimitBytes = CgroupLimit(source, LinuxHostParsers.FindCgroupV1MemoryMount(mounts), membership.MemoryV1Path, "memory.limit_in_bytes"),
            PhysicalCores = physical ?? host.PhysicalCores,
            LogicalCores = logical ?? host.LogicalCores,
            Storage = storage,
            StorageDetail = storageDetail,
            TransparentHugePages = LinuxHostParsers.ParseBracketedMode(source.ReadText("/sys/kernel/mm/transparent_hugepage/enabled")),
            LockedMemoryLimitBytes = LinuxHostParsers.ParseLockedMemoryLimit(source.ReadText("/proc/self/limits")),
            HasLockCapability = LinuxHostParsers.ParseHasIpcLock(source.ReadText("/proc/self/status")),
            MallocHugePages = LinuxHostParsers.ParseMallocHugeTlb(source.GetEnvironmentVariable("GLIBC_TUNABLES")),
        };
    }

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
        if (mount is null) return (StorageKind.Unknown, "mount not found");

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
