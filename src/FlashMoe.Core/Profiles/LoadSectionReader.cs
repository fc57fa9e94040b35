using System.Collections.Generic;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>Reads a profile's <c>load</c> object; omitted options keep <see cref="LoadOptions.Default"/>.</summary>
internal static class LoadSectionReader
{
    /// <summary>The load options, or null when <c>load</c> is not an object (reported).</summary>
    public static LoadOptions? Read(ProfileValueReader reader, JsonProperty member)
    {
        if (member.Value is not JsonObject obj)
        {
            reader.ReportType(member.Value, "load", "an object");
            return null;
        }
        var d = LoadOptions.Default;
        var mmap = d.Mmap;
        var mlock = d.Mlock;
        var gpuLayers = d.GpuLayers;
        var expertsOnCpu = d.ExpertsOnCpu;
        var overrides = d.TensorOverrides;
        var threads = d.Threads;
        var batchThreads = d.BatchThreads;
        var contextSize = d.ContextSize;
        var batchSize = d.BatchSize;
        var ubatchSize = d.UBatchSize;
        var flashAttention = d.FlashAttention;
        var kvCache = d.KvCache;
        var repack = d.Repack;
        var kvOffload = d.KvOffload;
        var swaFull = d.SwaFull;
        foreach (var p in reader.Members(obj, "load", "'load'", ProfileSchema.Load))
        {
            var path = "load." + p.Name;
            switch (p.Name)
            {
                case "mmap": mmap = ReadAutoSwitch(reader, p.Value, path) ?? mmap; break;
                case "mlock": mlock = reader.ReadBool(p.Value, path) ?? mlock; break;
                case "gpuLayers": gpuLayers = ReadGpuLayers(reader, p.Value, path) ?? gpuLayers; break;
                case "expertsOnCpu": expertsOnCpu = ReadExpertsOnCpu(reader, p.Value, path) ?? expertsOnCpu; break;
                case "tensorOverrides": overrides = ReadTensorOverrides(reader, p.Value, path); break;
                case "threads": threads = ReadThreadCount(reader, p.Value, path) ?? threads; break;
                case "batchThreads": batchThreads = ReadThreadCount(reader, p.Value, path) ?? batchThreads; break;
                case "contextSize": contextSize = reader.ReadInt(p.Value, path, 1, int.MaxValue) ?? contextSize; break;
                case "batchSize": batchSize = reader.ReadInt(p.Value, path, 1, int.MaxValue) ?? batchSize; break;
                case "ubatchSize": ubatchSize = ReadUBatchSize(reader, p.Value, path) ?? ubatchSize; break;
                case "flashAttention": flashAttention = ReadAutoSwitch(reader, p.Value, path) ?? flashAttention; break;
                case "kvCache": kvCache = ReadKvCache(reader, p.Value, path, kvCache); break;
                case "repack": repack = reader.ReadBool(p.Value, path) ?? repack; break;
                case "kvOffload": kvOffload = reader.ReadBool(p.Value, path) ?? kvOffload; break;
                case "swaFull": swaFull = reader.ReadBool(p.Value, path) ?? swaFull; break;
            }
        }
        return new LoadOptions(mmap, mlock, gpuLayers, expertsOnCpu, overrides, threads, batchThreads,
            contextSize, batchSize, ubatchSize, flashAttention, kvCache, repack, kvOffload, swaFull);
    }

    private static AutoSwitch? ReadAutoSwitch(ProfileValueReader reader, JsonNode value, string path)
    {
        switch (value)
        {
            case JsonBoolean b: return b.Value ? AutoSwitch.On : AutoSwitch.Off;
            case JsonString { Value: "auto" }: return AutoSwitch.Auto;
            default:
                reader.ReportType(value, path, "true, false or \"auto\"");
                return null;
        }
    }

    private static GpuLayers? ReadGpuLayers(ProfileValueReader reader, JsonNode value, string path)
    {
        switch (value)
        {
            case JsonString { Value: "auto" }: return GpuLayers.Auto;
            case JsonString { Value: "all" }: return GpuLayers.All;
            case JsonNumber:
                return reader.ReadInt(value, path, 0, ProfileParser.MaxCount) is { } count ? GpuLayers.Of(count) : null;
            default:
                reader.ReportType(value, path, "a layer count (integer ≥ 0), \"all\" or \"auto\"");
                return null;
        }
    }

    private static ExpertsOnCpu? ReadExpertsOnCpu(ProfileValueReader reader, JsonNode value, string path)
    {
        switch (value)
        {
            case JsonBoolean b: return b.Value ? ExpertsOnCpu.All : ExpertsOnCpu.None;
            case JsonNumber:
                // 0 layers is the same as false; normalising keeps one spelling per meaning.
                return reader.ReadInt(value, path, 0, ProfileParser.MaxCount) is { } count ? (count == 0 ? ExpertsOnCpu.None : ExpertsOnCpu.FirstLayers(count)) : null;
            default:
                reader.ReportType(value, path, "true, false or a layer count (integer ≥ 0: the first N layers' experts stay on the CPU)");
                return null;
        }
    }

