using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Tool;

/// <summary>Finding profile files and profiles the way the build does (<c>flashmoe.json</c>, <c>*.flashmoe.json</c>, any case).</summary>
internal static class ProfileFiles
{
    /// <summary>The profile files in <paramref name="directory"/>, in ordinal path order (the build's AdditionalFiles glob).</summary>
    public static IReadOnlyList<string> InDirectory(string directory) =>
        Directory.EnumerateFiles(directory)
            .Where(path => IsProfileFileName(Path.GetFileName(path)))
            .OrderBy(path => path, StringComparer.Ordinal)
            .ToList();

    public static bool IsProfileFileName(string name) =>
        name.Equals("flashmoe.json", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".flashmoe.json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The profile <paramref name="reference"/> names: <c>FILE:NAME</c>, <c>NAME</c> (in the profile files of the
    /// current directory), or <c>FILE</c> holding a single profile. A file whose profile has errors is reported with
    /// its FM00xx lines (exit 3); a name that is not there is a usage error naming the closest one.
    /// </summary>
    public static (ParsedProfile Profile, string File) Find(string reference, ToolConsole console)
    {
        string? file = null;
        string? name = reference;
        var colon = reference.LastIndexOf(':');
        if (colon > 0 && colon < reference.Length - 1 && reference.IndexOfAny(new[] { '/', '\\' }, colon) < 0)
        {
            file = reference.Substring(0, colon);
            name = reference.Substring(colon + 1);
        }
        else if (reference.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(reference))
        {
            file = reference;
            name = null;
        }

        var files = file is not null ? new[] { Path.GetFullPath(file) } : InDirectory(Directory.GetCurrentDirectory());
        if (files.Count == 0) throw new UsageException($"no flashmoe.json or *.flashmoe.json in {Directory.GetCurrentDirectory()}: name the file as --profile FILE:NAME.");

        var known = new List<string>();
        foreach (var path in files)
        {
            if (!File.Exists(path)) throw new ToolInputException($"no such profile file '{path}'.", ExitCodes.IoError);
            var document = ProfileCheck.ReadDocument(path, out var failure)
                ?? throw new ToolInputException(failure!.ToCanonicalString(), ExitCodes.IoError);
            if (name is null)
            {
                if (document.ProfileNames.Count == 1) name = document.ProfileNames[0];
                else throw new UsageException($"'{path}' holds {document.ProfileNames.Count} profiles ({string.Join(", ", document.ProfileNames)}): name one as --profile {file}:NAME.");
            }
            known.AddRange(document.ProfileNames);
            if (!document.ProfileNames.Contains(name, StringComparer.Ordinal)) continue;

            var parsed = document.Profiles.FirstOrDefault(p => p.Profile.Name == name);
            if (parsed is not null) return (parsed, path);
            // Written, but with errors: show them as the build would, then stop.
            foreach (var diagnostic in document.Diagnostics) console.Error.WriteLine(new CheckDiagnostic(diagnostic, path).ToCanonicalString());
            throw new ToolInputException($"profile '{name}' in '{path}' has errors (above).", ExitCodes.BadInput);
        }

        var closest = ProfileParser.ClosestName(name!, known);
        throw new UsageException($"no profile '{name}'{(closest is null ? "" : $" (did you mean '{closest}'?)")}; known: {(known.Count == 0 ? "(none)" : string.Join(", ", known))}.");
    }
}
