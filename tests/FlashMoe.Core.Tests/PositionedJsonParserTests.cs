using System;
using System.Linq;
using System.Text;
using FlashMoe.Json;
using Xunit;

namespace FlashMoe.Core.Tests;

public class PositionedJsonParserTests
{
    private static JsonNode ParseOk(string text)
    {
        var result = PositionedJsonParser.Parse(text);
        Assert.Null(result.Error);
        return Assert.IsAssignableFrom<JsonNode>(result.Root);
    }

    private static JsonParseError ParseError(string text, int maxDepth = PositionedJsonParser.DefaultMaxDepth)
    {
        var result = PositionedJsonParser.Parse(text, maxDepth);
        Assert.Null(result.Root);
        return Assert.IsType<JsonParseError>(result.Error);
    }

    [Fact]
    public void Values_carry_offset_length_line_and_column()
    {
        const string text = "{\n  \"a\": 12,\r\n\t\"bb\": [true, null, \"x\\n\"]\n}";
        var root = Assert.IsType<JsonObject>(ParseOk(text));
        Assert.Equal(new JsonTextSpan(0, text.Length, 1, 1, 4, 2), root.Span);

        var a = root.Properties[0];
        Assert.Equal("a", a.Name);
        Assert.Equal(new JsonTextSpan(4, 3, 2, 3, 2, 6), a.NameSpan);
        var twelve = Assert.IsType<JsonNumber>(a.Value);
        Assert.Equal(new JsonTextSpan(9, 2, 2, 8, 2, 10), twelve.Span);
        Assert.True(twelve.TryGetInt32(out var n) && n == 12);

        var bb = root.Properties[1];
        Assert.Equal(3, bb.NameSpan.Line); // after \r\n
        Assert.Equal(2, bb.NameSpan.Column); // a tab counts as one column
        var array = Assert.IsType<JsonArray>(bb.Value);
        Assert.Equal(3, array.Items.Count);
        Assert.True(Assert.IsType<JsonBoolean>(array.Items[0]).Value);
        Assert.IsType<JsonNull>(array.Items[1]);
        var s = Assert.IsType<JsonString>(array.Items[2]);
        Assert.Equal("x\n", s.Value);
        Assert.Equal(text.IndexOf("\"x", StringComparison.Ordinal), s.Span.Offset);
        Assert.Equal(5, s.Span.Length);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_accepted()
    {
        const string text = "// head\n{ /* inline */ \"a\": [1, 2, ], // tail\n \"b\": {\"c\": 1,}, }\n/* end */";
        var root = Assert.IsType<JsonObject>(ParseOk(text));
        Assert.Equal(new[] { "a", "b" }, root.Properties.Select(p => p.Name));
        Assert.Equal(2, Assert.IsType<JsonArray>(root.Properties[0].Value).Items.Count);
    }

    [Fact]
    public void Escapes_and_byte_order_mark_are_handled()
    {
        var root = Assert.IsType<JsonObject>(ParseOk("\uFEFF{\"k\": \"\\u0041\\\"\\\\\\/\\b\\f\\r\\t\"}"));
        Assert.Equal("A\"\\/\b\f\r\t", Assert.IsType<JsonString>(root.Properties[0].Value).Value);
    }

    [Theory]
    [InlineData("12", true, 12)]
    [InlineData("-3", true, -3)]
    [InlineData("1e3", true, 1000)]
    [InlineData("4096.0", true, 4096)]
    [InlineData("1.5", false, 0)]
    [InlineData("2147483648", false, 0)]
    [InlineData("1e400", false, 0)]
    public void Numbers_convert_to_int_only_when_integral_and_in_range(string raw, bool ok, int expected)
    {
        var number = Assert.IsType<JsonNumber>(ParseOk(raw));
        Assert.Equal(raw, number.RawText);
        Assert.Equal(ok, number.TryGetInt32(out var value));
        Assert.Equal(expected, value);
    }

    [Fact]
    public void A_number_beyond_double_is_infinite_not_an_error()
    {
        var number = Assert.IsType<JsonNumber>(ParseOk("-1e99999"));
        Assert.False(number.IsFinite);
        Assert.True(double.IsNegativeInfinity(number.Value));
    }

    [Theory]
    [InlineData("", 1, 1, "empty")]
    [InlineData("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}'")]
    [InlineData("{\"a\": 1,\n  \"b\" 2}", 2, 7, "expected ':'")]
    [InlineData("{'a': 1}", 1, 2, "double quotes")]
    [InlineData("{\"a\": 'x'}", 1, 7, "double quotes")]
    [InlineData("{\"a\": \"abc", 1, 7, "Unterminated string")]
    [InlineData("{\"a\": \"ab\nc\"}", 1, 7, "line break")]
    [InlineData("{\"a\": 01}", 1, 7, "leading zeros")]
    [InlineData("{\"a\": 1.}", 1, 7, "after '.'")]
    [InlineData("{\"a\": -}", 1, 7, "after '-'")]
    [InlineData("{\"a\": 12abc}", 1, 7, "letters after the number")]
    [InlineData("{\"a\": \"\\x\"}", 1, 8, "Invalid escape")]
    [InlineData("{\"a\": \"\\u12G4\"}", 1, 8, "\\u escape")]
    [InlineData("{\"a\": True}", 1, 7, "lower case")]
    [InlineData("{\"a\": yes}", 1, 7, "double quotes")]
    [InlineData("{} {}", 1, 4, "after the end")]
    [InlineData("{\"a\": 1 /* open", 1, 9, "Unterminated comment")]
    [InlineData("[1,,2]", 1, 4, "Unexpected ','")]
    [InlineData("{\"a\":}", 1, 6, "Missing the value")]
    [InlineData("{\"a\": [1, 2}", 1, 12, "expected ',' or ']'")]
    [InlineData("{\n\"a\": 1,\n", 3, 1, "end of file")]
    public void Errors_point_at_the_first_bad_token(string text, int line, int column, string messagePart)
    {
        var error = ParseError(text);
        Assert.Equal(line, error.Span.Line);
        Assert.Equal(column, error.Span.Column);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_strings_must_be_escaped()
    {
        var error = ParseError("{\"a\": \"x\u0001\"}");
        Assert.Equal(9, error.Span.Column);
        Assert.Contains("U+0001", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_is_bounded()
    {
        Assert.Null(PositionedJsonParser.Parse(new string('[', 5) + new string(']', 5), maxDepth: 5).Error);
        var error = ParseError(new string('[', 6) + new string(']', 6), maxDepth: 5);
        Assert.Equal(6, error.Span.Column);
        Assert.Contains("nested deeper than 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_of_a_hundred_thousand_levels_is_an_error_not_a_stack_overflow()
    {
        var error = ParseError(new string('[', 100_000));
        Assert.Contains("nested deeper than 64", error.Message, StringComparison.Ordinal);
        error = ParseError(string.Concat(Enumerable.Repeat("{\"a\":", 100_000)));
        Assert.Equal(1 + (64 * 5), error.Span.Column);
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var random = new Random(1234);
        const string alphabet = "{}[]:,\"\\/*-+.0123456789eEtrufalsn \n\r\tx\u0000\uFEFF\uD800";
        for (var i = 0; i < 3000; i++)
        {
            var length = random.Next(0, 60);
            var chars = new char[length];
            for (var j = 0; j < length; j++) chars[j] = alphabet[random.Next(alphabet.Length)];
            var result = PositionedJsonParser.Parse(new string(chars));
            Assert.True((result.Root is null) != (result.Error is null));
            if (result.Error is { } error)
            {
                Assert.InRange(error.Span.Offset, 0, length);
                Assert.InRange(error.Span.Offset + error.Span.Length, 0, length);
            }
        }
        var bytes = new byte[4096];
        random.NextBytes(bytes);
        Assert.NotNull(PositionedJsonParser.Parse(Encoding.UTF8.GetString(bytes)).Error);
    }

    [Fact]
    public void Text_over_the_size_limit_is_rejected_up_front()
    {
        var error = ParseError(new string(' ', PositionedJsonParser.MaxTextLength + 1));
        Assert.Contains("at most", error.Message, StringComparison.Ordinal);
    }
}
