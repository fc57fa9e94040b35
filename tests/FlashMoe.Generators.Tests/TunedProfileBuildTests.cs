using System;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Microsoft.CodeAnalysis;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

namespace FlashMoe.Generators.Tests;

/// <summary>A tuned profile file as the tuner writes it (Core's ProfileWriter) builds beside flashmoe.json like any other profile file.</summary>
public sealed class TunedProfileBuildTests
{
    [Fact]
    public void A_tuned_profile_file_builds_next_to_the_original()
    {
        var original = new FlashMoeProfile("SmallCpuBox",
            new HardwareSpec(24, null, new CpuSpec(2, 2), EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
            new ModelSpec("model.gguf", 0.13, 8, 8, 2, 0.83, GgmlType.Q4_0), LoadOptions.Default);
        var model = DeclaredModel.FromSpec(original.Model);
        var host = HostFacts.FromProfile(original.Hardware) with { IsDetected = true, LogicalCores = 2, PhysicalCores = 2 };
        var candidate = Tuning.LoadCandidates(original, model, host)[0];
        var tuned = Tuning.TunedProfile(original, new TuneMeasurement(candidate, 0.5, 120.5, 0.4, 38.2, 300L << 20), 2, 2, host, 7, 41, "model.gguf");

        var files = new AdditionalText[]
        {
            new InMemoryAdditionalText("/app/flashmoe.json", ProfileWriter.Write(new[] { original })),
            new InMemoryAdditionalText("/app/SmallCpuBox.tuned.flashmoe.json", ProfileWriter.Write(new[] { tuned })),
        };
        var (result, output) = Run(files, Properties(("RootNamespace", "App")), "namespace App; internal static class Use { public static object Tuned => FlashMoeProfiles.SmallCpuBoxTuned; }");

        Assert.Empty(result.Diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(d => d.ToString())));
        var source = GeneratedSource(result);
        Assert.Contains("SmallCpuBoxTuned", source);
        Assert.Contains("38.2 tok/s", source); // the measured figures reach the generated XML docs
    }
}
