using System;
using System.Collections.Generic;
using System.IO;

namespace FlashMoe.Profiles;

/// <summary>
/// Where a profile's <c>model.path</c> is looked for, in order: the path itself when absolute; else relative to
/// the directory of the JSON file that declares it (a leading <c>~/</c> is the home directory); then under the model root (<c>$(FlashMoeModelRoot)</c>) as
/// written (<c>root/models/x.gguf</c>) and by file name alone (<c>root/x.gguf</c>). Backslashes are read as
/// separators on every OS, so a profile written on Windows resolves on a Linux build agent.
/// </summary>
public static class ModelLocator
{
    /// <summary>The full paths to try for <paramref name="modelPath"/>, in lookup order, without duplicates.</summary>
    /// <param name="modelPath">The profile's <c>model.path</c> as written.</param>
    /// <param name="profileDirectory">Directory of the JSON file that declares it.</param>
    /// <param name="modelRoot">The model root, or null/empty for none; relative to <paramref name="modelRootBase"/>.</param>
    /// <param name="modelRootBase">Base of a relative <paramref name="modelRoot"/> (the project directory); null = the current directory.</param>
    public static IReadOnlyList<string> Candidates(string? modelPath, string profileDirectory, string? modelRoot = null, string? modelRootBase = null)
    {
        var result = new List<string>();
        if (string.IsNullOrWhiteSpace(modelPath)) return result;
        var written = ExpandHome(Normalize(modelPath!));
        // Every Path call stays inside a guard: on .NET Framework they throw ArgumentException for '|', '<', control
        // characters …, and the current directory may be gone. A path that cannot be formed is not a candidate.
        var rooted = GuardedTest(() => Path.IsPathRooted(written));
        if (rooted is null) return result;
        Add(result, () => rooted.Value ? written : Path.Combine(profileDirectory, written));
        if (!rooted.Value && !string.IsNullOrWhiteSpace(modelRoot))
        {
            var root = Guarded(() =>
            {
                var normalized = Normalize(modelRoot!);
                return Path.IsPathRooted(normalized) ? normalized : Path.Combine(modelRootBase ?? Directory.GetCurrentDirectory(), normalized);
            });
            if (root is not null)
            {
                Add(result, () => Path.Combine(root, written));
                Add(result, () => Path.Combine(root, Path.GetFileName(written)));
            }
        }
        return result;
    }

    /// <summary>The first of <see cref="Candidates"/> that is an existing file, or null.</summary>
    public static string? Find(IReadOnlyList<string> candidates)
    {
        if (candidates is null) throw new ArgumentNullException(nameof(candidates));
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>A leading <c>~/</c> is the user's home directory, as a shell would read it.</summary>
    private static string ExpandHome(string path)
    {
        if (path != "~" && !path.StartsWith("~" + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return path;
        var home = Guarded(() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        if (string.IsNullOrEmpty(home)) return path;
        return path.Length <= 2 ? home! : Path.Combine(home!, path.Substring(2));
    }

    private static string Normalize(string path) =>
        Path.DirectorySeparatorChar == '/' ? path.Replace('\\', '/') : path.Replace('/', Path.DirectorySeparatorChar);

    /// <summary><paramref name="pathOperation"/>'s result, or null when the path cannot be formed.</summary>
    private static T? Guarded<T>(Func<T> pathOperation) where T : class
    {
        try
        {
            return pathOperation();
        }
        catch (Exception e) when (IsPathFailure(e))
        {
            return null;
        }
    }

    private static bool? GuardedTest(Func<bool> pathOperation)
    {
        try
        {
            return pathOperation();
        }
        catch (Exception e) when (IsPathFailure(e))
        {
            return null;
        }
    }

    private static bool IsPathFailure(Exception e) =>
        e is ArgumentException or NotSupportedException or PathTooLongException or IOException or UnauthorizedAccessException or System.Security.SecurityException;

    private static void Add(List<string> result, Func<string> build)
    {
        // A path no file system can hold (illegal characters on .NET Framework, too long) cannot be found: skip it.
        var full = Guarded(() => Path.GetFullPath(build()));
        if (full is null) return;
        foreach (var existing in result)
        {
            if (string.Equals(existing, full, StringComparison.Ordinal)) return;
        }
        result.Add(full);
    }
}
