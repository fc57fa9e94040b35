using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using Microsoft.Build.Framework;

namespace FlashMoe.Tasks;

/// <summary>What a check depends on besides the files: the task's parameters, equal when every one is.</summary>
internal sealed record CheckParameters(
    EquatableArray<string> ProfileFiles, string? ProfileName, string? ModelRoot, string ProjectDirectory, string? PlanOutputPath, string? CachePath);

/// <summary>
/// One run of the build check for a set of parameters: replays the cached result when its inputs are unchanged,
/// else runs Core's <see cref="ProfileCheck"/>, writes the plan file and pictures, and keeps the result for the next
/// build. Everything it reports goes to an <see cref="ICheckLog"/>, so it runs alike inside the task or on a worker thread.
/// </summary>
internal sealed class ProfileCheckRun
{
    private readonly CheckParameters _parameters;
    private readonly ICheckLog _log;
    private readonly List<string> _writtenFiles = new();
    private readonly int _maxThreads;
    private CheckResultCache? _recording;
    // What the run read, to tell later whether its result still holds: the profile files with their hashes (null when
    // one could not be read) and every model path it looked at, by identity.
    private List<(string Path, string Hash)>? _profileHashes;
    private List<FileIdentity>? _modelFiles;

    /// <param name="parameters">What to check.</param>
    /// <param name="log">Where its messages and diagnostics go.</param>
    /// <param name="maxThreads">Threads the profiles are checked on at most (<see cref="ProfileCheckRequest.MaxThreads"/>; 0: one per core).</param>
    public ProfileCheckRun(CheckParameters parameters, ICheckLog log, int maxThreads = 0)
    {
        _parameters = parameters;
        _log = log;
        _maxThreads = maxThreads;
    }

    /// <summary>What the run checked (the plan file holds the same). Empty when replayed.</summary>
    public IReadOnlyList<PlanFileEntry> CheckedProfiles { get; private set; } = Array.Empty<PlanFileEntry>();

    /// <summary>Whether the run replayed a cached result instead of checking.</summary>
    public bool Replayed { get; private set; }

    /// <summary>Whether the run reported an error (such a result is never cached).</summary>
    public bool ReportedError { get; private set; }

    public void Execute()
    {
        var stopwatch = Stopwatch.StartNew();
        var projectDirectory = _parameters.ProjectDirectory;
        var cachePath = string.IsNullOrWhiteSpace(_parameters.CachePath) ? null : FullPath(_parameters.CachePath!, projectDirectory);
        var profileHashes = _profileHashes = HashProfileFiles(projectDirectory);
        var key = profileHashes is null ? null : CacheKey();
        if (cachePath is not null && profileHashes is not null && key is not null
            && CheckResultCache.TryRead(cachePath) is { } cached && cached.Matches(key, profileHashes))
        {
            Replayed = true;
            _modelFiles = cached.ModelFiles;
            foreach (var diagnostic in cached.Diagnostics) Emit(diagnostic);
            _log.Message(MessageImportance.Normal, string.Format(CultureInfo.InvariantCulture,
                "{0} Inputs unchanged: the result was replayed from '{1}' in {2} ms.", cached.Summary, cachePath, stopwatch.ElapsedMilliseconds));
            return;
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
        // Counted by loops: LINQ's Sum over long is generic math the first build would JIT-compile. A header shared by
        // several profiles is read once and counted once.
        var declared = 0;
        long headerBytes = 0;
        var headerFiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in CheckedProfiles)
        {
            if (p.HeaderBytesRead is { } read && p.ModelPath is { } model && headerFiles.Add(model)) headerBytes += read;
            if (p.ModelSource == ModelSource.Declared) declared++;
        }
        var summary = string.Format(CultureInfo.InvariantCulture,
            "FlashMoeCheckProfiles: {0} profile(s) checked ({1} GGUF header(s) read, {2} bytes in all; {3} from declared facts).",
            CheckedProfiles.Count, headerFiles.Count, headerBytes, declared);
        _log.Message(MessageImportance.Normal, string.Format(CultureInfo.InvariantCulture, "{0} Took {1} ms.", summary, stopwatch.ElapsedMilliseconds));

        // Every model path the check looked at, found or not (identities taken now: a file replaced during this build
        // differs from them next time at the latest).
        var modelPaths = CheckedProfiles.SelectMany(p => p.SearchedPaths.Concat(p.ModelSource == ModelSource.File && p.ModelPath is { } m ? new[] { m } : Array.Empty<string>()));
        _modelFiles = modelPaths.Distinct(StringComparer.Ordinal).Select(FileIdentity.Of).ToList();

        // Only a clean result is kept: an error may be passing (a locked file) and must be looked at again.
        if (_recording is not null && cachePath is not null && !ReportedError)
        {
            _recording.Summary = summary;
            // The model files and every file it wrote (plan, pictures).
            _recording.ModelFiles.AddRange(_modelFiles);
            _recording.OutputFiles.AddRange(_writtenFiles.Distinct(StringComparer.Ordinal).Select(FileIdentity.Of));
            _recording.TryWrite(cachePath);
        }
    }

