using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>
/// README.md's quick start shows a seed profile (step 2) and the warning the build check prints for it (step 3);
/// docs/diagnostics.md quotes the same warning. This reads both files as they are and checks the quoted warning —
/// ID, location and message — against what Core computes for the quoted profile (the model file is absent at build
/// time, so the declared facts stand in, as in the build check). Editing either side alone fails here.
/// </summary>
public class ReadmeSeedExampleTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));

    [Fact]
    public void The_readme_seed_profile_gives_the_quoted_warning()
    {
        var profileText = FencedBlock(Readme, "Put `flashmoe.json` next to your `.csproj`", "jsonc");
        var quoted = ParseQuotedWarning(FencedBlock(Readme, "`dotnet build`.", "text"));

        var document = ProfileParser.Parse("/app/flashmoe.json", profileText);
        Assert.Empty(document.Diagnostics);
        var parsed = Assert.Single(document.Profiles);
        var resolved = ProfileResolver.Resolve(parsed.Profile, DeclaredModel.FromSpec(parsed.Profile.Model));

        var warnings = resolved.Advice.Where(a => a.Diagnostic.Severity >= FlashMoe.Diagnostics.FlashMoeSeverity.Warning).ToList();
        var advice = Assert.Single(warnings);
        Assert.Equal(quoted.Id, advice.Id);
        Assert.Equal(quoted.Message, advice.Diagnostic.Message);
        var at = parsed.Locations.Find(advice.PropertyPath!);
        Assert.Equal(quoted.Location, (at.Line, at.Column, at.EndLine, at.EndColumn));
    }

    [Fact]
    public void Docs_diagnostics_quotes_the_same_warning_as_the_readme()
    {
        var quoted = ParseQuotedWarning(FencedBlock(Readme, "`dotnet build`.", "text"));
        var diagnostics = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "diagnostics.md"));
        Assert.Contains($"warning {quoted.Id}: {quoted.Message}", Collapse(diagnostics));
    }

    /// <summary>The first fenced block of <paramref name="language"/> after <paramref name="marker"/>, de-indented.</summary>
    private static string FencedBlock(string markdown, string marker, string language)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var markerLine = Array.FindIndex(lines, l => l.Contains(marker, StringComparison.Ordinal));
        Assert.True(markerLine >= 0, $"README.md no longer contains '{marker}'");
        var open = Array.FindIndex(lines, markerLine, l => l.Trim() == "```" + language);
        Assert.True(open >= 0, $"no ```{language} block after '{marker}'");
        var indent = lines[open].Length - lines[open].TrimStart().Length;
        var close = Array.FindIndex(lines, open + 1, l => l.Trim() == "```");
        return string.Join("\n", lines.Skip(open + 1).Take(close - open - 1).Select(l => l.Length >= indent ? l.Substring(indent) : l.TrimStart()));
    }

    private static (string Id, string Message, (int, int, int, int) Location) ParseQuotedWarning(string output)
    {
        var match = Regex.Match(output.Trim(), @"^flashmoe\.json\((\d+),(\d+),(\d+),(\d+)\): warning (FM\d{4}): (.+)$");
        Assert.True(match.Success, "README.md step 3 no longer shows one 'flashmoe.json(l,c,l,c): warning FMxxxx: …' line: " + output);
        int N(int group) => int.Parse(match.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (match.Groups[5].Value, match.Groups[6].Value, (N(1), N(2), N(3), N(4)));
    }

    /// <summary>Markdown wraps prose: compare with every run of whitespace as one space.</summary>
    private static string Collapse(string text) => Regex.Replace(text, @"\s+", " ");
}
