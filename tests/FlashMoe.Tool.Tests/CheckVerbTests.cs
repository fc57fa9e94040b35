using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary>
/// <c>flashmoe check</c>, run in-process: the build's diagnostics in MSBuild's canonical form at the JSON token,
/// and the exit code says whether the build would fail.
/// </summary>
public sealed class CheckVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-check-" + Guid.NewGuid().ToString("N"));

    public CheckVerbTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Seed(string mmap, string extraLoad = "") => $$"""
        {
          "profiles": {
            "ArcWorkstation": {
              "hardware": {
                "ramGiB": 128,
                "cpu": { "physicalCores": 6, "logicalCores": 12 },
                "gpus": [ { "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" } ],
                "storage": "nvme"
              },
              "model": { "path": "absent.gguf", "sizeGiB": 121, "blockCount": 61, "expertCount": 256, "expertUsedCount": 8, "expertFraction": 0.95, "weightType": "iq1_s" },
              "load": { "mmap": {{mmap}}, "gpuLayers": "all", "expertsOnCpu": true, "contextSize": 4096{{extraLoad}} }
            }
          }
        }
        """;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_warning_is_printed_at_its_json_token_in_msbuild_form_and_the_check_passes()
    {
        var file = Write("flashmoe.json", Seed(mmap: "true"));

        var result = ToolRun.Run("check", file);

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        // "mmap": true is on line 11; the value starts at column 25 (the README's form: file(line,col,endLine,endCol)).
        var line = Assert.Single(result.Stdout.Split('\n'), l => l.Contains("FM1002", StringComparison.Ordinal));
        Assert.Matches(new Regex("^" + Regex.Escape(file) + @"\(11,25,11,29\): warning FM1002: mmap is on, but no-mmap fits"), line);
        Assert.Contains("1 profile(s) checked, 1 warning(s), 0 error(s).", result.Stdout);
        Assert.DoesNotContain("FM1007", result.Stdout); // info only with --verbose, as in a minimal-verbosity build
    }

    [Fact]
    public void Warnaserror_fails_the_check_and_nowarn_silences_the_id()
    {
        var file = Write("flashmoe.json", Seed(mmap: "true"));

        var strict = ToolRun.Run("check", file, "--warnaserror");
        var silenced = ToolRun.Run("check", file, "--warnaserror", "--nowarn", "FM1002");

        Assert.True(strict.ExitCode == ExitCodes.ErrorsFound, strict.ToString());
        Assert.Contains("): error FM1002: ", strict.Stdout);
        Assert.True(silenced.ExitCode == ExitCodes.Ok, silenced.ToString());
        Assert.DoesNotContain("FM1002", silenced.Stdout);
    }

    [Fact]
    public void A_clean_profile_passes_with_no_diagnostic()
    {
        var file = Write("clean.flashmoe.json", Seed(mmap: "false"));

        var result = ToolRun.Run("check", file, "--warnaserror");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.DoesNotMatch(@"(warning|error) FM\d{4}", result.Stdout);
    }

    [Fact]
    public void A_profile_whose_build_would_fail_exits_1()
    {
        // A quantized V cache without flash attention is a warning; an overcommitted GPU (FM1004) is an error.
        var file = Write("flashmoe.json", Seed(mmap: "false").Replace("\"expertsOnCpu\": true", "\"expertsOnCpu\": false"));

        var result = ToolRun.Run("check", file);

        Assert.True(result.ExitCode == ExitCodes.ErrorsFound, result.ToString());
        Assert.Contains("): error FM1004: Arc A770 (16.0 GiB) is overcommitted", result.Stdout);
    }

    [Fact]
    public void Profile_file_errors_the_generator_would_report_are_reported_too()
    {
        var file = Write("flashmoe.json", Seed(mmap: "\"sometimes\""));

        var result = ToolRun.Run("check", file);

        Assert.True(result.ExitCode == ExitCodes.ErrorsFound, result.ToString());
        Assert.Matches(new Regex(Regex.Escape(file) + @"\(11,25,11,36\): error FM00\d\d: "), result.Stdout);
    }

    [Fact]
    public void An_unknown_profile_is_FM0302_and_a_missing_file_is_FM0301()
    {
        var file = Write("flashmoe.json", Seed(mmap: "false"));
        var missing = Path.Combine(_dir, "missing.flashmoe.json");

        var unknown = ToolRun.Run("check", file, "--profile", "ArcWorkstaton");
        var absent = ToolRun.Run("check", missing);

        Assert.True(unknown.ExitCode == ExitCodes.Ok, unknown.ToString());
        Assert.Contains("FlashMoe: warning FM0302: FlashMoeProfile names 'ArcWorkstaton', but no profile file declares it (did you mean 'ArcWorkstation'?)", unknown.Stdout);
        Assert.True(absent.ExitCode == ExitCodes.ErrorsFound, absent.ToString());
        Assert.Contains(missing + ": error FM0301: ", absent.Stdout);
    }

    [Fact]
    public void A_profile_name_declared_in_two_files_is_FM0004_at_the_later_one_as_the_generator_reports_it()
    {
        var first = Write("a.flashmoe.json", Seed(mmap: "false"));
        var second = Write("b.flashmoe.json", Seed(mmap: "false"));

        var result = ToolRun.Run("check", second, first);

        Assert.True(result.ExitCode == ExitCodes.ErrorsFound, result.ToString());
        var line = Assert.Single(result.Stdout.Split('\n'), l => l.Contains("FM0004", StringComparison.Ordinal));
        Assert.StartsWith(second + "(3,5,", line);
        Assert.Contains("error FM0004: Profile name 'ArcWorkstation' is already declared in a.flashmoe.json (line 3)", line);
    }

    [Fact]
    public void Only_the_selected_profiles_are_checked()
    {
        var two = Seed(mmap: "true").Replace("\"ArcWorkstation\": {", "\"Quiet\": { \"hardware\": { \"ramGiB\": 64 }, \"model\": { \"sizeGiB\": 4 } },\n    \"ArcWorkstation\": {");
        var file = Write("flashmoe.json", two);

        var all = ToolRun.Run("check", file);
        var quiet = ToolRun.Run("check", file, "--profile", "Quiet");

        Assert.Contains("2 profile(s) checked", all.Stdout);
        Assert.Contains("1 profile(s) checked, 0 warning(s)", quiet.Stdout);
    }
}
