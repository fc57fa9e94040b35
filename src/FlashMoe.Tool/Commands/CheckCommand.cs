using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;

namespace FlashMoe.Tool.Commands;

/// <summary>
/// <c>flashmoe check</c>: the build check for CI scripts, without building a project. Runs Core's
/// <see cref="ProfileCheck"/> (what the MSBuild task runs) plus the profile-file diagnostics the source generator
/// reports in a build, and prints each in MSBuild's form, <c>file(line,col,endLine,endCol): warning FMxxxx: …</c>.
/// Exits 1 when the build would fail: an error, or a warning under <c>--warnaserror</c>.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(ToolConsole console)
    {
        var files = new Argument<string[]>("flashmoe.json")
        {
            Description = "The profile files. Default: flashmoe.json and *.flashmoe.json in the current directory.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var profile = new Option<string[]>("--profile")
        {
            Description = "Check only this profile (repeat, or separate with ';', like $(FlashMoeProfile)). Default: every profile.",
            HelpName = "NAME",
        };
        var modelRoot = new Option<string?>("--model-root")
        {
            Description = "Another folder where relative model.path values are looked up, like $(FlashMoeModelRoot).",
            HelpName = "DIR",
        };
        var warnAsError = new Option<bool>("--warnaserror") { Description = "Treat warnings as errors (exit 1), like -warnaserror." };
        var noWarn = new Option<string[]>("--nowarn")
        {
            Description = "Silence these IDs (repeat, or separate with ';' or ','), like <NoWarn>.",
            HelpName = "FMxxxx",
        };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also print info-level diagnostics (e.g. FM1007) and what was read." };
        var command = new Command("check", "Run the build check on profile files, as 'dotnet build' does (no project needed): the same FM diagnostics, in the same form.")
        {
            files, profile, modelRoot, warnAsError, noWarn, verbose,
        };
        command.SetAction(parse => FlashMoeCli.Guard(console, "check", () => Run(console, new CheckRequest(
            parse.GetValue(files) ?? Array.Empty<string>(),
            Split(parse.GetValue(profile)),
            parse.GetValue(modelRoot),
            parse.GetValue(warnAsError),
            Split(parse.GetValue(noWarn)),
            parse.GetValue(verbose)))));
        return command;
    }

    /// <summary>The verb itself.</summary>
    public static int Run(ToolConsole console, CheckRequest request)
    {
        var directory = Directory.GetCurrentDirectory();
        var files = request.Files.Count > 0 ? request.Files : ProfileFiles.InDirectory(directory);
        if (files.Count == 0) throw new UsageException($"no flashmoe.json or *.flashmoe.json in {directory}: name the profile files.");

        var log = request.Verbose ? (Action<string>)(line => console.Out.WriteLine(console.Style(line, ConsoleStyle.Dim))) : null;
        var result = ProfileCheck.Run(new ProfileCheckRequest
        {
            ProfileFiles = files.ToEquatableArray(),
            SelectedProfiles = request.Profiles.ToEquatableArray(),
            ModelRoot = request.ModelRoot,
            ProjectDirectory = directory,
            IncludeProfileFileDiagnostics = true,
        }, log);

        var silenced = new HashSet<string>(request.NoWarn, StringComparer.OrdinalIgnoreCase);
        int errors = 0, warnings = 0;
        foreach (var diagnostic in result.Diagnostics)
        {
            var severity = diagnostic.Diagnostic.Severity;
            // As MSBuild: NoWarn silences warnings (and info), never errors; -warnaserror promotes warnings.
            if (severity != FlashMoeSeverity.Error && silenced.Contains(diagnostic.Diagnostic.Id)) continue;
            if (severity == FlashMoeSeverity.Warning && request.WarnAsError) severity = FlashMoeSeverity.Error;
            if (severity == FlashMoeSeverity.Info && !request.Verbose) continue;
            if (severity == FlashMoeSeverity.Error) errors++;
            if (severity == FlashMoeSeverity.Warning) warnings++;
            console.Out.WriteLine(Colour(console, diagnostic.ToCanonicalString(severity), severity));
        }

        var summary = $"flashmoe check: {result.Entries.Count} profile(s) checked, {warnings} warning(s), {errors} error(s).";
        console.Out.WriteLine(console.Style(summary, errors > 0 ? ConsoleStyle.Error : warnings > 0 ? ConsoleStyle.Warning : ConsoleStyle.Good));
        return errors > 0 ? ExitCodes.ErrorsFound : ExitCodes.Ok;
    }

    private static string Colour(ToolConsole console, string line, FlashMoeSeverity severity)
    {
        if (!console.Colour) return line;
        var word = severity == FlashMoeSeverity.Error ? ": error " : severity == FlashMoeSeverity.Warning ? ": warning " : ": info ";
        var at = line.IndexOf(word, StringComparison.Ordinal);
        if (at < 0) return line;
        var style = severity == FlashMoeSeverity.Error ? ConsoleStyle.Error : severity == FlashMoeSeverity.Warning ? ConsoleStyle.Warning : ConsoleStyle.Info;
        return line.Substring(0, at + 2) + console.Style(word.Substring(2).TrimEnd(), style) + " " + line.Substring(at + word.Length);
    }

    private static IReadOnlyList<string> Split(string[]? values) =>
        (values ?? Array.Empty<string>()).SelectMany(v => ProfileCheck.SelectedNames(v)).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>What <c>check</c> is asked for.</summary>
internal sealed record CheckRequest(IReadOnlyList<string> Files, IReadOnlyList<string> Profiles, string? ModelRoot, bool WarnAsError,
    IReadOnlyList<string> NoWarn, bool Verbose);
