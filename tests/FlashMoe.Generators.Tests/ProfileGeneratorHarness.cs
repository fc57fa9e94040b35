using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using FlashMoe.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace FlashMoe.Generators.Tests;

/// <summary>Runs <see cref="FlashMoeProfileGenerator"/> in-process on in-memory additional files.</summary>
internal static class ProfileGeneratorHarness
{
    /// <summary>Latest C#, and XML doc comments are checked (malformed docs in generated code would be warnings).</summary>
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    /// <summary>The runtime's assemblies plus FlashMoe.Core: what a real app compiles against.</summary>
    public static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Where(p => !Path.GetFileName(p).StartsWith("FlashMoe.", StringComparison.Ordinal));
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Profiles.FlashMoeProfile).Assembly.Location))
            .ToImmutableArray();
    });

    /// <summary>
    /// Warnings are errors, as in this repo's builds; CS1701/CS1702 (reference version unification) are off
    /// exactly as MSBuild's default NoWarn has them.
    /// </summary>
    public static readonly CSharpCompilationOptions StrictOptions = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
        .WithNullableContextOptions(NullableContextOptions.Enable)
        .WithGeneralDiagnosticOption(ReportDiagnostic.Error)
        .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
        {
            ["CS1701"] = ReportDiagnostic.Suppress,
            ["CS1702"] = ReportDiagnostic.Suppress,
        });

    public static CSharpCompilation CreateCompilation(params string[] sources) => CSharpCompilation.Create(
        "GeneratorTestApp",
        sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Source{i}.cs")),
        References.Value,
        StrictOptions);

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> files, IReadOnlyDictionary<string, string>? buildProperties = null) =>
        CSharpGeneratorDriver.Create(
            new[] { new FlashMoeProfileGenerator().AsSourceGenerator() },
            files,
            ParseOptions,
            new TestOptionsProvider(buildProperties ?? new Dictionary<string, string>()),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once and returns its result plus the output compilation.</summary>
    public static (GeneratorRunResult Result, Compilation Output) Run(IEnumerable<AdditionalText> files, IReadOnlyDictionary<string, string>? buildProperties = null, params string[] sources)
    {
        var driver = CreateDriver(files, buildProperties);
        driver = driver.RunGeneratorsAndUpdateCompilation(CreateCompilation(sources), out var output, out _);
        var result = Assert.Single(driver.GetRunResult().Results);
        Assert.Null(result.Exception);
        return (result, output);
    }

    public static (GeneratorRunResult Result, Compilation Output) Run(string json, string path = "/app/flashmoe.json", IReadOnlyDictionary<string, string>? buildProperties = null) =>
        Run(new[] { new InMemoryAdditionalText(path, json) }, buildProperties);

    /// <summary>The generated file's text (the only file the generator adds).</summary>
    public static string GeneratedSource(GeneratorRunResult result) =>
        Assert.Single(result.GeneratedSources).SourceText.ToString();

    /// <summary>The <c>[GeneratedCode]</c> version varies per build; snapshots keep a fixed token.</summary>
    public static string ScrubVersion(string source) =>
        System.Text.RegularExpressions.Regex.Replace(source, "GeneratedCode\\(\"FlashMoe.Generators\", \"[^\"]*\"\\)", "GeneratedCode(\"FlashMoe.Generators\", \"{version}\")");

    public static Dictionary<string, string> Properties(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);
}

/// <summary>An additional file held in memory.</summary>
internal sealed class InMemoryAdditionalText : AdditionalText
{
    private readonly SourceText _text;

    public InMemoryAdditionalText(string path, string text)
    {
        Path = path;
        _text = SourceText.From(text, Encoding.UTF8);
    }

    public override string Path { get; }

    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}

/// <summary>An additional file whose read fails, as a locked or vanished file would.</summary>
internal sealed class UnreadableAdditionalText : AdditionalText
{
    public UnreadableAdditionalText(string path) => Path = path;

    public override string Path { get; }

    public override SourceText GetText(CancellationToken cancellationToken = default) => throw new IOException("The process cannot access the file because it is being used by another process.");
}

/// <summary>Global analyzer-config options, as MSBuild passes <c>CompilerVisibleProperty</c> values (<c>build_property.X</c>).</summary>
internal sealed class TestOptionsProvider : AnalyzerConfigOptionsProvider
{
    private readonly TestOptions _global;

    public TestOptionsProvider(IReadOnlyDictionary<string, string> buildProperties) =>
        _global = new TestOptions(buildProperties.ToDictionary(p => "build_property." + p.Key, p => p.Value));

    public override AnalyzerConfigOptions GlobalOptions => _global;

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => TestOptions.Empty;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => TestOptions.Empty;

    private sealed class TestOptions : AnalyzerConfigOptions
    {
        public static readonly TestOptions Empty = new(new Dictionary<string, string>());
        private readonly Dictionary<string, string> _values;

        public TestOptions(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
    }
}
