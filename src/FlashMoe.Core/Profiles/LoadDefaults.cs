namespace FlashMoe.Profiles;

/// <summary>
/// The one home of every load-option default: what an omitted profile value means (<see cref="LoadOptions.Default"/>,
/// <see cref="KvCacheSpec.Default"/>), what the resolver falls back to, and the initial values of
/// <see cref="Planning.ResolvedLoadOptions"/>. The sizes are llama.cpp's own defaults (<c>common_params</c>: n_ctx 4096,
/// n_batch 2048, n_ubatch 512), so a profile that omits them loads as llama.cpp's tools would.
/// </summary>
internal static class LoadDefaults
{
    /// <summary>n_ctx when the profile does not give one.</summary>
    public const int ContextSize = 4096;

    /// <summary>
    /// The context assumed when neither the profile nor the model says one: a declared model (no GGUF at hand) or a
    /// header without <c>context_length</c>.
    /// </summary>
    public const int AssumedTrainingContext = 4096;

    /// <summary>n_batch, the logical batch.</summary>
    public const int BatchSize = 2048;

    /// <summary>n_ubatch, the physical batch (it sizes the compute buffer).</summary>
    public const int UBatchSize = 512;

    /// <summary>The KV cache type of K and V: f16, as llama.cpp.</summary>
    public const KvCacheType CacheType = KvCacheType.F16;

    /// <summary>CPU weight repacking is allowed (llama.cpp's <c>use_extra_bufts</c> default).</summary>
    public const bool Repack = true;

    /// <summary>Sliding-window layers keep a full-size cache (llama.cpp's <c>swa_full</c> default, kept by LLamaSharp 0.30).</summary>
    public const bool SwaFull = true;

    /// <summary>The KV cache of offloaded layers stays with its layer on the GPU (llama.cpp's <c>offload_kqv</c> default).</summary>
    public const bool KvOffload = true;
}
