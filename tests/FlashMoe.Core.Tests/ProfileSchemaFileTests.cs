using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlashMoe.Profiles;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Core.Tests;

/// <summary>
/// flashmoe.schema.json (for editors) and ProfileParser (for the build) must accept and reject the same
/// property names and enum spellings; these tests walk the schema and compare it with the parser's table
/// and the parser's behaviour.
/// </summary>
public class ProfileSchemaFileTests
{
    private static readonly Lazy<JsonObject> Schema = new(() =>
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "flashmoe.schema.json"));
        return JsonNode.Parse(text)!.AsObject();
    });

    private static JsonObject Resolve(JsonNode node)
    {
        var obj = node.AsObject();
        // An object that may also be written as a keyword ("kvCache": { … } or "auto"): its members come from the
        // object alternative, its description and default stay on the property.
        if (obj["oneOf"] is JsonArray alternatives && alternatives.OfType<JsonObject>().FirstOrDefault(a => a["$ref"] is not null || a["properties"] is not null) is { } objectForm)
        {
            var merged = Resolve(objectForm);
            foreach (var (key, value) in obj)
            {
                if (key != "oneOf") merged[key] = value?.DeepClone();
            }
            return merged;
        }
        if (obj["$ref"] is JsonValue reference)
        {
            var name = reference.GetValue<string>();
            Assert.StartsWith("#/$defs/", name, StringComparison.Ordinal);
            var target = Schema.Value["$defs"]![name.Substring("#/$defs/".Length)]!.AsObject();
            // Siblings of $ref (description, default) stay on the referencing node; structure comes from the target.
            var merged = JsonNode.Parse(target.ToJsonString())!.AsObject();
            foreach (var (key, value) in obj)
            {
                if (key != "$ref") merged[key] = value?.DeepClone();
            }
            return merged;
        }
        return obj;
    }

    /// <summary>Calls <paramref name="visit"/> for every property schema with its normalised path and whether its parent requires it.</summary>
    private static void Walk(JsonObject objectSchema, string prefix, Action<string, JsonObject, bool> visit)
    {
        var required = objectSchema["required"]?.AsArray().Select(n => n!.GetValue<string>()).ToHashSet() ?? new HashSet<string>();
        foreach (var (name, node) in objectSchema["properties"]?.AsObject() ?? new JsonObject())
        {
            var path = prefix.Length == 0 ? name : prefix + "." + name;
            var property = Resolve(node!);
            visit(path, property, required.Contains(name));
            if (property["properties"] is not null) Walk(property, path, visit);
            if (property["additionalProperties"] is JsonObject map)
            {
                var element = Resolve(map);
                visit(path + ".*", element, false);
                Walk(element, path + ".*", visit);
            }
            if (property["items"] is JsonObject items)
            {
                var element = Resolve(items);
                visit(path + "[]", element, false);
                Walk(element, path + "[]", visit);
            }
        }
    }

    private static List<(string Path, JsonObject Schema, bool Required)> AllProperties()
    {
        var list = new List<(string, JsonObject, bool)>();
        Walk(Schema.Value, string.Empty, (path, schema, required) => list.Add((path, schema, required)));
        return list;
    }

    [Fact]
    public void The_schema_and_the_parser_know_exactly_the_same_property_names()
    {
        var schemaPaths = AllProperties().Select(p => p.Path).OrderBy(p => p, StringComparer.Ordinal).ToArray();
        var parserPaths = ProfileSchema.KnownPropertyPaths.OrderBy(p => p, StringComparer.Ordinal).ToArray();
        Assert.Equal(parserPaths, schemaPaths);
    }

    [Fact]
    public void Every_object_in_the_schema_rejects_unknown_members_like_the_parser()
    {
        Assert.False(Schema.Value["additionalProperties"]!.GetValue<bool>());
        foreach (var (path, schema, _) in AllProperties())
        {
            if (schema["properties"] is null) continue;
            Assert.True(schema["additionalProperties"] is JsonValue v && !v.GetValue<bool>(), path + " must set additionalProperties: false");
        }
    }

    [Fact]
    public void Every_property_has_a_description_and_a_default_unless_required()
    {
        foreach (var (path, schema, required) in AllProperties())
        {
            if (path.EndsWith("*", StringComparison.Ordinal) || path.EndsWith("[]", StringComparison.Ordinal)) continue; // map values / array items
            Assert.False(string.IsNullOrWhiteSpace(schema["description"]?.GetValue<string>()), path + " needs a description");
            if (!required) Assert.True(schema.ContainsKey("default"), path + " needs a default");
            else if (schema["properties"] is null && schema["additionalProperties"] is not JsonObject)
            {
                Assert.True(schema.ContainsKey("examples"), path + " is a required value and needs examples"); // required objects are built from their members
            }
        }
    }

    [Theory]
    [InlineData("profiles.*.hardware.storage", nameof(ProfileSchema.StorageNames))]
    [InlineData("profiles.*.hardware.gpus[].backend", nameof(ProfileSchema.BackendNames))]
    [InlineData("profiles.*.objective", nameof(ProfileSchema.ObjectiveNames))]
    [InlineData("profiles.*.load.kvCache.k", nameof(ProfileSchema.KvCacheTypeNames))]
    [InlineData("profiles.*.load.kvCache.v", nameof(ProfileSchema.KvCacheTypeNames))]
    [InlineData("profiles.*.model.weightType", nameof(ProfileSchema.WeightTypeNames))]
    public void Enum_spellings_agree(string path, string table)
    {
        var schema = AllProperties().Single(p => p.Path == path).Schema;
        var schemaValues = schema["enum"]!.AsArray().Where(n => n is not null).Select(n => n!.GetValue<string>()).OrderBy(s => s, StringComparer.Ordinal);
        var parserValues = table switch
        {
            nameof(ProfileSchema.StorageNames) => ProfileSchema.StorageNames.Select(p => p.Key),
            nameof(ProfileSchema.BackendNames) => ProfileSchema.BackendNames.Select(p => p.Key),
            nameof(ProfileSchema.ObjectiveNames) => ProfileSchema.ObjectiveNames.Select(p => p.Key),
            nameof(ProfileSchema.KvCacheTypeNames) => ProfileSchema.KvCacheTypeNames.Select(p => p.Key),
            _ => ProfileSchema.WeightTypeNames.Select(p => p.Key),
        };
        Assert.Equal(parserValues.OrderBy(s => s, StringComparer.Ordinal), schemaValues);
    }

    /// <summary>A document that writes every property of the schema, using its example or default value.</summary>
    private static JsonObject BuildFullDocument(JsonObject objectSchema, string? unknownMember)
    {
        var document = new JsonObject();
        foreach (var (name, node) in objectSchema["properties"]!.AsObject())
        {
            var property = Resolve(node!);
            JsonNode? value;
            if (property["properties"] is not null)
            {
                value = BuildFullDocument(property, unknownMember);
            }
            else if (property["additionalProperties"] is JsonObject map)
            {
                value = new JsonObject { ["P"] = BuildFullDocument(Resolve(map), unknownMember) };
            }
            else if (property["items"] is JsonObject items && Resolve(items)["properties"] is not null)
            {
                value = new JsonArray(BuildFullDocument(Resolve(items), unknownMember));
            }
            else
            {
                value = (property["examples"]?.AsArray()[0] ?? property["default"])?.DeepClone();
            }
            document[name] = value;
        }
        if (unknownMember is not null) document[unknownMember] = 1;
        return document;
    }

    [Fact]
    public void A_document_writing_every_schema_property_with_its_default_or_example_is_clean()
    {
        var text = BuildFullDocument(Schema.Value, null).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var document = ProfileParser.Parse("full.json", text);
        Assert.Empty(document.Diagnostics);
        var profile = Assert.Single(document.Profiles);
        // Every leaf the schema declares under the profile was recorded as written.
        foreach (var path in ProfileSchema.KnownPropertyPaths.Where(p => p.StartsWith("profiles.*.", StringComparison.Ordinal)))
        {
            var written = path.Substring("profiles.*.".Length).Replace("[]", "[0]", StringComparison.Ordinal);
            Assert.True(profile.Locations.IsWritten(written), written);
        }
    }

    [Fact]
    public void The_parser_warns_about_an_unknown_member_in_every_object_the_schema_closes()
    {
        var text = BuildFullDocument(Schema.Value, "notInTheSchema").ToJsonString();
        var document = ProfileParser.Parse("full.json", text);
        var objectCount = AllProperties().Count(p => p.Schema["properties"] is not null) + 1; // + the root
        Assert.Equal(objectCount, document.Diagnostics.Count(d => d.Id == "FM0002" && d.Message.Contains("'notInTheSchema'", StringComparison.Ordinal)));
    }
}