    private static ThreadCount? ReadThreadCount(ProfileValueReader reader, JsonNode value, string path)
    {
        switch (value)
        {
            case JsonString { Value: "physical" }: return ThreadCount.Physical;
            case JsonString { Value: "logical" }: return ThreadCount.Logical;
            case JsonNumber:
                return reader.ReadInt(value, path, 1, ProfileParser.MaxCount) is { } count ? ThreadCount.Fixed(count) : null;
            default:
                reader.ReportType(value, path, "a thread count (integer ≥ 1), \"physical\" or \"logical\"");
                return null;
        }
    }

    private static int? ReadUBatchSize(ProfileValueReader reader, JsonNode value, string path)
    {
        if (value is JsonString { Value: "auto" }) return LoadOptions.AutoUBatchSize;
        if (value is JsonNumber) return reader.ReadInt(value, path, 1, int.MaxValue);
        reader.ReportType(value, path, "a token count (integer ≥ 1) or \"auto\"");
        return null;
    }

    /// <summary>The KV cache types; null for <c>"auto"</c> (and, after a reported error, the default it stays at).</summary>
    private static KvCacheSpec? ReadKvCache(ProfileValueReader reader, JsonNode value, string path, KvCacheSpec? current)
    {
        if (value is JsonString { Value: "auto" }) return null;
        if (value is not JsonObject obj)
        {
            reader.ReportType(value, path, "\"auto\" or an object such as { \"k\": \"q8_0\", \"v\": \"q8_0\" }");
            return current;
        }
        var k = KvCacheSpec.Default.K;
        var v = KvCacheSpec.Default.V;
        foreach (var p in reader.Members(obj, path, "'" + path + "'", ProfileSchema.KvCache))
        {
            var memberPath = path + "." + p.Name;
            var type = reader.ReadEnum(p.Value, memberPath, ProfileSchema.KvCacheTypeNames);
            if (type is null) continue;
            if (p.Name == "k") k = type.Value;
            else v = type.Value;
        }
        return new KvCacheSpec(k, v);
    }

    private static EquatableArray<TensorOverride> ReadTensorOverrides(ProfileValueReader reader, JsonNode value, string path)
    {
        if (value is not JsonArray array)
        {
            reader.ReportType(value, path, "an array of { \"pattern\": \"regex\", \"device\": \"CPU\" } objects");
            return EquatableArray<TensorOverride>.Empty;
        }
        var overrides = new List<TensorOverride>();
        for (var i = 0; i < array.Items.Count; i++)
        {
            var itemPath = path + "[" + Invariant.Number(i) + "]";
            var item = array.Items[i];
            reader.Record(itemPath, item.Span);
            if (item is not JsonObject obj)
            {
                reader.ReportType(item, itemPath, "an object such as { \"pattern\": \"\\\\.ffn_.*_exps\\\\.\", \"device\": \"CPU\" }");
                continue;
            }
            string? pattern = null, device = null;
            foreach (var p in reader.Members(obj, itemPath, "'" + itemPath + "'", ProfileSchema.TensorOverride))
            {
                var memberPath = itemPath + "." + p.Name;
                if (p.Name == "pattern")
                {
                    pattern = reader.ReadString(p.Value, memberPath, allowEmpty: false);
                    if (pattern is not null && !TensorPatternRules.Check(reader, p.Value, memberPath, pattern)) pattern = null;
                }
                else
                {
                    device = reader.ReadString(p.Value, memberPath, allowEmpty: false);
                    if (LlamaPlacement.IsDroppedByLlamaSharp(device))
                    {
                        reader.Report(DiagnosticCatalog.IgnoredOverrideDevice, p.Value.Span, memberPath, JsonText.Shorten(device));
                    }
                }
            }
            if (!reader.IsWritten(itemPath + ".pattern"))
            {
                reader.Report(DiagnosticCatalog.MissingValue, ProfileValueReader.FirstChar(obj.Span), $"\"{itemPath}.pattern\" is required: a regular expression searched in tensor names");
            }
            if (!reader.IsWritten(itemPath + ".device"))
            {
                reader.Report(DiagnosticCatalog.MissingValue, ProfileValueReader.FirstChar(obj.Span), $"\"{itemPath}.device\" is required: a buffer type such as \"CPU\" or \"Vulkan0\"");
            }
            if (pattern is not null && device is not null) overrides.Add(new TensorOverride(pattern, device));
        }
        return overrides.ToEquatableArray();
    }
}
