using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Xml.Linq;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Snapshooter;
using Snapshooter.Xunit;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Core.Tests;

/// <summary>The plan picture: well-formed SVG, one bar per device, advice on the bar it concerns, deterministic, and pinned by a snapshot.</summary>
public class PlanSvgTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    // The seed case as the sample declares it (samples/App/flashmoe.json, ArcWorkstation): declared facts, no file.
    private const string SeedProfile = """
        {
          "profiles": {
            "ArcWorkstation": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12, "avx2": true, "avx512": false },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ],
                "storage": "nvme"
              },
              "model": {
                "path": "models/DeepSeek-R1-UD-IQ1_S.gguf",
                "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8, "expertFraction": 0.95, "weightType": "iq1_s"
              },
              "load": { "mmap": true, "gpuLayers": "all", "expertsOnCpu": true, "threads": "physical", "contextSize": 8192, "flashAttention": "auto" }
            }
          }
        }
        """;

    private static ResolvedProfile Resolve(string json)
    {
        var document = ProfileParser.Parse("/app/flashmoe.json", json);
        Assert.Empty(document.Diagnostics);
        var profile = Assert.Single(document.Profiles).Profile;
        return ProfileResolver.Resolve(profile, DeclaredModel.FromSpec(profile.Model));
    }

    private static XElement[] DeviceBars(XDocument svg) =>
        svg.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "device").ToArray();

    [Fact]
    public void The_seed_picture_is_well_formed_svg_with_a_title_a_description_and_one_bar_per_device()
    {
        var resolved = Resolve(SeedProfile);

        var svg = XDocument.Parse(PlanSvg.Render(resolved));

        Assert.Equal(Svg + "svg", svg.Root!.Name);
        Assert.Equal("img", (string?)svg.Root.Attribute("role"));
        Assert.Equal(PlanSvg.Width.ToString(CultureInfo.InvariantCulture), (string?)svg.Root.Attribute("width"));
        Assert.Equal("Memory plan · ArcWorkstation", svg.Root.Element(Svg + "title")!.Value);
        Assert.Contains("FM1002", svg.Root.Element(Svg + "desc")!.Value);
        var bars = DeviceBars(svg);
        Assert.Equal(resolved.Plan.Devices.Count, bars.Length); // host RAM + the Arc A770
        Assert.StartsWith("Host RAM (CPU)", bars[0].Elements(Svg + "text").First().Value);
        Assert.StartsWith("GPU0 Arc A770", bars[1].Elements(Svg + "text").First().Value);
        // FM1002 (mmap) concerns host RAM, not the GPU.
        Assert.Contains(bars[0].Descendants(Svg + "tspan"), t => t.Value == "FM1002");
        Assert.DoesNotContain(bars[1].Descendants(Svg + "tspan"), t => t.Value == "FM1002");
        // The limit line of host RAM sits at the usable RAM: 124.2 GiB.
        Assert.Contains(bars[0].Descendants(Svg + "text"), t => t.Value == "limit: usable 124.2 GiB");
    }

    [Fact]
    public void Each_gpu_gets_its_own_bar_and_an_overcommitted_gpu_carries_its_FM1004()
    {
        var json = SeedProfile
            .Replace("""[ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ]""",
                """[ { "name": "Small", "vramGiB": 4, "backend": "cuda" }, { "name": "Big", "vramGiB": 48, "backend": "cuda" } ]""")
            .Replace("\"expertsOnCpu\": true", "\"expertsOnCpu\": false");
        var resolved = Resolve(json);
        Assert.Contains(resolved.Advice, a => a.Id == "FM1004");

        var svg = XDocument.Parse(PlanSvg.Render(resolved));

        var bars = DeviceBars(svg);
        Assert.Equal(3, bars.Length);
        var overcommitted = resolved.Plan.Devices.Where(d => !d.Device.IsCpu && !d.Fits).Select(d => d.Device.GpuIndex + 1).ToArray();
        Assert.NotEmpty(overcommitted);
        for (var i = 1; i < bars.Length; i++)
        {
            var hasFm1004 = bars[i].Descendants(Svg + "tspan").Any(t => t.Value == "FM1004");
            Assert.Equal(overcommitted.Contains(i), hasFm1004);
        }
        Assert.DoesNotContain(bars[0].Descendants(Svg + "tspan"), t => t.Value == "FM1004");
        Assert.Contains(bars[overcommitted[0]].Descendants(Svg + "text"), t => t.Value.StartsWith("over the limit by ", StringComparison.Ordinal));
    }

    [Fact]
    public void Ram_that_is_neither_usable_nor_reserved_is_drawn_as_not_available()
    {
        var declared = Resolve(SeedProfile);
        // A detected host where other processes hold memory: usable = available RAM, below RAM − reserve.
        var host = HostFacts.FromProfile(declared.Profile.Hardware) with { IsDetected = true, AvailableRamBytes = 100 * Units.GiB };
        var detected = ProfileResolver.Resolve(declared.Profile, declared.Model, host);

        var withLimit = XDocument.Parse(PlanSvg.Render(detected));
        var without = XDocument.Parse(PlanSvg.Render(declared));

        static bool HasUnavailable(XDocument svg) =>
            DeviceBars(svg)[0].Descendants(Svg + "title").Any(t => t.Value.StartsWith("not available: ", StringComparison.Ordinal));
        Assert.True(HasUnavailable(withLimit));
        Assert.Contains(DeviceBars(withLimit)[0].Descendants(Svg + "text"), t => t.Value == "limit: usable 100.0 GiB");
        Assert.False(HasUnavailable(without));
    }

    [Fact]
    public void Names_with_markup_characters_are_escaped()
    {
        var resolved = Resolve(SeedProfile.Replace("\"Arc A770\"", "\"<GPU & \\\"friends\\\">\""));

        var svg = XDocument.Parse(PlanSvg.Render(resolved));

        Assert.Contains(DeviceBars(svg)[1].Elements(Svg + "text"), t => t.Value.Contains("<GPU & \"friends\">", StringComparison.Ordinal));
    }

    [Fact]
    public void The_output_does_not_depend_on_the_current_culture()
    {
        var resolved = Resolve(SeedProfile);
        var invariant = PlanSvg.Render(resolved);
        var previous = Thread.CurrentThread.CurrentCulture;
        try
        {
            Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal(invariant, PlanSvg.Render(resolved));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Fact]
    public void The_seed_picture_matches_its_snapshot() =>
        Snapshot.Match(PlanSvg.Render(Resolve(SeedProfile)),
            new SnapshotFullName(nameof(PlanSvgTests) + ".The_seed_picture.snap", Path.Combine(RepoPaths.Root, "tests", "FlashMoe.Core.Tests"))); // Snapshooter appends __snapshots__
}
