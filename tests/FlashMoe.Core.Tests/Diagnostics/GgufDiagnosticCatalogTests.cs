using System;
using System.IO;
using System.Linq;
using FlashMoe.Diagnostics;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Core.Tests.Diagnostics;

public sealed class GgufDiagnosticCatalogTests
{
    private static readonly FlashMoeDiagnosticDescriptor[] GgufDescriptors =
        DiagnosticCatalog.All.Where(d => d.Id.StartsWith("FM01", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void GgufIdsAreErrorsInTheGgufCategoryWithUniqueIds()
    {
        Assert.Equal(12, GgufDescriptors.Length);
        Assert.All(GgufDescriptors, d =>
        {
            Assert.Equal("Gguf", d.Category);
            Assert.Equal(FlashMoeSeverity.Error, d.Severity);
            Assert.False(string.IsNullOrWhiteSpace(d.Title));
        });
        Assert.Equal(GgufDescriptors.Length, GgufDescriptors.Select(d => d.Id).Distinct().Count());
        Assert.Same(DiagnosticCatalog.GgufTruncated, DiagnosticCatalog.Find("FM0103"));
    }

    [Fact]
    public void EveryGgufIdIsDocumentedInItsSection()
    {
        var docs = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "diagnostics.md"));
        var start = docs.IndexOf("## GGUF format errors (FM01xx)", StringComparison.Ordinal);
        Assert.True(start >= 0);
        var end = docs.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        var section = docs.Substring(start, (end < 0 ? docs.Length : end) - start);

        Assert.All(GgufDescriptors, d => Assert.Contains("### " + d.Id, section));
    }

    private static string RepoRoot() => RepoPaths.Root;
}
