using System.Linq;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Host;
using Xunit;

namespace FlashMoe.Runtime.Tests.Host;

// Captured file contents from real machines (this 2-core Firecracker VM, a 16-core SMT desktop, containers).
public class LinuxHostParsersTests
{
    private const string MemInfo = """
        MemTotal:       24682668 kB
        MemFree:        23976220 kB
        MemAvailable:   24108016 kB
        Buffers:           11960 kB
        Cached:           364408 kB
        HugePages_Total:       0
        Hugepagesize:       2048 kB
        """;

    [Fact]
    public void MemInfo_gives_total_and_available_in_bytes()
    {
        var (total, available) = LinuxHostParsers.ParseMemInfo(MemInfo);
        Assert.Equal(24682668L * 1024, total);
        Assert.Equal(24108016L * 1024, available);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("MemTotal: lots kB")]
    [InlineData("garbage\n\0\0")]
    public void MemInfo_unreadable_or_malformed_gives_null(string? contents)
    {
        var (total, available) = LinuxHostParsers.ParseMemInfo(contents);
        Assert.Null(total);
        Assert.Null(available);
    }

    [Theory]
    [InlineData("8589934592\n", 8589934592L)]          // v2 memory.max / v1 limit_in_bytes: 8 GiB
    [InlineData("max\n", null)]                         // v2 unlimited
    [InlineData("9223372036854771712\n", null)]         // v1 unlimited (PAGE_COUNTER_MAX × 4096), captured here
    [InlineData("9223372036854775807", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    [InlineData("-1", null)]
    [InlineData("12abc", null)]
    public void Cgroup_limit_parses_numbers_and_treats_max_and_huge_as_unlimited(string? contents, long? expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseCgroupLimit(contents));
    }

    [Fact]
    public void Proc_self_cgroup_v1_hybrid_as_captured_here()
    {
        const string contents = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n" +
                                "4:memory:/process_api/582d81fb04be1400b078e471eaa8b95b\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
        var membership = LinuxHostParsers.ParseProcSelfCgroup(contents);
        Assert.Equal("/process_api/582d81fb04be1400b078e471eaa8b95b", membership.MemoryV1Path);
        Assert.Equal("/", membership.UnifiedPath);
    }

    [Fact]
    public void Proc_self_cgroup_v2_only()
    {
        var membership = LinuxHostParsers.ParseProcSelfCgroup("0::/user.slice/user-1000.slice/session-2.scope\n");
        Assert.Equal("/user.slice/user-1000.slice/session-2.scope", membership.UnifiedPath);
        Assert.Null(membership.MemoryV1Path);
    }

    [Fact]
    public void Proc_self_cgroup_v1_with_combined_controllers()
    {
        var membership = LinuxHostParsers.ParseProcSelfCgroup("11:memory,hugetlb:/docker/abc\n");
        Assert.Equal("/docker/abc", membership.MemoryV1Path);
        Assert.Null(membership.UnifiedPath);
    }

    [Fact]
    public void Proc_self_cgroup_unreadable_gives_no_paths()
    {
        Assert.Equal(new CgroupMembership(null, null), LinuxHostParsers.ParseProcSelfCgroup(null));
        Assert.Equal(new CgroupMembership(null, null), LinuxHostParsers.ParseProcSelfCgroup("nonsense"));
    }

    private const string MountInfoHere = """
        22 27 0:21 / /proc rw,relatime - proc proc rw
        23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
        27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    [Fact]
    public void MountInfo_parses_device_type_and_super_options()
    {
        var mounts = LinuxHostParsers.ParseMountInfo(MountInfoHere);
        Assert.Equal(7, mounts.Count);
        var root = mounts.Single(m => m.MountPoint == "/");
        Assert.Equal((254, 0, "ext4", "/dev/vda"), (root.Major, root.Minor, root.FileSystemType, root.Source));
        Assert.Equal("/sys/fs/cgroup/memory", LinuxHostParsers.FindCgroupV1MemoryMount(mounts)!.MountPoint);
        Assert.Equal("/sys/fs/cgroup/unified", LinuxHostParsers.FindCgroupV2Mount(mounts)!.MountPoint);
    }

    [Fact]
    public void MountInfo_unescapes_octal_and_finds_the_longest_mount_point()
    {
        const string contents = """
            27 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw
            90 27 8:17 / /mnt/my\040models rw,relatime shared:5 - xfs /dev/sdb1 rw
            91 27 0:55 / /mnt/my rw - nfs4 server:/export rw,vers=4.2
            """;
        var mounts = LinuxHostParsers.ParseMountInfo(contents);
        Assert.Equal("/mnt/my models", mounts[1].MountPoint);
        Assert.Equal("xfs", LinuxHostParsers.FindMount(mounts, "/mnt/my models/a.gguf")!.FileSystemType);
        Assert.Equal("nfs4", LinuxHostParsers.FindMount(mounts, "/mnt/my/a.gguf")!.FileSystemType);
        Assert.Equal("ext4", LinuxHostParsers.FindMount(mounts, "/mnt/mymodels/a.gguf")!.FileSystemType);
    }

    [Fact]
    public void MountInfo_skips_malformed_lines()
    {
        Assert.Empty(LinuxHostParsers.ParseMountInfo("not a mount line\n1 2 x:y / / rw - ext4 /dev/a rw\n"));
        Assert.Empty(LinuxHostParsers.ParseMountInfo(null));
    }

    [Fact]
    public void Cgroup_directories_walk_up_to_the_mount_root()
    {
        var mount = new MountEntry(0, 32, "/", "/sys/fs/cgroup/memory", "cgroup", "cgroup", "rw,memory");
        Assert.Equal(
            new[] { "/sys/fs/cgroup/memory/process_api/582d", "/sys/fs/cgroup/memory/process_api", "/sys/fs/cgroup/memory" },
            LinuxHostParsers.CgroupDirectories(mount, "/process_api/582d"));
    }

    [Fact]
    public void Cgroup_directories_strip_a_bind_mounted_root()
    {
        // Docker without a cgroup namespace: the container sees its own cgroup mounted at /sys/fs/cgroup.
        var mount = new MountEntry(0, 30, "/docker/abc", "/sys/fs/cgroup", "cgroup2", "cgroup", "rw");
        Assert.Equal(new[] { "/sys/fs/cgroup" }, LinuxHostParsers.CgroupDirectories(mount, "/docker/abc"));
    }

    [Theory]
    [InlineData("always [madvise] never\n", "madvise")]
    [InlineData("[always] madvise never", "always")]
    [InlineData("always madvise [never]", "never")]
    [InlineData("always madvise never", null)]
    [InlineData("[]", null)]
    [InlineData(null, null)]
    public void Transparent_huge_pages_mode_is_the_bracketed_value(string? contents, string? expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseBracketedMode(contents));
    }

    [Theory]
    [InlineData("1\n", true)]
    [InlineData("0\n", false)]
    [InlineData("2", null)]
    [InlineData(null, null)]
    public void Rotational_flag(string? contents, bool? expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseRotational(contents));
    }

    [Theory]
    [InlineData("0-1\n", new[] { 0, 1 })]
    [InlineData("0-3,8,10-11", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData("5", new[] { 5 })]
    public void Cpu_lists(string contents, int[] expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseCpuList(contents));
    }

    [Theory]
    [InlineData("2147483600-2147483647")] // ends at int.MaxValue: an int counter wrapped there and never stopped
    [InlineData("0-2147483647")]
    [InlineData("65536")]
    [InlineData("65000-65536")]
    [InlineData("0-65535,0-65535")] // each range plausible, together more CPUs than can exist
    public async System.Threading.Tasks.Task Cpu_lists_beyond_any_machine_give_null_promptly(string contents)
    {
        var parse = System.Threading.Tasks.Task.Run(() => LinuxHostParsers.ParseCpuList(contents));
        var finished = await System.Threading.Tasks.Task.WhenAny(parse, System.Threading.Tasks.Task.Delay(System.TimeSpan.FromSeconds(30))) == parse;
        Assert.True(finished, "the CPU list parser did not finish");
        Assert.Null(await parse);
    }

    [Fact]
    public void The_largest_believable_cpu_list_is_read()
    {
        var cpus = LinuxHostParsers.ParseCpuList("0-65535");
        Assert.Equal(65536, cpus!.Count);
        Assert.Equal(65535, cpus[^1]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("3-1")]
    [InlineData("a-b")]
    [InlineData("0-99999999")]
    public void Cpu_lists_malformed_give_null(string? contents)
    {
        Assert.Null(LinuxHostParsers.ParseCpuList(contents));
    }

    [Fact]
    public void Physical_cores_count_smt_siblings_once()
    {
        // sysfs of an 8-core/16-thread desktop: cpuN and cpuN+8 share a core_id.
        var topology = Enumerable.Range(0, 16).Select(cpu => ((int?)0, (int?)(cpu % 8)));
        Assert.Equal(8, LinuxHostParsers.CountPhysicalCores(topology));
    }

    [Fact]
    public void Physical_cores_count_per_package()
    {
        // Two sockets reuse core ids 0..3.
        var topology = new (int?, int?)[] { (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3) };
        Assert.Equal(8, LinuxHostParsers.CountPhysicalCores(topology));
    }

    [Fact]
    public void Physical_cores_unknown_when_any_cpu_is_unreadable()
    {
        Assert.Null(LinuxHostParsers.CountPhysicalCores(new (int?, int?)[] { (0, 0), (null, 1) }));
        Assert.Null(LinuxHostParsers.CountPhysicalCores(System.Array.Empty<(int?, int?)>()));
    }

    [Fact]
    public void Cpuinfo_with_smt()
    {
        var blocks = Enumerable.Range(0, 4).Select(cpu =>
            $"processor\t: {cpu}\nvendor_id\t: AuthenticAMD\nphysical id\t: 0\nsiblings\t: 4\ncore id\t\t: {cpu / 2}\ncpu cores\t: 2\n");
        var (physical, logical) = LinuxHostParsers.ParseCpuInfo(string.Join("\n", blocks));
        Assert.Equal(2, physical);
        Assert.Equal(4, logical);
    }

    [Fact]
    public void Cpuinfo_without_topology_fields_gives_logical_only()
    {
        // arm64 kernels print no "physical id"/"core id".
        const string arm = "processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n";
        var (physical, logical) = LinuxHostParsers.ParseCpuInfo(arm);
        Assert.Null(physical);
        Assert.Equal(2, logical);
    }

    private const string LimitsHere = """
        Limit                     Soft Limit           Hard Limit           Units     
        Max cpu time              unlimited            unlimited            seconds   
        Max locked memory         8388608              8388608              bytes     
        Max address space         unlimited            unlimited            bytes     
        """;

    [Fact]
    public void Locked_memory_limit_soft_value()
    {
        Assert.Equal(8388608L, LinuxHostParsers.ParseLockedMemoryLimit(LimitsHere));
        Assert.Equal(long.MaxValue, LinuxHostParsers.ParseLockedMemoryLimit("Max locked memory         unlimited            unlimited            bytes\n"));
        Assert.Null(LinuxHostParsers.ParseLockedMemoryLimit(null));
        Assert.Null(LinuxHostParsers.ParseLockedMemoryLimit("Max locked memory         lots"));
    }

    [Theory]
    [InlineData("CapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n", true)]   // root, captured here
    [InlineData("CapEff:\t0000000000000000\n", false)]                              // ordinary user
    [InlineData("CapEff:\t00000000a80425fb\n", false)]                              // docker default set (no IPC_LOCK)
    [InlineData("CapEff:\t0000000000004000\n", true)]                               // only CAP_IPC_LOCK
    [InlineData("CapEff:\tzz\n", null)]
    [InlineData(null, null)]
    public void Ipc_lock_capability(string? status, bool? expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseHasIpcLock(status));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("glibc.malloc.hugetlb=1", true)]
    [InlineData("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2", true)]
    [InlineData("glibc.malloc.hugetlb=0", false)]
    [InlineData("glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0", false)]
    [InlineData("glibc.malloc.arena_max=2", false)]
    public void Glibc_malloc_hugetlb_tunable(string? value, bool expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ParseMallocHugeTlb(value));
    }

    [Theory]
    [InlineData("nfs4", null, null, StorageKind.Network)]
    [InlineData("cifs", null, null, StorageKind.Network)]
    [InlineData("fuse.sshfs", null, null, StorageKind.Network)]
    [InlineData("ext4", "nvme0n1", false, StorageKind.Nvme)]
    [InlineData("ext4", "sda", false, StorageKind.Ssd)]
    [InlineData("xfs", "sdb", true, StorageKind.Hdd)]
    [InlineData("ext4", "vda", true, StorageKind.Unknown)]   // virtio reports rotational=1 by default (captured here)
    [InlineData("ext4", "sdc", null, StorageKind.Unknown)]
    [InlineData("tmpfs", null, null, StorageKind.Unknown)]
    [InlineData("overlay", null, null, StorageKind.Unknown)]
    public void Storage_classification(string fsType, string? disk, bool? rotational, StorageKind expected)
    {
        Assert.Equal(expected, LinuxHostParsers.ClassifyStorage(fsType, disk, rotational));
    }

    [Fact]
    public void Block_uevent()
    {
        Assert.Equal(("vda", "disk"), LinuxHostParsers.ParseBlockUevent("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=9\n"));
        Assert.Equal(("nvme0n1p2", "partition"), LinuxHostParsers.ParseBlockUevent("MAJOR=259\nMINOR=2\nDEVNAME=nvme0n1p2\nDEVTYPE=partition\nPARTN=2\n"));
        Assert.Equal(((string?)null, (string?)null), LinuxHostParsers.ParseBlockUevent(null));
    }
}
