using System;
using System.IO;
using System.Linq;
using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>The build check's result does not depend on how many threads checked the profiles.</summary>
public sealed class ProfileCheckThreadsTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashmoe-check-threads-" + Guid.NewGuid().ToString("N"));

    public ProfileCheckThreadsTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>One declared 121 GiB MoE on machines of <paramref name="ramGiB"/>: mmap on draws FM1002 or FM1003 depending on RAM.</summary>
    private static string Profile(string name, int ramGiB, string mmap) => $$"""
        "{{name}}": {
          "hardware": { "ramGiB": {{ramGiB}}, "cpu": { "physicalCores": 8, "logicalCores": 16 } },
          "model": { "path": "models/absent.gguf", "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8 },
          "load": { "mmap": {{mmap}}, "contextSize": 4096 }
        }
        """;

    private static int JsonLine(string text, string token) => text.Substring(0, text.IndexOf(token, StringComparison.Ordinal)).Count(c => c == '\n') + 1;

    [Fact]
    public void One_thread_and_one_per_profile_give_the_same_entries_and_diagnostics_in_profile_order()
    {
        var names = new[] { "Small", "Big", "Mid", "Tight", "Huge", "Auto" };
        var json = "{ \"profiles\": {\n" + string.Join(",\n",
            Profile("Small", 64, "true"), Profile("Big", 256, "true"), Profile("Mid", 160, "false"), Profile("Tight", 124, "true"),
            Profile("Huge", 512, "false"), Profile("Auto", 96, "\"auto\"")) + "\n} }\n";
        File.WriteAllText(Path.Combine(_directory, "flashmoe.json"), json);
        ProfileCheckResult Check(int threads) => ProfileCheck.Run(new ProfileCheckRequest
        {
            ProfileFiles = EquatableArray.Create("flashmoe.json"),
            ProjectDirectory = _directory,
            MaxThreads = threads,
        });

        var sequential = Check(1);
        var parallel = Check(names.Length);

        Assert.Equal(names, sequential.Entries.Select(e => e.ProfileName));
        Assert.Equal(names, parallel.Entries.Select(e => e.ProfileName));
        Assert.Equal(sequential.Entries.Select(e => e.Resolved!.Options), parallel.Entries.Select(e => e.Resolved!.Options));
        var lines = sequential.Diagnostics.Select(d => d.ToCanonicalString()).ToArray();
        Assert.Equal(lines, parallel.Diagnostics.Select(d => d.ToCanonicalString()));
        // Diagnostics follow the profiles' order: the profile each is located in never goes back.
        var starts = names.Select(n => JsonLine(json, "\"" + n + "\": {")).ToArray();
        var owners = sequential.Diagnostics.Where(d => d.Diagnostic.Location is not null)
            .Select(d => starts.Count(start => start <= d.Diagnostic.Location!.Value.Line)).ToArray();
        Assert.True(owners.Distinct().Count() >= 3, string.Join("\n", lines));
        Assert.Equal(owners.OrderBy(o => o), owners);
    }
}
