using System.Collections.Generic;
using FlashMoe.Diagnostics;

namespace FlashMoe.Profiles;

/// <summary>
/// Where each property of a profile was written, keyed by its dotted path inside the profile
/// (<c>load.mmap</c>, <c>hardware.gpus[0].vramGiB</c>, <c>model.path</c>). Used to place advice
/// at the exact JSON token that drives it.
/// </summary>
/// <param name="Profile">Location of the profile's name (its property key).</param>
/// <param name="Properties">Dotted path → location of the property's value token.</param>
public sealed record ProfileLocations(SourceLocation Profile, EquatableArray<KeyValuePair<string, SourceLocation>> Properties)
{
    /// <summary>
    /// The location of <paramref name="path"/>; if it was not written, the nearest written parent
    /// (<c>load.mmap</c> → <c>load</c>), else the profile name.
    /// </summary>
    public SourceLocation Find(string path)
    {
        var current = path;
        while (true)
        {
            for (var i = 0; i < Properties.Count; i++) // an index loop: no enumerator over a value type to JIT-compile
            {
                if (Properties[i].Key == current) return Properties[i].Value;
            }
            var cut = current.LastIndexOfAny(new[] { '.', '[' });
            if (cut <= 0) return Profile;
            current = current.Substring(0, cut);
        }
    }

    /// <summary>True when the user wrote <paramref name="path"/> explicitly.</summary>
    public bool IsWritten(string path)
    {
        for (var i = 0; i < Properties.Count; i++)
        {
            if (Properties[i].Key == path) return true;
        }
        return false;
    }
}

/// <summary>A profile as parsed from a file, with the locations of its properties.</summary>
/// <param name="Profile">The profile.</param>
/// <param name="Locations">Where each property was written.</param>
public sealed record ParsedProfile(FlashMoeProfile Profile, ProfileLocations Locations);

/// <summary>The result of parsing one profile file: the valid profiles and every diagnostic (FM00xx).</summary>
/// <param name="Path">The file path.</param>
/// <param name="Profiles">Profiles that parsed without errors.</param>
/// <param name="Diagnostics">Every diagnostic, in document order.</param>
public sealed record ProfileDocument(string Path, EquatableArray<ParsedProfile> Profiles, EquatableArray<FlashMoeDiagnostic> Diagnostics)
{
    /// <summary>
    /// The name of every profile written in the file, valid or not, in document order without duplicates (empty when
    /// the file is not valid JSON). Lets a caller tell a misspelt profile name from one whose profile has errors.
    /// </summary>
    public EquatableArray<string> ProfileNames { get; init; }
}
