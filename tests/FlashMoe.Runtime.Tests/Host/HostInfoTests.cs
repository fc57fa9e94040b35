using System;
using System.IO;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Host;
using Xunit;

namespace FlashMoe.Runtime.Tests.Host;

public class HostInfoTests
{
    [Fact]
    public void Detect_on_this_machine_returns_sane_values()
    {
        var modelPath = Path.GetTempFileName();
        try
        {
            var host = HostInfo.Detect(modelPath);

            Assert.True(host.TotalRamBytes > Units.GiB, $"total RAM {host.TotalRamBytes}");
            Assert.NotNull(host.AvailableRamBytes);
            Assert.InRange(host.AvailableRamBytes!.Value, 1, host.TotalRamBytes!.Value);
            Assert.True(host.PhysicalCores >= 1);
            Assert.True(host.LogicalCores >= host.PhysicalCores);
            Assert.Equal(modelPath, host.ModelPath);
            Assert.NotNull(host.Architecture);
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal("linux", host.OperatingSystem);
                Assert.Contains(host.TransparentHugePages, new[] { "always", "madvise", "never" });
                Assert.NotNull(host.StorageDetail);
                Assert.NotNull(host.LockedMemoryLimitBytes);
                Assert.NotNull(host.HasLockCapability);
            }
            if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
            {
                Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, host.Avx2);
            }
        }
        finally
        {
            File.Delete(modelPath);
        }
    }

    [Fact]
    public void Detect_without_a_model_path_skips_the_storage_probe()
    {
        var host = HostInfo.Detect();
        Assert.Null(host.ModelPath);
        Assert.Equal(StorageKind.Unknown, host.Storage);
        Assert.Contains("not probed", host.Describe());
    }

    [Fact]
    public void Detect_with_a_missing_model_file_does_not_throw()
    {
        var host = HostInfo.Detect("/nonexistent/dir/model.gguf");
        Assert.True(host.TotalRamBytes > 0);
    }

    [Fact]
    public void Real_path_resolves_symlinked_directories_and_files()
    {
        if (OperatingSystem.IsWindows()) return; // POSIX paths only; the Linux detector is the only caller
        var root = Directory.CreateTempSubdirectory("flashmoe-realpath-").FullName;
        try
        {
            var real = Directory.CreateDirectory(Path.Combine(root, "real", "models")).FullName;
            File.WriteAllText(Path.Combine(real, "a.gguf"), "x");
            Directory.CreateSymbolicLink(Path.Combine(root, "abs"), Path.Combine(root, "real"));
            Directory.CreateSymbolicLink(Path.Combine(root, "rel"), "real/models");
            File.CreateSymbolicLink(Path.Combine(real, "b.gguf"), "a.gguf");

            var expected = Path.Combine(real, "a.gguf");
            var source = RealHostSource.Instance;
            Assert.Equal(expected, source.RealPath(Path.Combine(root, "abs", "models", "a.gguf")));
            Assert.Equal(expected, source.RealPath(Path.Combine(root, "rel", "a.gguf")));
            Assert.Equal(expected, source.RealPath(Path.Combine(root, "rel", "b.gguf")));
            Assert.Equal(Path.Combine(root, "missing", "x"), source.RealPath(Path.Combine(root, "missing", "x")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Real_source_reads_nothing_from_missing_files()
    {
        var source = RealHostSource.Instance;
        Assert.Null(source.ReadText("/nonexistent/file"));
        Assert.Null(source.ResolveLink("/nonexistent/link"));
        Assert.Empty(source.ListDirectory("/nonexistent/dir"));
    }

    private static HostInfo Sample() => new()
    {
        OperatingSystem = "linux",
        Architecture = "X64",
        TotalRamBytes = 64 * Units.GiB,
        AvailableRamBytes = 60 * Units.GiB,
        CgroupV1LimitBytes = 16 * Units.GiB,
        CgroupV2LimitBytes = 12 * Units.GiB,
        PhysicalCores = 8,
        LogicalCores = 16,
        Avx2 = true,
        Avx512 = false,
        ModelPath = "/models/a.gguf",
        Storage = StorageKind.Nvme,
        StorageDetail = "ext4 on nvme0n1 (rotational=0)",
        TransparentHugePages = "madvise",
        LockedMemoryLimitBytes = 8 * Units.MiB,
        HasLockCapability = false,
        MallocHugePages = false,
    };

    [Fact]
    public void Limit_is_the_smaller_of_v1_and_v2()
    {
        Assert.Equal(12 * Units.GiB, Sample().MemoryLimitBytes);
        Assert.Equal(16 * Units.GiB, (Sample() with { CgroupV2LimitBytes = null }).MemoryLimitBytes);
        Assert.Null((Sample() with { CgroupV1LimitBytes = null, CgroupV2LimitBytes = null }).MemoryLimitBytes);
    }

    [Fact]
    public void ToHostFacts_folds_the_limit_in()
    {
        var facts = Sample().ToHostFacts();
        Assert.Equal(64 * Units.GiB, facts.TotalRamBytes);
        Assert.Equal(12 * Units.GiB, facts.MemoryLimitBytes);
        Assert.Equal(12 * Units.GiB, facts.AvailableRamBytes); // capped at the limit
        Assert.Equal(8, facts.PhysicalCores);
        Assert.Equal(16, facts.LogicalCores);
        Assert.True(facts.Avx2);
        Assert.False(facts.Avx512);
        Assert.Equal(StorageKind.Nvme, facts.Storage);
        Assert.Equal("madvise", facts.TransparentHugePages);
        Assert.Equal("linux", facts.OperatingSystem);
        Assert.Equal(8 * Units.MiB, facts.LockedMemoryLimitBytes);
        Assert.False(facts.HasLockCapability);
        Assert.False(facts.MallocHugePages);
        Assert.True(facts.IsDetected);
    }

    [Fact]
    public void ToHostFacts_without_a_limit_keeps_available_ram()
    {
        var facts = (Sample() with { CgroupV1LimitBytes = null, CgroupV2LimitBytes = null }).ToHostFacts();
        Assert.Null(facts.MemoryLimitBytes);
        Assert.Equal(60 * Units.GiB, facts.AvailableRamBytes);
    }

    [Fact]
    public void Describe_prints_every_fact()
    {
        var text = Sample().Describe();
        Assert.Contains("OS            linux (X64)\n", text);
        Assert.Contains("RAM           64.0 GiB total, 60.0 GiB available\n", text);
        Assert.Contains("Memory limit  12.0 GiB (cgroup v1: 16.0 GiB, v2: 12.0 GiB)\n", text);
        Assert.Contains("CPU           8 physical / 16 logical cores, AVX2 yes, AVX-512 no\n", text);
        Assert.Contains("Storage       Nvme — ext4 on nvme0n1 (rotational=0)\n", text);
        Assert.Contains("THP           madvise\n", text);
        Assert.Contains("mlock         limit 8 MiB, CAP_IPC_LOCK no\n", text);
        Assert.Equal("linux/X64, RAM 64.0 GiB (limit 12.0 GiB), 8/16 cores, storage Nvme, THP madvise", Sample().ToString());
    }

    [Fact]
    public void Unknown_facts_print_as_unknown()
    {
        var text = new HostInfo().Describe();
        Assert.Contains("RAM           unknown total, unknown available", text);
        Assert.Contains("Memory limit  none", text);
        Assert.Contains("CPU           ? physical / ? logical cores, AVX2 unknown, AVX-512 unknown", text);
    }

    [Fact]
    public void Windows_processor_records_count_cores_and_smt_threads()
    {
        // Two RelationProcessorCore records (64-bit layout, 48 bytes each): core 0 with SMT (mask 0b11), core 1 without (mask 0b100).
        var buffer = new byte[96];
        WriteCoreRecord(buffer, 0, 0b11, smt: true);
        WriteCoreRecord(buffer, 48, 0b100, smt: false);
        Assert.Equal((2, 3), WindowsProbes.ParseProcessorCores(buffer, 8));
    }

    [Fact]
    public void Windows_processor_records_malformed_give_unknown()
    {
        var buffer = new byte[48];
        WriteCoreRecord(buffer, 0, 1, smt: false);
        BitConverter.GetBytes(4096).CopyTo(buffer, 4); // size beyond the buffer
        Assert.Equal(((int?)null, (int?)null), WindowsProbes.ParseProcessorCores(buffer, 8));
        Assert.Equal(((int?)null, (int?)null), WindowsProbes.ParseProcessorCores(Array.Empty<byte>(), 8));
    }

    private static void WriteCoreRecord(byte[] buffer, int offset, ulong mask, bool smt)
    {
        BitConverter.GetBytes(0).CopyTo(buffer, offset);          // RelationProcessorCore
        BitConverter.GetBytes(48).CopyTo(buffer, offset + 4);     // Size
        buffer[offset + 8] = smt ? (byte)1 : (byte)0;             // Flags (LTP_PC_SMT)
        BitConverter.GetBytes((ushort)1).CopyTo(buffer, offset + 30); // GroupCount
        BitConverter.GetBytes(mask).CopyTo(buffer, offset + 32);  // GroupMask[0].Mask
    }
}
