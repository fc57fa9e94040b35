using System;
using Microsoft.CodeAnalysis;

namespace FlashMoe.Generators;

/// <summary>
/// Turns <c>flashmoe.json</c> and <c>*.flashmoe.json</c> additional files into a typed
/// <c>{Namespace}.FlashMoeProfiles</c> class and reports every mistake in the JSON at its line and column.
/// Structured like dotnet/runtime's System.Text.Json generator: <see cref="Parser"/> builds an equatable
/// model, <see cref="Emitter"/> writes source from it, <see cref="DiagnosticDescriptors"/> maps Core's
/// catalogue to Roslyn. The rules themselves live in FlashMoe.Core (<see cref="Profiles.ProfileParser"/>).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class FlashMoeProfileGenerator : IIncrementalGenerator
{
    /// <summary>MSBuild property (made visible with <c>CompilerVisibleProperty</c>) that overrides the namespace.</summary>
    public const string NamespaceProperty = "build_property.FlashMoeNamespace";

    /// <summary>MSBuild's root namespace, the default namespace of the generated class.</summary>
    public const string RootNamespaceProperty = "build_property.RootNamespace";

    /// <summary>Namespace used when neither property is set (e.g. a compilation outside MSBuild).</summary>
    public const string FallbackNamespace = "FlashMoe.Generated";

    /// <summary>Name of the generated source file.</summary>
    public const string GeneratedFileName = "FlashMoeProfiles.g.cs";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Where(static text => Parser.IsProfileFile(text.Path))
            .Select(static (text, cancellationToken) => Parser.ReadText(text, cancellationToken))
            .WithTrackingName(TrackingNames.ProfileText);

        var documents = files
            .Select(static (file, cancellationToken) => Parser.ParseDocument(file, cancellationToken))
            .WithTrackingName(TrackingNames.ProfileDocument);

        var namespaceOption = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => Parser.ReadNamespace(options.GlobalOptions))
            .WithTrackingName(TrackingNames.Namespace);

        var model = documents
            .Collect()
            .Combine(namespaceOption)
            .Select(static (input, cancellationToken) => Parser.BuildModel(input.Left, input.Right, cancellationToken))
            .WithTrackingName(TrackingNames.Model);

        // Two outputs: editing only a diagnostic-relevant detail (or moving text around, which shifts every
        // location) must not re-emit source, and vice versa.
        var sourceModel = model.Select(static (m, _) => m.Source).WithTrackingName(TrackingNames.SourceModel);
        var diagnostics = model.Select(static (m, _) => m.Diagnostics).WithTrackingName(TrackingNames.Diagnostics);

        context.RegisterSourceOutput(sourceModel, static (spc, source) => Emitter.Emit(spc, source));
        context.RegisterSourceOutput(diagnostics, static (spc, list) => ReportDiagnostics(spc, list));
    }

    private static void ReportDiagnostics(SourceProductionContext context, EquatableArray<Diagnostics.FlashMoeDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            Diagnostic converted;
            try
            {
                converted = DiagnosticDescriptors.ToRoslyn(diagnostic);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                converted = Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None, e.GetType().Name + ": " + e.Message);
            }
            context.ReportDiagnostic(converted);
        }
    }
}
