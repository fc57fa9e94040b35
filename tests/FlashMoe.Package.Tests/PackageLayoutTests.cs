using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Xunit;

namespace FlashMoe.Package.Tests;

/// <summary>What is inside the packed FlashMoe.nupkg/.snupkg: the layout the consumer tests then exercise.</summary>
[Collection(PackageCollection.Name)]
public sealed class PackageLayoutTests(PackageFeedFixture fixture)
{
    private static readonly string[] LibFrameworks = { "net8.0", "net10.0" };

    [Fact]
    public void Nupkg_HoldsExactlyTheShippedFiles()
    {
        var entries = PackageEntries(fixture.NupkgPath);
        var expected = new List<string>
        {
            "README.md",
            "analyzers/dotnet/cs/FlashMoe.Core.dll",
            "analyzers/dotnet/cs/FlashMoe.Generators.dll",
            "build/FlashMoe.props",
            "build/FlashMoe.targets",
            "buildTransitive/FlashMoe.props",
            "buildTransitive/FlashMoe.targets",
            "tasks/net472/FlashMoe.Core.dll",
            "tasks/net472/FlashMoe.Tasks.dll",
            "tasks/net8.0/FlashMoe.Core.dll",
            "tasks/net8.0/FlashMoe.Tasks.dll",
        };
        foreach (var framework in LibFrameworks)
        {
            expected.AddRange(new[] { "FlashMoe.Core.dll", "FlashMoe.Core.xml", "FlashMoe.Runtime.dll", "FlashMoe.Runtime.xml" }
                .Select(file => $"lib/{framework}/{file}"));
        }
        expected.Add("flashmoe.schema.json");

        Assert.Equal(expected.OrderBy(e => e, StringComparer.Ordinal), entries.Where(e => !IsOpcPart(e)).OrderBy(e => e, StringComparer.Ordinal));
    }

    [Fact]
    public void Nuspec_DeclaresMetadataAndOnlyTheRuntimeDependencies()
    {
        var metadata = Nuspec(fixture.NupkgPath).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

        Assert.Equal("FlashMoe", Value("id"));
        Assert.Equal(fixture.Version, Value("version"));
        Assert.Equal("MIT", Value("license"));
        Assert.Equal("expression", metadata.Elements().Single(e => e.Name.LocalName == "license").Attribute("type")?.Value);
        Assert.Equal("README.md", Value("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")));
        Assert.Contains("gguf", Value("tags") ?? "");
        Assert.NotEqual("true", Value("developmentDependency"));

