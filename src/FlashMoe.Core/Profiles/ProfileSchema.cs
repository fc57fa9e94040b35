using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;

namespace FlashMoe.Profiles;

/// <summary>
/// The property names and enum spellings of the profile format, in one table. The parser reports FM0002
/// for any name not listed here, and a test checks that <c>flashmoe.schema.json</c> lists exactly the same
/// names, so the editor schema and the build never disagree.
/// </summary>
public static class ProfileSchema
{
    /// <summary>Members of the file's root object.</summary>
    public static IReadOnlyList<string> Root { get; } = new[] { "$schema", "profiles" };

    /// <summary>Members of one profile.</summary>
    public static IReadOnlyList<string> Profile { get; } = new[] { "description", "hardware", "model", "load", "objective" };

    /// <summary>Members of <c>hardware</c>.</summary>
    public static IReadOnlyList<string> Hardware { get; } = new[] { "ramGiB", "reserveGiB", "memoryBandwidthGBs", "cpu", "gpus", "storage" };

    /// <summary>Members of <c>hardware.cpu</c>.</summary>
    public static IReadOnlyList<string> Cpu { get; } = new[] { "physicalCores", "logicalCores", "avx2", "avx512" };

    /// <summary>Members of each <c>hardware.gpus[i]</c>.</summary>
    public static IReadOnlyList<string> Gpu { get; } = new[] { "name", "vramGiB", "backend", "splitRatio" };

    /// <summary>Members of <c>model</c>.</summary>
    public static IReadOnlyList<string> Model { get; } = new[] { "path", "sizeGiB", "blockCount", "expertCount", "expertUsedCount", "expertFraction", "weightType", "architecture" };

    /// <summary>Members of <c>load</c>.</summary>
    public static IReadOnlyList<string> Load { get; } = new[]
    {
        "mmap", "mlock", "gpuLayers", "expertsOnCpu", "tensorOverrides", "threads", "batchThreads",
        "contextSize", "batchSize", "ubatchSize", "flashAttention", "kvCache", "repack", "kvOffload", "swaFull",
    };

    /// <summary>Members of each <c>load.tensorOverrides[i]</c>.</summary>
    public static IReadOnlyList<string> TensorOverride { get; } = new[] { "pattern", "device" };

    /// <summary>Members of <c>load.kvCache</c>.</summary>
    public static IReadOnlyList<string> KvCache { get; } = new[] { "k", "v" };

    /// <summary>
    /// Every property the format knows, as normalised paths from the root: <c>*</c> stands for a profile
    /// name and <c>[]</c> for an array element (<c>profiles.*.hardware.gpus[].vramGiB</c>).
    /// </summary>
    public static IReadOnlyList<string> KnownPropertyPaths { get; } = BuildPaths();

    /// <summary><c>storage</c> spellings.</summary>
    public static IReadOnlyList<KeyValuePair<string, StorageKind>> StorageNames { get; } = Pairs(
        ("nvme", StorageKind.Nvme), ("ssd", StorageKind.Ssd), ("hdd", StorageKind.Hdd),
        ("network", StorageKind.Network), ("unknown", StorageKind.Unknown));

    /// <summary><c>backend</c> spellings.</summary>
    public static IReadOnlyList<KeyValuePair<string, GpuBackend>> BackendNames { get; } = Pairs(
        ("vulkan", GpuBackend.Vulkan), ("cuda", GpuBackend.Cuda), ("metal", GpuBackend.Metal),
        ("sycl", GpuBackend.Sycl), ("rocm", GpuBackend.Rocm));

    /// <summary><c>objective</c> spellings.</summary>
    public static IReadOnlyList<KeyValuePair<string, Objective>> ObjectiveNames { get; } = Pairs(
        ("throughput", Objective.Throughput), ("latency", Objective.Latency), ("memory", Objective.Memory));

    /// <summary><c>kvCache.k</c>/<c>kvCache.v</c> spellings (llama.cpp's <c>-ctk</c>/<c>-ctv</c> names).</summary>
    public static IReadOnlyList<KeyValuePair<string, KvCacheType>> KvCacheTypeNames { get; } = Pairs(
        ("f32", KvCacheType.F32), ("f16", KvCacheType.F16), ("bf16", KvCacheType.BF16), ("q8_0", KvCacheType.Q8_0),
        ("q4_0", KvCacheType.Q4_0), ("q4_1", KvCacheType.Q4_1), ("q5_0", KvCacheType.Q5_0), ("q5_1", KvCacheType.Q5_1),
        ("iq4_nl", KvCacheType.IQ4_NL));

    /// <summary><c>model.architecture</c> spellings: llama.cpp's <c>general.architecture</c> names.</summary>
    public static IReadOnlyList<KeyValuePair<string, ModelArchitecture>> ArchitectureNames { get; } = Pairs(
        ("llama", ModelArchitecture.Llama), ("deepseek2", ModelArchitecture.DeepSeek2), ("qwen3moe", ModelArchitecture.Qwen3Moe),
        ("gpt-oss", ModelArchitecture.GptOss));

    /// <summary><c>model.weightType</c> spellings: ggml's own lower-case type names (<c>q4_0</c>, <c>iq1_s</c>, …).</summary>
    public static IReadOnlyList<KeyValuePair<string, GgmlType>> WeightTypeNames { get; } = LowerCaseNames((GgmlType[])Enum.GetValues(typeof(GgmlType)));

    /// <summary>True when a KV cache type is block-quantized (everything but f32, f16, bf16).</summary>
    public static bool IsQuantized(KvCacheType type) => type is not (KvCacheType.F32 or KvCacheType.F16 or KvCacheType.BF16);

    // Plain loops, not LINQ: LINQ over these value-type pairs is not precompiled (ReadyToRun) and would be JIT-compiled
    // in every build's first check, where this class's static initialiser runs.
    private static KeyValuePair<string, T>[] Pairs<T>(params (string Name, T Value)[] pairs)
    {
        var result = new KeyValuePair<string, T>[pairs.Length];
        for (var i = 0; i < pairs.Length; i++) result[i] = new KeyValuePair<string, T>(pairs[i].Name, pairs[i].Value);
        return result;
    }

    private static KeyValuePair<string, GgmlType>[] LowerCaseNames(GgmlType[] types)
    {
        var result = new KeyValuePair<string, GgmlType>[types.Length];
        for (var i = 0; i < types.Length; i++) result[i] = new KeyValuePair<string, GgmlType>(Invariant.Lower(types[i]), types[i]);
        return result;
    }

    private static IReadOnlyList<string> BuildPaths()
    {
        var paths = new List<string>();
        void Add(string prefix, IReadOnlyList<string> names)
        {
            foreach (var name in names) paths.Add(prefix.Length == 0 ? name : prefix + "." + name);
        }
        Add("", Root);
        paths.Add("profiles.*");
        const string profile = "profiles.*";
        Add(profile, Profile);
        Add(profile + ".hardware", Hardware);
        Add(profile + ".hardware.cpu", Cpu);
        paths.Add(profile + ".hardware.gpus[]");
        Add(profile + ".hardware.gpus[]", Gpu);
        Add(profile + ".model", Model);
        Add(profile + ".load", Load);
        paths.Add(profile + ".load.tensorOverrides[]");
        Add(profile + ".load.tensorOverrides[]", TensorOverride);
        Add(profile + ".load.kvCache", KvCache);
        return paths.ToArray();
    }
}
