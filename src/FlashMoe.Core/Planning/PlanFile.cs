using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Json;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>Where the model of a checked profile came from.</summary>
public enum ModelSource
{
    /// <summary>The GGUF header was read from <see cref="PlanFileEntry.ModelPath"/>.</summary>
    File,
    /// <summary>The file was not there: the profile's declared facts were used (FM1007).</summary>
    Declared,
    /// <summary>The file was there but could not be used (a GGUF format error FM01xx, or FM0303): nothing was planned.</summary>
    Unusable,
}

/// <summary>One checked profile, as the build check records it in <c>flashmoe.plan.json</c>.</summary>
public sealed record PlanFileEntry
{
    /// <summary>The profile name.</summary>
    public string ProfileName { get; init; } = string.Empty;
    /// <summary>Full path of the JSON file that declares it.</summary>
    public string ProfileFile { get; init; } = string.Empty;
    /// <summary>Where the model came from.</summary>
    public ModelSource ModelSource { get; init; }
    /// <summary>The model file read (full path), or <c>model.path</c> as written when it was not found.</summary>
    public string? ModelPath { get; init; }
    /// <summary>The paths searched for <c>model.path</c>, in order (<see cref="ModelLocator.Candidates"/>).</summary>
    public EquatableArray<string> SearchedPaths { get; init; }
    /// <summary>Bytes the GGUF reader read from the model file (the header only), when a file was read.</summary>
    public long? HeaderBytesRead { get; init; }
    /// <summary>The resolved profile (options, decisions, plan); null when the model could not be used.</summary>
    public ResolvedProfile? Resolved { get; init; }
    /// <summary>What was reported for this profile, each located in the JSON, in ID order.</summary>
    public EquatableArray<Advice> Advice { get; init; }
}

/// <summary>
/// Writes <c>flashmoe.plan.json</c>: for each checked profile the model facts, the resolved options, the decision
/// behind every <c>auto</c>, the memory plan per device, the host accounting, the roofline, the quantization fit
/// table and the advice. Sizes are bytes; ratios plain numbers; non-finite numbers are <c>null</c>. The output is
/// deterministic (no timestamps), so an unchanged input gives an unchanged file.
/// </summary>
public static class PlanFile
{
    /// <summary>Version of the file's layout; raised when a member changes meaning or disappears.</summary>
    public const int FormatVersion = 1;

    /// <summary>The file's text for <paramref name="entries"/> (in the order given), ending with a newline.</summary>
    public static string ToJson(IEnumerable<PlanFileEntry> entries)
    {
        if (entries is null) throw new ArgumentNullException(nameof(entries));
        var w = new JsonWriter();
        w.WriteStartObject();
        w.WriteNumber("formatVersion", FormatVersion);
        w.WritePropertyName("profiles").WriteStartArray();
        foreach (var entry in entries) WriteEntry(w, entry);
        w.WriteEndArray();
        w.WriteEndObject();
        return w + "\n";
    }

    /// <summary>
    /// The bytes per ggml type, by type name in ordinal order. Sorted by hand (a few dozen types at most): LINQ OrderBy
    /// over the dictionary's value-type pairs is not precompiled (ReadyToRun) and would be JIT-compiled on every build's
    /// first check.
    /// </summary>
    private static void WriteBytesByType(JsonWriter w, IReadOnlyDictionary<GgmlType, long> bytesByType)
    {
        var names = new string[bytesByType.Count];
        var bytes = new long[names.Length];
        var count = 0;
        void Insert(GgmlType type, long value)
        {
            if (count == names.Length) return; // a dictionary reports its own count; never trust it past the array
            var name = type.ToString();
            var at = count++;
            for (; at > 0 && string.CompareOrdinal(names[at - 1], name) > 0; at--)
            {
                names[at] = names[at - 1];
                bytes[at] = bytes[at - 1];
            }
            names[at] = name;
            bytes[at] = value;
        }
        // A header's own table is walked by index; only a hand-made dictionary is enumerated (KeyValuePair over a Core enum).
        if (bytesByType is TypeBytes own)
        {
            for (var i = 0; i < own.Count; i++) Insert(own.KeyAt(i), own.ValueAt(i));
        }
        else
        {
            foreach (var pair in bytesByType) Insert(pair.Key, pair.Value);
        }
        for (var i = 0; i < count; i++) w.WriteNumber(names[i], bytes[i]);
    }