        var groups = metadata.Descendants().Where(e => e.Name.LocalName == "group").ToList();
        Assert.Equal(LibFrameworks.OrderBy(f => f), groups.Select(g => g.Attribute("targetFramework")!.Value).OrderBy(f => f));
        foreach (var group in groups)
        {
            var dependencies = group.Elements().ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value);
            // LLamaSharp without any backend: the app picks its backend, as LLamaSharp users already do.
            Assert.Equal(new[] { "LLamaSharp", "Microsoft.Extensions.Logging.Abstractions" }, dependencies.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("0.30.0", dependencies["LLamaSharp"]);
        }
    }

    [Theory]
    // LLamaSharp 0.30 has net10.0 and netstandard2.0 groups: a net8.0 consumer gets the netstandard2.0 one.
    [InlineData("net8.0", ".NETStandard2.0")]
    [InlineData("net10.0", "net10.0")]
    public void Nuspec_AsksForNoNewerLoggingAbstractionsThanLLamaSharpItself(string framework, string llamaSharpGroup)
    {
        // The package's floor is every consumer's floor: per framework, FlashMoe asks for the lowest version that
        // works, which is the one LLamaSharp (always restored beside it) already requires there.
        const string logging = "Microsoft.Extensions.Logging.Abstractions";
        var llamaSharpNuspec = Path.Combine(PackageFeedFixture.MachinePackagesDirectory, "llamasharp", "0.30.0", "llamasharp.nuspec");

        Assert.Equal(DependencyVersion(XDocument.Load(llamaSharpNuspec), llamaSharpGroup, logging), DependencyVersion(Nuspec(fixture.NupkgPath), framework, logging));
    }

    private static string DependencyVersion(XDocument nuspec, string framework, string id)
    {
        var group = Assert.Single(nuspec.Descendants(), e => e.Name.LocalName == "group" && e.Attribute("targetFramework")?.Value == framework);
        return Assert.Single(group.Elements(), d => d.Attribute("id")?.Value == id).Attribute("version")!.Value;
    }

    [Fact]
    public void Snupkg_HoldsAPortablePdbForEveryLibAssembly()
    {
        Assert.True(File.Exists(fixture.SnupkgPath), fixture.PackResult?.ToString());
        var entries = PackageEntries(fixture.SnupkgPath).Where(e => !IsOpcPart(e)).OrderBy(e => e, StringComparer.Ordinal);
        var expected = LibFrameworks.SelectMany(f => new[] { $"lib/{f}/FlashMoe.Core.pdb", $"lib/{f}/FlashMoe.Runtime.pdb" }).OrderBy(e => e, StringComparer.Ordinal);
        Assert.Equal(expected, entries);
    }

    [Fact]
    public void Core_DependsOnNothingButNetStandard_InEveryFolder()
    {
        // Core loads inside the compiler and inside .NET Framework MSBuild: any other reference would have to be
        // shipped beside it, and could clash with the host's own copy.
        using var zip = ZipFile.OpenRead(fixture.NupkgPath);
        var cores = zip.Entries.Where(e => e.Name == "FlashMoe.Core.dll").ToList();
        Assert.Equal(5, cores.Count); // lib x2, analyzers, tasks x2
        foreach (var entry in cores)
        {
            Assert.Equal(new[] { "netstandard" }, ReferencedAssemblies(entry));
        }
        // One build of Core everywhere: the generator, the task and the app share the same rules. The module version
        // ID names that compilation; the dotnet task's copy may add precompiled code (ReadyToRun) around the same IL.
        Assert.Single(cores.Select(ModuleVersionId).Distinct());
        var plainBuilds = cores.Where(e => !e.FullName.StartsWith("tasks/net8.0/", StringComparison.Ordinal));
        Assert.Single(plainBuilds.Select(e => e.Crc32).Distinct());
    }

    [Fact]
    public void ToolFolders_CarryNoHostAssemblies()
    {
        // The compiler host supplies Roslyn and System.*; each MSBuild host supplies Microsoft.Build.*.
        var tools = PackageEntries(fixture.NupkgPath).Where(e => e.StartsWith("analyzers/", StringComparison.Ordinal) || e.StartsWith("tasks/", StringComparison.Ordinal));
        Assert.All(tools, entry => Assert.StartsWith("FlashMoe.", Path.GetFileName(entry)));
    }

    [Theory]
    [InlineData("tasks/net472/FlashMoe.Tasks.dll", ".NETFramework,Version=v4.7.2")]
    [InlineData("tasks/net8.0/FlashMoe.Tasks.dll", ".NETCoreApp,Version=v8.0")]
    public void Tasks_AreBuiltForEachMSBuildHost_AgainstTheOldMSBuildApi(string entryName, string targetFramework)
    {
        // Visual Studio / msbuild.exe load the .NET Framework build, `dotnet build` the .NET one; both bind
        // Microsoft.Build.* 15.1.0.0 (the 16.6 packages' assembly version), which every MSBuild since 15 redirects.
        using var zip = ZipFile.OpenRead(fixture.NupkgPath);
        var (framework, references) = Inspect(zip.GetEntry(entryName) ?? throw new InvalidOperationException(entryName + " missing"));
        Assert.Equal(targetFramework, framework);
        var msbuild = references.Where(r => r.Name.StartsWith("Microsoft.Build", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(msbuild);
        Assert.All(msbuild, r => Assert.Equal(new Version(15, 1, 0, 0), r.Version));
    }

    [Theory]
    [InlineData("tasks/net8.0/FlashMoe.Tasks.dll")]
    [InlineData("tasks/net8.0/FlashMoe.Core.dll")]
    public void The_dotnet_task_build_is_ReadyToRun_when_packed_on_linux_x64_and_keeps_its_IL(string entryName)
    {
        using var zip = ZipFile.OpenRead(fixture.NupkgPath);
        using var buffer = new MemoryStream();
        using (var stream = (zip.GetEntry(entryName) ?? throw new InvalidOperationException(entryName + " missing")).Open()) stream.CopyTo(buffer);
        buffer.Position = 0;
        using var pe = new PEReader(buffer);
        var corHeader = pe.PEHeaders.CorHeader ?? throw new InvalidOperationException(entryName + " is not managed");
        // The IL is always there: other hosts JIT-compile it.
        Assert.True(pe.GetMetadataReader().MethodDefinitions.Count > 0);
        var packedOnLinuxX64 = OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64;
        // ReadyToRun images carry a managed native header (the READYTORUN_HEADER); IL-only builds do not.
        Assert.Equal(packedOnLinuxX64, corHeader.ManagedNativeHeaderDirectory.Size > 0);
    }

    private static (string? TargetFramework, List<(string Name, Version Version)> References) Inspect(ZipArchiveEntry entry)
    {
        using var buffer = new MemoryStream();
        using (var stream = entry.Open()) stream.CopyTo(buffer);
        buffer.Position = 0;
        using var pe = new PEReader(buffer);
        var reader = pe.GetMetadataReader();
        var references = reader.AssemblyReferences.Select(h => reader.GetAssemblyReference(h))
            .Select(r => (reader.GetString(r.Name), r.Version)).ToList();
        string? framework = null;
        foreach (var handle in reader.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = reader.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference) continue;
            var type = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent;
            if (type.Kind != HandleKind.TypeReference || reader.GetString(reader.GetTypeReference((TypeReferenceHandle)type).Name) != "TargetFrameworkAttribute") continue;
            // Blob: prolog (2 bytes), then the SerString of the framework name.
            var blob = reader.GetBlobReader(attribute.Value);
            blob.ReadUInt16();
            framework = blob.ReadSerializedString();
        }
        return (framework, references);
    }

    private static bool IsOpcPart(string entry) =>
        entry.StartsWith("_rels/", StringComparison.Ordinal) || entry.StartsWith("package/", StringComparison.Ordinal)
        || entry == "[Content_Types].xml" || entry.EndsWith(".nuspec", StringComparison.Ordinal);

    private static List<string> PackageEntries(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    private static XDocument Nuspec(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static Guid ModuleVersionId(ZipArchiveEntry entry)
    {
        using var buffer = new MemoryStream();
        using (var stream = entry.Open()) stream.CopyTo(buffer);
        buffer.Position = 0;
        using var pe = new PEReader(buffer);
        var reader = pe.GetMetadataReader();
        return reader.GetGuid(reader.GetModuleDefinition().Mvid);
    }

    private static string[] ReferencedAssemblies(ZipArchiveEntry entry) =>
        Inspect(entry).References.Select(r => r.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
}
