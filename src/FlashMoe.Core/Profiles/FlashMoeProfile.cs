using FlashMoe.Gguf;

namespace FlashMoe.Profiles;

// The profile object model. The source generator emits constructor calls to these types; the MSBuild
// task and the runtime consume them. Every type has value equality (records + EquatableArray) so the
// generator's pipeline can cache on them. Sizes carry their unit in the property name (GiB = 2^30 bytes).

/// <summary>A <c>true | false | "auto"</c> choice.</summary>
public enum AutoSwitch
{
    /// <summary>Decide from the plan (build check) or the detected host (runtime).</summary>
    Auto,
    /// <summary>Forced on.</summary>
    On,
    /// <summary>Forced off.</summary>
    Off,
}

/// <summary>What the profile optimises for.</summary>
public enum Objective
{
    /// <summary>Tokens per second during generation.</summary>
    Throughput,
    /// <summary>Time to first token / load time (favours mmap's fast warm loads).</summary>
    Latency,
    /// <summary>Smallest resident memory.</summary>
    Memory,
}

/// <summary>Where the model file lives; decides how costly page-cache misses are under mmap.</summary>
public enum StorageKind
{
    /// <summary>Not declared / not detected.</summary>
    Unknown,
    /// <summary>NVMe SSD.</summary>
    Nvme,
    /// <summary>SATA SSD.</summary>
    Ssd,
    /// <summary>Rotational disk.</summary>
    Hdd,
    /// <summary>Network file system.</summary>
    Network,
}

/// <summary>The ggml backend a GPU is driven by.</summary>
public enum GpuBackend
{
    /// <summary>Vulkan (Intel Arc, AMD, NVIDIA).</summary>
    Vulkan,
    /// <summary>NVIDIA CUDA.</summary>
    Cuda,
    /// <summary>Apple Metal.</summary>
    Metal,
    /// <summary>Intel SYCL.</summary>
    Sycl,
    /// <summary>AMD ROCm/HIP.</summary>
    Rocm,
}

/// <summary>KV cache element types llama.cpp accepts for <c>type_k</c>/<c>type_v</c>.</summary>
#pragma warning disable CS1591 // ggml type names
public enum KvCacheType { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL }
#pragma warning restore CS1591

/// <summary>How <see cref="GpuLayers"/> was given.</summary>
public enum GpuLayersKind
{
    /// <summary>As many as fit (resolved by the plan).</summary>
    Auto,
    /// <summary>Every layer plus the output layer.</summary>
    All,
    /// <summary>Exactly <see cref="GpuLayers.Count"/> layers.</summary>
    Count,
}

/// <summary><c>gpuLayers</c>: integer | "all" | "auto".</summary>
/// <param name="Kind">The form.</param>
/// <param name="Count">Number of layers when <paramref name="Kind"/> is <see cref="GpuLayersKind.Count"/>.</param>
public readonly record struct GpuLayers(GpuLayersKind Kind, int Count)
{
    /// <summary>"auto".</summary>
    public static GpuLayers Auto => new(GpuLayersKind.Auto, 0);
    /// <summary>"all".</summary>
    public static GpuLayers All => new(GpuLayersKind.All, 0);
    /// <summary>A fixed layer count.</summary>
    public static GpuLayers Of(int count) => new(GpuLayersKind.Count, count);
}

/// <summary>How <see cref="ExpertsOnCpu"/> was given.</summary>
public enum ExpertsOnCpuKind
{
    /// <summary><c>false</c>: experts follow their layer.</summary>
    None,
    /// <summary><c>true</c>: every layer's routed experts stay on the CPU (<c>--cpu-moe</c>).</summary>
    All,
    /// <summary>An integer N: the first N layers' experts stay on the CPU (<c>--n-cpu-moe N</c>).</summary>
    FirstLayers,
}

/// <summary><c>expertsOnCpu</c>: true | false | integer.</summary>
/// <param name="Kind">The form.</param>
/// <param name="LayerCount">N for <see cref="ExpertsOnCpuKind.FirstLayers"/>.</param>
public readonly record struct ExpertsOnCpu(ExpertsOnCpuKind Kind, int LayerCount)
{
    /// <summary><c>false</c>.</summary>
    public static ExpertsOnCpu None => new(ExpertsOnCpuKind.None, 0);
    /// <summary><c>true</c>.</summary>
    public static ExpertsOnCpu All => new(ExpertsOnCpuKind.All, 0);
    /// <summary>The first <paramref name="layerCount"/> layers.</summary>
    public static ExpertsOnCpu FirstLayers(int layerCount) => new(ExpertsOnCpuKind.FirstLayers, layerCount);
}

