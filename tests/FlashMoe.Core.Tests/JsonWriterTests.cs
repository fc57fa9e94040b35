using System;
using FlashMoe.Json;
using Xunit;

namespace FlashMoe.Core.Tests;

public class JsonWriterTests
{
    [Fact]
    public void Writes_indented_json_that_parses_back_to_the_same_values()
    {
        var w = new JsonWriter();
        w.WriteStartObject();
        w.WriteString("text", "quote \" backslash \\ newline \n tab \t bell \u0007 line-sep \u2028 emoji 🙂");
        w.WriteNumber("big", long.MaxValue);
        w.WriteNumber("ratio", 1.0 / 3);
        w.WriteNumber("nan", double.NaN);
        w.WriteNumber("none", (long?)null);
        w.WriteBoolean("yes", true);
        w.WritePropertyName("empty").WriteStartArray().WriteEndArray();
        w.WritePropertyName("nested").WriteStartArray().WriteStartObject().WriteString("a", null).WriteEndObject().WriteNumber(2L).WriteEndArray();
        w.WriteEndObject();
        var text = w.ToString();

        var parsed = PositionedJsonParser.Parse(text);
        Assert.Null(parsed.Error);
        var root = Assert.IsType<JsonObject>(parsed.Root);
        Assert.Equal("quote \" backslash \\ newline \n tab \t bell \u0007 line-sep \u2028 emoji 🙂", Assert.IsType<JsonString>(root.Properties[0].Value).Value);
        Assert.Equal("9223372036854775807", Assert.IsType<JsonNumber>(root.Properties[1].Value).RawText);
        Assert.Equal(1.0 / 3, Assert.IsType<JsonNumber>(root.Properties[2].Value).Value);
        Assert.IsType<JsonNull>(root.Properties[3].Value);
        Assert.IsType<JsonNull>(root.Properties[4].Value);
        Assert.Empty(Assert.IsType<JsonArray>(root.Properties[6].Value).Items);
        Assert.Contains("\\u0007", text);
        Assert.Contains("\\u2028", text);
        Assert.Equal("{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}", new JsonWriter().WriteStartObject().WriteNumber("a", 1L).WritePropertyName("b").WriteStartArray().WriteBoolean(true).WriteEndArray().WriteEndObject().ToString());
    }

    [Fact]
    public void A_lone_surrogate_is_escaped_not_written_raw()
    {
        var text = new JsonWriter().WriteString("a\ud800b").ToString();
        Assert.Equal("\"a\\ud800b\"", text);
    }

    [Fact]
    public void Numbers_are_culture_invariant()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("[\n  1.5,\n  -12\n]", new JsonWriter().WriteStartArray().WriteNumber(1.5).WriteNumber(-12L).WriteEndArray().ToString());
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Misuse_throws_instead_of_writing_invalid_json()
    {
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().WriteNumber(1L));
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartArray().WritePropertyName("a"));
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartArray().WriteEndObject());
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteNumber(1L).WriteNumber(2L));
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().ToString());
        Assert.Throws<InvalidOperationException>(() => new JsonWriter().WriteStartObject().WritePropertyName("a").WriteEndObject());
    }
}
