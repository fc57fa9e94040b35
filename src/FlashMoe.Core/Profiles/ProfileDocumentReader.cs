using System;
using System.Collections.Generic;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>
/// Walks one profile document: the root object, then each named profile — its name, its sections (read by
/// <see cref="HardwareSectionReader"/>, <see cref="ModelSectionReader"/>, <see cref="LoadSectionReader"/>) and the checks
/// across them (<see cref="ProfileConsistencyChecks"/>).
/// </summary>
internal sealed class ProfileDocumentReader
{
    private readonly ProfileValueReader _reader;
    private readonly List<ParsedProfile> _profiles;
    private readonly List<string> _names;

    public ProfileDocumentReader(string path, List<FlashMoeDiagnostic> diagnostics, List<ParsedProfile> profiles, List<string> names)
    {
        _reader = new ProfileValueReader(path, diagnostics);
        _profiles = profiles;
        _names = names;
    }

    /// <summary>Reads the root object and each profile in it; valid profiles are added to the list given at construction.</summary>
    public void ReadRoot(JsonNode root)
    {
        if (root is not JsonObject rootObject)
        {
            _reader.Report(DiagnosticCatalog.InvalidValue, root.Span, "(root)", "the file must hold a JSON object with a \"profiles\" member, found " + root.Describe());
            return;
        }
        JsonProperty? profilesMember = null;
        foreach (var member in _reader.Members(rootObject, null, "the root object", ProfileSchema.Root))
        {
            switch (member.Name)
            {
                case "$schema":
                    if (member.Value is not JsonString) _reader.ReportType(member.Value, "$schema", "a string (the schema's path or URL)");
                    break;
                case "profiles":
                    profilesMember = member;
                    break;
            }
        }
        if (profilesMember is null)
        {
            _reader.Report(DiagnosticCatalog.MissingValue, ProfileValueReader.FirstChar(rootObject.Span),
                "The file has no \"profiles\" object; write \"profiles\": { \"MyProfile\": { \"hardware\": { ... }, \"model\": { ... } } }");
            return;
        }
        if (profilesMember.Value is not JsonObject profilesObject)
        {
            _reader.ReportType(profilesMember.Value, "profiles", "an object whose members are named profiles");
            return;
        }
        var seen = new Dictionary<string, JsonProperty>(StringComparer.Ordinal);
        foreach (var profile in profilesObject.Properties)
        {
            var duplicateOf = seen.TryGetValue(profile.Name, out var first) ? first : null;
            if (duplicateOf is null)
            {
                seen.Add(profile.Name, profile);
                _names.Add(profile.Name);
            }
            ReadProfile(profile, duplicateOf);
        }
    }

    private void ReadProfile(JsonProperty member, JsonProperty? duplicateOf)
    {
        _reader.BeginProfile();
        var name = member.Name;
        var shownName = JsonText.Shorten(name);
        if (duplicateOf is not null)
        {
            _reader.Report(DiagnosticCatalog.InvalidProfileName, member.NameSpan, shownName,
                "is declared twice (first at line " + Invariant.Number(duplicateOf.NameSpan.Line) + "); profile names must be unique");
        }
        else if (CSharpNames.WhyNotProfileName(name) is { } reason)
        {
            _reader.Report(DiagnosticCatalog.InvalidProfileName, member.NameSpan, shownName, reason);
        }
        if (member.Value is not JsonObject profileObject)
        {
            _reader.ReportType(member.Value, shownName, "a profile object with \"hardware\", \"model\" and optional \"load\"");
            return;
        }

        string? description = null;
        HardwareSpec? hardware = null;
        ModelSpec? model = null;
        var load = LoadOptions.Default;
        var objective = Objective.Throughput;
        JsonProperty? hardwareMember = null, modelMember = null;
        foreach (var p in _reader.Members(profileObject, string.Empty, "profile '" + shownName + "'", ProfileSchema.Profile))
        {
            switch (p.Name)
            {
                case "description":
                    description = _reader.ReadString(p.Value, "description", allowEmpty: true);
                    break;
                case "hardware":
                    hardwareMember = p;
                    hardware = HardwareSectionReader.Read(_reader, p);
                    break;
                case "model":
                    modelMember = p;
                    model = ModelSectionReader.Read(_reader, p);
                    break;
                case "load":
                    load = LoadSectionReader.Read(_reader, p) ?? LoadOptions.Default;
                    break;
                case "objective":
                    objective = _reader.ReadEnum(p.Value, "objective", ProfileSchema.ObjectiveNames) ?? Objective.Throughput;
                    break;
            }
        }
        if (hardwareMember is null)
        {
            _reader.Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                $"Profile '{shownName}' has no \"hardware\" object; \"hardware.ramGiB\" (the target machine's RAM in GiB) is required");
        }
        if (modelMember is null)
        {
            _reader.Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                $"Profile '{shownName}' has no \"model\" object; give \"model.path\" (the GGUF, relative to this file) or \"model.sizeGiB\"");
        }
        if (hardware is not null) ProfileConsistencyChecks.CheckHardware(_reader, hardware);
        if (model is not null) ProfileConsistencyChecks.CheckModel(_reader, model);
        ProfileConsistencyChecks.CheckLoad(_reader, load, hardware);

        if (_reader.ProfileHasError || hardware is null || model is null) return;
        var profile = new FlashMoeProfile(name, hardware, model, load, objective) { Description = description };
        _profiles.Add(new ParsedProfile(profile, new ProfileLocations(member.NameSpan.ToLocation(_reader.Path), _reader.Locations)));
    }
}
