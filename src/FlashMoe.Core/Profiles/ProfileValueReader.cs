using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>
/// The typed value readers every section uses (bool, string, number, integer, enum), the member walk with its
/// FM0002/FM0009 checks, and the record of where each property of the current profile was written. Every problem
/// becomes a diagnostic located at the JSON token; nothing throws.
/// </summary>
internal sealed class ProfileValueReader
{
    private readonly string _path;
    private readonly List<FlashMoeDiagnostic> _diagnostics;
    // Keyed to a class and listed as strings, not Dictionary<string, JsonTextSpan> / List<KeyValuePair<…>>: framework
    // collections over Core's value types cannot be precompiled (ReadyToRun) and cost JIT time in the build's first check.
    private Dictionary<string, WrittenProperty> _written = new(StringComparer.Ordinal);
    private List<string> _writtenInOrder = new();

    public ProfileValueReader(string path, List<FlashMoeDiagnostic> diagnostics)
    {
        _path = path;
        _diagnostics = diagnostics;
    }

    /// <summary>The file's path, for locations.</summary>
    public string Path => _path;

    /// <summary>Whether an error-severity diagnostic was reported since <see cref="BeginProfile"/>.</summary>
    public bool ProfileHasError { get; private set; }

    /// <summary>Where each property of the current profile was written, in the order they were read.</summary>
    public EquatableArray<KeyValuePair<string, SourceLocation>> Locations
    {
        get
        {
            var locations = new KeyValuePair<string, SourceLocation>[_writtenInOrder.Count];
            for (var i = 0; i < locations.Length; i++)
            {
                var path = _writtenInOrder[i];
                locations[i] = new KeyValuePair<string, SourceLocation>(path, _written[path].Location);
            }
            return EquatableArray<KeyValuePair<string, SourceLocation>>.Own(locations);
        }
    }

    /// <summary>Starts a new profile: forgets the previous one's written properties and error state.</summary>
    public void BeginProfile()
    {
        _written = new Dictionary<string, WrittenProperty>(StringComparer.Ordinal);
        _writtenInOrder = new List<string>();
        ProfileHasError = false;
    }

    /// <summary>Whether the property at the dotted <paramref name="path"/> was written in the current profile.</summary>
    public bool IsWritten(string path) => _written.ContainsKey(path);

    /// <summary>Where the property at <paramref name="path"/> was written; it must have been.</summary>
    public JsonTextSpan At(string path) => _written[path].Span;

    /// <summary>
    /// The known, first-seen members of <paramref name="obj"/>: unknown names get FM0002, repeated names FM0009.
    /// Records the location of each accepted member under <paramref name="pathPrefix"/> (null: not inside a profile).
    /// </summary>
    public List<JsonProperty> Members(JsonObject obj, string? pathPrefix, string where, IReadOnlyList<string> known)
    {
        var accepted = new List<JsonProperty>();
        var seen = new Dictionary<string, JsonProperty>(StringComparer.Ordinal);
        foreach (var p in obj.Properties)
        {
            if (!known.Contains(p.Name))
            {
                if (_diagnostics.Count >= ProfileParser.MaxDiagnosticsPerFile) continue; // warnings only: nothing else to record
                var closest = ProfileParser.ClosestName(p.Name, known);
                var hint = closest is not null
                    ? $". Did you mean '{closest}'?"
                    : ". Known properties: " + string.Join(", ", known);
                Report(DiagnosticCatalog.UnknownProperty, p.NameSpan, JsonText.Shorten(p.Name), where, hint);
                continue;
            }
            if (seen.TryGetValue(p.Name, out var first))
            {
                Report(DiagnosticCatalog.DuplicateProperty, p.NameSpan, p.Name, where, Invariant.Number(first.NameSpan.Line));
                continue;
            }
            seen.Add(p.Name, p);
            if (pathPrefix is not null) Record(pathPrefix.Length == 0 ? p.Name : pathPrefix + "." + p.Name, p.Value.Span);
            accepted.Add(p);
        }
        return accepted;
    }

    public void Record(string path, JsonTextSpan span)
    {
        if (_written.ContainsKey(path)) return;
        _written.Add(path, new WrittenProperty(span, span.ToLocation(_path)));
        _writtenInOrder.Add(path);
    }

    public JsonTextSpan? Find(string path) => _written.TryGetValue(path, out var written) ? written.Span : null;

    /// <summary>Where a property of the current profile was written: its value token and that token's location.</summary>
    private sealed class WrittenProperty
    {
        public WrittenProperty(JsonTextSpan span, SourceLocation location)
        {
            Span = span;
            Location = location;
        }

        public JsonTextSpan Span { get; }
        public SourceLocation Location { get; }
    }

    public static bool IsNull(JsonProperty p) => p.Value is JsonNull;

