using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace FlashMoe.Json;

/// <summary>
/// A small forward-only JSON writer with two-space indentation and invariant number formatting, so the same input
/// always gives the same text (the build check rewrites <c>flashmoe.plan.json</c> only when that text changes).
/// Hand-written on purpose: Core targets netstandard2.0 with no package dependency (it loads inside .NET Framework
/// MSBuild and the compiler), where System.Text.Json is not part of the platform.
/// Misuse (a value where a property name is due, unbalanced ends) throws <see cref="InvalidOperationException"/>.
/// </summary>
internal sealed class JsonWriter
{
    private enum Container { Object, Array }

    private readonly StringBuilder _text = new();
    // Frames are a class, not a (Container, int) tuple: a Stack over a value tuple is not precompiled (ReadyToRun)
    // and would be JIT-compiled on every build's first check, which writes the plan file with this writer.
    private readonly Stack<OpenContainer> _stack = new();
    private bool _propertyPending;
    private bool _rootWritten;

    /// <summary>Starts an object (as a value, or as the value of the pending property).</summary>
    public JsonWriter WriteStartObject() => Open(Container.Object, '{');

    /// <summary>Ends the current object.</summary>
    public JsonWriter WriteEndObject() => Close(Container.Object, '}');

    /// <summary>Starts an array.</summary>
    public JsonWriter WriteStartArray() => Open(Container.Array, '[');

    /// <summary>Ends the current array.</summary>
    public JsonWriter WriteEndArray() => Close(Container.Array, ']');

    /// <summary>Writes a property name inside an object; its value must follow.</summary>
    public JsonWriter WritePropertyName(string name)
    {
        if (name is null) throw new ArgumentNullException(nameof(name));
        if (_stack.Count == 0 || _stack.Peek().Kind != Container.Object || _propertyPending)
        {
            throw new InvalidOperationException("A property name can only be written inside an object, before its value.");
        }
        var count = _stack.Peek().Count++;
        if (count > 0) _text.Append(',');
        NewLine();
        AppendString(name);
        _text.Append(": ");
        _propertyPending = true;
        return this;
    }

    /// <summary>Writes a string value (null writes <c>null</c>).</summary>
    public JsonWriter WriteString(string? value)
    {
        if (value is null) return WriteNull();
        BeforeValue();
        AppendString(value);
        return this;
    }

    /// <summary>Writes an integer value.</summary>
    public JsonWriter WriteNumber(long value)
    {
        BeforeValue();
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Writes a number; NaN and infinities (not representable in JSON) are written as <c>null</c>.</summary>
    public JsonWriter WriteNumber(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value)) return WriteNull();
        BeforeValue();
        _text.Append(value.ToString("R", CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>Writes <c>true</c> or <c>false</c>.</summary>
    public JsonWriter WriteBoolean(bool value)
    {
        BeforeValue();
        _text.Append(value ? "true" : "false");
        return this;
    }

    /// <summary>Writes <c>null</c>.</summary>
    public JsonWriter WriteNull()
    {
        BeforeValue();
        _text.Append("null");
        return this;
    }

    /// <summary>Writes <c>"name": value</c> (null writes <c>null</c>).</summary>
    public JsonWriter WriteString(string name, string? value) => WritePropertyName(name).WriteString(value);

    /// <summary>Writes <c>"name": value</c>.</summary>
    public JsonWriter WriteNumber(string name, long value) => WritePropertyName(name).WriteNumber(value);

    /// <summary>Writes <c>"name": value</c>, or <c>"name": null</c> when <paramref name="value"/> is null.</summary>
    public JsonWriter WriteNumber(string name, long? value) =>
        value is { } v ? WriteNumber(name, v) : WritePropertyName(name).WriteNull();

    /// <summary>Writes <c>"name": value</c> (NaN, infinities and null as <c>null</c>).</summary>
    public JsonWriter WriteNumber(string name, double? value) =>
        value is { } v ? WritePropertyName(name).WriteNumber(v) : WritePropertyName(name).WriteNull();

    /// <summary>Writes <c>"name": true|false</c>.</summary>
    public JsonWriter WriteBoolean(string name, bool value) => WritePropertyName(name).WriteBoolean(value);

    /// <summary>The text written so far. Throws when an object or array is still open.</summary>
    public override string ToString()
    {
        if (_stack.Count > 0 || _propertyPending) throw new InvalidOperationException("The JSON text is not complete: an object or array is still open.");
        return _text.ToString();
    }

    private JsonWriter Open(Container kind, char bracket)
    {
        BeforeValue();
        _text.Append(bracket);
        _stack.Push(new OpenContainer(kind));
        return this;
    }

    private JsonWriter Close(Container kind, char bracket)
    {
        if (_stack.Count == 0 || _stack.Peek().Kind != kind || _propertyPending)
        {
            throw new InvalidOperationException("No open " + (kind == Container.Object ? "object" : "array") + " to end here.");
        }
        var count = _stack.Pop().Count;
        if (count > 0) NewLine();
        _text.Append(bracket);
        return this;
    }

    private void BeforeValue()
    {
        if (_propertyPending)
        {
            _propertyPending = false;
            return;
        }
        if (_stack.Count == 0)
        {
            if (_rootWritten) throw new InvalidOperationException("A JSON text holds a single root value.");
            _rootWritten = true;
            return;
        }
        if (_stack.Peek().Kind == Container.Object)
        {
            _stack.Pop();
            throw new InvalidOperationException("A value inside an object needs a property name first.");
        }
        var count = _stack.Peek().Count++;
        if (count > 0) _text.Append(',');
        NewLine();
    }

    private void NewLine()
    {
        _text.Append('\n');
        _text.Append(' ', 2 * _stack.Count);
    }

    private void AppendString(string value)
    {
        _text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"': _text.Append("\\\""); break;
                case '\\': _text.Append("\\\\"); break;
                case '\n': _text.Append("\\n"); break;
                case '\r': _text.Append("\\r"); break;
                case '\t': _text.Append("\\t"); break;
                case '\b': _text.Append("\\b"); break;
                case '\f': _text.Append("\\f"); break;
                default:
                    if (c < 0x20 || c == '\u2028' || c == '\u2029' || IsLoneSurrogate(value, i))
                    {
                        // Control characters must be escaped; lone surrogates would not survive UTF-8 encoding.
                        _text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        _text.Append(c);
                    }
                    break;
            }
        }
        _text.Append('"');
    }

    private static bool IsLoneSurrogate(string value, int i)
    {
        var c = value[i];
        if (char.IsHighSurrogate(c)) return i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(value[i - 1]);
        return false;
    }

    /// <summary>An open object or array and how many members or elements it holds so far.</summary>
    private sealed class OpenContainer
    {
        public OpenContainer(Container kind) => Kind = kind;

        public Container Kind { get; }
        public int Count { get; set; }
    }
}
