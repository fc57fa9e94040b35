using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using FlashMoe.Profiles;

namespace FlashMoe.Runtime.Host;

/// <summary>One line of <c>/proc/self/mountinfo</c>.</summary>
/// <param name="Major">Device major number (0 for virtual file systems).</param>
/// <param name="Minor">Device minor number.</param>
/// <param name="Root">Root of the mount inside its file system.</param>
/// <param name="MountPoint">Where it is mounted.</param>
/// <param name="FileSystemType">File system type, e.g. <c>ext4</c>, <c>nfs4</c>, <c>cgroup2</c>.</param>
/// <param name="Source">Mount source, e.g. <c>/dev/nvme0n1p2</c>.</param>
/// <param name="SuperOptions">Per-superblock options (for cgroup v1: the controllers, e.g. <c>rw,memory</c>).</param>
internal sealed record MountEntry(int Major, int Minor, string Root, string MountPoint, string FileSystemType, string Source, string SuperOptions);

/// <summary>Where a process sits in the cgroup hierarchies (from <c>/proc/self/cgroup</c>).</summary>
/// <param name="UnifiedPath">cgroup v2 path (the <c>0::</c> line), if any.</param>
/// <param name="MemoryV1Path">cgroup v1 path of the <c>memory</c> controller, if any.</param>
internal sealed record CgroupMembership(string? UnifiedPath, string? MemoryV1Path);

/// <summary>
/// Parsers for the Linux sources host detection reads. Each takes the file's CONTENTS (so tests feed captured
/// text) and returns null for anything missing or malformed; none throws.
/// </summary>
internal static class LinuxHostParsers
{
    /// <summary>Limits at or above this are the kernel's "no limit" encodings (v1: PAGE_COUNTER_MAX × page size ≈ 2^63).</summary>
    internal const long UnlimitedThreshold = 1L << 60;

