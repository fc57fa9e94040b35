using System;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// KV cache size as llama.cpp allocates it (<c>src/llama-kv-cache.cpp</c>, <c>llama_kv_cache</c> constructor):
/// per layer a K tensor of <c>ggml_row_size(type_k, n_embd_k_gqa(il)) × kv_size</c> and a V tensor of
/// <c>ggml_row_size(type_v, n_embd_v_gqa(il)) × kv_size</c>, where <c>n_embd_k_gqa = n_embd_head_k × n_head_kv(il)</c>.
/// For MLA models llama.cpp keeps only the compressed latent: <c>has_v = !is_mla</c>, and K is one "head"
/// of <c>kv_lora_rank + n_rot</c> elements (V is a view of K).
/// </summary>
public static class KvCacheEstimator
{
    /// <summary>
    /// llama.cpp pads n_ctx up to a multiple of 256 (<c>src/llama-context.cpp</c>, llama_context constructor:
    /// <c>cparams.n_ctx = GGML_PAD(cparams.n_ctx, 256)</c>); the KV cache has that many cells.
    /// </summary>
    public const int ContextPadding = 256;

    /// <summary>KV cells for a requested context (n_ctx padded to <see cref="ContextPadding"/>).</summary>
    public static long Cells(int contextSize)
    {
        if (contextSize <= 0) return 0;
        return ((long)contextSize + ContextPadding - 1) / ContextPadding * ContextPadding;
    }

    /// <summary>The ggml type of a KV cache element type.</summary>
    public static GgmlType ToGgml(KvCacheType type) => type switch
    {
        KvCacheType.F32 => GgmlType.F32,
        KvCacheType.F16 => GgmlType.F16,
        KvCacheType.BF16 => GgmlType.BF16,
        KvCacheType.Q8_0 => GgmlType.Q8_0,
        KvCacheType.Q4_0 => GgmlType.Q4_0,
        KvCacheType.Q4_1 => GgmlType.Q4_1,
        KvCacheType.Q5_0 => GgmlType.Q5_0,
        KvCacheType.Q5_1 => GgmlType.Q5_1,
        KvCacheType.IQ4_NL => GgmlType.IQ4_NL,
        _ => throw new System.ArgumentOutOfRangeException(nameof(type), type, "Unknown KV cache type."),
    };

    /// <summary>True for quantized KV element types (a quantized V cache needs flash attention, docs/evidence.md#kv-cache-size).</summary>
    public static bool IsQuantized(KvCacheType type) => type is not (KvCacheType.F32 or KvCacheType.F16 or KvCacheType.BF16);

