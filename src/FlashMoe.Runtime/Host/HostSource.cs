using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace FlashMoe.Runtime.Host;

/// <summary>
/// What host detection reads from the machine: files, symlinks, directories, environment variables. Tests
/// substitute a dictionary of captured files so the whole Linux detection path runs on any machine.
/// Every member is best effort: null / empty for anything missing or unreadable, never an exception.
/// </summary>
internal interface IHostSource
{
    /// <summary>The text of a (small) file, or null.</summary>
    string? ReadText(string path);

    /// <summary>The final target of a symlink (absolute), or null when it is not one or cannot be resolved.</summary>
    string? ResolveLink(string path);

    /// <summary>The entry names of a directory, or empty.</summary>
    IReadOnlyList<string> ListDirectory(string path);

    /// <summary>The canonical absolute path (every symlink resolved), or null.</summary>
    string? RealPath(string path);

    /// <summary>An environment variable, or null.</summary>
    string? GetEnvironmentVariable(string name);
}

/// <summary>The real machine.</summary>
internal sealed class RealHostSource : IHostSource
{
    /// <summary>procfs/sysfs files are small; anything larger is not what we look for.</summary>
    private const int MaxFileChars = 1 << 20;

    public static RealHostSource Instance { get; } = new();

    public string? ReadText(string path)
    {
        try
        {
            // procfs/sysfs report size 0, so read through a stream with a cap instead of trusting Length.
            using var reader = new StreamReader(path);
            var buffer = new char[MaxFileChars];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = reader.Read(buffer, total, buffer.Length - total)) > 0) total += read;
            return new string(buffer, 0, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException)
        {
            return null;
        }
    }

    public string? ResolveLink(string path)
    {
        try
        {
            return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    public IReadOnlyList<string> ListDirectory(string path)
    {
        try
        {
            return Directory.Exists(path)
                ? Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().ToArray()
                : Array.Empty<string>();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Array.Empty<string>();
        }
    }

    public string? RealPath(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            if (OperatingSystem.IsWindows()) return full;
            var resolved = realpath(full, IntPtr.Zero);
            if (resolved == IntPtr.Zero) return full;
            try
            {
                return Marshal.PtrToStringUTF8(resolved) ?? full;
            }
            finally
            {
                free(resolved);
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

    // POSIX realpath(3): .NET resolves only the final symlink of a path; the mount lookup needs every one.
    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);
}
