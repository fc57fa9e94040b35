using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Load options with every <c>auto</c> replaced by a concrete value: exactly what is handed to llama.cpp
/// (the runtime maps it 1:1 onto LLamaSharp's <c>ModelParams</c>). Produced by Core's resolver.
/// </summary>
public sealed record ResolvedLoadOptions
{
    /// <summary>Memory-map the model file.</summary>
    public bool UseMmap { get; init; }
    /// <summary>Lock model memory.</summary>
    public bool UseMlock { get; init; }
    /// <summary>n_gpu_layers (0 = CPU only; block count + 1 = all including output).</summary>
    public int GpuLayerCount { get; init; }
    /// <summary>Tensor buffer overrides in llama.cpp order (explicit ones first, then experts-on-CPU ones).</summary>
    public EquatableArray<TensorOverride> TensorOverrides { get; init; }
    /// <summary>Generation threads.</summary>
    public int Threads { get; init; }
    /// <summary>Prompt-processing threads.</summary>
    public int BatchThreads { get; init; }
    /// <summary>n_ctx.</summary>
    public int ContextSize { get; init; }
    /// <summary>n_batch.</summary>
    public int BatchSize { get; init; }
    /// <summary>n_ubatch.</summary>
    public int UBatchSize { get; init; }
    /// <summary>Flash attention on/off (auto resolved).</summary>
    public bool FlashAttention { get; init; }
    /// <summary>type_k.</summary>
    public KvCacheType TypeK { get; init; } = LoadDefaults.CacheType;
    /// <summary>type_v.</summary>
    public KvCacheType TypeV { get; init; } = LoadDefaults.CacheType;
    /// <summary>Whether CPU repacking is wanted (LLamaSharp 0.30 cannot turn it off through ModelParams).</summary>
    public bool Repack { get; init; } = LoadDefaults.Repack;
    /// <summary>
    /// Full-size sliding-window cache (<c>swa_full</c>): SWA layers keep every context cell instead of the window plus a
    /// ubatch. On by default, as in llama.cpp and LLamaSharp 0.30.
    /// </summary>
    public bool SwaFull { get; init; } = LoadDefaults.SwaFull;
    /// <summary>Offload the KV cache with its layer.</summary>
    public bool KvOffload { get; init; } = LoadDefaults.KvOffload;
    /// <summary>Main GPU index (when GPUs are declared).</summary>
    public int MainGpu { get; init; }
    /// <summary>Per-GPU split ratios (empty = llama.cpp default: proportional to free memory).</summary>
    public EquatableArray<float> TensorSplits { get; init; }

    /// <summary>
    /// The rules every set of options must meet before llama.cpp sees it (counts in range, finite split ratios,
    /// complete overrides), as one message per broken rule in field order, each of the form
    /// <c>ResolvedLoadOptions.Threads = 0 is invalid: must be at least 1.</c> Empty when the options are valid.
    /// The resolver never produces invalid options; hand-built ones can be.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Require(bool condition, string name, object value, string rule)
        {
            if (!condition)
            {
                problems.Add(string.Format(CultureInfo.InvariantCulture, "ResolvedLoadOptions.{0} = {1} is invalid: {2}.", name, value, rule));
            }
        }

        Require(GpuLayerCount >= 0, nameof(GpuLayerCount), GpuLayerCount, "must be 0 or more");
        Require(Threads >= 1, nameof(Threads), Threads, "must be at least 1");
        Require(BatchThreads >= 1, nameof(BatchThreads), BatchThreads, "must be at least 1");
        Require(ContextSize >= 0, nameof(ContextSize), ContextSize, "must be 0 (the model's) or more");
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Require(UBatchSize >= 1, nameof(UBatchSize), UBatchSize, "must be at least 1");
        Require(MainGpu >= 0, nameof(MainGpu), MainGpu, "must be 0 or more");
        Require(TensorSplits.All(s => s >= 0 && !float.IsNaN(s) && !float.IsInfinity(s)), nameof(TensorSplits),
            string.Join(",", TensorSplits.Select(s => s.ToString("R", CultureInfo.InvariantCulture))), "ratios must be finite and non-negative");
        foreach (var o in TensorOverrides)
        {
            Require(!string.IsNullOrEmpty(o.Pattern) && !string.IsNullOrEmpty(o.Device), nameof(TensorOverrides), o, "pattern and device are required");
        }
        return problems;
    }
}