    /// <summary>
    /// Whether what the finished run read is still what is on disk: the same profile bytes and the same model files
    /// by identity. A check started early is used only then (a target may write a profile or fetch a model meanwhile).
    /// </summary>
    public bool InputsUnchanged()
    {
        if (_profileHashes is null || _modelFiles is null) return false;
        return HashProfileFiles(_parameters.ProjectDirectory) is { } now && CheckResultCache.SameHashes(_profileHashes, now)
               && CheckResultCache.Unchanged(_modelFiles);
    }

    /// <summary>
    /// Everything besides the files that decides the result: the exact builds of this task and of Core (their module
    /// version IDs change with every code change), the task's parameters, and the home folder (<c>~/</c> model paths).
    /// </summary>
    private string CacheKey() => string.Join("\n",
        typeof(ProfileCheckRun).Assembly.ManifestModule.ModuleVersionId.ToString(),
        typeof(ProfileResolver).Assembly.ManifestModule.ModuleVersionId.ToString(),
        _parameters.ProfileName ?? string.Empty, _parameters.ModelRoot ?? string.Empty, _parameters.ProjectDirectory, _parameters.PlanOutputPath ?? string.Empty,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The profile files as the check will see them, with their bytes' hashes; null when one cannot be read (no cache then).</summary>
    private List<(string Path, string Hash)>? HashProfileFiles(string projectDirectory)
    {
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var itemSpec in _parameters.ProfileFiles)
        {
            if (string.IsNullOrWhiteSpace(itemSpec)) continue;
            var path = FullPath(itemSpec, projectDirectory);
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

    internal static string? FullPath(string itemSpec, string projectDirectory)
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
            ProfileFiles = _parameters.ProfileFiles,
            SelectedProfiles = ProfileCheck.SelectedNames(_parameters.ProfileName),
            ModelRoot = _parameters.ModelRoot,
            ProjectDirectory = projectDirectory,
            MaxThreads = _maxThreads,
        };
        // The check itself is Core's (the flashmoe tool's `check` verb runs the same); this run only reports what it found.
        var result = ProfileCheck.Run(request, message => _log.Message(MessageImportance.Low, message));
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
        if (string.IsNullOrWhiteSpace(_parameters.PlanOutputPath)) return;
        foreach (var entry in entries)
        {
            if (entry.Resolved is null) continue;
            var plan = Path.GetFullPath(Path.Combine(projectDirectory, _parameters.PlanOutputPath!));
            WriteIfChanged(Path.Combine(Path.GetDirectoryName(plan) ?? projectDirectory, "flashmoe.plan." + entry.ProfileName + ".svg"),
                PlanSvg.Render(entry.Resolved));
        }
    }

    /// <summary>Writes the plan file, only when its content changed (an unchanged file keeps incremental builds quiet).</summary>
    private void WritePlan(IReadOnlyList<PlanFileEntry> entries, string projectDirectory)
    {
        if (string.IsNullOrWhiteSpace(_parameters.PlanOutputPath)) return;
        WriteIfChanged(Path.Combine(projectDirectory, _parameters.PlanOutputPath!), PlanFile.ToJson(entries));
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
                _log.Message(MessageImportance.Low, "FlashMoe: '" + path + "' is up to date.");
                return;
            }
            var directory = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            _log.Message(MessageImportance.Low, "FlashMoe: wrote '" + path + "'.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            Report(FlashMoeDiagnostic.Create(DiagnosticCatalog.PlanFileNotWritten, null, path ?? file, e.Message));
        }
    }

    /// <summary>Reports a diagnostic with its code and JSON location, so NoWarn / WarningsAsErrors / -warnaserror apply by code.</summary>
    internal void Report(FlashMoeDiagnostic diagnostic, string? fileWithoutPosition = null)
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

    private void Emit(LoggedDiagnostic diagnostic)
    {
        if (diagnostic.Severity == LoggedDiagnostic.Error) ReportedError = true;
        _log.Diagnostic(diagnostic);
    }
}
