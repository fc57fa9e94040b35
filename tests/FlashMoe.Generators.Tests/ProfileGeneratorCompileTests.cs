using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using FlashMoe.Profiles;
using Microsoft.CodeAnalysis;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

namespace FlashMoe.Generators.Tests;

/// <summary>The generated code compiles with warnings as errors, and at run time it holds exactly what Core's parser read.</summary>
public class ProfileGeneratorCompileTests
{
    private const string Usage = """
        #nullable enable
        using System.Collections.Generic;
        using FlashMoe.Profiles;

        namespace Contoso.App;

        /// <summary>Reads the generated profiles.</summary>
        public static class Usage
        {
            /// <summary>All profiles.</summary>
            public static IReadOnlyList<FlashMoeProfile> All() => FlashMoeProfiles.All;

            /// <summary>A line per profile.</summary>
            public static string Describe(FlashMoeProfile profile) => profile.Load.GpuLayers.Kind switch
            {
                GpuLayersKind.Count => profile.Name + ": " + profile.Load.GpuLayers.Count + " layers",
                GpuLayersKind.All => profile.Name + ": all layers",
                _ => profile.Name + ": auto",
            };
        }
        """;

    public static TheoryData<string, string> Inputs => new()
    {
        { "one", ProfileGeneratorSnapshotTests.OneProfile },
        { "several", ProfileGeneratorSnapshotTests.SeveralProfiles },
        { "forms", ProfileGeneratorSnapshotTests.EveryValueForm },
        { "none valid", """{ "profiles": { "Bad": { "hardware": {}, "model": {} } } }""" },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Generated_code_plus_usage_compiles_warning_free_and_round_trips(string name, string json)
    {
        var driver = CreateDriver(new[] { new InMemoryAdditionalText("/app/flashmoe.json", json) }, Properties(("RootNamespace", "Contoso.App")));
        driver.RunGeneratorsAndUpdateCompilation(CreateCompilation(Usage), out var output, out var generatorDiagnostics);
        Assert.DoesNotContain(generatorDiagnostics, d => d.Id.StartsWith("CS", StringComparison.Ordinal)); // e.g. CS8785: generator crashed

        // Every compiler diagnostic (all warnings are errors here) fails the test.
        var compilerDiagnostics = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(compilerDiagnostics.Length == 0, name + ": " + string.Join("\n", compilerDiagnostics.Select(d => d.ToString())));

        using var peStream = new MemoryStream();
        using var xmlDocs = new MemoryStream();
        var emit = output.Emit(peStream, xmlDocumentationStream: xmlDocs);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));

        var context = new AssemblyLoadContext("generated-" + name, isCollectible: true);
        try
        {
            peStream.Position = 0;
            var assembly = context.LoadFromStream(peStream);
            var usage = assembly.GetType("Contoso.App.Usage")!;
            var all = (System.Collections.Generic.IReadOnlyList<FlashMoeProfile>)usage.GetMethod("All")!.Invoke(null, null)!;
            var parsed = ProfileParser.Parse("/app/flashmoe.json", json).Profiles.Select(p => p.Profile).ToArray();
            Assert.Equal(parsed, all); // value equality of the whole object graph
            Assert.Throws<NotSupportedException>(() => ((System.Collections.Generic.IList<FlashMoeProfile>)all).Add(parsed.FirstOrDefault()!));
            var properties = assembly.GetType("Contoso.App.FlashMoeProfiles")!.GetProperties(BindingFlags.Public | BindingFlags.Static);
            Assert.Equal(parsed.Select(p => p.Name).Append("All").OrderBy(n => n, StringComparer.Ordinal), properties.Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
            Assert.All(properties, p => Assert.Null(p.SetMethod));
        }
        finally
        {
            context.Unload();
        }
    }
}
