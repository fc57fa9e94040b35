using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace FlashMoe.Json;

/// <summary>The first syntax error of a document: what is wrong and where.</summary>
/// <param name="Message">What was expected and what was found.</param>
/// <param name="Span">The offending token (zero length at the end of the text).</param>
internal readonly record struct JsonParseError(string Message, JsonTextSpan Span);

/// <summary>The outcome of <see cref="PositionedJsonParser.Parse"/>: either a root value or the first error.</summary>
internal sealed class JsonParseResult
{
    internal JsonParseResult(JsonNode? root, JsonParseError? error)
    {
        Root = root;
        Error = error;
    }

    /// <summary>The root value, or null when the text is not valid.</summary>
    public JsonNode? Root { get; }

    /// <summary>The first syntax error, or null when the text is valid.</summary>
    public JsonParseError? Error { get; }
}

/// <summary>
/// A small JSON parser that keeps the exact position of every value and property name, for diagnostics
/// placed at the offending token. Accepts <c>//</c> and <c>/* */</c> comments and trailing commas (JSONC, as
/// written by VS Code and VS for settings files); everything else follows RFC 8259.
/// </summary>
/// <remarks>
/// Why not System.Text.Json: this code runs inside the C# compiler (source generator) and inside MSBuild,
/// including the .NET Framework hosts of Visual Studio. There System.Text.Json is either missing or present
/// at whatever version the host ships; an analyzer that carries its own copy conflicts with the host's
/// (assembly identity clashes, the host's copy wins in VS), and FlashMoe.Core must take no package dependency
/// at all. Even where it is available, its DOM (<c>JsonDocument</c>/<c>JsonNode</c>) does not expose the
/// line and column of an element, and <c>Utf8JsonReader</c> works on UTF-8 bytes (byte offsets, no lines),
/// while every FlashMoe diagnostic must point at a token's line and column in the text the compiler
/// shows. A positioned reader of a few hundred lines is the smaller risk.
/// Guarantees: linear time (every step consumes input), bounded recursion (<c>maxDepth</c>), bounded input
/// (<see cref="MaxTextLength"/>), and no exception for any input text.
/// </remarks>
internal static class PositionedJsonParser
{
    /// <summary>Default maximum nesting of objects and arrays (a profile needs 6).</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Largest accepted text, in characters (16 Mi): a profile file is a few KiB.</summary>
    public const int MaxTextLength = 16 * 1024 * 1024;

    /// <summary>
    /// Parses <paramref name="text"/>. Never throws for any text (only <see cref="ArgumentNullException"/>
    /// for a null argument and <see cref="ArgumentOutOfRangeException"/> for a <paramref name="maxDepth"/> below 1).
    /// </summary>
    /// <param name="text">The document.</param>
    /// <param name="maxDepth">Maximum nesting depth of objects and arrays.</param>
    public static JsonParseResult Parse(string text, int maxDepth = DefaultMaxDepth)
    {
        if (text is null) throw new ArgumentNullException(nameof(text));
        if (maxDepth < 1) throw new ArgumentOutOfRangeException(nameof(maxDepth), maxDepth, "The depth limit must be at least 1.");
        if (text.Length > MaxTextLength)
        {
            return new JsonParseResult(null, new JsonParseError(
                $"The file has {text.Length.ToString(CultureInfo.InvariantCulture)} characters; at most {MaxTextLength.ToString(CultureInfo.InvariantCulture)} are accepted.",
                new JsonTextSpan(0, 0, 1, 1, 1, 1)));
        }
        try
        {
            return new JsonParseResult(new Reader(text, maxDepth).ReadDocument(), null);
        }
        catch (SyntaxException e)
        {
            return new JsonParseResult(null, new JsonParseError(e.Message, e.Span));
        }
    }

    /// <summary>Internal control flow only: never leaves <see cref="Parse"/>.</summary>
    private sealed class SyntaxException : Exception
    {
        public SyntaxException(string message, JsonTextSpan span) : base(message) => Span = span;

        public JsonTextSpan Span { get; }
    }

    private sealed class Reader
    {
        private readonly string _text;
        private readonly int _maxDepth;
        private int _position;
        private int _line = 1;
        private int _lineStart;

        public Reader(string text, int maxDepth)
        {
            _text = text;
            _maxDepth = maxDepth;
        }