    private static void WriteEntry(JsonWriter w, PlanFileEntry entry)
    {
        var resolved = entry.Resolved;
        w.WriteStartObject();
        w.WriteString("name", entry.ProfileName);
        w.WriteString("file", entry.ProfileFile);
        if (resolved is not null) w.WriteString("objective", Lower(resolved.Profile.Objective));
        WriteModel(w, entry, resolved?.Model);
        if (resolved is not null)
        {
            WriteOptions(w, resolved.Options);
            WriteDecisions(w, resolved.Decisions);
            WritePlan(w, resolved.Plan);
        }
        w.WritePropertyName("advice").WriteStartArray();
        foreach (var advice in entry.Advice) WriteAdvice(w, advice);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteModel(JsonWriter w, PlanFileEntry entry, ModelSummary? model)
    {
        w.WritePropertyName("model").WriteStartObject();
        w.WriteString("source", Lower(entry.ModelSource));
        w.WriteString("path", entry.ModelPath);
        w.WritePropertyName("searched").WriteStartArray();
        foreach (var path in entry.SearchedPaths) w.WriteString(path);
        w.WriteEndArray();
        w.WriteNumber("headerBytesRead", entry.HeaderBytesRead);
        if (model is not null)
        {
            w.WriteString("architecture", model.Architecture);
            w.WriteString("name", model.Name);
            w.WriteNumber("sizeBytes", model.FileSizeBytes);
            w.WriteNumber("tensorBytes", model.TensorBytes);
            w.WriteNumber("parameters", model.ParameterCount);
            w.WriteNumber("layers", model.BlockCount);
            w.WriteNumber("experts", model.ExpertCount);
            w.WriteNumber("expertsUsed", model.ExpertUsedCount);
            w.WriteNumber("contextLength", model.ContextLength);
            w.WritePropertyName("bytesByType").WriteStartObject();
            WriteBytesByType(w, model.BytesByType);
            w.WriteEndObject();
            w.WritePropertyName("assumptions").WriteStartArray();
            foreach (var assumption in model.Assumptions) w.WriteString(assumption);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteOptions(JsonWriter w, ResolvedLoadOptions o)
    {
        w.WritePropertyName("options").WriteStartObject();
        w.WriteBoolean("mmap", o.UseMmap);
        w.WriteBoolean("mlock", o.UseMlock);
        w.WriteNumber("gpuLayers", o.GpuLayerCount);
        w.WritePropertyName("tensorOverrides").WriteStartArray();
        foreach (var o2 in o.TensorOverrides)
        {
            w.WriteStartObject().WriteString("pattern", o2.Pattern).WriteString("device", o2.Device).WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("threads", o.Threads);
        w.WriteNumber("batchThreads", o.BatchThreads);
        w.WriteNumber("contextSize", o.ContextSize);
        w.WriteNumber("batchSize", o.BatchSize);
        w.WriteNumber("ubatchSize", o.UBatchSize);
        w.WriteBoolean("flashAttention", o.FlashAttention);
        w.WritePropertyName("kvCache").WriteStartObject().WriteString("k", KvName(o.TypeK)).WriteString("v", KvName(o.TypeV)).WriteEndObject();
        w.WriteBoolean("repack", o.Repack);
        w.WriteBoolean("kvOffload", o.KvOffload);
        w.WriteNumber("mainGpu", o.MainGpu);
        w.WritePropertyName("tensorSplits").WriteStartArray();
        foreach (var split in o.TensorSplits) w.WriteNumber((double)(decimal)split);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteDecisions(JsonWriter w, EquatableArray<Decision> decisions)
    {
        w.WritePropertyName("decisions").WriteStartArray();
        foreach (var d in decisions)
        {
            w.WriteStartObject();
            w.WriteString("option", d.Option);
            w.WriteString("value", d.Value);
            w.WriteString("rule", d.RuleId);
            w.WriteString("reason", d.Reason);
            w.WritePropertyName("figures").WriteStartArray();
            foreach (var f in d.Figures)
            {
                w.WriteStartObject().WriteString("name", f.Name).WriteNumber("value", f.Value).WriteString("unit", f.Unit).WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WritePlan(JsonWriter w, MemoryPlan plan)
    {
        w.WritePropertyName("plan").WriteStartObject();
        w.WriteNumber("offloadedLayers", plan.OffloadedLayerCount);
        w.WritePropertyName("layerDevices").WriteStartArray();
        foreach (var device in plan.LayerDevices) w.WriteString(device.ToString());
        w.WriteEndArray();
        w.WriteString("outputDevice", plan.OutputDevice.ToString());
        w.WriteNumber("kvCacheBytes", plan.KvCacheBytes);

        w.WritePropertyName("devices").WriteStartArray();
        foreach (var d in plan.Devices)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device.ToString());
            w.WriteString("name", d.Name);
            w.WriteNumber("layers", d.LayerCount);
            w.WriteBoolean("holdsOutputLayer", d.HoldsOutputLayer);
            w.WriteNumber("weightBytes", d.WeightBytes);
            w.WriteNumber("repackedBytes", d.RepackedBytes);
            w.WriteNumber("kvCacheBytes", d.KvCacheBytes);
            w.WriteNumber("computeBytes", d.ComputeBytes);
            w.WriteNumber("outputBytes", d.OutputBytes);
            w.WriteNumber("totalBytes", d.TotalBytes);
            w.WriteNumber("capacityBytes", d.CapacityBytes);
            w.WriteNumber("reserveBytes", d.ReserveBytes);
            w.WriteBoolean("fits", d.Fits);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        var h = plan.Host;
        w.WritePropertyName("host").WriteStartObject();
        w.WriteBoolean("mmap", h.UseMmap);
        w.WriteNumber("totalRamBytes", h.TotalRamBytes);
        w.WriteNumber("memoryLimitBytes", h.MemoryLimitBytes);
        w.WriteNumber("reserveBytes", h.ReserveBytes);
        w.WriteBoolean("reserveIsDefault", h.ReserveIsDefault);
        w.WriteNumber("usableBytes", h.UsableBytes);
        w.WriteNumber("hostShareBytes", h.CpuWeightBytes);
        w.WriteNumber("repackedBytes", h.RepackedBytes);
        w.WriteNumber("kvCacheBytes", h.KvCacheBytes);
        w.WriteNumber("computeBytes", h.ComputeBytes);
        w.WriteNumber("computeResidentBytes", h.ComputeResidentBytes);
        w.WriteNumber("outputBytes", h.OutputBytes);
        w.WriteNumber("runtimeOverheadBytes", h.RuntimeOverheadBytes);
        w.WriteNumber("footprintBytes", h.FootprintBytes);
        w.WriteNumber("anonymousBytes", h.AnonymousBytes);
        w.WriteNumber("fileBackedBytes", h.FileBackedBytes);
        w.WriteNumber("peakRssBytes", h.PeakRssBytes);
        w.WriteNumber("lockedBytes", h.LockedBytes);
        w.WriteNumber("footprintRatio", Round(h.FootprintRatio));
        w.WriteBoolean("noMmapFits", h.NoMmapFits);
        w.WriteNumber("mmapSafeRatio", Round(h.MmapSafeRatio));
        w.WriteEndObject();

        var r = plan.Roofline;
        w.WritePropertyName("roofline").WriteStartObject();
        w.WriteNumber("activeBytesPerToken", r.ActiveBytesPerToken);
        w.WriteNumber("activeHostBytesPerToken", r.ActiveHostBytesPerToken);
        w.WriteNumber("activeGpuBytesPerToken", r.ActiveGpuBytesPerToken);
        w.WriteNumber("memoryBandwidthGBs", r.MemoryBandwidthGBs);
        w.WriteNumber("upperBoundTokensPerSecond", r.UpperBoundTokensPerSecond is { } t ? Round(t) : null);
        w.WriteEndObject();

        w.WritePropertyName("quantizationFits").WriteStartArray();
        foreach (var q in plan.QuantizationFits)
        {
            w.WriteStartObject().WriteString("name", q.Name).WriteNumber("bitsPerWeight", q.BitsPerWeight)
                .WriteNumber("sizeBytes", q.SizeBytes).WriteBoolean("fits", q.Fits).WriteEndObject();
        }
        w.WriteEndArray();

        w.WritePropertyName("ignoredOverrides").WriteStartArray();
        foreach (var i in plan.IgnoredOverrides)
        {
            w.WriteStartObject().WriteString("pattern", i.Pattern).WriteString("device", i.Device).WriteString("reason", i.Reason).WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteAdvice(JsonWriter w, Advice advice)
    {
        var d = advice.Diagnostic;
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        w.WriteString("severity", Lower(d.Severity));
        w.WriteString("title", d.Descriptor.Title);
        w.WriteString("message", d.Message);
        w.WriteString("property", advice.PropertyPath);
        if (d.Location is { } l)
        {
            w.WriteNumber("line", l.Line);
            w.WriteNumber("column", l.Column);
            w.WriteNumber("endLine", l.EndLine);
            w.WriteNumber("endColumn", l.EndColumn);
        }
        w.WriteEndObject();
    }

    private static string KvName(KvCacheType type)
    {
        // An index loop, not FirstOrDefault: LINQ over these value-type pairs is JIT-compiled on a build's first check.
        var names = ProfileSchema.KvCacheTypeNames;
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i].Value == type) return names[i].Key;
        }
        return Invariant.Lower(type);
    }

    private static string Lower<T>(T value) where T : struct, Enum => Invariant.Lower(value);

    // Ratios to 4 decimals: enough for any decision, and stable text across runtimes' float formatting.
    private static double Round(double value) => double.IsNaN(value) || double.IsInfinity(value) ? value : Math.Round(value, 4);
}