    /// <summary><c>/proc/meminfo</c> → (MemTotal, MemAvailable) in bytes.</summary>
    internal static (long? Total, long? Available) ParseMemInfo(string? contents)
    {
        long? total = null, available = null;
        foreach (var line in Lines(contents))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) total = ParseKiBValue(line);
            else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = ParseKiBValue(line);
        }
        return (total, available);
    }

    private static long? ParseKiBValue(string line)
    {
        // "MemTotal:       24682668 kB"
        var parts = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return null;
        var unit = parts.Length > 2 ? parts[2] : "kB";
        if (!string.Equals(unit, "kB", StringComparison.OrdinalIgnoreCase)) return null;
        return value <= long.MaxValue / 1024 ? value * 1024 : null;
    }

    /// <summary>
    /// A cgroup memory limit file (v2 <c>memory.max</c>, v1 <c>memory.limit_in_bytes</c>) → bytes; null when
    /// unlimited (<c>max</c> or a value ≥ <see cref="UnlimitedThreshold"/>), missing or malformed.
    /// </summary>
    internal static long? ParseCgroupLimit(string? contents)
    {
        var text = contents?.Trim();
        if (string.IsNullOrEmpty(text) || text == "max") return null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return null;
        return value >= UnlimitedThreshold ? null : value;
    }

    /// <summary><c>/proc/self/cgroup</c> → the v2 path and the v1 memory controller path.</summary>
    internal static CgroupMembership ParseProcSelfCgroup(string? contents)
    {
        string? unified = null, memory = null;
        foreach (var line in Lines(contents))
        {
            // "hierarchy-id:controller-list:path"; the path may itself contain ':'.
            var first = line.IndexOf(':', StringComparison.Ordinal);
            if (first < 0) continue;
            var second = line.IndexOf(':', first + 1);
            if (second < 0) continue;
            var id = line.Substring(0, first);
            var controllers = line.Substring(first + 1, second - first - 1);
            var path = line.Substring(second + 1);
            if (id == "0" && controllers.Length == 0) unified = path;
            else if (controllers.Split(',').Contains("memory")) memory = path;
        }
        return new CgroupMembership(unified, memory);
    }

    /// <summary><c>/proc/self/mountinfo</c> → its entries (malformed lines skipped).</summary>
    internal static IReadOnlyList<MountEntry> ParseMountInfo(string? contents)
    {
        var entries = new List<MountEntry>();
        foreach (var line in Lines(contents))
        {
            // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var left = line.Substring(0, separator).Split(' ');
            var right = line.Substring(separator + 3).Split(' ');
            if (left.Length < 5 || right.Length < 2) continue;
            var device = left[2].Split(':');
            if (device.Length != 2
                || !int.TryParse(device[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
                || !int.TryParse(device[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)) continue;
            entries.Add(new MountEntry(
                major, minor, Unescape(left[3]), Unescape(left[4]), right[0], Unescape(right[1]),
                right.Length > 2 ? right[2] : string.Empty));
        }
        return entries;
    }

    /// <summary>The mount holding <paramref name="path"/> (absolute, symlinks resolved): the longest matching mount point; the last one mounted wins ties.</summary>
    internal static MountEntry? FindMount(IReadOnlyList<MountEntry> mounts, string path)
    {
        MountEntry? best = null;
        foreach (var mount in mounts)
        {
            if (!IsUnder(path, mount.MountPoint)) continue;
            if (best is null || mount.MountPoint.Length >= best.MountPoint.Length) best = mount;
        }
        return best;
    }

    private static bool IsUnder(string path, string mountPoint)
    {
        if (mountPoint == "/") return path.StartsWith("/", StringComparison.Ordinal);
        return path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal);
    }

    /// <summary>The cgroup v2 mount (fs type <c>cgroup2</c>), if any.</summary>
    internal static MountEntry? FindCgroupV2Mount(IReadOnlyList<MountEntry> mounts) =>
        mounts.LastOrDefault(m => m.FileSystemType == "cgroup2");

    /// <summary>The cgroup v1 mount carrying the <c>memory</c> controller, if any.</summary>
    internal static MountEntry? FindCgroupV1MemoryMount(IReadOnlyList<MountEntry> mounts) =>
        mounts.LastOrDefault(m => m.FileSystemType == "cgroup" && m.SuperOptions.Split(',').Contains("memory"));

    /// <summary>
    /// The directories whose limit applies to a process at <paramref name="cgroupPath"/>: its own and every
    /// ancestor up to the mount's root, mapped onto the mount point (a limit anywhere up the tree caps it).
    /// Inside a cgroup namespace the path is already relative to the mount root.
    /// </summary>
    internal static IReadOnlyList<string> CgroupDirectories(MountEntry mount, string cgroupPath)
    {
        var relative = cgroupPath;
        if (mount.Root != "/" && relative.StartsWith(mount.Root, StringComparison.Ordinal))
        {
            relative = relative.Substring(mount.Root.Length);
        }
        var segments = relative.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s != "." && s != "..")
            .ToArray();
        var directories = new List<string>();
        for (var depth = segments.Length; depth >= 0; depth--)
        {
            var suffix = string.Join("/", segments.Take(depth));
            directories.Add(suffix.Length == 0 ? mount.MountPoint : mount.MountPoint.TrimEnd('/') + "/" + suffix);
        }
        return directories;
    }

    /// <summary><c>/sys/kernel/mm/transparent_hugepage/enabled</c> → the [bracketed] mode.</summary>
    internal static string? ParseBracketedMode(string? contents)
    {
        if (contents is null) return null;
        var open = contents.IndexOf('[', StringComparison.Ordinal);
        var close = open < 0 ? -1 : contents.IndexOf(']', open + 1);
        if (close <= open + 1) return null;
        var mode = contents.Substring(open + 1, close - open - 1).Trim();
        return mode.Length == 0 ? null : mode;
    }

    /// <summary><c>/sys/block/&lt;dev&gt;/queue/rotational</c> → true (spinning), false, or null.</summary>
    internal static bool? ParseRotational(string? contents) => contents?.Trim() switch
    {
        "1" => true,
        "0" => false,
        _ => null,
    };

    /// <summary>A decimal integer file (sysfs <c>core_id</c>, <c>physical_package_id</c>) → its value.</summary>
    internal static int? ParseInt(string? contents) =>
        int.TryParse(contents?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>
    /// CPU numbers above this are not believed: Linux numbers CPUs below <c>NR_CPUS</c> (at most 8192 in the kernel's
    /// Kconfig). Bounds the list a corrupt or hostile file can make the parser build.
    /// </summary>
    internal const int MaxCpuNumber = 65535;

    /// <summary>
    /// A sysfs CPU list (<c>/sys/devices/system/cpu/online</c>: <c>0-3,8,10-11</c>) → the CPU numbers; null when malformed,
    /// naming a CPU above <see cref="MaxCpuNumber"/> or naming more CPUs in all (repeats included) than there can be.
    /// </summary>
    internal static IReadOnlyList<int>? ParseCpuList(string? contents)
    {
        var text = contents?.Trim();
        if (string.IsNullOrEmpty(text)) return null;
        var cpus = new SortedSet<int>();
        long named = 0; // bounds the work of a list that repeats a wide range many times
        foreach (var part in text!.Split(','))
        {
            var range = part.Split('-');
            if (range.Length == 1 && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var single)
                && single <= MaxCpuNumber && ++named <= MaxCpuNumber + 1L)
            {
                cpus.Add(single);
            }
            else if (range.Length == 2
                && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to)
                && from <= to && to <= MaxCpuNumber && (named += to - from + 1L) <= MaxCpuNumber + 1L)
            {
                // A long counter: an int one would wrap past int.MaxValue and never end.
                for (long cpu = from; cpu <= to; cpu++) cpus.Add((int)cpu);
            }
            else
            {
                return null;
            }
        }
        return cpus.ToArray();
    }

    /// <summary>Physical cores = distinct (package, core) pairs; SMT siblings share a pair.</summary>
    internal static int? CountPhysicalCores(IEnumerable<(int? Package, int? Core)> topology)
    {
        var pairs = new HashSet<(int, int)>();
        foreach (var (package, core) in topology)
        {
            if (package is null || core is null) return null; // one unknown CPU makes the count unreliable
            pairs.Add((package.Value, core.Value));
        }
        return pairs.Count == 0 ? null : pairs.Count;
    }

    /// <summary>
    /// <c>/proc/cpuinfo</c> → (physical, logical) cores. Physical needs the x86 "physical id" and "core id"
    /// fields; without them (many ARM kernels, some VMs) it is null.
    /// </summary>
    internal static (int? Physical, int? Logical) ParseCpuInfo(string? contents)
    {
        var logical = 0;
        var topology = new List<(int?, int?)>();
        int? package = null, core = null;
        var inProcessor = false;
        foreach (var raw in (contents ?? string.Empty).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                if (inProcessor) topology.Add((package, core));
                inProcessor = false;
                package = core = null;
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = line.Substring(0, colon).Trim();
            var value = line.Substring(colon + 1).Trim();
            switch (key)
            {
                case "processor":
                    if (inProcessor) topology.Add((package, core));
                    logical++;
                    inProcessor = true;
                    package = core = null;
                    break;
                case "physical id":
                    package = ParseInt(value);
                    break;
                case "core id":
                    core = ParseInt(value);
                    break;
            }
        }
        if (inProcessor) topology.Add((package, core));
        return (CountPhysicalCores(topology), logical == 0 ? null : logical);
    }

    /// <summary>
    /// <c>/proc/self/limits</c> → the soft "Max locked memory" limit in bytes; <see cref="long.MaxValue"/> for unlimited.
    /// </summary>
    internal static long? ParseLockedMemoryLimit(string? contents)
    {
        foreach (var line in Lines(contents))
        {
            if (!line.StartsWith("Max locked memory", StringComparison.Ordinal)) continue;
            var parts = line.Substring("Max locked memory".Length).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) return null;
            if (parts[0] == "unlimited") return long.MaxValue;
            return long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
        }
        return null;
    }

    /// <summary><c>/proc/self/status</c> → whether the effective capabilities include <c>CAP_IPC_LOCK</c> (bit 14).</summary>
    internal static bool? ParseHasIpcLock(string? contents)
    {
        const int capIpcLock = 14;
        foreach (var line in Lines(contents))
        {
            if (!line.StartsWith("CapEff:", StringComparison.Ordinal)) continue;
            var hex = line.Substring("CapEff:".Length).Trim();
            return ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var caps)
                ? (caps & (1UL << capIpcLock)) != 0
                : null;
        }
        return null;
    }

    /// <summary>
    /// The <c>GLIBC_TUNABLES</c> environment value → whether <c>glibc.malloc.hugetlb</c> is set to 1 (THP via
    /// madvise) or 2 (hugetlbfs pages). Null/empty → false: the tunable is simply not set.
    /// </summary>
    internal static bool ParseMallocHugeTlb(string? glibcTunables)
    {
        if (string.IsNullOrEmpty(glibcTunables)) return false;
        var enabled = false;
        foreach (var assignment in glibcTunables!.Split(':'))
        {
            var eq = assignment.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) continue;
            if (assignment.Substring(0, eq).Trim() != "glibc.malloc.hugetlb") continue;
            var value = assignment.Substring(eq + 1).Trim();
            enabled = value == "1" || value == "2"; // the last assignment wins, as in glibc
        }
        return enabled;
    }

    /// <summary>Network file systems: a page-cache miss under mmap is a network round trip.</summary>
    private static readonly HashSet<string> NetworkFileSystems = new(StringComparer.Ordinal)
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "ceph", "fuse.ceph", "glusterfs",
        "fuse.glusterfs", "lustre", "gpfs", "9p", "afs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse",
    };

    /// <summary>
    /// Classifies the storage under a file from its mount and block device. Virtual disks (virtio <c>vd*</c>, Xen
    /// <c>xvd*</c>) are Unknown: their rotational flag is a default (virtio reports 1), not the backing store's.
    /// </summary>
    /// <param name="fileSystemType">Mount file system type.</param>
    /// <param name="diskName">Whole-disk kernel name (e.g. <c>nvme0n1</c>, <c>sda</c>), if resolved.</param>
    /// <param name="rotational">The disk's rotational flag, if read.</param>
    internal static StorageKind ClassifyStorage(string? fileSystemType, string? diskName, bool? rotational)
    {
        if (fileSystemType is not null && NetworkFileSystems.Contains(fileSystemType)) return StorageKind.Network;
        if (string.IsNullOrEmpty(diskName)) return StorageKind.Unknown;
        if (diskName!.StartsWith("nvme", StringComparison.Ordinal)) return StorageKind.Nvme;
        if (diskName.StartsWith("vd", StringComparison.Ordinal) || diskName.StartsWith("xvd", StringComparison.Ordinal)
            || diskName.StartsWith("loop", StringComparison.Ordinal) || diskName.StartsWith("zram", StringComparison.Ordinal)
            || diskName.StartsWith("ram", StringComparison.Ordinal))
        {
            return StorageKind.Unknown;
        }
        return rotational switch
        {
            true => StorageKind.Hdd,
            false => StorageKind.Ssd,
            null => StorageKind.Unknown,
        };
    }

    /// <summary><c>/sys/dev/block/M:m/uevent</c> → its <c>DEVNAME</c> and <c>DEVTYPE</c> (disk / partition).</summary>
    internal static (string? Name, string? Type) ParseBlockUevent(string? contents)
    {
        string? name = null, type = null;
        foreach (var line in Lines(contents))
        {
            if (line.StartsWith("DEVNAME=", StringComparison.Ordinal)) name = line.Substring(8).Trim();
            else if (line.StartsWith("DEVTYPE=", StringComparison.Ordinal)) type = line.Substring(8).Trim();
        }
        return (string.IsNullOrEmpty(name) ? null : name, string.IsNullOrEmpty(type) ? null : type);
    }

    private static IEnumerable<string> Lines(string? contents) =>
        (contents ?? string.Empty).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0);

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo octal.</summary>
    private static string Unescape(string value)
    {
        if (value.IndexOf('\\', StringComparison.Ordinal) < 0) return value;
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 3 < value.Length
                && IsOctal(value, i + 1) && IsOctal(value, i + 2) && IsOctal(value, i + 3))
            {
                sb.Append((char)(((value[i + 1] - '0') << 6) | ((value[i + 2] - '0') << 3) | (value[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(value[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int index) => index < s.Length && s[index] >= '0' && s[index] <= '7';
}
