using System;
using System.IO;

namespace FlashMoe.Tests.Shared;

/// <summary>Locates the repository from a test's output folder (linked into every test project).</summary>
public static class RepoPaths
{
    /// <summary>The folder holding FlashMoe.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FlashMoe.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("FlashMoe.sln not found above " + AppContext.BaseDirectory);
    }
}
