using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Host;
using Xunit;

namespace FlashMoe.Runtime.Tests.Host;

/// <summary>A machine made of captured files: the whole Linux detection path runs against it.</summary>
internal sealed class FakeHostSource : IHostSource
{
    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string[]> Directories { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string? ReadText(string path) => Files.TryGetValue(path, out var text) ? text : null;
    public string? ResolveLink(string path) => Links.TryGetValue(path, out var target) ? target : null;
    public IReadOnlyList<string> ListDirectory(string path) => Directories.TryGetValue(path, out var entries) ? entries : Array.Empty<string>();
    public string? RealPath(string path) => path;
    public string? GetEnvironmentVariable(string name) => Environment.TryGetValue(name, out var value) ? value : null;

    public FakeHostSource With(string path, string contents)
    {
        Files[path] = contents;
        return this;
    }
}

public class LinuxHostDetectorTests
{
    private static FakeHostSource ThisVm()
    {
        // Captured from this project's 2-core Firecracker VM.
        var source = new FakeHostSource()
            .With("/proc/meminfo", "MemTotal:       24682668 kB\nMemFree:        23976220 kB\nMemAvailable:   24108016 kB\n")
            .With("/proc/self/cgroup", "4:memory:/process_api/582d\n0::/\n")
            .With("/proc/self/mountinfo",
                "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n" +
                "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
            .With("/sys/fs/cgroup/memory/process_api/582d/memory.limit_in_bytes", "9223372036854771712\n")
            .With("/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "9223372036854771712\n")
            .With("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
            .With("/sys/devices/system/cpu/online", "0-1\n")
            .With("/sys/devices/system/cpu/cpu0/topology/core_id", "0\n")
            .With("/sys/devices/system/cpu/cpu0/topology/physical_package_id", "0\n")
            .With("/sys/devices/system/cpu/cpu1/topology/core_id", "1\n")
            .With("/sys/devices/system/cpu/cpu1/topology/physical_package_id", "0\n")
            .With("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
            .With("/proc/self/limits", "Max locked memory         8388608              8388608              bytes     \n")
            .With("/proc/self/status", "CapEff:\t000001fffeffffff\n")
            .With("/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/uevent", "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n")
            .With("/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/queue/rotational", "1\n");
        source.Links["/sys/dev/block/254:0"] = "/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda";
        return source;
    }

    private static HostInfo Detect(IHostSource source, string? modelPath = "/srv/models/tiny.gguf") =>
        LinuxHostDetector.Detect(source, new HostInfo(), modelPath);

    [Fact]
    public void This_vm_as_captured()
    {
        var host = Detect(ThisVm());
        Assert.Equal("linux", host.OperatingSystem);
        Assert.Equal(24682668L * 1024, host.TotalRamBytes);
        Assert.Equal(24108016L * 1024, host.AvailableRamBytes);
        Assert.Null(host.CgroupV1LimitBytes);
        Assert.Null(host.CgroupV2LimitBytes);
        Assert.Null(host.MemoryLimitBytes);
        Assert.Equal(2, host.PhysicalCores);
        Assert.Equal(2, host.LogicalCores);
        Assert.Equal("madvise", host.TransparentHugePages);
        Assert.Equal(8388608L, host.LockedMemoryLimitBytes);
        Assert.True(host.HasLockCapability);
        Assert.False(host.MallocHugePages);
        Assert.Equal(StorageKind.Unknown, host.Storage); // virtio: rotational=1 is a default, not a fact
        Assert.Equal("ext4 on vda (rotational=1)", host.StorageDetail);
        Assert.Empty(host.ProbeFailures);
    }

    [Fact]
    public void Missing_and_malformed_sources_are_recorded_as_probe_failures()
    {
        var source = ThisVm()
            .With("/proc/self/limits", "Max open files            1024                 1048576              files     \n")
            .With("/proc/meminfo", "garbage\n");
        source.Files.Remove("/sys/kernel/mm/transparent_hugepage/enabled");

        var host = Detect(source);

        Assert.Null(host.TotalRamBytes);
        Assert.Null(host.TransparentHugePages);
        Assert.Null(host.LockedMemoryLimitBytes);
        Assert.Equal(2, host.PhysicalCores); // the other probes still ran
        Assert.Equal(
            new[]
            {
                new HostProbeFailure(HostProbeFailure.Memory, "/proc/meminfo has no value in the expected format"),
                new HostProbeFailure(HostProbeFailure.TransparentHugePages, "/sys/kernel/mm/transparent_hugepage/enabled is missing or unreadable"),
                new HostProbeFailure(HostProbeFailure.LockedMemoryLimit, "/proc/self/limits has no value in the expected format"),
            },
            host.ProbeFailures);
        Assert.Contains("Not probed    memory: /proc/meminfo has no value in the expected format", host.Describe());
    }

    [Fact]
    public void A_probe_that_throws_is_recorded_and_the_others_still_run()
    {
        var source = new ThrowingHostSource(ThisVm(), "/sys/devices/system/cpu/online");

        var host = Detect(source);

        var failure = Assert.Single(host.ProbeFailures);
        Assert.Equal(HostProbeFailure.Cores, failure.Probe);
        Assert.Equal("InvalidOperationException: cannot read /sys/devices/system/cpu/online", failure.Reason);
        Assert.Null(host.PhysicalCores);
        Assert.Equal(24682668L * 1024, host.TotalRamBytes);
        Assert.Equal("madvise", host.TransparentHugePages);
    }

    /// <summary>Breaks the <see cref="IHostSource"/> contract (never throw) for one path.</summary>
    private sealed class ThrowingHostSource(FakeHostSource inner, string failingPath) : IHostSource
    {
        public string? ReadText(string path) =>
            path == failingPath ? throw new InvalidOperationException("cannot read " + path) : inner.ReadText(path);
        public string? ResolveLink(string path) => inner.ResolveLink(path);
        public IReadOnlyList<string> ListDirectory(string path) => inner.ListDirectory(path);
        public string? RealPath(string path) => inner.RealPath(path);
        public string? GetEnvironmentVariable(string name) => inner.GetEnvironmentVariable(name);
    }

    [Fact]
    public void Cgroup_v1_limit_of_an_ancestor_applies()
    {
        var source = ThisVm().With("/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "4294967296\n");
        var host = Detect(source);
        Assert.Equal(4294967296L, host.CgroupV1LimitBytes);
        Assert.Equal(4294967296L, host.MemoryLimitBytes);
    }

    [Fact]
    public void Cgroup_v2_nested_limits_the_smaller_wins()
    {
        var source = new FakeHostSource()
            .With("/proc/self/cgroup", "0::/system.slice/app.service\n")
            .With("/proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
            .With("/sys/fs/cgroup/system.slice/app.service/memory.max", "max\n")
            .With("/sys/fs/cgroup/system.slice/memory.max", "6442450944\n");
        var host = Detect(source, null);
        Assert.Equal(6442450944L, host.CgroupV2LimitBytes);
        Assert.Null(host.CgroupV1LimitBytes);
        Assert.Equal(6442450944L, host.MemoryLimitBytes);
    }

    [Fact]
    public void Both_hierarchies_limited_the_smaller_wins()
    {
        var source = ThisVm()
            .With("/proc/self/cgroup", "4:memory:/process_api/582d\n0::/job\n")
            .With("/sys/fs/cgroup/memory/process_api/582d/memory.limit_in_bytes", "8589934592\n")
            .With("/sys/fs/cgroup/unified/job/memory.max", "2147483648\n");
        var host = Detect(source);
        Assert.Equal(8589934592L, host.CgroupV1LimitBytes);
        Assert.Equal(2147483648L, host.CgroupV2LimitBytes);
        Assert.Equal(2147483648L, host.MemoryLimitBytes);
    }

    [Fact]
    public void Smt_topology_from_sysfs()
    {
        var source = new FakeHostSource().With("/sys/devices/system/cpu/online", "0-7\n");
        for (var cpu = 0; cpu < 8; cpu++)
        {
            source.With($"/sys/devices/system/cpu/cpu{cpu}/topology/core_id", $"{cpu % 4}\n")
                  .With($"/sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id", "0\n");
        }
        Assert.Equal((4, 8), LinuxHostDetector.DetectCores(source));
    }

    [Fact]
    public void Cores_fall_back_to_cpuinfo_without_sysfs_topology()
    {
        var cpuinfo = string.Join("\n", Enumerable.Range(0, 4).Select(c => $"processor\t: {c}\nphysical id\t: 0\ncore id\t\t: {c / 2}\n"));
        var source = new FakeHostSource().With("/proc/cpuinfo", cpuinfo);
        Assert.Equal((2, 4), LinuxHostDetector.DetectCores(source));
    }

    [Fact]
    public void Nothing_readable_gives_unknowns_not_exceptions()
    {
        var host = Detect(new FakeHostSource());
        Assert.Equal("linux", host.OperatingSystem);
        Assert.Null(host.TotalRamBytes);
        Assert.Null(host.AvailableRamBytes);
        Assert.Null(host.MemoryLimitBytes);
        Assert.Null(host.PhysicalCores);
        Assert.Null(host.LogicalCores);
        Assert.Null(host.TransparentHugePages);
        Assert.Null(host.LockedMemoryLimitBytes);
        Assert.Null(host.HasLockCapability);
        Assert.Equal(StorageKind.Unknown, host.Storage);
        Assert.Equal(
            new[]
            {
                HostProbeFailure.Memory, HostProbeFailure.Mounts, HostProbeFailure.Cores, HostProbeFailure.Storage,
                HostProbeFailure.TransparentHugePages, HostProbeFailure.LockedMemoryLimit, HostProbeFailure.LockCapability,
            },
            host.ProbeFailures.Select(f => f.Probe));
    }

    [Fact]
    public void Nvme_partition_resolves_to_its_disk()
    {
        var source = new FakeHostSource()
            .With("/proc/self/mountinfo", "27 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n")
            .With("/sys/devices/pci0000:00/0000:00:01.2/nvme/nvme0/nvme0n1/nvme0n1p2/uevent", "DEVNAME=nvme0n1p2\nDEVTYPE=partition\n")
            .With("/sys/devices/pci0000:00/0000:00:01.2/nvme/nvme0/nvme0n1/uevent", "DEVNAME=nvme0n1\nDEVTYPE=disk\n")
            .With("/sys/devices/pci0000:00/0000:00:01.2/nvme/nvme0/nvme0n1/queue/rotational", "0\n");
        source.Links["/sys/dev/block/259:2"] = "/sys/devices/pci0000:00/0000:00:01.2/nvme/nvme0/nvme0n1/nvme0n1p2";
        var host = Detect(source, "/home/me/models/a.gguf");
        Assert.Equal(StorageKind.Nvme, host.Storage);
        Assert.Equal("ext4 on nvme0n1 (rotational=0)", host.StorageDetail);
    }

    [Fact]
    public void Spinning_disk_partition_is_hdd()
    {
        var source = new FakeHostSource()
            .With("/proc/self/mountinfo", "27 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n90 27 8:17 / /data rw - xfs /dev/sdb1 rw\n")
            .With("/sys/devices/pci/ata2/block/sdb/sdb1/uevent", "DEVNAME=sdb1\nDEVTYPE=partition\n")
            .With("/sys/devices/pci/ata2/block/sdb/uevent", "DEVNAME=sdb\nDEVTYPE=disk\n")
            .With("/sys/devices/pci/ata2/block/sdb/queue/rotational", "1\n");
        source.Links["/sys/dev/block/8:17"] = "/sys/devices/pci/ata2/block/sdb/sdb1";
        Assert.Equal(StorageKind.Hdd, Detect(source, "/data/models/a.gguf").Storage);
    }

    [Fact]
    public void Device_mapper_follows_its_slave()
    {
        var source = new FakeHostSource()
            .With("/proc/self/mountinfo", "27 1 253:1 / / rw - ext4 /dev/mapper/vg-root rw\n")
            .With("/sys/devices/virtual/block/dm-1/uevent", "DEVNAME=dm-1\nDEVTYPE=disk\n")
            .With("/sys/devices/virtual/block/dm-1/queue/rotational", "0\n")
            .With("/sys/devices/pci/nvme/nvme0n1/nvme0n1p3/uevent", "DEVNAME=nvme0n1p3\nDEVTYPE=partition\n")
            .With("/sys/devices/pci/nvme/nvme0n1/uevent", "DEVNAME=nvme0n1\nDEVTYPE=disk\n")
            .With("/sys/devices/pci/nvme/nvme0n1/queue/rotational", "0\n");
        source.Links["/sys/dev/block/253:1"] = "/sys/devices/virtual/block/dm-1";
        source.Directories["/sys/devices/virtual/block/dm-1/slaves"] = new[] { "nvme0n1p3" };
        source.Links["/sys/devices/virtual/block/dm-1/slaves/nvme0n1p3"] = "/sys/devices/pci/nvme/nvme0n1/nvme0n1p3";
        Assert.Equal(StorageKind.Nvme, Detect(source, "/srv/a.gguf").Storage);
    }

    [Fact]
    public void Network_mount_is_network()
    {
        var source = ThisVm().With("/proc/self/mountinfo",
            "27 1 254:0 / / rw - ext4 /dev/vda rw\n95 27 0:60 / /models rw - nfs4 nas:/models rw,vers=4.2\n");
        var host = Detect(source, "/models/big.gguf");
        Assert.Equal(StorageKind.Network, host.Storage);
        Assert.Equal("nfs4 at /models (nas:/models)", host.StorageDetail);
    }

    [Fact]
    public void Glibc_tunable_is_read_from_the_environment()
    {
        var source = ThisVm();
        source.Environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1";
        Assert.True(Detect(source).MallocHugePages);
    }
}