/// <summary>How <see cref="ThreadCount"/> was given.</summary>
public enum ThreadCountKind
{
    /// <summary>"physical": one thread per physical core.</summary>
    Physical,
    /// <summary>"logical": one per logical core (SMT siblings included).</summary>
    Logical,
    /// <summary>A fixed number.</summary>
    Fixed,
}

/// <summary><c>threads</c> / <c>batchThreads</c>: integer | "physical" | "logical".</summary>
/// <param name="Kind">The form.</param>
/// <param name="Count">The number for <see cref="ThreadCountKind.Fixed"/>.</param>
public readonly record struct ThreadCount(ThreadCountKind Kind, int Count)
{
    /// <summary>"physical".</summary>
    public static ThreadCount Physical => new(ThreadCountKind.Physical, 0);
    /// <summary>"logical".</summary>
    public static ThreadCount Logical => new(ThreadCountKind.Logical, 0);
    /// <summary>A fixed count.</summary>
    public static ThreadCount Fixed(int count) => new(ThreadCountKind.Fixed, count);
}

/// <summary>A tensor buffer override: tensors whose name matches <paramref name="Pattern"/> (regex, first match wins) go to <paramref name="Device"/>.</summary>
/// <param name="Pattern">ECMAScript-compatible regex searched in the tensor name (llama.cpp uses <c>std::regex_search</c>).</param>
/// <param name="Device">Buffer type name, e.g. <c>CPU</c>, <c>Vulkan0</c>.</param>
public sealed record TensorOverride(string Pattern, string Device);

/// <summary>KV cache element types.</summary>
/// <param name="K">type_k.</param>
/// <param name="V">type_v (a quantized V cache needs flash attention).</param>
public sealed record KvCacheSpec(KvCacheType K, KvCacheType V)
{
    /// <summary>llama.cpp's default: f16/f16.</summary>
    public static KvCacheSpec Default { get; } = new(LoadDefaults.CacheType, LoadDefaults.CacheType);
}

/// <summary>CPU facts of the target machine.</summary>
/// <param name="PhysicalCores">Physical cores (without SMT siblings), if declared.</param>
/// <param name="LogicalCores">Logical cores, if declared.</param>
/// <param name="Avx2">Whether the CPU has AVX2 (repack of Q4_0 etc. applies), if declared.</param>
/// <param name="Avx512">Whether the CPU has AVX-512, if declared.</param>
public sealed record CpuSpec(int? PhysicalCores, int? LogicalCores, bool? Avx2 = null, bool? Avx512 = null)
{
    /// <summary>Nothing declared.</summary>
    public static CpuSpec Unknown { get; } = new(null, null);
}

/// <summary>One GPU of the target machine.</summary>
/// <param name="Name">Display name.</param>
/// <param name="VramGiB">Dedicated memory in GiB.</param>
/// <param name="Backend">ggml backend.</param>
/// <param name="SplitRatio">Share of layers for multi-GPU splits; null = proportional to VRAM.</param>
public sealed record GpuSpec(string Name, double VramGiB, GpuBackend Backend, double? SplitRatio = null);

/// <summary>The target machine.</summary>
/// <param name="RamGiB">Installed RAM in GiB (required).</param>
/// <param name="ReserveGiB">RAM kept for the OS and other processes; null = the planner's default.</param>
/// <param name="Cpu">CPU facts.</param>
/// <param name="Gpus">GPUs (empty = CPU only).</param>
/// <param name="Storage">Storage under the model file.</param>
/// <param name="MemoryBandwidthGBs">Memory read bandwidth in GB/s (decimal), for the roofline; null = unknown.</param>
public sealed record HardwareSpec(
    double RamGiB,
    double? ReserveGiB,
    CpuSpec Cpu,
    EquatableArray<GpuSpec> Gpus,
    StorageKind Storage,
    double? MemoryBandwidthGBs = null);

/// <summary>The model a profile runs. Either <see cref="Path"/> (header read at build time) or declared facts.</summary>
/// <param name="Path">Path to the GGUF, relative to the JSON file that declares it.</param>
/// <param name="SizeGiB">Declared file size in GiB, used when the file is not there.</param>
/// <param name="BlockCount">Declared layer count (declared-facts mode).</param>
/// <param name="ExpertCount">Declared routed experts per layer (0 = dense).</param>
/// <param name="ExpertUsedCount">Declared experts used per token.</param>
/// <param name="ExpertFraction">Declared share (0–1) of the weight bytes that are routed experts.</param>
/// <param name="WeightType">Declared dominant weight type (decides CPU repack), e.g. Q4_0.</param>
/// <param name="Architecture">
/// Declared architecture (<c>general.architecture</c>): the shape every fact not declared is taken from — the released
/// model it names (DeepSeek-R1, Qwen3-30B-A3B, gpt-oss-20b; llama: a llama-3-8B shape) — and the graph the plan replays.
/// </param>
public sealed record ModelSpec(
    string? Path,
    double? SizeGiB,
    int? BlockCount = null,
    int? ExpertCount = null,
    int? ExpertUsedCount = null,
    double? ExpertFraction = null,
    GgmlType? WeightType = null,
    ModelArchitecture? Architecture = null);

