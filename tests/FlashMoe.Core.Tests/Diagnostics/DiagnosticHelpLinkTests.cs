using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Core.Tests.Diagnostics;

/// <summary>Help links are absolute (they are shown in IDEs and build logs, far from a clone) and land on a real section.</summary>
public sealed class DiagnosticHelpLinkTests
{
    [Fact]
    public void EveryCatalogueLink_IsAbsolute_AndItsAnchorIsAHeadingOfTheDiagnosticsPage()
    {
        var anchors = HeadingAnchors(File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "diagnostics.md")));

        Assert.NotEmpty(DiagnosticCatalog.All);
        Assert.All(DiagnosticCatalog.All, descriptor =>
        {
            Assert.True(Uri.TryCreate(descriptor.HelpLink, UriKind.Absolute, out var link), descriptor.HelpLink);
            Assert.Equal(Uri.UriSchemeHttps, link!.Scheme);
            Assert.Equal(ProjectRepository.Url + "/blob/main/docs/diagnostics.md", link.GetLeftPart(UriPartial.Path));
            Assert.Contains(link.Fragment.TrimStart('#'), anchors);
        });
    }

    [Fact]
    public void RepositoryUrl_OfTheBuild_IsCoresRepositoryUrl()
    {
        var properties = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props")).Descendants().ToList();
        string Property(string name) => Assert.Single(properties, e => e.Name.LocalName == name).Value;

        Assert.Equal(ProjectRepository.Url, Property("RepositoryUrl"));
        Assert.Equal("$(RepositoryUrl)", Property("PackageProjectUrl"));
    }

    [Theory]
    [InlineData("### FM1002", "fm1002")]
    [InlineData("## Profile diagnostics (FM00xx)", "profile-diagnostics-fm00xx")]
    [InlineData("## GGUF format errors (FM01xx)", "gguf-format-errors-fm01xx")]
    public void HeadingAnchors_FollowGitHubsSlugRule(string heading, string anchor)
        => Assert.Contains(anchor, HeadingAnchors(new[] { heading }));

    /// <summary>GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> HeadingAnchors(IEnumerable<string> lines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines.Where(l => l.StartsWith('#')))
        {
            var text = line.TrimStart('#').Trim();
            var slug = new StringBuilder();
            foreach (var c in text)
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(char.ToLowerInvariant(c));
                else if (c == ' ') slug.Append('-');
            }
            anchors.Add(slug.ToString());
        }
        return anchors;
    }
}
