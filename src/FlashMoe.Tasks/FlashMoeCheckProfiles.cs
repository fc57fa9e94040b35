using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Task = Microsoft.Build.Utilities.Task;

namespace FlashMoe.Tasks;

/// <summary>
/// The build-time memory check behind the <c>FlashMoeCheckProfiles</c> target (build/FlashMoe.targets): for each
/// profile, reads the GGUF header (never the tensor data) or the declared facts, resolves the profile with Core's
/// <see cref="ProfileResolver"/> for the hardware it declares, logs every piece of advice with its FM code at the JSON
/// token that drives it, and writes <c>flashmoe.plan.json</c>. A thin adapter: every rule lives in FlashMoe.Core.
/// Profile-file diagnostics (FM00xx) are the source generator's and are not repeated here.
/// </summary>
public sealed class FlashMoeCheckProfiles : Task
{
    /// <summary>Largest profile file read (a profile file is a few KiB; this bounds what a wrong item can cost).</summary>
    internal const long MaxProfileFileBytes = 16L << 20;

    /// <summary>The profile files (<c>flashmoe.json</c>, <c>*.flashmoe.json</c>) from <c>AdditionalFiles</c>.</summary>
    [Required]
    public ITaskItem[] ProfileFiles { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The profile to check (<c>$(FlashMoeProfile)</c>; several may be separated by <c>;</c>); empty checks every profile.</summary>
    public string? ProfileName { get; set; }

    /// <summary>Where relative model paths are also looked up (<c>$(FlashMoeModelRoot)</c>; relative to <see cref="ProjectDirectory"/>).</summary>
    public string? ModelRoot { get; set; }

    /// <summary>The project directory (<c>$(MSBuildProjectDirectory)</c>).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>Where the plan per profile is written (<c>$(IntermediateOutputPath)flashmoe.plan.json</c>); empty writes none.</summary>
    public string? PlanOutputPath { get; set; }

    /// <summary>What the last <see cref="Execute"/> checked (tests read it; the plan file holds the same).</summary>
    internal IReadOnlyList<PlanFileEntry> CheckedProfiles { get; private set; } = Array.Empty<PlanFileEntry>();

    /// <inheritdoc />
    public override bool Execute()
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            Run();
        }
        catch (Exception e)
        {
            // A bug must not take the build down with a stack trace: report it as a coded error instead.
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.BuildCheckInternalError, null, e.GetType().Name + ": " + e.Message));
        }
        var headers = CheckedProfiles.Where(p => p.HeaderBytesRead is not null).ToList();
        Log.LogMessage(MessageImportance.Normal,
            "FlashMoeCheckProfiles: {0} profile(s) checked in {1} ms ({2} GGUF header(s) read, {3} bytes in all; {4} from declared facts).",
            CheckedProfiles.Count, stopwatch.ElapsedMilliseconds, headers.Count, headers.Sum(p => p.HeaderBytesRead ?? 0),
            CheckedProfiles.Count(p => p.ModelSource == ModelSource.Declared));
        return !Log.HasLoggedErrors;
    }

    private void Run()
    {
        var projectDirectory = string.IsNullOrWhiteSpace(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory!;
        var selected = SelectedNames(ProfileName);
        var knownNames = new List<string>();
        var checkedProfiles = new List<PlanFileEntry>();
        var seenFiles = new HashSet<string>(StringComparer.Ordinal);

        foreach (var item in ProfileFiles ?? Array.Empty<ITaskItem>())
        {
            if (item is null || string.IsNullOrWhiteSpace(item.ItemSpec)) continue;
            var path = FullPath(item.ItemSpec, projectDirectory);
            if (path is null)
            {
                ReportUnreadable(item.ItemSpec, "it is not a valid path");
                continue;
            }
            if (!seenFiles.Add(path)) continue;
            var text = ReadProfileFile(path);
            if (text is null) continue;

            // The generator reports this document's FM00xx diagnostics; here only its valid profiles matter.
            var document = ProfileParser.Parse(path, text);
            knownNames.AddRange(document.ProfileNames);
            foreach (var parsed in document.Profiles)
            {
                if (selected.Count > 0 && !selected.Contains(parsed.Profile.Name)) continue;
                checkedProfiles.Add(CheckGuarded(parsed, path, projectDirectory));
            }
        }

        foreach (var name in selected.Where(n => !knownNames.Contains(n, StringComparer.Ordinal)))
        {
            var closest = ProfileParser.ClosestName(name, knownNames);
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.SelectedProfileNotFound, null,
                name,
                closest is null ? string.Empty : " (did you mean '" + closest + "'?)",
                knownNames.Count == 0 ? "(none)" : string.Join(", ", knownNames.Distinct(StringComparer.Ordinal))));
        }

        CheckedProfiles = checkedProfiles;
        WritePlan(checkedProfiles, projectDirectory);
    }

    /// <summary>
    /// <see cref="Check"/>, with a failure inside it (a bug) reported as FM0399 for this profile alone: the other
    /// profiles are still checked and the plan file still written.
    /// </summary>
    private PlanFileEntry CheckGuarded(ParsedProfile parsed, string profileFile, string projectDirectory)
    {
        try
        {
            return Check(parsed, profileFile, projectDirectory);
        }
        catch (Exception e)
        {
            var failure = FlashMoeDiagnostic.Create(DiagnosticCatalog.BuildCheckInternalError, null,
                "profile '" + parsed.Profile.Name + "': " + e.GetType().Name + ": " + e.Message);
            var entry = new PlanFileEntry { ProfileName = parsed.Profile.Name, ProfileFile = profileFile, ModelPath = parsed.Profile.Model.Path };
            return Unusable(entry, new Advice(failure, string.Empty), parsed.Locations); // located at the profile name
        }
    }

    /// <summary>Reads the model (header or declared facts), resolves the profile for its declared hardware and reports the advice.</summary>
    private PlanFileEntry Check(ParsedProfile parsed, string profileFile, string projectDirectory)
    {
        var profile = parsed.Profile;
        var locations = parsed.Locations;
        var candidates = ModelLocator.Candidates(profile.Model.Path, Path.GetDirectoryName(profileFile) ?? projectDirectory, ModelRoot, projectDirectory);
        var found = ModelLocator.Find(candidates);
        var entry = new PlanFileEntry
        {
            ProfileName = profile.Name,
            ProfileFile = profileFile,
            ModelPath = found ?? profile.Model.Path,
            SearchedPaths = candidates.ToEquatableArray(),
        };

        ModelSummary model;
        if (found is not null)
        {
            try
            {
                var stopwatch = Stopwatch.StartNew();
                var header = GgufReader.Read(found);
                model = header.ToSummary();
                entry = entry with { ModelSource = ModelSource.File, HeaderBytesRead = header.BytesRead };
                Log.LogMessage(MessageImportance.Low, "FlashMoe: profile '{0}': read the GGUF header of '{1}' ({2} of {3} bytes) in {4} ms.",
                    profile.Name, found, header.BytesRead, header.FileLength, stopwatch.ElapsedMilliseconds);
            }
            catch (GgufFormatException e)
            {
                var format = e.ToDiagnostic();
                return Unusable(entry, new Advice(format with { Message = "Model file '" + found + "': " + format.Message }, "model.path"), locations);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException
                                           or ArgumentException or NotSupportedException)
            {
                // The file system refused the path or the file (not a regular file, locked, a path .NET Framework rejects).
                return Unusable(entry, new Advice(FlashMoeDiagnostic.Create(DiagnosticCatalog.ModelFileUnreadable, null, found, e.Message), "model.path"), locations);
            }
        }
        else
        {
            // The planner reports FM1007 for a declared model and lists what it assumed.
            model = DeclaredModel.FromSpec(profile.Model);
            entry = entry with { ModelSource = ModelSource.Declared };
            if (candidates.Count > 0)
            {
                Log.LogMessage(MessageImportance.Low, "FlashMoe: profile '{0}': model '{1}' not found at: {2}.",
                    profile.Name, profile.Model.Path ?? string.Empty, string.Join("; ", candidates));
            }
        }

        var resolved = ProfileResolver.Resolve(profile, model);
        var advice = resolved.Advice.Select(a => a with { Diagnostic = a.Locate(locations) }).ToEquatableArray();
        foreach (var a in advice) Report(a.Diagnostic);
        return entry with { Resolved = resolved, Advice = advice };
    }

    private PlanFileEntry Unusable(PlanFileEntry entry, Advice advice, ProfileLocations locations)
    {
        var located = advice with { Diagnostic = advice.Locate(locations) };
        Report(located.Diagnostic);
        return entry with { ModelSource = ModelSource.Unusable, Advice = EquatableArray.Create(located) };
    }

    private string? ReadProfileFile(string path)
    {
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxProfileFileBytes)
            {
                ReportUnreadable(path, "it holds " + length + " bytes, more than the " + MaxProfileFileBytes + " a profile file may hold");
                return null;
            }
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            ReportUnreadable(path, e.Message);
            return null;
        }
    }

    private void ReportUnreadable(string path, string reason) =>
        Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.ProfileFileUnreadable, null, path, reason), path);

    /// <summary>Writes the plan file, only when its content changed (an unchanged file keeps incremental builds quiet).</summary>
    private void WritePlan(IReadOnlyList<PlanFileEntry> entries, string projectDirectory)
    {
        if (string.IsNullOrWhiteSpace(PlanOutputPath)) return;
        string? path = null;
        try
        {
            path = Path.GetFullPath(Path.Combine(projectDirectory, PlanOutputPath!));
            var json = PlanFile.ToJson(entries);
            if (File.Exists(path) && string.Equals(File.ReadAllText(path, Encoding.UTF8), json, StringComparison.Ordinal))
            {
                Log.LogMessage(MessageImportance.Low, "FlashMoe: plan '{0}' is up to date.", path);
                return;
            }
            var directory = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            File.WriteAllText(path, json, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            Log.LogMessage(MessageImportance.Low, "FlashMoe: plan written to '{0}'.", path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.PlanFileNotWritten, null, path ?? PlanOutputPath, e.Message));
        }
    }

    /// <summary>Logs a diagnostic with its code and JSON location, so NoWarn / WarningsAsErrors / -warnaserror apply by code.</summary>
    private void Report(FlashMoeDiagnostic diagnostic, string? fileWithoutPosition = null)
    {
        var location = diagnostic.Location;
        var file = location?.Path ?? fileWithoutPosition;
        int line = location?.Line ?? 0, column = location?.Column ?? 0, endLine = location?.EndLine ?? 0, endColumn = location?.EndColumn ?? 0;
        // No message arguments are passed, so MSBuild shows the message as is (braces in a regex stay intact).
        // No help link: the 16.6 API the task compiles against (so every MSBuild host loads it) has no helpLink
        // parameter; the code itself is the key to docs/diagnostics.md, and the generator's descriptors carry the link.
        switch (diagnostic.Severity)
        {
            case FlashMoeSeverity.Error:
                Log.LogError(null, diagnostic.Id, null, file, line, column, endLine, endColumn, diagnostic.Message);
                break;
            case FlashMoeSeverity.Warning:
                Log.LogWarning(null, diagnostic.Id, null, file, line, column, endLine, endColumn, diagnostic.Message);
                break;
            default:
                // Info keeps its code and location but is a message: shown with -v:n, never a warning.
                Log.LogMessage(null, diagnostic.Id, null, file, line, column, endLine, endColumn, MessageImportance.Normal, diagnostic.Message);
                break;
        }
    }

    private static HashSet<string> SelectedNames(string? names) => new(
        (names ?? string.Empty).Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim()).Where(n => n.Length > 0),
        StringComparer.Ordinal);

    private static string? FullPath(string itemSpec, string projectDirectory)
    {
        try
        {
            return Path.GetFullPath(Path.IsPathRooted(itemSpec) ? itemSpec : Path.Combine(projectDirectory, itemSpec));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
    }
}
