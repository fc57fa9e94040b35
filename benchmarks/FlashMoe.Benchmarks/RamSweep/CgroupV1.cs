using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// cgroup v1 memory groups, through the cgroupfs files. Hand-written: .NET has no cgroup API and no library on the
/// feed covers v1 memory groups; the few files used are read and written as documented in the kernel's
/// Documentation/admin-guide/cgroup-v1/memory.rst.
/// </summary>
internal static class CgroupV1
{
    /// <summary>
    /// The directory per-run groups are made in: <paramref name="explicitParent"/>, else this process's own memory
    /// group (so a limit on the caller still applies to the runs, hierarchically). Null with the reason when cgroup v1
    /// memory is not there or not writable (not Linux, not root, cgroup v2 only, read-only cgroupfs, …).
    /// </summary>
    public static string? FindParent(string? explicitParent, out string problem)
    {
        problem = string.Empty;
        if (!OperatingSystem.IsLinux())
        {
            problem = "cgroup v1 memory groups exist only on Linux";
            return null;
        }
        var parent = explicitParent ?? OwnMemoryGroup(out problem);
        if (parent is null) return null;
        if (!File.Exists(Path.Combine(parent, "memory.limit_in_bytes")))
        {
            problem = $"{parent} is not a cgroup v1 memory group (no memory.limit_in_bytes)";
            return null;
        }
        // Probe: make a group, limit it, remove it.
        var probe = Path.Combine(parent, $"flashmoe-bench-{Environment.ProcessId}-probe");
        try
        {
            Directory.CreateDirectory(probe);
            WriteValue(Path.Combine(probe, "memory.limit_in_bytes"), 1L << 30);
            return parent;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot create and limit a memory group under {parent}: {e.Message} (run as root with a writable cgroup v1 memory controller)";
            return null;
        }
        finally
        {
            TryRemove(probe);
        }
    }

    /// <summary>Creates <paramref name="parent"/>/<paramref name="name"/> limited to <paramref name="limitBytes"/> (memsw left alone).</summary>
    public static MemoryGroup Create(string parent, string name, long limitBytes)
    {
        var path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        try
        {
            WriteValue(Path.Combine(path, "memory.limit_in_bytes"), limitBytes);
            return new MemoryGroup(path, ReadLong(Path.Combine(path, "memory.limit_in_bytes")) ?? limitBytes);
        }
        catch
        {
            TryRemove(path);
            throw;
        }
    }

    /// <summary>rmdir of a group, retried while its last process is still being torn down.</summary>
    public static bool TryRemove(string path)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                if (!Directory.Exists(path)) return true;
                Directory.Delete(path, recursive: false);
                return true;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }
        return false;
    }

    internal static long? ReadLong(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WriteValue(string file, long value)
    {
        // O_WRONLY without O_CREAT/O_TRUNC: a cgroupfs control file takes one write.
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
        var bytes = System.Text.Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture));
        stream.Write(bytes, 0, bytes.Length);
    }

    private static string? OwnMemoryGroup(out string problem)
    {
        problem = string.Empty;
        var membership = File.ReadAllLines("/proc/self/cgroup")
            .Select(l => l.Split(':', 3))
            .FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory"));
        if (membership is null)
        {
            problem = "this process is in no cgroup v1 memory hierarchy (cgroup v2 only?); the sweep needs cgroup v1's memory.limit_in_bytes";
            return null;
        }
        // /proc/self/mountinfo: "id parent maj:min root mountpoint opts ... - fstype source superopts".
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var halves = line.Split(" - ", 2);
            if (halves.Length != 2) continue;
            var tail = halves[1].Split(' ');
            if (tail.Length < 3 || tail[0] != "cgroup" || !tail[2].Split(',').Contains("memory")) continue;
            var head = halves[0].Split(' ');
            if (head.Length < 5) continue;
            var root = Unescape(head[3]);
            var mountPoint = Unescape(head[4]);
            var path = membership[2];
            var relative = root == "/" ? path : path.StartsWith(root, StringComparison.Ordinal) ? path.Substring(root.Length) : "/";
            return (mountPoint.TrimEnd('/') + "/" + relative.TrimStart('/')).TrimEnd('/');
        }
        problem = "no cgroup v1 memory controller is mounted";
        return null;
    }

    // mountinfo escapes space, tab, newline and backslash as octal.
    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}

/// <summary>One per-run memory group.</summary>
internal sealed class MemoryGroup(string path, long limitBytes)
{
    public string Path { get; } = path;

    /// <summary>The limit as the kernel stored it (rounded down to whole pages).</summary>
    public long LimitBytes { get; } = limitBytes;

    public string ProcsFile => System.IO.Path.Combine(Path, "cgroup.procs");

    /// <summary>memory.max_usage_in_bytes: peak charge (anonymous memory + page cache first touched by the group).</summary>
    public long? PeakBytes => CgroupV1.ReadLong(System.IO.Path.Combine(Path, "memory.max_usage_in_bytes"));

    /// <summary>memory.failcnt: how often the limit was hit (reclaim was forced).</summary>
    public long? FailCount => CgroupV1.ReadLong(System.IO.Path.Combine(Path, "memory.failcnt"));

    /// <summary>The <c>oom_kill</c> counter of memory.oom_control (kernel ≥ 4.13), or null.</summary>
    public long? OomKills
    {
        get
        {
            try
            {
                foreach (var line in File.ReadLines(System.IO.Path.Combine(Path, "memory.oom_control")))
                {
                    var parts = line.Split(' ');
                    if (parts.Length == 2 && parts[0] == "oom_kill") return long.Parse(parts[1], CultureInfo.InvariantCulture);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
            return null;
        }
    }

    public bool Remove() => CgroupV1.TryRemove(Path);
}