    /// <summary>
    /// <c>ggml_row_size</c>: bytes of a row of <paramref name="elements"/> elements, rounded up to whole blocks
    /// (llama.cpp would reject a row that is not a whole number of blocks; rounding keeps the estimate safe).
    /// </summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        if (elements <= 0) return 0;
        var info = GgmlTypeTable.Get(type);
        return checked((elements + info.BlockSize - 1) / info.BlockSize * info.BytesPerBlock);
    }

    /// <summary>
    /// True when llama.cpp runs the model with MLA (compressed KV): the header carries
    /// <c>attention.kv_lora_rank</c> and either the decompressed head sizes (<c>llama_hparams::is_mla</c>:
    /// <c>key_length_mla</c> and <c>value_length_mla</c> non-zero) or KV heads folded to one latent head (conversions
    /// write <c>head_count_kv = 1</c> and <c>key_length = kv_lora_rank + rope</c>).
    /// </summary>
    public static bool IsMla(ModelSummary model) =>
        model.KvLoraRank is > 0
        && (model is { KeyLengthMla: > 0, ValueLengthMla: > 0 }
            || model.HeadCountKv == 1 || model.KeyLength == model.KvLoraRank + (model.RopeDimensionCount ?? 0));

    /// <summary>
    /// Cells of the sliding-window cache (<c>llama_kv_cache_iswa</c>): the window plus one ubatch, padded to 256, at
    /// most the full cache — or the full cache when <paramref name="swaFull"/> (llama.cpp's default). 0 when the model
    /// has no sliding-window layers.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="contextSize">n_ctx as requested.</param>
    /// <param name="ubatchSize">n_ubatch as the context clamps it (<see cref="ComputeBufferEstimator.ReserveTokens"/>).</param>
    /// <param name="swaFull">Full-size sliding-window cache.</param>
    public static long SlidingWindowCells(ModelSummary model, int contextSize, long ubatchSize, bool swaFull)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        if (ArchitectureTraits.Of(model).SlidingWindowPattern == 0) return 0;
        var full = Cells(contextSize);
        if (swaFull || model.SlidingWindow is not > 0) return full;
        // n_seq_max is 1 (LLamaSharp's default), so the window is counted once.
        var wanted = checked((long)model.SlidingWindow.Value + Math.Max(1, ubatchSize));
        return Math.Min(full, (wanted + ContextPadding - 1) / ContextPadding * ContextPadding);
    }

    /// <summary>KV bytes one token occupies in layer <paramref name="layer"/>.</summary>
    public static long BytesPerToken(ModelSummary model, int layer, KvCacheType typeK, KvCacheType typeV)
    {
        if (IsMla(model))
        {
            // K only: one latent row of kv_lora_rank + n_rot elements; V is a view of it (has_v = !is_mla).
            var latent = (long)model.KvLoraRank!.Value + (model.RopeDimensionCount ?? 0);
            return RowBytes(ToGgml(typeK), latent);
        }

        var kvHeads = layer < model.HeadCountKvPerLayer.Count ? model.HeadCountKvPerLayer[layer] : model.HeadCountKv;
        var heads = layer < model.HeadCountPerLayer.Count ? model.HeadCountPerLayer[layer] : model.HeadCount;
        var keyLength = model.KeyLength > 0 ? model.KeyLength : (heads > 0 ? (int)(model.EmbeddingLength / heads) : 0);
        var valueLength = model.ValueLength > 0 ? model.ValueLength : keyLength;
        return checked(RowBytes(ToGgml(typeK), (long)keyLength * kvHeads) + RowBytes(ToGgml(typeV), (long)valueLength * kvHeads));
    }

    /// <summary>
    /// KV bytes of every layer for <paramref name="contextSize"/> tokens. A layer whose bytes overflow is reported as
    /// its share of <see cref="ComputeBufferEstimator.SaturatedBytes"/>, so the sum over layers still fits a long.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="contextSize">n_ctx as requested.</param>
    /// <param name="typeK">K cache type.</param>
    /// <param name="typeV">V cache type.</param>
    /// <param name="ubatchSize">n_ubatch (sizes a sliding-window cache that is not full-size).</param>
    /// <param name="swaFull">Full-size sliding-window cache (llama.cpp's and LLamaSharp's default).</param>
    public static long[] LayerBytes(ModelSummary model, int contextSize, KvCacheType typeK, KvCacheType typeV, long ubatchSize = 512, bool swaFull = true)
    {
        var layers = Math.Max(0, model.BlockCount);
        var traits = ArchitectureTraits.Of(model);
        var fullCells = Cells(contextSize);
        var windowCells = SlidingWindowCells(model, contextSize, ubatchSize, swaFull);
        var layerCeiling = ComputeBufferEstimator.SaturatedBytes / Math.Max(ModelLimits.MaxLayers, layers);
        var result = new long[layers];
        for (var il = 0; il < layers; il++)
        {
            var layer = il;
            var cells = traits.IsSlidingWindowLayer(il) ? windowCells : fullCells;
            var bytes = ComputeBufferEstimator.Saturating(() => checked(cells * BytesPerToken(model, layer, typeK, typeV)));
            result[il] = Math.Min(bytes, layerCeiling);
        }
        return result;
    }

    /// <summary>Total KV bytes for <paramref name="contextSize"/> tokens (at most <see cref="ComputeBufferEstimator.SaturatedBytes"/>).</summary>
    public static long TotalBytes(ModelSummary model, int contextSize, KvCacheType typeK, KvCacheType typeV)
    {
        long total = 0;
        foreach (var b in LayerBytes(model, contextSize, typeK, typeV)) total += b; // each ≤ its share of the ceiling
        return total;
    }
}