    public bool? ReadBool(JsonNode value, string path)
    {
        if (value is JsonBoolean b) return b.Value;
        ReportType(value, path, "true or false");
        return null;
    }

    public string? ReadString(JsonNode value, string path, bool allowEmpty)
    {
        if (value is not JsonString s)
        {
            ReportType(value, path, allowEmpty ? "a string" : "a non-empty string");
            return null;
        }
        if (!allowEmpty && s.Value.Trim().Length == 0)
        {
            ReportValue(value, path, "must not be empty");
            return null;
        }
        return s.Value;
    }

    public double? ReadNumber(JsonNode value, string path, double min, bool exclusiveMin, double max, string unit)
    {
        if (value is not JsonNumber number)
        {
            ReportType(value, path, "a number" + (unit.Length > 0 ? " (" + unit + ")" : string.Empty));
            return null;
        }
        var x = number.Value;
        var tooSmall = exclusiveMin ? x <= min : x < min;
        if (!number.IsFinite || tooSmall || x > max)
        {
            var lower = exclusiveMin ? "greater than " + Invariant.Number(min) : "at least " + Invariant.Number(min);
            ReportValue(value, path, $"must be {lower} and at most {Invariant.Number(max)}{(unit.Length > 0 ? " " + unit : string.Empty)}, found {JsonText.Shorten(number.RawText)}");
            return null;
        }
        return x;
    }

    public int? ReadInt(JsonNode value, string path, int min, int max)
    {
        if (value is not JsonNumber number)
        {
            ReportType(value, path, "an integer");
            return null;
        }
        if (!number.TryGetInt32(out var x))
        {
            var what = number.IsFinite && Math.Floor(number.Value) != number.Value ? "must be a whole number" : "is out of range";
            ReportValue(value, path, $"{what} ({Invariant.Number(min)} to {Invariant.Number(max)}), found {JsonText.Shorten(number.RawText)}");
            return null;
        }
        if (x < min || x > max)
        {
            ReportValue(value, path, $"must be between {Invariant.Number(min)} and {Invariant.Number(max)}, found {Invariant.Number(x)}");
            return null;
        }
        return x;
    }

    public T? ReadEnum<T>(JsonNode value, string path, IReadOnlyList<KeyValuePair<string, T>> names) where T : struct
    {
        // Index loops over the pairs, not LINQ or foreach: those are generics over a value type that ReadyToRun does
        // not precompile, and this runs for every enum value of every profile in the build's first check.
        var pairs = names as KeyValuePair<string, T>[] ?? names.ToArray(); // the schema's tables are arrays: indexed directly
        var spellings = new string[pairs.Length];
        for (var i = 0; i < spellings.Length; i++) spellings[i] = pairs[i].Key;
        var allowed = Quoted(spellings);
        if (value is not JsonString s)
        {
            ReportType(value, path, "one of " + allowed);
            return null;
        }
        for (var i = 0; i < pairs.Length; i++)
        {
            if (pairs[i].Key == s.Value) return pairs[i].Value;
        }
        string? caseMatch = null;
        for (var i = 0; i < spellings.Length && caseMatch is null; i++)
        {
            if (string.Equals(spellings[i], s.Value, StringComparison.OrdinalIgnoreCase)) caseMatch = spellings[i];
        }
        var hint = caseMatch is not null ? $" (values are lower case: \"{caseMatch}\")" : string.Empty;
        ReportValue(value, path, $"unknown value \"{JsonText.Shorten(s.Value)}\"{hint}; expected one of {allowed}");
        return null;
    }

    public static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(n => "\"" + n + "\""));

    public void ReportType(JsonNode value, string path, string expected) =>
        Report(DiagnosticCatalog.InvalidValue, value.Span, path, "expected " + expected + ", found " + value.Describe());

    public void ReportValue(JsonNode value, string path, string problem) =>
        Report(DiagnosticCatalog.InvalidValue, value.Span, path, problem);

    public void Report(FlashMoeDiagnosticDescriptor descriptor, JsonTextSpan span, params object?[] args)
    {
        if (descriptor.Severity == FlashMoeSeverity.Error) ProfileHasError = true; // even past the cap: the profile stays excluded
        if (_diagnostics.Count >= ProfileParser.MaxDiagnosticsPerFile) return;
        _diagnostics.Add(FlashMoeDiagnostic.Create(descriptor, span.ToLocation(_path), args));
    }

    /// <summary>The first character of a span (an object's opening brace): a compact place for "missing member" errors.</summary>
    public static JsonTextSpan FirstChar(JsonTextSpan span) =>
        new(span.Offset, Math.Min(1, span.Length), span.Line, span.Column, span.Line, span.Column + Math.Min(1, span.Length));
}
