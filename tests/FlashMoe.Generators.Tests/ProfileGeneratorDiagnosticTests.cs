using System.Globalization;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Diagnostics;
using Microsoft.CodeAnalysis;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Generators.Tests;

/// <summary>
/// One case per profile diagnostic, reported through the generator as a Roslyn diagnostic located in the JSON.
/// In each JSON text, « marks where the diagnostic must start; the marker is removed before parsing.
/// </summary>
public class ProfileGeneratorDiagnosticTests
{
    private const string FilePath = "/src/app/flashmoe.json";
    private const string Marker = "«";

    public static TheoryData<string, DiagnosticSeverity, string> Cases => new()
    {
        { "FM0001", DiagnosticSeverity.Error, """
            {
              "profiles": {
                "P": { "hardware": { "ramGiB": 64 } «"model": {} }
              }
            }
            """ },
        { "FM0002", DiagnosticSeverity.Warning, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": { «"mmpa": true }
            } } }
            """ },
        { "FM0003", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": {
                  "mmap": «"yes"
                }
            } } }
            """ },
        { "FM0004", DiagnosticSeverity.Error, """
            { "profiles": {
                «"my-profile": { "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 } }
            } }
            """ },
        { "FM0005", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                «"hardware": { "cpu": { "physicalCores": 4 } },
                "model": { "sizeGiB": 10 }
            } } }
            """ },
        { "FM0006", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": { "batchSize": 1024, "ubatchSize": «4096 }
            } } }
            """ },
        { "FM0007", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": {
                  "flashAttention": false,
                  "kvCache": { "k": "q8_0", "v": «"q8_0" }
                }
            } } }
            """ },
        { "FM0008", DiagnosticSeverity.Warning, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64, "cpu": { "physicalCores": 6, "logicalCores": 12 } },
                "model": { "sizeGiB": 10 },
                "load": { "threads": «16 }
            } } }
            """ },
        { "FM0009", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": {
                  "mmap": false,
                  «"mmap": true
                }
            } } }
            """ },
        { "FM0010", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": { "tensorOverrides": [
                  { "pattern": "exps", "device": "CPU" },
                  { "pattern": «"blk\\.(ffn", "device": "CPU" }
                ] }
            } } }
            """ },
        { "FM0011", DiagnosticSeverity.Error, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64, "reserveGiB": «64 },
                "model": { "sizeGiB": 10 }
            } } }
            """ },
        { "FM0012", DiagnosticSeverity.Warning, """
            { "profiles": { "P": {
                "hardware": { "ramGiB": 64 }, "model": { "sizeGiB": 10 },
                "load": { "tensorOverrides": [ { "pattern": "exps", "device": «"CPU_REPACK" } ] }
            } } }
            """ },
    };

    private static (string Json, int Line, int Column, int Offset) StripMarker(string marked)
    {
        var offset = marked.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(offset >= 0, "the case needs a « marker");
        var before = marked.Substring(0, offset);
        var line = before.Count(c => c == '\n') + 1;
        var column = offset - (before.LastIndexOf('\n') + 1) + 1;
        return (marked.Remove(offset, Marker.Length), line, column, offset);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_diagnostic_is_reported_at_its_json_token(string id, DiagnosticSeverity severity, string marked)
    {
        var (json, line, column, offset) = StripMarker(marked);
        var (result, _) = Run(json, FilePath);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(severity, diagnostic.DefaultSeverity); // the harness compiles with warnings as errors, which promotes Severity
        Assert.Equal(LocationKind.ExternalFile, diagnostic.Location.Kind);
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(FilePath, span.Path);
        Assert.Equal((line, column), (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        Assert.Equal(offset, diagnostic.Location.SourceSpan.Start);
        Assert.Equal(DiagnosticCatalog.Find(id)!.HelpLink, diagnostic.Descriptor.HelpLinkUri);
        Assert.StartsWith("https://", diagnostic.Descriptor.HelpLinkUri, StringComparison.Ordinal);
    }

    [Fact]
    public void FM0004_a_profile_name_declared_in_two_files_is_reported_in_the_later_file()
    {
        var (result, _) = Run(new[]
        {
            new InMemoryAdditionalText("/src/app/b.flashmoe.json", "{ \"profiles\": {\n  \"Desk\": { \"hardware\": { \"ramGiB\": 8 }, \"model\": { \"sizeGiB\": 1 } } } }"),
            new InMemoryAdditionalText("/src/app/a.flashmoe.json", "{ \"profiles\": { \"Desk\": { \"hardware\": { \"ramGiB\": 16 }, \"model\": { \"sizeGiB\": 1 } } } }"),
        });
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(("FM0004", DiagnosticSeverity.Error), (diagnostic.Id, diagnostic.Severity));
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(("/src/app/b.flashmoe.json", 2, 3), (span.Path, span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        Assert.Contains("already declared in a.flashmoe.json (line 1)", diagnostic.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        // The first declaration (a.flashmoe.json, by path order) is generated; the duplicate is not.
        Assert.Contains("RamGiB: 16d", GeneratedSource(result), StringComparison.Ordinal);
        Assert.DoesNotContain("RamGiB: 8d", GeneratedSource(result), StringComparison.Ordinal);
    }

    [Fact]
    public void FM0013_an_invalid_namespace_is_reported_without_a_location_and_nothing_is_generated()
    {
        var (result, _) = Run(ProfileGeneratorSnapshotTests.OneProfile, FilePath, Properties(("FlashMoeNamespace", "My-App.Profiles")));
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(("FM0013", DiagnosticSeverity.Error), (diagnostic.Id, diagnostic.Severity));
        Assert.Equal(Location.None, diagnostic.Location);
        Assert.Contains("FlashMoeNamespace property 'My-App.Profiles'", diagnostic.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Empty(result.GeneratedSources);
    }

    [Fact]
    public void FM0099_an_unreadable_file_is_an_error_at_the_file_not_a_crash()
    {
        var (result, _) = Run(new AdditionalText[] { new UnreadableAdditionalText(FilePath) });
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(("FM0099", DiagnosticSeverity.Error), (diagnostic.Id, diagnostic.Severity));
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal((FilePath, 1, 1), (span.Path, span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        Assert.Contains("IOException", diagnostic.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ProfileGeneratorSnapshotTests.OneProfile)]
    [InlineData(ProfileGeneratorSnapshotTests.SeveralProfiles)]
    [InlineData(ProfileGeneratorSnapshotTests.EveryValueForm)]
    public void Clean_profiles_yield_no_diagnostics(string json)
    {
        var (result, output) = Run(json, FilePath);
        Assert.Empty(result.Diagnostics);
        Assert.Single(result.GeneratedSources);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Fact]
    public void Every_profile_diagnostic_of_the_catalogue_has_a_case_here_and_a_section_in_the_docs()
    {
        var covered = Cases.Select(row => (string)row[0]).Concat(new[] { "FM0004", "FM0013", "FM0099" }).ToHashSet();
        var catalogue = DiagnosticCatalog.All.Where(d => d.Category == "Profile").Select(d => d.Id).ToHashSet();
        Assert.Equal(catalogue.OrderBy(i => i), covered.OrderBy(i => i));
        Assert.Equal(catalogue.OrderBy(i => i), DiagnosticDescriptors.All.Keys.OrderBy(i => i));

        var docs = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "diagnostics.md"));
        var start = docs.IndexOf("## Profile diagnostics (FM00xx)", StringComparison.Ordinal);
        var end = docs.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = docs.Substring(start, end - start);
        foreach (var id in catalogue)
        {
            Assert.Matches(new Regex("^### " + id + "\\b", RegexOptions.Multiline), section);
        }
    }

    [Fact]
    public void A_warning_can_be_silenced_like_any_compiler_warning()
    {
        var (json, _, _, _) = StripMarker((string)Cases.Single(row => (string)row[0] == "FM0002")[2]);
        var driver = CreateDriver(new[] { new InMemoryAdditionalText(FilePath, json) });
        var compilation = CreateCompilation().WithOptions(StrictOptions.WithSpecificDiagnosticOptions(
            StrictOptions.SpecificDiagnosticOptions.SetItem("FM0002", ReportDiagnostic.Suppress)));
        driver.RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);
        Assert.Empty(diagnostics);
    }
}
