using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>
/// Reads a <c>flashmoe.json</c> profile file into <see cref="FlashMoeProfile"/> objects, the locations of every
/// written property and the profile diagnostics FM0001–FM0013. It checks the file on its own terms (syntax,
/// names, types, ranges, values that contradict each other); whether the model fits the machine is the build
/// check's job (FM1xxx), so nothing is reported twice. Omitted values take the defaults of
/// <see cref="LoadOptions.Default"/>, <see cref="CpuSpec.Unknown"/> and <see cref="KvCacheSpec.Default"/>.
/// </summary>
public static class ProfileParser
{
    /// <summary>Largest accepted size in GiB (1 PiB): keeps byte counts far inside a 64-bit integer.</summary>
    public const double MaxGiB = 1024 * 1024;

    /// <summary>
    /// Largest accepted core or thread count, and the largest layer count a load option may ask for (<c>gpuLayers</c>,
    /// <c>expertsOnCpu</c>: like llama.cpp's <c>-ngl 999</c>, more than the model has means all): far above any real
    /// machine, far below overflow. A model's own layer and expert counts are capped by <see cref="ModelLimits"/>.
    /// </summary>
    public const int MaxCount = 65536;

    /// <summary>Longest accepted tensor-override pattern, in characters.</summary>
    public const int MaxPatternLength = 4096;

    /// <summary>
    /// At most this many diagnostics are reported per file (like a compiler's error limit): a hostile or
    /// machine-generated file with millions of bad members must not flood the build or cost minutes.
    /// </summary>
    public const int MaxDiagnosticsPerFile = 500;

    /// <summary>
    /// Parses one profile file. Never throws: syntax errors become FM0001, an unexpected failure FM0099.
    /// Profiles with an error-severity diagnostic are left out of <see cref="ProfileDocument.Profiles"/>;
    /// warnings do not exclude a profile. Diagnostics are in document order.
    /// </summary>
    /// <param name="path">The file's path; used only to label locations.</param>
    /// <param name="text">The file's text.</param>
    public static ProfileDocument Parse(string path, string text)
    {
        path ??= string.Empty;
        var diagnostics = new List<FlashMoeDiagnostic>();
        var profiles = new List<ParsedProfile>();
        var names = new List<string>();
        try
        {
            var result = PositionedJsonParser.Parse(text ?? string.Empty);
            if (result.Error is { } error)
            {
                diagnostics.Add(FlashMoeDiagnostic.Create(DiagnosticCatalog.InvalidJson, error.Span.ToLocation(path), error.Message));
            }
            else if (result.Root is { } root)
            {
                new ProfileDocumentReader(path, diagnostics, profiles, names).ReadRoot(root);
            }
        }
        catch (Exception e)
        {
            // A bug guard: the reader is written not to throw, but a crash inside the compiler or MSBuild
            // would be far worse than a coded error that asks for a report.
            profiles.Clear();
            diagnostics.Add(FlashMoeDiagnostic.Create(
                DiagnosticCatalog.ProfileInternalError, new SourceLocation(path, 1, 1, 1, 1, 0, 0), e.GetType().Name + ": " + e.Message));
        }
        return new ProfileDocument(path, profiles.ToEquatableArray(), InFileOrder(diagnostics)) { ProfileNames = names.ToEquatableArray() };
    }

    /// <summary>
    /// The diagnostics by their position in the file (unlocated ones first), in report order where positions tie. A
    /// stable insertion sort of a short list rather than LINQ OrderBy over (diagnostic, index) tuples: generics over
    /// value tuples are not precompiled (ReadyToRun) and would be JIT-compiled in every build's first check.
    /// </summary>
    private static EquatableArray<FlashMoeDiagnostic> InFileOrder(List<FlashMoeDiagnostic> diagnostics)
    {
        var ordered = diagnostics.ToArray();
        for (var i = 1; i < ordered.Length; i++)
        {
            var item = ordered[i];
            var offset = OffsetOf(item);
            var j = i - 1;
            for (; j >= 0 && OffsetOf(ordered[j]) > offset; j--) ordered[j + 1] = ordered[j];
            ordered[j + 1] = item;
        }
        return EquatableArray<FlashMoeDiagnostic>.Own(ordered);
    }

    private static int OffsetOf(FlashMoeDiagnostic diagnostic) => diagnostic.Location is { } location ? location.Offset : -1;

    /// <summary>
    /// The profiles of a project whose name an earlier file (in ordinal path order, as the build merges them) already
    /// declares, each with its FM0004 at the later profile's name: profile names are unique across a project's files.
    /// The generator and the command-line check (<c>flashmoe check</c>) both report these; the later profile is skipped.
    /// </summary>
    /// <param name="documents">The project's parsed profile files, in any order.</param>
    public static IReadOnlyList<KeyValuePair<ParsedProfile, FlashMoeDiagnostic>> DuplicateNames(IEnumerable<ProfileDocument> documents)
    {
        if (documents is null) throw new ArgumentNullException(nameof(documents));
        var duplicates = new List<KeyValuePair<ParsedProfile, FlashMoeDiagnostic>>();
        var declared = new Dictionary<string, ParsedProfile>(StringComparer.Ordinal);
        foreach (var document in documents.OrderBy(d => d.Path, StringComparer.Ordinal))
        {
            foreach (var parsed in document.Profiles)
            {
                if (declared.TryGetValue(parsed.Profile.Name, out var first))
                {
                    var firstAt = first.Locations.Profile;
                    duplicates.Add(new KeyValuePair<ParsedProfile, FlashMoeDiagnostic>(parsed, FlashMoeDiagnostic.Create(
                        DiagnosticCatalog.InvalidProfileName, parsed.Locations.Profile, parsed.Profile.Name,
                        "is already declared in " + FileName(firstAt.Path) + " (line " + firstAt.Line.ToString(CultureInfo.InvariantCulture)
                        + "); profile names must be unique across all profile files of a project")));
                    continue;
                }
                declared.Add(parsed.Profile.Name, parsed);
            }
        }
        return duplicates;
    }

    // The last path segment, for either separator (no System.IO: the generator must not touch the file system).
    private static string FileName(string path)
    {
        var cut = path.LastIndexOfAny(new[] { '/', '\\' });
        return cut < 0 ? path : path.Substring(cut + 1);
    }

    /// <summary>The closest name in <paramref name="known"/> to <paramref name="name"/> (case-insensitive edit distance), or null when none is close.</summary>
    public static string? ClosestName(string name, IEnumerable<string> known)
    {
        if (name.Length > 64) return null; // bounds the edit-distance work on hostile input
        var key = name.ToUpperInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var candidateKey = candidate.ToUpperInvariant();
            // A typed prefix ("vram" for "vramGiB") is a near miss whatever the length difference.
            var distance = key.Length >= 3 && candidateKey.StartsWith(key, StringComparison.Ordinal) && key != candidateKey
                ? 1
                : EditDistance(key, candidateKey);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        if (best is null) return null;
        var threshold = Math.Max(2, best.Length / 2);
        return bestDistance <= threshold ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