        public JsonNode ReadDocument()
        {
            if (_text.Length > 0 && _text[0] == '\uFEFF') _position = 1; // a byte-order mark that survived decoding
            SkipTrivia();
            if (_position >= _text.Length) throw Error("The file is empty; expected a JSON object.");
            var root = ReadValue(0);
            SkipTrivia();
            if (_position < _text.Length)
            {
                throw Error($"Unexpected {DescribeChar(_text[_position])} after the end of the JSON value.");
            }
            return root;
        }

        private JsonNode ReadValue(int depth)
        {
            if (_position >= _text.Length) throw Error("Unexpected end of file; expected a value.");
            var c = _text[_position];
            switch (c)
            {
                case '{': return ReadObject(depth + 1);
                case '[': return ReadArray(depth + 1);
                case '"': return ReadString();
                case 't': return ReadLiteral("true", start => new JsonBoolean(start, true));
                case 'f': return ReadLiteral("false", start => new JsonBoolean(start, false));
                case 'n': return ReadLiteral("null", start => new JsonNull(start));
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                    if (c == '\'') throw ErrorAtChar("Strings must use double quotes (\"), not single quotes.");
                    if (char.IsLetter(c)) throw BareWord();
                    throw ErrorAtChar($"Unexpected {DescribeChar(c)}; expected a value (object, array, string, number, true, false or null).");
            }
        }

        private JsonObject ReadObject(int depth)
        {
            var startOffset = _position;
            var startLine = _line;
            var startColumn = Column;
            if (depth > _maxDepth) throw ErrorAtChar($"Objects and arrays are nested deeper than {_maxDepth.ToString(CultureInfo.InvariantCulture)} levels.");
            Advance(); // {
            var properties = new List<JsonProperty>();
            while (true)
            {
                SkipTrivia();
                if (_position >= _text.Length) throw Error("Unexpected end of file; expected a property name or '}'.");
                var c = _text[_position];
                if (c == '}')
                {
                    Advance();
                    return new JsonObject(SpanSince(startOffset, startLine, startColumn), properties);
                }
                if (c != '"')
                {
                    if (c == '\'') throw ErrorAtChar("Property names must use double quotes (\"), not single quotes.");
                    throw ErrorAtChar($"Unexpected {DescribeChar(c)}; expected a property name in double quotes or '}}'.");
                }
                var name = ReadString();
                SkipTrivia();
                if (_position >= _text.Length) throw Error("Unexpected end of file; expected ':' after the property name.");
                if (_text[_position] != ':') throw ErrorAtChar($"Unexpected {DescribeChar(_text[_position])}; expected ':' after the property name \"{JsonText.Shorten(name.Value)}\".");
                Advance();
                SkipTrivia();
                if (_position >= _text.Length) throw Error($"Unexpected end of file; expected the value of \"{JsonText.Shorten(name.Value)}\".");
                if (_text[_position] == ',' || _text[_position] == '}') throw ErrorAtChar($"Missing the value of \"{JsonText.Shorten(name.Value)}\".");
                var value = ReadValue(depth);
                properties.Add(new JsonProperty(name.Value, name.Span, value));
                SkipTrivia();
                if (_position >= _text.Length) throw Error("Unexpected end of file; expected ',' or '}'.");
                c = _text[_position];
                if (c == ',')
                {
                    Advance();
                    continue; // a trailing comma is accepted: the loop then meets '}'
                }
                if (c == '}') continue;
                throw ErrorAtChar($"Unexpected {DescribeChar(c)}; expected ',' or '}}' after the value of \"{JsonText.Shorten(name.Value)}\".");
            }
        }

        private JsonArray ReadArray(int depth)
        {
            var startOffset = _position;
            var startLine = _line;
            var startColumn = Column;
            if (depth > _maxDepth) throw ErrorAtChar($"Objects and arrays are nested deeper than {_maxDepth.ToString(CultureInfo.InvariantCulture)} levels.");
            Advance(); // [
            var items = new List<JsonNode>();
            while (true)
            {
                SkipTrivia();
                if (_position >= _text.Length) throw Error("Unexpected end of file; expected a value or ']'.");
                var c = _text[_position];
                if (c == ']')
                {
                    Advance();
                    return new JsonArray(SpanSince(startOffset, startLine, startColumn), items);
                }
                if (c == ',') throw ErrorAtChar("Unexpected ','; expected a value or ']'.");
                items.Add(ReadValue(depth));
                SkipTrivia();
                if (_position >= _text.Length) throw Error("Unexpected end of file; expected ',' or ']'.");
                c = _text[_position];
                if (c == ',')
                {
                    Advance();
                    continue;
                }
                if (c == ']') continue;
                throw ErrorAtChar($"Unexpected {DescribeChar(c)}; expected ',' or ']' in the array.");
            }
        }

