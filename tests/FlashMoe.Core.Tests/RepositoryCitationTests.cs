using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>
/// The repository stands alone: every evidence citation points at a section of docs/evidence.md that exists, and no
/// source, doc or build file points outside the repository or cites evidence by line number.
/// </summary>
public class RepositoryCitationTests
{
    private static readonly string[] TextExtensions = { ".cs", ".md", ".csproj", ".props", ".targets", ".json", ".sh", ".txt", ".xml" };

    private static readonly Regex EvidenceAnchor = new(@"evidence\.md#([a-z0-9-]+)", RegexOptions.CultureInvariant);

    // A path outside the checkout, or evidence cited by line number instead of by section.
    private static readonly Regex OutsideOrLineCitation = new(
        @"\.\./shared|shared/evidence\.md|evidence\.md:\d|\bE:\d+\b|/work/", RegexOptions.CultureInvariant);

    [Fact]
    public void EveryEvidenceCitationNamesAnExistingSection()
    {
        var anchors = HeadingAnchors(File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "evidence.md")));
        var broken = new List<string>();
        var cited = 0;
        foreach (var file in RepositoryTextFiles())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                foreach (Match match in EvidenceAnchor.Matches(lines[i]))
                {
                    cited++;
                    if (!anchors.Contains(match.Groups[1].Value)) broken.Add($"{Relative(file)}({i + 1}): #{match.Groups[1].Value}");
                }
            }
        }

        Assert.True(cited > 20, $"only {cited} evidence citations found: the scan is not reading the repository");
        Assert.True(broken.Count == 0, "citations of missing sections of docs/evidence.md:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void NothingPointsOutsideTheRepositoryOrCitesEvidenceByLine()
    {
        var offending = new List<string>();
        foreach (var file in RepositoryTextFiles())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (OutsideOrLineCitation.IsMatch(lines[i])) offending.Add($"{Relative(file)}({i + 1}): {lines[i].Trim()}");
            }
        }

        Assert.True(offending.Count == 0, "lines that point outside the repository:\n" + string.Join("\n", offending));
    }

    [Theory]
    [InlineData("## RAM-limit sweep, small models", "ram-limit-sweep-small-models")]
    [InlineData("## Writing a GGUF that llama.cpp accepts", "writing-a-gguf-that-llamacpp-accepts")]
    [InlineData("## LLamaSharp 0.30 behaviour", "llamasharp-030-behaviour")]
    public void AnchorsFollowGitHubsHeadingRule(string heading, string anchor) =>
        Assert.Contains(anchor, HeadingAnchors(new[] { heading }));

    [Fact]
    public void TheScanFlagsALineCitation() =>
        Assert.Matches(OutsideOrLineCitation, "threshold from evidence (E" + ":68)");

    /// <summary>GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens.</summary>
    private static HashSet<string> HeadingAnchors(IEnumerable<string> lines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (!line.StartsWith("#", StringComparison.Ordinal)) continue;
#pragma warning disable CA1308 // Normalize strings to uppercase: GitHub spells heading anchors in lower case.
            var text = line.TrimStart('#').Trim().ToLowerInvariant();
#pragma warning restore CA1308
            var anchor = new StringBuilder();
            foreach (var c in text)
            {
                if (char.IsLetterOrDigit(c) || c == '-' || c == '_') anchor.Append(c);
                else if (c == ' ') anchor.Append('-');
            }

            anchors.Add(anchor.ToString());
        }

        return anchors;
    }

    private static IEnumerable<string> RepositoryTextFiles()
    {
        var root = RepoPaths.Root;
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                var name = Path.GetFileName(child);
                if (name is "bin" or "obj" or ".git" or "node_modules" or "__snapshots__" or "__mismatch__" || name.StartsWith(".", StringComparison.Ordinal)) continue;
                pending.Push(child);
            }

            foreach (var file in Directory.EnumerateFiles(directory))
            {
                // This file spells out the patterns it looks for.
                if (Path.GetFileName(file) == nameof(RepositoryCitationTests) + ".cs") continue;
                if (TextExtensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase)) yield return file;
            }
        }
    }

    private static string Relative(string path) => Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/');
}
