using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>A diagnostic as the build check reports it: located in the JSON, or naming only a file, or neither.</summary>
/// <param name="Diagnostic">The diagnostic (its <see cref="FlashMoeDiagnostic.Location"/> when the JSON position is known).</param>
/// <param name="FileWithoutPosition">The file it concerns when it has no location (e.g. an unreadable profile file).</param>
public sealed record CheckDiagnostic(FlashMoeDiagnostic Diagnostic, string? FileWithoutPosition = null)
{
    /// <summary>The file the diagnostic is in, if any.</summary>
    public string? File => Diagnostic.Location?.Path ?? FileWithoutPosition;

    /// <summary>
    /// The line MSBuild prints for it: <c>file(line,col,endLine,endCol): warning FM1002: message</c>, or
    /// <c>file: error FM0301: message</c> without a position, or <c>FlashMoe: warning FM0302: message</c> without a
    /// file. <paramref name="severity"/> replaces the diagnostic's own (e.g. a warning made an error).
    /// </summary>
    public string ToCanonicalString(FlashMoeSeverity? severity = null)
    {
        var origin = File is null ? "FlashMoe" : File;
        if (Diagnostic.Location is { } l) origin += "(" + l.Line + "," + l.Column + "," + l.EndLine + "," + l.EndColumn + ")";
        var word = (severity ?? Diagnostic.Severity) switch
        {
            FlashMoeSeverity.Error => "error",
            FlashMoeSeverity.Warning => "warning",
            _ => "info",
        };
        return origin + ": " + word + " " + Diagnostic.Id + ": " + Diagnostic.Message;
    }
}

/// <summary>What the build check is asked to check.</summary>
public sealed record ProfileCheckRequest
{
    /// <summary>The profile files (<c>flashmoe.json</c>, <c>*.flashmoe.json</c>), absolute or relative to <see cref="ProjectDirectory"/>.</summary>
    public EquatableArray<string> ProfileFiles { get; init; }
    /// <summary>The profiles to check (<see cref="ProfileCheck.SelectedNames"/>); empty checks every profile.</summary>
    public EquatableArray<string> SelectedProfiles { get; init; }
    /// <summary>Another folder where relative <c>model.path</c> values are looked up (relative to <see cref="ProjectDirectory"/>).</summary>
    public string? ModelRoot { get; init; }
    /// <summary>The project (or current) directory.</summary>
    public string ProjectDirectory { get; init; } = string.Empty;
    /// <summary>
    /// Also report each file's profile-file diagnostics (FM00xx). The build leaves them to the source generator, which
    /// reports them in the same build; a command-line check has no generator and includes them.
    /// </summary>
    public bool IncludeProfileFileDiagnostics { get; init; }
    /// <summary>
    /// Threads the profiles are checked on at most; 0 (the default) is one per core. A check that runs beside other
    /// work (the build's own targets) takes 1, so it does not compete with that work for every core.
    /// </summary>
    public int MaxThreads { get; init; }
}

/// <summary>What the build check found: one entry per checked profile and every diagnostic, in report order.</summary>
/// <param name="Entries">The checked profiles, in file and document order (what <c>flashmoe.plan.json</c> holds).</param>
/// <param name="Diagnostics">Every diagnostic, in the order reported.</param>
public sealed record ProfileCheckResult(EquatableArray<PlanFileEntry> Entries, EquatableArray<CheckDiagnostic> Diagnostics)
{
    /// <summary>True when any diagnostic is an error (the build fails).</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Diagnostic.Severity == FlashMoeSeverity.Error);
}

/// <summary>
/// The build check: for each profile, reads the GGUF header (never the tensor data) or the declared facts, resolves
/// the profile with <see cref="ProfileResolver"/> for the hardware it declares (or a given host), and locates every
/// piece of advice at the JSON token that drives it. The MSBuild task (<c>FlashMoeCheckProfiles</c>) and the
/// <c>flashmoe check</c> / <c>plan</c> verbs only report what this returns, so they print the same diagnostics.
/// </summary>
public static class ProfileCheck
{
    /// <summary>Largest profile file read (a profile file is a few KiB; this bounds what a wrong item can cost).</summary>
    public const long MaxProfileFileBytes = 16L << 20;