/// <summary>The architectures a profile can declare (llama.cpp's <c>general.architecture</c> names in the JSON).</summary>
public enum ModelArchitecture
{
    /// <summary><c>llama</c> (also Mixtral-style MoE converted as llama).</summary>
    Llama,
    /// <summary><c>deepseek2</c>: DeepSeek-V2/V3/R1.</summary>
    DeepSeek2,
    /// <summary><c>qwen3moe</c>: Qwen3-30B-A3B, Qwen3-235B-A22B.</summary>
    Qwen3Moe,
    /// <summary><c>gpt-oss</c>: gpt-oss-20b, gpt-oss-120b.</summary>
    GptOss,
}

/// <summary>How llama.cpp loads and runs the model.</summary>
/// <param name="Mmap">Memory-map the file (true), read it into anonymous memory (false), or decide (auto).</param>
/// <param name="Mlock">Lock the model in RAM.</param>
/// <param name="GpuLayers">Repeating layers offloaded to the GPU(s).</param>
/// <param name="ExpertsOnCpu">Keep routed experts on the CPU.</param>
/// <param name="TensorOverrides">Explicit tensor buffer overrides (applied before <paramref name="ExpertsOnCpu"/>).</param>
/// <param name="Threads">Generation threads.</param>
/// <param name="BatchThreads">Prompt-processing threads.</param>
/// <param name="ContextSize">n_ctx in tokens.</param>
/// <param name="BatchSize">n_batch (logical batch).</param>
/// <param name="UBatchSize">
/// n_ubatch (physical batch; sizes the compute buffer), or <see cref="AutoUBatchSize"/> (<c>"auto"</c>): decided from the
/// objective when the profile is resolved.
/// </param>
/// <param name="FlashAttention">Flash attention.</param>
/// <param name="KvCache">KV cache types, or null (<c>"auto"</c>): decided from the objective when the profile is resolved.</param>
/// <param name="Repack">Allow CPU weight repacking (llama.cpp <c>use_extra_bufts</c>).</param>
/// <param name="KvOffload">Keep the KV cache of offloaded layers on the GPU.</param>
/// <param name="SwaFull">
/// Full-size sliding-window cache (llama.cpp <c>swa_full</c>, on by default): false sizes the cache of sliding-window
/// layers (gpt-oss) to the window plus a ubatch.
/// </param>
public sealed record LoadOptions(
    AutoSwitch Mmap,
    bool Mlock,
    GpuLayers GpuLayers,
    ExpertsOnCpu ExpertsOnCpu,
    EquatableArray<TensorOverride> TensorOverrides,
    ThreadCount Threads,
    ThreadCount BatchThreads,
    int ContextSize,
    int BatchSize,
    int UBatchSize,
    AutoSwitch FlashAttention,
    KvCacheSpec? KvCache,
    bool Repack = LoadDefaults.Repack,
    bool KvOffload = LoadDefaults.KvOffload,
    bool SwaFull = LoadDefaults.SwaFull)
{
    /// <summary><see cref="UBatchSize"/> value meaning <c>"auto"</c>.</summary>
    public const int AutoUBatchSize = 0;

    /// <summary>Defaults for every option (what an empty <c>load</c> object means).</summary>
    public static LoadOptions Default { get; } = new(
        Mmap: AutoSwitch.Auto,
        Mlock: false,
        GpuLayers: GpuLayers.Auto,
        ExpertsOnCpu: ExpertsOnCpu.None,
        TensorOverrides: EquatableArray<TensorOverride>.Empty,
        Threads: ThreadCount.Physical,
        BatchThreads: ThreadCount.Physical,
        ContextSize: LoadDefaults.ContextSize,
        BatchSize: LoadDefaults.BatchSize,
        UBatchSize: AutoUBatchSize,
        FlashAttention: AutoSwitch.Auto,
        KvCache: null);
}

/// <summary>A named profile: hardware + model + load options + objective.</summary>
/// <param name="Name">Profile name (a C# identifier).</param>
/// <param name="Hardware">Target machine.</param>
/// <param name="Model">The model.</param>
/// <param name="Load">Load options.</param>
/// <param name="Objective">What to optimise.</param>
public sealed record FlashMoeProfile(
    string Name,
    HardwareSpec Hardware,
    ModelSpec Model,
    LoadOptions Load,
    Objective Objective = Objective.Throughput)
{
    /// <summary>Free text from the profile's <c>description</c> (shown in the generated XML docs); null when not written.</summary>
    public string? Description { get; init; }
}
