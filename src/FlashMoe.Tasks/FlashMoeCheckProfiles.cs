using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Task = Microsoft.Build.Utilities.Task;

namespace FlashMoe.Tasks;

/// <summary>
/// The build-time memory check behind the <c>FlashMoeCheckProfiles</c> target (build/FlashMoe.targets): runs Core's
/// <see cref="ProfileCheck"/> (for each profile: the GGUF header, never the tensor data, or the declared facts,
/// resolved with <see cref="ProfileResolver"/> for the hardware it declares), logs every diagnostic with its FM code
/// at the JSON token that drives it, and writes <c>flashmoe.plan.json</c> plus one <c>flashmoe.plan.&lt;Profile&gt;.svg</c>
/// per planned profile. A thin adapter: every rule lives in FlashMoe.Core, and <c>flashmoe check</c> runs the same.
/// Profile-file diagnostics (FM00xx) are the source generator's and are not repeated here.
/// </summary>
public sealed class FlashMoeCheckProfiles : Task
{
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
        var request = new ProfileCheckRequest
        {
            ProfileFiles = (ProfileFiles ?? Array.Empty<ITaskItem>()).Where(i => i is not null).Select(i => i.ItemSpec).ToEquatableArray(),
            SelectedProfiles = ProfileCheck.SelectedNames(ProfileName),
            ModelRoot = ModelRoot,
            ProjectDirectory = projectDirectory,
        };
        // The check itself is Core's (the flashmoe tool's `check` verb runs the same); this task only logs what it found.
        var result = ProfileCheck.Run(request, message => Log.LogMessage(MessageImportance.Low, message));
        foreach (var diagnostic in result.Diagnostics) Report(diagnostic.Diagnostic, diagnostic.FileWithoutPosition);
        CheckedProfiles = result.Entries;
        WritePlan(result.Entries, projectDirectory);
        WritePictures(result.Entries, projectDirectory);
    }

    /// <summary>
    /// Writes <c>flashmoe.plan.&lt;Profile&gt;.svg</c> (Core's <see cref="PlanSvg"/>) beside the plan file for each planned
    /// profile, only when its content changed, so an IDE can open the picture of the last build.
    /// </summary>
    private void WritePictures(IReadOnlyList<PlanFileEntry> entries, string projectDirectory)
    {
        if (string.IsNullOrWhiteSpace(PlanOutputPath)) return;
        foreach (var entry in entries)
        {
            if (entry.Resolved is null) continue;
            var plan = Path.GetFullPath(Path.Combine(projectDirectory, PlanOutputPath!));
            WriteIfChanged(Path.Combine(Path.GetDirectoryName(plan) ?? projectDirectory, "flashmoe.plan." + entry.ProfileName + ".svg"),
                PlanSvg.Render(entry.Resolved));
        }
    }

    /// <summary>Writes the plan file, only when its content changed (an unchanged file keeps incremental builds quiet).</summary>
    private void WritePlan(IReadOnlyList<PlanFileEntry> entries, string projectDirectory)
    {
        if (string.IsNullOrWhiteSpace(PlanOutputPath)) return;
        WriteIfChanged(Path.Combine(projectDirectory, PlanOutputPath!), PlanFile.ToJson(entries));
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="file"/> unless it already holds exactly that; FM0304 when it cannot.</summary>
    private void WriteIfChanged(string file, string content)
    {
        string? path = null;
        try
        {
            path = Path.GetFullPath(file);
            if (File.Exists(path) && string.Equals(File.ReadAllText(path, Encoding.UTF8), content, StringComparison.Ordinal))
            {
                Log.LogMessage(MessageImportance.Low, "FlashMoe: '{0}' is up to date.", path);
                return;
            }
            var directory = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            Log.LogMessage(MessageImportance.Low, "FlashMoe: wrote '{0}'.", path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.PlanFileNotWritten, null, path ?? file, e.Message));
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
}