    /// <summary>Runs the check over <paramref name="request"/>'s files.</summary>
    /// <param name="request">What to check.</param>
    /// <param name="log">Receives low-importance progress lines (which header was read, which paths were searched); may be null.</param>
    public static ProfileCheckResult Run(ProfileCheckRequest request, Action<string>? log = null)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        var projectDirectory = string.IsNullOrWhiteSpace(request.ProjectDirectory) ? Directory.GetCurrentDirectory() : request.ProjectDirectory;
        var selected = new HashSet<string>(request.SelectedProfiles, StringComparer.Ordinal);
        var knownNames = new List<string>();
        var seenFiles = new HashSet<string>(StringComparer.Ordinal);
        var documents = new List<ProfileDocument>();
        // Profiles usually share a model: its header is read once per run.
        var headers = new Dictionary<string, ReadHeader>(StringComparer.Ordinal);
        // The diagnostics in report order: each file's own, then each of its profiles' (filled in by the checks).
        var ordered = new List<List<CheckDiagnostic>>();
        var checks = new List<PendingCheck>();
        var lookup = new ModelLookup(request.ModelRoot, projectDirectory);

        foreach (var itemSpec in request.ProfileFiles)
        {
            if (string.IsNullOrWhiteSpace(itemSpec)) continue;
            var fileDiagnostics = new List<CheckDiagnostic>();
            ordered.Add(fileDiagnostics);
            var path = FullPath(itemSpec, projectDirectory);
            if (path is null)
            {
                fileDiagnostics.Add(Unreadable(itemSpec, "it is not a valid path"));
                continue;
            }
            if (!seenFiles.Add(path)) continue;
            var document = ReadDocument(path, out var failure);
            if (document is null)
            {
                fileDiagnostics.Add(failure!);
                continue;
            }

            documents.Add(document);
            if (request.IncludeProfileFileDiagnostics) fileDiagnostics.AddRange(document.Diagnostics.Select(d => new CheckDiagnostic(d, path)));
            knownNames.AddRange(document.ProfileNames);
            foreach (var parsed in document.Profiles)
            {
                if (selected.Count > 0 && !selected.Contains(parsed.Profile.Name)) continue;
                var check = new PendingCheck(parsed, path);
                checks.Add(check);
                ordered.Add(check.Diagnostics);
            }
        }

        RunChecks(checks, lookup, headers, log, request.MaxThreads > 0 ? request.MaxThreads : Environment.ProcessorCount);
        var entries = new List<PlanFileEntry>(checks.Count);
        foreach (var check in checks) entries.Add(check.Entry!);
        var diagnostics = new List<CheckDiagnostic>();
        foreach (var part in ordered) diagnostics.AddRange(part);

        if (request.IncludeProfileFileDiagnostics)
        {
            // The generator's one rule across files: a profile name declared twice is FM0004 at the later one.
            diagnostics.AddRange(ProfileParser.DuplicateNames(documents).Select(d => new CheckDiagnostic(d.Value)));
        }

        foreach (var name in request.SelectedProfiles.Distinct(StringComparer.Ordinal).Where(n => !knownNames.Contains(n, StringComparer.Ordinal)))
        {
            var closest = ProfileParser.ClosestName(name, knownNames);
            diagnostics.Add(new CheckDiagnostic(FlashMoeDiagnostic.Create(DiagnosticCatalog.SelectedProfileNotFound, null,
                name,
                closest is null ? string.Empty : " (did you mean '" + closest + "'?)",
                knownNames.Count == 0 ? "(none)" : string.Join(", ", knownNames.Distinct(StringComparer.Ordinal)))));
        }

