using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

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
            // procfs/sysfs report size 0, so read in chunks up to a cap instead of trusting Length.
            using var reader = new StreamReader(path);
            var text = new System.Text.StringBuilder();
            var chunk = new char[4096];
            int read;
            while (text.Length < MaxFileChars && (read = reader.Read(chunk, 0, chunk.Length)) > 0) text.Append(chunk, 0, read);
            return text.ToString();
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
            return ResolveAllLinks(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// realpath(3) in managed code: .NET resolves only a path's final symlink, the mount lookup needs every
    /// component resolved (a P/Invoke to libc's realpath would need a soname that differs between C libraries).
    /// </summary>
    private static string ResolveAllLinks(string fullPath)
    {
        const int maxLinks = 40; // Linux's MAXSYMLINKS
        var pending = new Stack<string>(Enumerable.Reverse(fullPath.Split('/', StringSplitOptions.RemoveEmptyEntries)));
        var resolved = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = "/" + string.Join("/", resolved.Append(part));
            var target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                resolved.Add(part);
                continue;
            }
            if (++links > maxLinks) return candidate;
            if (target.StartsWith("/", StringComparison.Ordinal)) resolved.Clear();
            foreach (var segment in Enumerable.Reverse(target.Split('/', StringSplitOptions.RemoveEmptyEntries))) pending.Push(segment);
        }
        return "/" + string.Join("/", resolved);
    }

    public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);
}
