using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Diagnostics;

namespace FlashMoe.Json;

/// <summary>Where a JSON token was written: 0-based offset and length, 1-based line/column of its start and end.</summary>
/// <param name="Offset">0-based character offset of the first character.</param>
/// <param name="Length">Length in characters (0 for an end-of-file position).</param>
/// <param name="Line">1-based line of the first character.</param>
/// <param name="Column">1-based column (UTF-16 code units, a tab counts as one) of the first character.</param>
/// <param name="EndLine">1-based line of the position just after the token.</param>
/// <param name="EndColumn">1-based column of the position just after the token.</param>
internal readonly record struct JsonTextSpan(int Offset, int Length, int Line, int Column, int EndLine, int EndColumn)
{
    /// <summary>The same span as a <see cref="SourceLocation"/> in <paramref name="path"/>.</summary>
    public SourceLocation ToLocation(string path) => new(path, Line, Column, EndLine, EndColumn, Offset, Length);
}

/// <summary>The kind of a <see cref="JsonNode"/>.</summary>
internal enum JsonNodeKind
{
    /// <summary><c>{ ... }</c>.</summary>
    Object,
    /// <summary><c>[ ... ]</c>.</summary>
    Array,
    /// <summary>A double-quoted string.</summary>
    String,
    /// <summary>A number.</summary>
    Number,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,
    /// <summary><c>null</c>.</summary>
    Null,
}

/// <summary>A JSON value together with the span of text it was read from.</summary>
internal abstract class JsonNode
{
    private protected JsonNode(JsonTextSpan span) => Span = span;

    /// <summary>Where the value was written (for objects and arrays: from the opening to the closing bracket).</summary>
    public JsonTextSpan Span { get; }

    /// <summary>What kind of value this is.</summary>
    public abstract JsonNodeKind Kind { get; }

    /// <summary>A short description of the kind for messages: "an object", "a string", "the number 3", ….</summary>
    public abstract string Describe();
}

/// <summary>One <c>"name": value</c> member of an object.</summary>
internal sealed class JsonProperty
{
    internal JsonProperty(string name, JsonTextSpan nameSpan, JsonNode value)
    {
        Name = name;
        NameSpan = nameSpan;
        Value = value;
    }

    /// <summary>The unescaped property name.</summary>
    public string Name { get; }

    /// <summary>Where the name (including its quotes) was written.</summary>
    public JsonTextSpan NameSpan { get; }

    /// <summary>The value.</summary>
    public JsonNode Value { get; }
}

/// <summary>A JSON object. Members keep their document order; duplicate names are kept (callers decide what a duplicate means).</summary>
internal sealed class JsonObject : JsonNode
{
    internal JsonObject(JsonTextSpan span, IReadOnlyList<JsonProperty> properties) : base(span) => Properties = properties;

    /// <summary>The members in document order.</summary>
    public IReadOnlyList<JsonProperty> Properties { get; }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.Object;

    /// <inheritdoc />
    public override string Describe() => "an object";
}

/// <summary>A JSON array.</summary>
internal sealed class JsonArray : JsonNode
{
    internal JsonArray(JsonTextSpan span, IReadOnlyList<JsonNode> items) : base(span) => Items = items;

    /// <summary>The elements in document order.</summary>
    public IReadOnlyList<JsonNode> Items { get; }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.Array;

    /// <inheritdoc />
    public override string Describe() => "an array";
}

/// <summary>A JSON string (escapes resolved).</summary>
internal sealed class JsonString : JsonNode
{
    internal JsonString(JsonTextSpan span, string value) : base(span) => Value = value;

    /// <summary>The unescaped text.</summary>
    public string Value { get; }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.String;

    /// <inheritdoc />
    public override string Describe() => "the string \"" + JsonText.Shorten(Value) + "\"";
}

/// <summary>A JSON number. The raw text is kept; <see cref="Value"/> is infinite when the number is outside the range of <see cref="double"/>.</summary>
internal sealed class JsonNumber : JsonNode
{
    internal JsonNumber(JsonTextSpan span, string rawText, double value) : base(span)
    {
        RawText = rawText;
        Value = value;
    }

    /// <summary>The number exactly as written.</summary>
    public string RawText { get; }

    /// <summary>The value as a double (±infinity when too large for a double).</summary>
    public double Value { get; }

    /// <summary>True unless the number overflows a double.</summary>
    public bool IsFinite => !double.IsInfinity(Value) && !double.IsNaN(Value);

    /// <summary>The value as an <see cref="int"/> when it is integral and in range (<c>1e3</c> counts, <c>1.5</c> does not).</summary>
    public bool TryGetInt32(out int value)
    {
        value = 0;
        if (!IsFinite || Math.Floor(Value) != Value || Value < int.MinValue || Value > int.MaxValue) return false;
        value = (int)Value;
        return true;
    }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.Number;

    /// <inheritdoc />
    public override string Describe() => "the number " + JsonText.Shorten(RawText);
}

/// <summary><c>true</c> or <c>false</c>.</summary>
internal sealed class JsonBoolean : JsonNode
{
    internal JsonBoolean(JsonTextSpan span, bool value) : base(span) => Value = value;

    /// <summary>The value.</summary>
    public bool Value { get; }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.Boolean;

    /// <inheritdoc />
    public override string Describe() => Value ? "true" : "false";
}

/// <summary><c>null</c>.</summary>
internal sealed class JsonNull : JsonNode
{
    internal JsonNull(JsonTextSpan span) : base(span) { }

    /// <inheritdoc />
    public override JsonNodeKind Kind => JsonNodeKind.Null;

    /// <inheritdoc />
    public override string Describe() => "null";
}

/// <summary>Text helpers for messages.</summary>
internal static class JsonText
{
    /// <summary>Cuts long text so a message stays one readable line; control characters are shown as U+XXXX.</summary>
    public static string Shorten(string text, int max = 40)
    {
        var cut = text.Length > max ? text.Substring(0, max) + "…" : text;
        var builder = new System.Text.StringBuilder(cut.Length);
        foreach (var c in cut)
        {
            if (char.IsControl(c)) builder.Append("U+").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
