using System;
using System.Globalization;
using System.Linq;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>
/// Writes profiles as a <c>flashmoe.json</c>-format file that <see cref="ProfileParser"/> reads back to an equal
/// <see cref="FlashMoeProfile"/>: every option explicit (nothing left to defaults), invariant numbers, two-space
/// indentation. The tuner writes its winner with it, so the generator and the build check see it like any other profile.
/// </summary>
public static class ProfileWriter
{
    /// <summary>The file text holding <paramref name="profiles"/> (names must be distinct C# identifiers, as the parser requires).</summary>
    /// <param name="profiles">The profiles, in order.</param>
    /// <param name="schema">The <c>$schema</c> value, or null to leave it out.</param>
    public static string Write(System.Collections.Generic.IEnumerable<FlashMoeProfile> profiles, string? schema = null)
    {
        if (profiles is null) throw new ArgumentNullException(nameof(profiles));
        var w = new JsonWriter();
        w.WriteStartObject();
        if (schema is not null) w.WriteString("$schema", schema);
        w.WritePropertyName("profiles").WriteStartObject();
        foreach (var profile in profiles)
        {
            if (profile is null) throw new ArgumentException("The profile list contains null.", nameof(profiles));
            w.WritePropertyName(profile.Name);
            WriteProfile(w, profile);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        return w.ToString() + "\n";
    }

    private static void WriteProfile(JsonWriter w, FlashMoeProfile p)
    {
        w.WriteStartObject();
        if (p.Description is not null) w.WriteString("description", p.Description);

        var h = p.Hardware;
        w.WritePropertyName("hardware").WriteStartObject();
        w.WriteNumber("ramGiB", h.RamGiB);
        if (h.ReserveGiB is { } reserve) w.WriteNumber("reserveGiB", reserve);
        if (h.MemoryBandwidthGBs is { } bandwidth) w.WriteNumber("memoryBandwidthGBs", bandwidth);
        w.WritePropertyName("cpu").WriteStartObject();
        if (h.Cpu.PhysicalCores is { } physical) w.WriteNumber("physicalCores", physical);
        if (h.Cpu.LogicalCores is { } logical) w.WriteNumber("logicalCores", logical);
        if (h.Cpu.Avx2 is { } avx2) w.WriteBoolean("avx2", avx2);
        if (h.Cpu.Avx512 is { } avx512) w.WriteBoolean("avx512", avx512);
        w.WriteEndObject();
        w.WritePropertyName("gpus").WriteStartArray();
        foreach (var g in h.Gpus)
        {
            w.WriteStartObject();
            w.WriteString("name", g.Name);
            w.WriteNumber("vramGiB", g.VramGiB);
            w.WriteString("backend", Name(ProfileSchema.BackendNames, g.Backend));
            if (g.SplitRatio is { } split) w.WriteNumber("splitRatio", split);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("storage", Name(ProfileSchema.StorageNames, h.Storage));
        w.WriteEndObject();

        var m = p.Model;
        w.WritePropertyName("model").WriteStartObject();
        if (m.Path is not null) w.WriteString("path", m.Path);
        if (m.SizeGiB is { } size) w.WriteNumber("sizeGiB", size);
        if (m.BlockCount is { } blocks) w.WriteNumber("blockCount", blocks);
        if (m.ExpertCount is { } experts) w.WriteNumber("expertCount", experts);
        if (m.ExpertUsedCount is { } used) w.WriteNumber("expertUsedCount", used);
        if (m.ExpertFraction is { } fraction) w.WriteNumber("expertFraction", fraction);
        if (m.WeightType is { } type) w.WriteString("weightType", Invariant.Lower(type));
        w.WriteEndObject();

        var l = p.Load;
        w.WritePropertyName("load").WriteStartObject();
        WriteSwitch(w, "mmap", l.Mmap);
        w.WriteBoolean("mlock", l.Mlock);
        switch (l.GpuLayers.Kind)
        {
            case GpuLayersKind.Auto: w.WriteString("gpuLayers", "auto"); break;
            case GpuLayersKind.All: w.WriteString("gpuLayers", "all"); break;
            default: w.WriteNumber("gpuLayers", l.GpuLayers.Count); break;
        }
        switch (l.ExpertsOnCpu.Kind)
        {
            case ExpertsOnCpuKind.None: w.WriteBoolean("expertsOnCpu", false); break;
            case ExpertsOnCpuKind.All: w.WriteBoolean("expertsOnCpu", true); break;
            default: w.WriteNumber("expertsOnCpu", l.ExpertsOnCpu.LayerCount); break;
        }
        w.WritePropertyName("tensorOverrides").WriteStartArray();
        foreach (var o in l.TensorOverrides)
        {
            w.WriteStartObject();
            w.WriteString("pattern", o.Pattern);
            w.WriteString("device", o.Device);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteThreads(w, "threads", l.Threads);
        WriteThreads(w, "batchThreads", l.BatchThreads);
        w.WriteNumber("contextSize", l.ContextSize);
        w.WriteNumber("batchSize", l.BatchSize);
        if (l.UBatchSize == LoadOptions.AutoUBatchSize) w.WriteString("ubatchSize", "auto");
        else w.WriteNumber("ubatchSize", l.UBatchSize);
        WriteSwitch(w, "flashAttention", l.FlashAttention);
        if (l.KvCache is null)
        {
            w.WriteString("kvCache", "auto");
        }
        else
        {
            w.WritePropertyName("kvCache").WriteStartObject();
            w.WriteString("k", Name(ProfileSchema.KvCacheTypeNames, l.KvCache.K));
            w.WriteString("v", Name(ProfileSchema.KvCacheTypeNames, l.KvCache.V));
            w.WriteEndObject();
        }
        w.WriteBoolean("repack", l.Repack);
        w.WriteBoolean("kvOffload", l.KvOffload);
        w.WriteEndObject();

        w.WriteString("objective", Name(ProfileSchema.ObjectiveNames, p.Objective));
        w.WriteEndObject();
    }

    private static void WriteSwitch(JsonWriter w, string name, AutoSwitch value)
    {
        switch (value)
        {
            case AutoSwitch.On: w.WriteBoolean(name, true); break;
            case AutoSwitch.Off: w.WriteBoolean(name, false); break;
            default: w.WriteString(name, "auto"); break;
        }
    }

    private static void WriteThreads(JsonWriter w, string name, ThreadCount value)
    {
        switch (value.Kind)
        {
            case ThreadCountKind.Physical: w.WriteString(name, "physical"); break;
            case ThreadCountKind.Logical: w.WriteString(name, "logical"); break;
            default: w.WriteNumber(name, value.Count); break;
        }
    }

    private static string Name<T>(System.Collections.Generic.IReadOnlyList<System.Collections.Generic.KeyValuePair<string, T>> names, T value)
    {
        foreach (var pair in names)
        {
            if (Equals(pair.Value, value)) return pair.Key;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, "no spelling for " + Convert.ToString(value, CultureInfo.InvariantCulture));
    }
}
