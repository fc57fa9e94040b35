namespace FlashMoe.Gguf;

/// <summary>
/// The largest model hyper-parameters FlashMoe accepts, in one place: the GGUF summary (FM0110), declared profile
/// facts (FM0003), the tensor classifier and the planner all use these. Each is llama.cpp's own limit, so a value past
/// it is a model llama.cpp refuses to load, never one FlashMoe merely fails to plan.
/// </summary>
public static class ModelLimits
{
    /// <summary>
    /// Most repeating layers (blocks): llama.cpp's <c>LLAMA_MAX_LAYERS</c> (<c>src/llama-hparams.h</c>). Per-layer
    /// hyper-parameters live in arrays of this size, and <c>get_key_or_arr</c> refuses a larger block count
    /// ("n > N_MAX").
    /// </summary>
    public const int MaxLayers = 512;

    /// <summary>
    /// Most routed experts: llama.cpp's <c>LLAMA_MAX_EXPERTS</c> (<c>src/llama-hparams.h</c>, 512 since Qwen3-Next);
    /// <c>load_hparams</c> asserts <c>n_expert &lt;= LLAMA_MAX_EXPERTS</c> and <c>n_expert_used &lt;= n_expert</c>.
    /// </summary>
    public const int MaxExperts = 512;

    /// <summary>
    /// Largest integer hyper-parameter: llama.cpp reads every <c>{arch}.*</c> integer key into a <c>uint32_t</c>
    /// (a wider type fails the load: "key llama.context_length has wrong type u64 but expected type u32").
    /// </summary>
    public const long MaxUInt32 = uint.MaxValue;
}