        return new ProfileCheckResult(entries.ToEquatableArray(), diagnostics.ToEquatableArray());
    }

    /// <summary>One profile to check, with what its check reports (kept apart so checks can run in parallel).</summary>
    private sealed class PendingCheck
    {
        public PendingCheck(ParsedProfile parsed, string profileFile)
        {
            Parsed = parsed;
            ProfileFile = profileFile;
        }

        public ParsedProfile Parsed { get; }
        public string ProfileFile { get; }
        public List<CheckDiagnostic> Diagnostics { get; } = new();
        public PlanFileEntry? Entry { get; set; }
    }

    /// <summary>
    /// Runs the checks on up to <paramref name="maxThreads"/> threads (one per core unless asked otherwise): profiles are independent (Core keeps no shared mutable state;
    /// the header cache is locked), and a build waits for this target, so its wall time is the point. Diagnostics and
    /// entries are merged in profile order by the caller, so they do not depend on the scheduling; the progress lines
    /// go to <paramref name="log"/> one at a time as they come (a failing logger fails that profile's check alone).
    /// </summary>
    private static void RunChecks(List<PendingCheck> checks, ModelLookup lookup, Dictionary<string, ReadHeader> headers, Action<string>? log, int maxThreads)
    {
        var gate = new object();
        Action<string>? serialLog = log is null ? null : line =>
        {
            lock (gate) log(line);
        };
        var next = -1;
        void Work()
        {
            int i;
            while ((i = System.Threading.Interlocked.Increment(ref next)) < checks.Count)
            {
                var check = checks[i];
                check.Entry = CheckProfile(check.Parsed, check.ProfileFile, lookup, host: null, check.Diagnostics.Add, serialLog, headers);
            }
        }

        var helpers = Math.Min(maxThreads, checks.Count) - 1;
        var running = new System.Threading.Tasks.Task[Math.Max(0, helpers)];
        for (var h = 0; h < running.Length; h++) running[h] = System.Threading.Tasks.Task.Run(Work);
        Work();
        System.Threading.Tasks.Task.WaitAll(running);
    }

    /// <summary>
    /// Reads and parses one profile file; null with <paramref name="failure"/> (FM0301) when it cannot be read or is
    /// larger than <see cref="MaxProfileFileBytes"/>.
    /// </summary>
    public static ProfileDocument? ReadDocument(string path, out CheckDiagnostic? failure)
    {
        failure = null;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxProfileFileBytes)
            {
                failure = Unreadable(path, "it holds " + length + " bytes, more than the " + MaxProfileFileBytes + " a profile file may hold");
                return null;
            }
            return ProfileParser.Parse(path, File.ReadAllText(path, Encoding.UTF8));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            failure = Unreadable(path, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Checks one parsed profile: reads its model (the header of the file <paramref name="lookup"/> finds, else the
    /// declared facts), resolves it for <paramref name="host"/> (null: the hardware the profile declares) and reports
    /// the advice, located in the JSON. A failure inside (a bug) is reported as FM0399 for this profile alone.
    /// </summary>
    /// <param name="parsed">The profile and where its properties were written.</param>
    /// <param name="profileFile">Full path of the file that declares it.</param>
    /// <param name="lookup">Where the model is looked for (or the one file to use).</param>
    /// <param name="host">The host to resolve for; null for the profile's declared hardware (the build check).</param>
    /// <param name="report">Receives each diagnostic as it is found.</param>
    /// <param name="log">Receives low-importance progress lines; may be null.</param>
    public static PlanFileEntry CheckProfile(ParsedProfile parsed, string profileFile, ModelLookup lookup, HostFacts? host,
        Action<CheckDiagnostic> report, Action<string>? log = null) =>
        CheckProfile(parsed, profileFile, lookup, host, report, log, headers: null);

    /// <summary>A model header as one run of the check read it.</summary>
    private sealed record ReadHeader(ModelSummary Model, long BytesRead, long FileLength);

    private static PlanFileEntry CheckProfile(ParsedProfile parsed, string profileFile, ModelLookup lookup, HostFacts? host,
        Action<CheckDiagnostic> report, Action<string>? log, Dictionary<string, ReadHeader>? headers)
    {
        if (parsed is null) throw new ArgumentNullException(nameof(parsed));
        if (lookup is null) throw new ArgumentNullException(nameof(lookup));
        if (report is null) throw new ArgumentNullException(nameof(report));
        try
        {
            return Check(parsed, profileFile, lookup, host, report, log, headers);
        }
        catch (Exception e)
        {
            var failure = FlashMoeDiagnostic.Create(DiagnosticCatalog.BuildCheckInternalError, null,
                "profile '" + parsed.Profile.Name + "': " + e.GetType().Name + ": " + e.Message);
            var entry = new PlanFileEntry { ProfileName = parsed.Profile.Name, ProfileFile = profileFile, ModelPath = parsed.Profile.Model.Path };
            return Unusable(entry, new Advice(failure, string.Empty), parsed.Locations, report); // located at the profile name
        }
    }

    /// <summary>The profile names in <c>$(FlashMoeProfile)</c>'s form: separated by <c>;</c> or <c>,</c>, trimmed, without empties.</summary>
    public static EquatableArray<string> SelectedNames(string? names) =>
        (names ?? string.Empty).Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim()).Where(n => n.Length > 0)
            .Distinct(StringComparer.Ordinal).ToEquatableArray();

    private static PlanFileEntry Check(ParsedProfile parsed, string profileFile, ModelLookup lookup, HostFacts? host,
        Action<CheckDiagnostic> report, Action<string>? log, Dictionary<string, ReadHeader>? headers)
    {
        var profile = parsed.Profile;
        var locations = parsed.Locations;
        var candidates = lookup.ModelFile is { } given
            ? new[] { given }
            : ModelLocator.Candidates(profile.Model.Path, Path.GetDirectoryName(profileFile) ?? lookup.ProjectDirectory, lookup.ModelRoot, lookup.ProjectDirectory);
        var found = lookup.ModelFile ?? ModelLocator.Find(candidates);
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
                ReadHeader header;
                if (headers is null)
                {
                    header = ReadModelHeader(found);
                }
                else
                {
                    // Checks run in parallel: the first to need a file reads it, the others wait for it.
                    lock (headers)
                    {
                        if (!headers.TryGetValue(found, out var cached))
                        {
                            cached = ReadModelHeader(found);
                            headers.Add(found, cached);
                        }
                        header = cached;
                    }
                }
                model = header.Model;
                entry = entry with { ModelSource = ModelSource.File, HeaderBytesRead = header.BytesRead };
                log?.Invoke("FlashMoe: profile '" + profile.Name + "': read the GGUF header of '" + found + "' (" + header.BytesRead + " of "
                    + header.FileLength + " bytes) in " + stopwatch.ElapsedMilliseconds + " ms.");
            }
            catch (GgufFormatException e)
            {
                var format = e.ToDiagnostic();
                return Unusable(entry, new Advice(format with { Message = "Model file '" + found + "': " + format.Message }, "model.path"), locations, report);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException
                                           or ArgumentException or NotSupportedException)
            {
                // The file system refused the path or the file (not a regular file, locked, missing, a path .NET Framework rejects).
                return Unusable(entry, new Advice(FlashMoeDiagnostic.Create(DiagnosticCatalog.ModelFileUnreadable, null, found, e.Message), "model.path"), locations, report);
            }
        }
        else
        {
            // The planner reports FM1007 for a declared model and lists what it assumed.
            model = DeclaredModel.FromSpec(profile.Model);
            entry = entry with { ModelSource = ModelSource.Declared };
            if (candidates.Count > 0)
            {
                log?.Invoke("FlashMoe: profile '" + profile.Name + "': model '" + (profile.Model.Path ?? string.Empty) + "' not found at: "
                    + string.Join("; ", candidates) + ".");
            }
        }

        var resolved = host is null ? ProfileResolver.Resolve(profile, model) : ProfileResolver.Resolve(profile, model, host);
        var advice = resolved.Advice.Select(a => a with { Diagnostic = a.Locate(locations) }).ToEquatableArray();
        foreach (var a in advice) report(new CheckDiagnostic(a.Diagnostic));
        return entry with { Resolved = resolved, Advice = advice };
    }

    private static ReadHeader ReadModelHeader(string path)
    {
        var file = GgufReader.Read(path);
        return new ReadHeader(file.ToSummary(), file.BytesRead, file.FileLength);
    }

    private static PlanFileEntry Unusable(PlanFileEntry entry, Advice advice, ProfileLocations locations, Action<CheckDiagnostic> report)
    {
        var located = advice with { Diagnostic = advice.Locate(locations) };
        report(new CheckDiagnostic(located.Diagnostic));
        return entry with { ModelSource = ModelSource.Unusable, Advice = EquatableArray.Create(located) };
    }

    private static CheckDiagnostic Unreadable(string path, string reason) =>
        new(FlashMoeDiagnostic.Create(DiagnosticCatalog.ProfileFileUnreadable, null, path, reason), path);

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

/// <summary>Where the build check looks for a profile's model file.</summary>
/// <param name="ModelRoot">Another folder where relative <c>model.path</c> values are looked up (relative to <paramref name="ProjectDirectory"/>).</param>
/// <param name="ProjectDirectory">The project (or current) directory.</param>
/// <param name="ModelFile">The one GGUF file to use instead of <c>model.path</c> (a command line's explicit model); null searches.</param>
public sealed record ModelLookup(string? ModelRoot, string ProjectDirectory, string? ModelFile = null);
