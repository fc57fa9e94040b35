using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// Evicts a file from the page cache (so every run starts cold and its reads are charged to its own group) and
/// measures how much of it is still cached. P/Invoke into libc: .NET exposes neither posix_fadvise nor mincore.
/// </summary>
internal static class PageCache
{
    private const int PosixFadvDontNeed = 4;
    private const int ProtRead = 1, MapShared = 1;

    /// <summary>fsync + posix_fadvise(DONTNEED) on the whole file; falls back to drop_caches when pages stay cached.</summary>
    /// <returns>The method used and the bytes still cached afterwards (null when that cannot be measured).</returns>
    public static (string Method, long? ResidentBytes, string Probe) Evict(string path)
    {
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
        {
            var fd = (int)handle.DangerousGetHandle();
            Fsync(fd);
            var error = PosixFadvise(fd, 0, 0, PosixFadvDontNeed);
            if (error != 0) throw new IOException($"posix_fadvise(DONTNEED) failed on {path}: error {error}");
        }
        var (resident, probe) = Resident(path);
        var length = new FileInfo(path).Length;
        if (resident is { } r && r > length / 100 && TryDropCaches())
        {
            (resident, probe) = Resident(path);
            return ("posix_fadvise(DONTNEED), then drop_caches", resident, probe);
        }
        return ("posix_fadvise(DONTNEED)", resident, probe);
    }

    /// <summary>Bytes of <paramref name="path"/> in the page cache: fincore (util-linux) when installed, else mincore.</summary>
    public static (long? Bytes, string Probe) Resident(string path)
    {
        var fromFincore = Fincore(path);
        if (fromFincore is not null) return (fromFincore, "fincore");
        return (Mincore(path), "mincore");
    }

    private static long? Fincore(string path)
    {
        try
        {
            var start = new ProcessStartInfo("fincore") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--bytes", "--noheadings", "--output", "RES", path }) start.ArgumentList.Add(a);
            using var process = Process.Start(start);
            if (process is null) return null;
            var output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            if (!process.WaitForExit(10_000) || process.ExitCode != 0) return null;
            return long.TryParse(output.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }

    private static long? Mincore(string path)
    {
        var length = new FileInfo(path).Length;
        if (length == 0) return 0;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var map = Mmap(IntPtr.Zero, new UIntPtr((ulong)length), ProtRead, MapShared, (int)handle.DangerousGetHandle(), 0);
        if (map == new IntPtr(-1)) return null;
        try
        {
            var pageSize = Environment.SystemPageSize;
            var pages = (length + pageSize - 1) / pageSize;
            var vector = new byte[pages];
            if (MincoreNative(map, new UIntPtr((ulong)length), vector) != 0) return null;
            long resident = 0;
            foreach (var b in vector) if ((b & 1) != 0) resident++;
            return Math.Min(length, resident * pageSize);
        }
        finally
        {
            Munmap(map, new UIntPtr((ulong)length));
        }
    }

    private static bool TryDropCaches()
    {
        try
        {
            using var stream = new FileStream("/proc/sys/vm/drop_caches", FileMode.Open, FileAccess.Write);
            stream.Write("1"u8);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long length, int advice);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern IntPtr Mmap(IntPtr address, UIntPtr length, int protection, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(IntPtr address, UIntPtr length);

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int MincoreNative(IntPtr address, UIntPtr length, byte[] vector);
}
