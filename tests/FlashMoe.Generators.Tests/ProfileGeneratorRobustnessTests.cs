using System.Globalization;
using System;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Xunit;
using static FlashMoe.Generators.Tests.ProfileGeneratorHarness;

namespace FlashMoe.Generators.Tests;

/// <summary>Whatever the file holds, the generator reports coded diagnostics and never throws (Roslyn would turn a throw into CS8785 and drop all output).</summary>
public class ProfileGeneratorRobustnessTests
{
    private static GeneratorRunResult RunGarbage(string text)
    {
        var driver = CreateDriver(new[] { new InMemoryAdditionalText("/app/flashmoe.json", text) });
        driver = driver.RunGeneratorsAndUpdateCompilation(CreateCompilation(), out var output, out var diagnostics);
        var result = Assert.Single(driver.GetRunResult().Results);
        Assert.Null(result.Exception);
        Assert.DoesNotContain(diagnostics, d => d.Id is "CS8784" or "CS8785");
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "FM0099");
        // Whatever was generated compiles.
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        return result;
    }

    [Fact]
    public void Random_bytes_are_FM0001()
    {
        var random = new Random(7);
        for (var i = 0; i < 20; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            var result = RunGarbage(Encoding.UTF8.GetString(bytes));
            Assert.Equal("FM0001", Assert.Single(result.Diagnostics).Id);
        }
    }

    [Fact]
    public void Deeply_nested_arrays_are_FM0001_not_a_stack_overflow()
    {
        var result = RunGarbage("{ \"profiles\": " + new string('[', 500_000) + new string(']', 500_000) + " }");
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("FM0001", diagnostic.Id);
        Assert.Contains("nested deeper than 64", diagnostic.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("123456789012345678901234567890")]
    [InlineData("0.000000000000000000000000000001")]
    public void Huge_and_tiny_numbers_are_FM0003(string number)
    {
        var result = RunGarbage($$"""{ "profiles": { "P": { "hardware": { "ramGiB": {{number}} }, "model": { "sizeGiB": 1 }, "load": { "contextSize": {{number}} } } } }""");
        Assert.All(result.Diagnostics, d => Assert.Equal("FM0003", d.Id));
        Assert.NotEmpty(result.Diagnostics);
    }

    [Fact]
    public void A_number_of_a_hundred_thousand_digits_is_FM0003()
    {
        var result = RunGarbage("{ \"profiles\": { \"P\": { \"hardware\": { \"ramGiB\": 9" + new string('9', 100_000) + " }, \"model\": { \"sizeGiB\": 1 } } } }");
        Assert.Equal("FM0003", Assert.Single(result.Diagnostics).Id);
    }

    [Fact]
    public void Random_json_shaped_text_never_throws()
    {
        var random = new Random(2024);
        var fragments = new[]
        {
            "{", "}", "[", "]", ",", ":", "\"profiles\"", "\"P\"", "\"Q\"", "\"hardware\"", "\"ramGiB\"", "\"load\"", "\"model\"", "\"sizeGiB\"",
            "\"gpus\"", "\"vramGiB\"", "\"backend\"", "\"vulkan\"", "\"tensorOverrides\"", "\"pattern\"", "\"(?<x\"", "\"device\"", "1", "0", "-3",
            "1e999", "0.5", "true", "false", "null", "\"auto\"", "\"all\"", " ", "\n", "//c\n", "/*x*/", "\"kvCache\"", "\"v\"", "\"q4_0\"",
            "\"flashAttention\"", "\"threads\"", "\"cpu\"", "\"logicalCores\"", "\"class\"", "\"All\"", "\"\\u0000\"",
        };
        for (var i = 0; i < 300; i++)
        {
            var builder = new StringBuilder();
            var count = random.Next(1, 120);
            for (var j = 0; j < count; j++) builder.Append(fragments[random.Next(fragments.Length)]);
            RunGarbage(builder.ToString());
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData("\uFEFF")]
    [InlineData("{ \"profiles\": { \"\\u2028\": {} } }")]
    [InlineData("{ \"profiles\": { \"P\": { \"hardware\": { \"ramGiB\": 1 }, \"model\": { \"path\": \"a\\u0000b\" } } } }")]
    public void Degenerate_files_are_coded_errors(string text)
    {
        var result = RunGarbage(text);
        Assert.NotEmpty(result.Diagnostics);
        Assert.All(result.Diagnostics, d => Assert.StartsWith("FM00", d.Id, StringComparison.Ordinal));
    }

    [Fact]
    public void Hostile_strings_end_up_escaped_in_the_generated_code()
    {
        // (A model.path with a control character is FM0003 since no file can have it; the line break rides on the GPU name.)
        const string json = """
            { "profiles": { "P": {
              "description": "*/ \" \\ \u2028 \u0000 </summary> #error x",
              "hardware": { "ramGiB": 1, "gpus": [ { "name": "\r\n#error injected\"); System.Environment.Exit(1); //", "vramGiB": 1, "backend": "cuda" } ] },
              "model": { "path": "\" + \\ */ #error injected.gguf" }
            } } }
            """;
        var result = RunGarbage(json);
        Assert.Empty(result.Diagnostics);
        Assert.DoesNotContain("#error", GeneratedSource(result).Split('\n').Select(l => l.TrimStart()).Where(l => l.StartsWith('#')), StringComparer.Ordinal);
    }
}