        private JsonString ReadString()
        {
            var startOffset = _position;
            var startLine = _line;
            var startColumn = Column;
            Advance(); // opening quote
            StringBuilder? builder = null;
            var runStart = _position;
            while (true)
            {
                if (_position >= _text.Length)
                {
                    throw new SyntaxException("Unterminated string: the closing '\"' is missing.", SpanSince(startOffset, startLine, startColumn));
                }
                var c = _text[_position];
                if (c == '"')
                {
                    string value;
                    if (builder is null) value = _text.Substring(runStart, _position - runStart);
                    else value = builder.Append(_text, runStart, _position - runStart).ToString();
                    Advance();
                    return new JsonString(SpanSince(startOffset, startLine, startColumn), value);
                }
                if (c == '\\')
                {
                    builder ??= new StringBuilder();
                    builder.Append(_text, runStart, _position - runStart);
                    builder.Append(ReadEscape());
                    runStart = _position;
                    continue;
                }
                if (c < 0x20)
                {
                    if (c == '\n' || c == '\r')
                    {
                        throw new SyntaxException("Unterminated string: a line break is not allowed inside a string (write \\n).", SpanSince(startOffset, startLine, startColumn));
                    }
                    throw ErrorAtChar($"The control character {DescribeChar(c)} must be escaped inside a string.");
                }
                Advance();
            }
        }

        private char ReadEscape()
        {
            var escapeOffset = _position;
            var escapeLine = _line;
            var escapeColumn = Column;
            Advance(); // backslash
            if (_position >= _text.Length) throw Error("Unexpected end of file inside an escape sequence.");
            var c = _text[_position];
            Advance();
            switch (c)
            {
                case '"': return '"';
                case '\\': return '\\';
                case '/': return '/';
                case 'b': return '\b';
                case 'f': return '\f';
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case 'u':
                    var code = 0;
                    for (var i = 0; i < 4; i++)
                    {
                        var digit = _position < _text.Length ? HexValue(_text[_position]) : -1;
                        if (digit < 0)
                        {
                            throw new SyntaxException("Invalid \\u escape: expected four hexadecimal digits.", SpanSince(escapeOffset, escapeLine, escapeColumn));
                        }
                        code = (code * 16) + digit;
                        Advance();
                    }
                    return (char)code;
                default:
                    throw new SyntaxException(
                        $"Invalid escape sequence '\\{JsonText.Shorten(c.ToString())}' (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX).",
                        SpanSince(escapeOffset, escapeLine, escapeColumn));
            }
        }

        private static int HexValue(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }

        private JsonNumber ReadNumber()
        {
            var startOffset = _position;
            var startLine = _line;
            var startColumn = Column;
            if (Peek() == '-') Advance();
            if (Peek() == '0')
            {
                Advance();
                if (IsDigit(Peek())) throw InvalidNumber(startOffset, startLine, startColumn, "leading zeros are not allowed");
            }
            else if (IsDigit(Peek()))
            {
                while (IsDigit(Peek())) Advance();
            }
            else
            {
                throw InvalidNumber(startOffset, startLine, startColumn, "expected a digit after '-'");
            }
            if (Peek() == '.')
            {
                Advance();
                if (!IsDigit(Peek())) throw InvalidNumber(startOffset, startLine, startColumn, "expected a digit after '.'");
                while (IsDigit(Peek())) Advance();
            }
            if (Peek() == 'e' || Peek() == 'E')
            {
                Advance();
                if (Peek() == '+' || Peek() == '-') Advance();
                if (!IsDigit(Peek())) throw InvalidNumber(startOffset, startLine, startColumn, "expected a digit in the exponent");
                while (IsDigit(Peek())) Advance();
            }
            if (IsIdentifierChar(Peek()))
            {
                while (IsIdentifierChar(Peek())) Advance();
                throw InvalidNumber(startOffset, startLine, startColumn, "unexpected letters after the number");
            }
            var raw = _text.Substring(startOffset, _position - startOffset);
            // .NET Framework's TryParse fails on overflow, .NET Core's returns infinity: normalise both to ±infinity.
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                value = raw[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            }
            return new JsonNumber(SpanSince(startOffset, startLine, startColumn), raw, value);
        }

