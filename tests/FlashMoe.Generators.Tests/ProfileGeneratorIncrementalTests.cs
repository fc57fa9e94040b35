using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

namespace FlashMoe.Generators.Tests;

/// <summary>The pipeline caches: same input → nothing re-runs; unrelated C# edits → nothing re-runs; JSON edits → regenerates.</summary>
public class ProfileGeneratorIncrementalTests
{
    private static readonly string[] AllSteps =
    {
        TrackingNames.ProfileText, TrackingNames.ProfileDocument, TrackingNames.Namespace,
        TrackingNames.Model, TrackingNames.SourceModel, TrackingNames.Diagnostics,
    };

    private const string ProgramSource = "namespace Contoso.App { internal static class Program { private static int Main() => FlashMoeProfiles.All.Count; } }";

    private static InMemoryAdditionalText ProfileFile(string json) => new("/app/flashmoe.json", json);

    private static GeneratorRunResult Result(GeneratorDriver driver) => Assert.Single(driver.GetRunResult().Results);

    /// <summary>Every output reason of <paramref name="step"/> in the latest run.</summary>
    private static IncrementalStepRunReason[] Reasons(GeneratorRunResult result, string step)
    {
        Assert.True(result.TrackedSteps.ContainsKey(step), step + " was not tracked");
        return result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result)
    {
        foreach (var step in AllSteps)
        {
            var reasons = Reasons(result, step);
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        }
        // Outputs: nothing re-ran, so the driver reports the outputs themselves as cached.
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    /// <summary>
    /// Models must not drag compiler objects through the pipeline (they would pin compilations in memory and
    /// defeat caching): walk every tracked value and reject ISymbol, Compilation, SyntaxNode and friends.
    /// </summary>
    private static void AssertNoCompilerObjects(GeneratorRunResult result)
    {
        foreach (var name in AllSteps)
        {
            foreach (var step in result.TrackedSteps[name])
            {
                foreach (var (value, _) in step.Outputs) AssertNoCompilerObject(value, name, depth: 0);
            }
        }
    }

    private static void AssertNoCompilerObject(object? value, string step, int depth)
    {
        if (value is null || depth > 6 || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum) return;
        Assert.False(value is ISymbol or Compilation or SyntaxNode or SyntaxTree or SemanticModel or AdditionalText
            or Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions or Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider,
            $"{step} carries a {value.GetType().Name}");
        if (value is System.Collections.IEnumerable sequence)
        {
            foreach (var item in sequence) AssertNoCompilerObject(item, step, depth + 1);
            return;
        }
        if (value.GetType().Namespace?.StartsWith("FlashMoe", StringComparison.Ordinal) == true || value.GetType().Name.StartsWith("ValueTuple", StringComparison.Ordinal))
        {
            foreach (var property in value.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
            {
                AssertNoCompilerObject(property.GetValue(value), step, depth + 1);
            }
            foreach (var field in value.GetType().GetFields())
            {
                AssertNoCompilerObject(field.GetValue(value), step, depth + 1);
            }
        }
    }

    [Fact]
    public void A_second_run_on_the_same_input_is_all_cached()
    {
        var compilation = CreateCompilation(ProgramSource);
        var driver = CreateDriver(new[] { ProfileFile(ProfileGeneratorSnapshotTests.SeveralProfiles) }, Properties(("RootNamespace", "Contoso.App")));
        driver = driver.RunGenerators(compilation);
        var first = Result(driver);
        Assert.All(Reasons(first, TrackingNames.ProfileDocument), r => Assert.Equal(IncrementalStepRunReason.New, r));
        AssertNoCompilerObjects(first);

        driver = driver.RunGenerators(compilation.Clone());
        AssertAllCachedOrUnchanged(Result(driver));
    }

    [Fact]
    public void An_unrelated_csharp_edit_leaves_every_step_cached()
    {
        var compilation = CreateCompilation(ProgramSource, "namespace Contoso.App { internal static class Helper { } }");
        var driver = CreateDriver(new[] { ProfileFile(ProfileGeneratorSnapshotTests.OneProfile) }, Properties(("RootNamespace", "Contoso.App")));
        driver = driver.RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Last();
        var editedTree = CSharpSyntaxTree.ParseText("namespace Contoso.App { internal static class Helper { internal const int Answer = 42; } }", ProfileGeneratorHarness.ParseOptions, oldTree.FilePath);
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, editedTree));
        AssertAllCachedOrUnchanged(Result(driver));

        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Added { }", ProfileGeneratorHarness.ParseOptions)));
        AssertAllCachedOrUnchanged(Result(driver));
    }

