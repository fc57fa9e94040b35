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
    public KvCacheType TypeK { get; init; } = KvCacheType.F16;
    /// <summary>type_v.</summary>
    public KvCacheType TypeV { get; init; } = KvCacheType.F16;
    /// <summary>Whether CPU repacking is wanted (LLamaSharp 0.30 cannot turn it off through ModelParams).</summary>
    public bool Repack { get; init; } = true;
    /// <summary>
    /// Full-size sliding-window cache (<c>swa_full</c>): SWA layers keep every context cell instead of the window plus a
    /// ubatch. On by default, as in llama.cpp and LLamaSharp 0.30.
    /// </summary>
    public bool SwaFull { get; init; } = true;
    /// <summary>Offload the KV cache with its layer.</summary>
    public bool KvOffload { get; init; } = true;
    /// <summary>Main GPU index (when GPUs are declared).</summary>
    public int MainGpu { get; init; }
    /// <summary>Per-GPU split ratios (empty = llama.cpp default: proportional to free memory).</summary>
    public EquatableArray<float> TensorSplits { get; init; }
}
