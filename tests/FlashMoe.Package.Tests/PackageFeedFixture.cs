using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Package.Tests;

/// <summary>
/// Packs FlashMoe and the FlashMoe.Tool .NET tool once into a local folder feed and prepares what every consumer project of the run shares:
/// one nuget.config and one private packages folder, both inside a fresh temporary directory.
///
/// Restore sources, in the nuget.config every consumer inherits from the temp root:
///  1. the local feed, the ONLY source allowed to serve "FlashMoe" and "FlashMoe.Tool" (package source mapping), so
///     the packages under test are always the ones just packed, never a cached copy;
///  2. nuget.org, the normal source, for everything else;
///  3. the machine's global packages folder (~/.nuget/packages or $NUGET_PACKAGES), as a plain local source
///     mapped to "*" as well. It only saves network and time: the solution's own restore has already put
///     LLamaSharp, the backends and the net8.0 targeting pack there. It is a SOURCE, not a fallbackPackageFolder:
///     a fallback folder is used in place, so a stale FlashMoe left there could be picked; a source is copied into
///     the private folder like any download, and source mapping keeps FlashMoe away from it. Third-party packages
///     are immutable per id and version, so a copy from it is byte-identical to nuget.org's.
/// The packages folder itself (globalPackagesFolder) is private to the run, so nothing restored before is reused.
/// An unreachable nuget.org is a warning (NU1801), not a failure, as long as the other two sources have everything:
/// the test is about FlashMoe, not about the network (see <see cref="ConsumerEnvironment"/>).
/// </summary>
public sealed class PackageFeedFixture : IAsyncLifetime
{
    /// <summary>Per command: generous for a cold restore on 2 shared cores, finite so a hang fails the test.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(4);

    private static readonly Assembly ThisAssembly = typeof(PackageFeedFixture).Assembly;

    /// <summary>Repository root (where FlashMoe.sln lives).</summary>
    public string RepoRoot { get; } = Metadata("FlashMoe.RepoRoot");

    /// <summary>Configuration the solution was built in; packing reuses that build.</summary>
    public string Configuration { get; } = Metadata("FlashMoe.Configuration");

    /// <summary>The package version (Directory.Build.props).</summary>
    public string Version { get; } = Metadata("FlashMoe.PackageVersion");

    /// <summary>The run's temporary root; consumer projects are created below it.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "flashmoe-package-tests-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The local feed holding the packed .nupkg/.snupkg.</summary>
    public string FeedDirectory => Path.Combine(Root, "feed");

    /// <summary>The private packages folder of every consumer restore.</summary>
    public string PackagesDirectory => Path.Combine(Root, "packages");

    /// <summary>The packed package.</summary>
    public string NupkgPath => Path.Combine(FeedDirectory, $"FlashMoe.{Version}.nupkg");

    /// <summary>The packed .NET tool (<c>flashmoe</c>).</summary>
    public string ToolNupkgPath => Path.Combine(FeedDirectory, $"FlashMoe.Tool.{Version}.nupkg");

    /// <summary>The `dotnet pack` run of the tool.</summary>
    public ProcessResult? ToolPackResult { get; private set; }

    /// <summary>The packed symbols package.</summary>
    public string SnupkgPath => Path.Combine(FeedDirectory, $"FlashMoe.{Version}.snupkg");

    /// <summary>Where consumers find the package once restored (for assertions on what the build loaded).</summary>
#pragma warning disable CA1308 // Normalize strings to uppercase: NuGet spells package folders in lower case.
    public string RestoredPackageDirectory => Path.Combine(PackagesDirectory, "flashmoe", Version.ToLowerInvariant());
#pragma warning restore CA1308

    /// <summary>The `dotnet pack` run.</summary>
    public ProcessResult? PackResult { get; private set; }

    /// <summary>Environment of every consumer command (MSBuild reads environment variables as properties).</summary>
    public static readonly IReadOnlyDictionary<string, string> ConsumerEnvironment = new Dictionary<string, string>
    {
        ["RestoreIgnoreFailedSources"] = "true",
    };

    private int _projectCounter;

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        Directory.CreateDirectory(FeedDirectory);
        Directory.CreateDirectory(PackagesDirectory);
        WriteNuGetConfig();

        // --no-build: the solution (or this test project's reference to the packing project) has just built every
        // input; packing must not rebuild them while other test assemblies may be using the same outputs.
        var project = Path.Combine(RepoRoot, "src", "FlashMoe.Package", "FlashMoe.Package.csproj");
        PackResult = ProcessRunner.Dotnet(RepoRoot, CommandTimeout,
            "pack", project, "-c", Configuration, "--no-build", "--no-restore", "-o", FeedDirectory, "-nologo");
        if (PackResult.ExitCode != 0 || !File.Exists(NupkgPath))
        {
            throw new InvalidOperationException("Packing FlashMoe failed:\n" + PackResult);
        }
        var tool = Path.Combine(RepoRoot, "src", "FlashMoe.Tool", "FlashMoe.Tool.csproj");
        ToolPackResult = ProcessRunner.Dotnet(RepoRoot, CommandTimeout,
            "pack", tool, "-c", Configuration, "--no-build", "--no-restore", "-o", FeedDirectory, "-nologo");
        if (ToolPackResult.ExitCode != 0 || !File.Exists(ToolNupkgPath))
        {
            throw new InvalidOperationException("Packing FlashMoe.Tool failed:\n" + ToolPackResult);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable("FLASHMOE_KEEP_PACKAGE_TESTS") == "1") return Task.CompletedTask;
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* best effort: a leftover temp dir is harmless */ }
        catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    /// <summary>A new, empty consumer project directory below the run's root (inherits its nuget.config).</summary>
    public ConsumerProject NewProject(string name)
    {
        var directory = Path.Combine(Root, $"{System.Threading.Interlocked.Increment(ref _projectCounter):00}-{name}");
        return new ConsumerProject(directory, name);
    }

    /// <summary>The machine's global packages folder, where the solution's own restore put LLamaSharp and the rest.</summary>
    public static string MachinePackagesDirectory { get; } = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private void WriteNuGetConfig()
    {
        var seed = MachinePackagesDirectory;
        var seedSource = Directory.Exists(seed) ? $"""    <add key="machine-packages" value="{seed}" />""" : "";
        var seedMapping = Directory.Exists(seed) ? """    <packageSource key="machine-packages"><package pattern="*" /></packageSource>""" : "";
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{PackagesDirectory}" />
              </config>
              <packageSources>
                <clear />
                <add key="flashmoe-local" value="{FeedDirectory}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
            {seedSource}
              </packageSources>
              <packageSourceMapping>
                <clear />
                <packageSource key="flashmoe-local"><package pattern="FlashMoe" /><package pattern="FlashMoe.Tool" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
            {seedMapping}
              </packageSourceMapping>
            </configuration>
            """);
    }

    private static string Metadata(string key) =>
        ThisAssembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} missing (see FlashMoe.Package.Tests.csproj).");
}

/// <summary>All consumer tests share one packed feed and packages folder, and run one after another (2 cores).</summary>
[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageFeedFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "FlashMoe package";
}
