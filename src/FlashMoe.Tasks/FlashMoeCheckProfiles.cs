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

    /// <summary>
    /// Where the result of the last check is kept (<c>$(IntermediateOutputPath)flashmoe.check.cache</c>); empty keeps
    /// none. With unchanged inputs the next build logs the same diagnostics from it without checking again.
    /// </summary>
    public string? CachePath { get; set; }

    /// <summary>What the last <see cref="Execute"/> checked (tests read it; the plan file holds the same). Empty when replayed.</summary>
    internal IReadOnlyList<PlanFileEntry> CheckedProfiles { get; private set; } = Array.Empty<PlanFileEntry>();

    /// <summary>Whether the last <see cref="Execute"/> replayed a cached result instead of checking.</summary>
    internal bool Replayed { get; private set; }

    private CheckResultCache? _recording;
    private bool _reportedError;
    private readonly List<string> _writtenFiles = new();

    /// <inheritdoc />
    public override bool Execute()
    {
        var stopwatch = Stopwatch.StartNew();
        var projectDirectory = string.IsNullOrWhiteSpace(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory!;
        var cachePath = string.IsNullOrWhiteSpace(CachePath) ? null : FullPath(CachePath!, projectDirectory);
        var profileHashes = cachePath is null ? null : HashProfileFiles(projectDirectory);
        var key = profileHashes is null ? null : CacheKey(projectDirectory);
        if (cachePath is not null && profileHashes is not null && key is not null
            && CheckResultCache.TryRead(cachePath) is { } cached && cached.Matches(key, profileHashes))
        {
            Replayed = true;
            foreach (var diagnostic in cached.Diagnostics) Emit(diagnostic);
            Log.LogMessage(MessageImportance.Normal, "{0} Inputs unchanged: the result was replayed from '{1}' in {2} ms.",
                cached.Summary, cachePath, stopwatch.ElapsedMilliseconds);
            return !_reportedError;
        }

        if (cachePath is not null && profileHashes is not null && key is not null)
        {
            _recording = new CheckResultCache { Key = key };
            _recording.ProfileFiles.AddRange(profileHashes);
        }
        try
        {
            Run(projectDirectory);
        }
        catch (Exception e)
        {
            // A bug must not take the build down with a stack trace: report it as a coded error instead.
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.BuildCheckInternalError, null, e.GetType().Name + ": " + e.Message));
        }
        // Counted by a loop: LINQ's Sum over long is generic math the first build would JIT-compile.
        int headers = 0, declared = 0;
        long headerBytes = 0;
        foreach (var p in CheckedProfiles)
        {
            if (p.HeaderBytesRead is { } read)
            {
                headers++;
                headerBytes += read;
            }
            if (p.ModelSource == ModelSource.Declared) declared++;
        }
        var summary = string.Format(System.Globalization.CultureInfo.InvariantCulture,
            "FlashMoeCheckProfiles: {0} profile(s) checked ({1} GGUF header(s) read, {2} bytes in all; {3} from declared facts).",
            CheckedProfiles.Count, headers, headerBytes, declared);
        Log.LogMessage(MessageImportance.Normal, "{0} Took {1} ms.", summary, stopwatch.ElapsedMilliseconds);

        // Only a clean result is kept: an error may be passing (a locked file) and must be looked at again.
        if (_recording is not null && cachePath is not null && !_reportedError)
        {
            _recording.Summary = summary;
            // Every model path the check looked at, found or not (identities taken now: a file replaced during this
            // build differs from them next time at the latest), and every file it wrote (plan, pictures).
            var modelPaths = CheckedProfiles.SelectMany(p => p.SearchedPaths.Concat(p.ModelSource == ModelSource.File && p.ModelPath is { } m ? new[] { m } : Array.Empty<string>()));
            _recording.ModelFiles.AddRange(modelPaths.Distinct(StringComparer.Ordinal).Select(FileIdentity.Of));
            _recording.OutputFiles.AddRange(_writtenFiles.Distinct(StringComparer.Ordinal).Select(FileIdentity.Of));
            _recording.TryWrite(cachePath);
        }
        return !Log.HasLoggedErrors && !_reportedError;
    }

    /// <summary>
    /// Everything besides the files that decides the result: the exact builds of this task and of Core (their module
    /// version IDs change with every code change), the task's parameters, and the home folder (<c>~/</c> model paths).
    /// </summary>
    private string CacheKey(string projectDirectory) => string.Join("\n",
        typeof(FlashMoeCheckProfiles).Assembly.ManifestModule.ModuleVersionId.ToString(),
        typeof(ProfileResolver).Assembly.ManifestModule.ModuleVersionId.ToString(),
        ProfileName ?? string.Empty, ModelRoot ?? string.Empty, projectDirectory, PlanOutputPath ?? string.Empty,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The profile files as the check will see them, with their bytes' hashes; null when one cannot be read (no cache then).</summary>
    private List<(string Path, string Hash)>? HashProfileFiles(string projectDirectory)
    {
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in ProfileFiles ?? Array.Empty<ITaskItem>())
        {
            if (item is null || string.IsNullOrWhiteSpace(item.ItemSpec)) continue;
            var path = FullPath(item.ItemSpec, projectDirectory);
            if (path is null) return null;
            if (!seen.Add(path)) continue;
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists || info.Length > ProfileCheck.MaxProfileFileBytes) return null;
                var bytes = File.ReadAllBytes(path);
                result.Add((path, CheckResultCache.Sha256(bytes, bytes.Length)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
            {
                return null;
            }
        }
        return result;
    }

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

    private void Run(string projectDirectory)
    {
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
            _writtenFiles.Add(path);
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
        var severity = diagnostic.Severity switch
        {
            FlashMoeSeverity.Error => LoggedDiagnostic.Error,
            FlashMoeSeverity.Warning => LoggedDiagnostic.Warning,
            _ => LoggedDiagnostic.Info,
        };
        var logged = new LoggedDiagnostic(severity, diagnostic.Id, location?.Path ?? fileWithoutPosition,
            location?.Line ?? 0, location?.Column ?? 0, location?.EndLine ?? 0, location?.EndColumn ?? 0, diagnostic.Message);
        _recording?.Diagnostics.Add(logged);
        Emit(logged);
    }

    /// <summary>Logs one diagnostic (checked now or replayed): the same call either way, so MSBuild treats both alike.</summary>
    private void Emit(LoggedDiagnostic d)
    {
        // No message arguments are passed, so MSBuild shows the message as is (braces in a regex stay intact).
        // No help link: the 16.6 API the task compiles against (so every MSBuild host loads it) has no helpLink
        // parameter; the code itself is the key to docs/diagnostics.md, and the generator's descriptors carry the link.
        switch (d.Severity)
        {
            case LoggedDiagnostic.Error:
                _reportedError = true;
                Log.LogError(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, d.Message);
                break;
            case LoggedDiagnostic.Warning:
                Log.LogWarning(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, d.Message);
                break;
            default:
                // Info keeps its code and location but is a message: shown with -v:n, never a warning.
                Log.LogMessage(null, d.Code, null, d.File, d.Line, d.Column, d.EndLine, d.EndColumn, MessageImportance.Normal, d.Message);
                break;
        }
    }
}