    [Fact]
    public void Editing_the_json_regenerates()
    {
        var compilation = CreateCompilation(ProgramSource);
        var original = ProfileFile(ProfileGeneratorSnapshotTests.OneProfile);
        var driver = CreateDriver(new[] { original }, Properties(("RootNamespace", "Contoso.App")));
        driver = driver.RunGenerators(compilation);
        var before = GeneratedSource(Result(driver));

        var edited = ProfileFile(ProfileGeneratorSnapshotTests.OneProfile.Replace("\"ramGiB\": 128", "\"ramGiB\": 96", StringComparison.Ordinal));
        driver = driver.ReplaceAdditionalText(original, edited).RunGenerators(compilation);
        var result = Result(driver);
        foreach (var step in new[] { TrackingNames.ProfileText, TrackingNames.ProfileDocument, TrackingNames.Model, TrackingNames.SourceModel })
        {
            Assert.All(Reasons(result, step), r => Assert.True(r is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New, $"{step}: {r}"));
        }
        Assert.All(Reasons(result, TrackingNames.Namespace), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
        var after = GeneratedSource(result);
        Assert.NotEqual(before, after);
        Assert.Contains("RamGiB: 96d", after, StringComparison.Ordinal);
    }

    [Fact]
    public void Moving_text_around_in_the_json_updates_locations_but_does_not_re_emit_source()
    {
        // A warning keeps the profile and gives the model a location that moves with the text.
        var withWarning = ProfileGeneratorSnapshotTests.OneProfile.Replace("\"mlock\": false,", "\"mlock\": false, \"mlokc\": 1,", StringComparison.Ordinal);
        var compilation = CreateCompilation(ProgramSource);
        var original = ProfileFile(withWarning);
        var driver = CreateDriver(new[] { original }, Properties(("RootNamespace", "Contoso.App")));
        driver = driver.RunGenerators(compilation);
        var warning = Assert.Single(Result(driver).Diagnostics);
        Assert.Equal("FM0002", warning.Id);
        var lineBefore = warning.Location.GetLineSpan().StartLinePosition.Line;

        // A comment line at the top shifts every location but not a single value.
        var shifted = ProfileFile("// target machines of the team\n" + withWarning);
        driver = driver.ReplaceAdditionalText(original, shifted).RunGenerators(compilation);
        var result = Result(driver);
        Assert.All(Reasons(result, TrackingNames.ProfileDocument), r => Assert.Equal(IncrementalStepRunReason.Modified, r));
        Assert.All(Reasons(result, TrackingNames.Model), r => Assert.Equal(IncrementalStepRunReason.Modified, r));
        Assert.All(Reasons(result, TrackingNames.Diagnostics), r => Assert.Equal(IncrementalStepRunReason.Modified, r));
        Assert.All(Reasons(result, TrackingNames.SourceModel), r => Assert.Equal(IncrementalStepRunReason.Unchanged, r));
        // Both RegisterSourceOutput calls are "SourceOutput" steps; each output value is (sources, diagnostics).
        var outputs = result.TrackedOutputSteps.Values.SelectMany(s => s).SelectMany(s => s.Outputs)
            .Select(o => (Sources: CountOf(o.Value, "Item1"), Diagnostics: CountOf(o.Value, "Item2"), o.Reason)).ToArray();
        Assert.Contains((1, 0, IncrementalStepRunReason.Cached), outputs); // the source was not re-emitted
        Assert.Contains((0, 1, IncrementalStepRunReason.Modified), outputs); // the warning was re-reported
        Assert.Equal(lineBefore + 1, Assert.Single(result.Diagnostics).Location.GetLineSpan().StartLinePosition.Line);
    }

    private static int CountOf(object value, string item) =>
        ((System.Collections.IEnumerable)value.GetType().GetField(item)!.GetValue(value)!).Cast<object>().Count();

    [Fact]
    public void A_diagnostic_moving_to_another_line_is_re_reported_at_its_new_place()
    {
        const string broken = "{ \"profiles\": { \"P\": { \"hardware\": { \"ramGiB\": 1 }, \"model\": { \"sizeGiB\": 1 }, \"load\": { \"mmap\": 3 } } } }";
        var compilation = CreateCompilation(ProgramSource);
        var original = ProfileFile(broken);
        var driver = CreateDriver(new[] { original }).RunGenerators(compilation);
        Assert.Equal(1, Assert.Single(Result(driver).Diagnostics).Location.GetLineSpan().StartLinePosition.Line + 1);

        driver = driver.ReplaceAdditionalText(original, ProfileFile("\n\n" + broken)).RunGenerators(compilation);
        var result = Result(driver);
        Assert.Equal(3, Assert.Single(result.Diagnostics).Location.GetLineSpan().StartLinePosition.Line + 1);
        Assert.All(Reasons(result, TrackingNames.Diagnostics), r => Assert.Equal(IncrementalStepRunReason.Modified, r));
    }

    [Fact]
    public void Changing_the_namespace_property_regenerates_without_reparsing()
    {
        var compilation = CreateCompilation(ProgramSource);
        var file = ProfileFile(ProfileGeneratorSnapshotTests.OneProfile);
        var driver = CreateDriver(new[] { file }, Properties(("RootNamespace", "Contoso.App"))).RunGenerators(compilation);
        driver = driver.WithUpdatedAnalyzerConfigOptions(new TestOptionsProvider(Properties(("RootNamespace", "Contoso.App"), ("FlashMoeNamespace", "Contoso.Profiles"))))
            .RunGenerators(compilation);
        var result = Result(driver);
        Assert.All(Reasons(result, TrackingNames.ProfileDocument), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
        Assert.All(Reasons(result, TrackingNames.Namespace), r => Assert.Equal(IncrementalStepRunReason.Modified, r));
        Assert.Contains("namespace Contoso.Profiles\n", GeneratedSource(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_a_second_profile_file_reparses_only_the_new_file()
    {
        var compilation = CreateCompilation(ProgramSource);
        var driver = CreateDriver(new[] { ProfileFile(ProfileGeneratorSnapshotTests.OneProfile) }).RunGenerators(compilation);
        driver = driver.AddAdditionalTexts(System.Collections.Immutable.ImmutableArray.Create<AdditionalText>(
            new InMemoryAdditionalText("/app/more.flashmoe.json", """{ "profiles": { "More": { "hardware": { "ramGiB": 2 }, "model": { "sizeGiB": 1 } } } }""")))
            .RunGenerators(compilation);
        var reasons = Reasons(Result(driver), TrackingNames.ProfileDocument);
        Assert.Equal(2, reasons.Length);
        Assert.Contains(IncrementalStepRunReason.Cached, reasons);
        Assert.Contains(IncrementalStepRunReason.New, reasons);
        Assert.Contains("More,", GeneratedSource(Result(driver)), StringComparison.Ordinal);
    }
}
