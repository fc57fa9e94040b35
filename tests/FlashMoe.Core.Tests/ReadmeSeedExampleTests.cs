using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Synthetic;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>
/// README.md's quick start shows a seed profile (step 2) and the warning the build check prints for it (step 3);
/// docs/diagnostics.md quotes the same warning. This reads both files as they are and checks the quoted warning —
/// ID, location and message — against what Core computes for the quoted profile from the header of the seed's model:
/// a sparse synthetic DeepSeek-R1 (deepseek2) of the seed file's size, ≈ 121 GiB with the UD-IQ1_S mix. Without the
/// file the declared facts (architecture deepseek2) stand in and the same warning fires as well. Editing either side
/// alone fails here.
/// </summary>
public sealed class ReadmeSeedExampleTests : IDisposable
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashmoe-seed-" + Guid.NewGuid().ToString("N"));

    public ReadmeSeedExampleTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_readme_seed_profile_gives_the_quoted_warning()
    {
        var profileText = FencedBlock(Readme, "Put `flashmoe.json` next to your `.csproj`", "jsonc");
        var quoted = ParseQuotedWarning(FencedBlock(Readme, "`dotnet build`.", "text"));

        var document = ProfileParser.Parse("/app/flashmoe.json", profileText);
        Assert.Empty(document.Diagnostics);
        var parsed = Assert.Single(document.Profiles);

        // The seed's model as the sample writes it: DeepSeek-R1's shape with the UD-IQ1_S mix, fitted to 121 GiB, sparse.
        var spec = SyntheticModel.FitToSize(SyntheticPresets.DeepseekR1 with { Recipe = SyntheticRecipe.UD_IQ1_S }, 121L << 30) with { Sparse = true };
        var path = Path.Combine(_directory, "DeepSeek-R1-UD-IQ1_S.gguf");
        SyntheticModel.Write(spec, path);
        var header = GgufReader.ReadSummary(path);
        Assert.Equal(ModelArchitectures.DeepSeek2, header.Architecture);

        var resolved = ProfileResolver.Resolve(parsed.Profile, header);

        var warnings = resolved.Advice.Where(a => a.Diagnostic.Severity >= FlashMoe.Diagnostics.FlashMoeSeverity.Warning).ToList();
        var advice = Assert.Single(warnings);
        Assert.Equal(quoted.Id, advice.Id);
        Assert.Equal(quoted.Message, advice.Diagnostic.Message);
        var at = parsed.Locations.Find(advice.PropertyPath!);
        Assert.Equal(quoted.Location, (at.Line, at.Column, at.EndLine, at.EndColumn));

        // The build check without the file: the declared facts, shaped like DeepSeek-R1, reach the same advice.
        var declared = ProfileResolver.Resolve(parsed.Profile, DeclaredModel.FromSpec(parsed.Profile.Model));
        Assert.Contains(declared.Advice, a => a.Id == quoted.Id);
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