        private SyntaxException InvalidNumber(int startOffset, int startLine, int startColumn, string reason)
        {
            var raw = _text.Substring(startOffset, Math.Max(1, _position - startOffset));
            return new SyntaxException($"Invalid number '{JsonText.Shorten(raw)}': {reason}.", SpanSince(startOffset, startLine, startColumn));
        }

        private JsonNode ReadLiteral(string literal, Func<JsonTextSpan, JsonNode> create)
        {
            var startOffset = _position;
            var startLine = _line;
            var startColumn = Column;
            var end = _position;
            while (end < _text.Length && IsIdentifierChar(_text[end])) end++;
            if (_text.Substring(_position, end - _position) != literal) throw BareWord();
            for (var i = 0; i < literal.Length; i++) Advance();
            return create(SpanSince(startOffset, startLine, startColumn));
        }

        /// <summary>An unquoted word where a value was expected: <c>True</c>, <c>yes</c>, <c>auto</c>….</summary>
        private SyntaxException BareWord()
        {
            var end = _position;
            while (end < _text.Length && IsIdentifierChar(_text[end])) end++;
            var word = _text.Substring(_position, end - _position);
            var lower = Invariant.Lower(word);
            var hint = lower is "true" or "false" or "null"
                ? $" (JSON literals are lower case: {lower})"
                : $" (strings need double quotes: \"{JsonText.Shorten(word)}\")";
            var length = Math.Max(1, word.Length);
            return new SyntaxException(
                $"Unexpected '{JsonText.Shorten(word)}'; expected a value{hint}.",
                new JsonTextSpan(_position, length, _line, Column, _line, Column + length));
        }

        private void SkipTrivia()
        {
            while (_position < _text.Length)
            {
                var c = _text[_position];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                {
                    Advance();
                }
                else if (c == '/' && _position + 1 < _text.Length && _text[_position + 1] == '/')
                {
                    while (_position < _text.Length && _text[_position] != '\n' && _text[_position] != '\r') Advance();
                }
                else if (c == '/' && _position + 1 < _text.Length && _text[_position + 1] == '*')
                {
                    var startOffset = _position;
                    var startLine = _line;
                    var startColumn = Column;
                    Advance();
                    Advance();
                    while (true)
                    {
                        if (_position >= _text.Length)
                        {
                            throw new SyntaxException("Unterminated comment: the closing '*/' is missing.", new JsonTextSpan(startOffset, 2, startLine, startColumn, startLine, startColumn + 2));
                        }
                        if (_text[_position] == '*' && _position + 1 < _text.Length && _text[_position + 1] == '/')
                        {
                            Advance();
                            Advance();
                            break;
                        }
                        Advance();
                    }
                }
                else
                {
                    return;
                }
            }
        }

        private int Column => _position - _lineStart + 1;

        private char Peek() => _position < _text.Length ? _text[_position] : '\0';

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_';

        /// <summary>Consumes one character, tracking lines (\n, \r\n and a lone \r each end a line).</summary>
        private void Advance()
        {
            var c = _text[_position];
            _position++;
            if (c == '\n' || (c == '\r' && (_position >= _text.Length || _text[_position] != '\n')))
            {
                _line++;
                _lineStart = _position;
            }
        }

        private JsonTextSpan SpanSince(int startOffset, int startLine, int startColumn) =>
            new(startOffset, _position - startOffset, startLine, startColumn, _line, Column);

        /// <summary>An error at the current position, zero length (end of file, missing token).</summary>
        private SyntaxException Error(string message) =>
            new(message, new JsonTextSpan(_position, 0, _line, Column, _line, Column));

        /// <summary>An error covering the current character.</summary>
        private SyntaxException ErrorAtChar(string message)
        {
            var length = _position < _text.Length ? 1 : 0;
            return new SyntaxException(message, new JsonTextSpan(_position, length, _line, Column, _line, Column + length));
        }

        private static string DescribeChar(char c)
        {
            if (c < 0x20 || c == 0x7F || char.IsWhiteSpace(c) || char.IsSurrogate(c) || c == '\uFEFF')
            {
                return "character U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);
            }
            return "'" + c + "'";
        }
    }
}
