using System;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Estimates llama.cpp's compute buffers (<c>src/llama-context.cpp</c>: the scheduler reserves the worst-case graph, a
/// prompt ubatch of <c>n_tokens = min(n_ctx, n_ubatch)</c> with <c>n_outputs = n_tokens</c> against a full KV cache, and
/// each backend's buffer is the highest offset ggml-alloc reaches placing that graph's tensors) and the output buffer
/// (<c>output_reserve(n_seq_max)</c>: logits of <c>n_vocab</c> f32 per sequence, resized on demand).
/// <para>
/// Every model is estimated by replaying ggml-alloc over the graph its architecture builds — llama, deepseek2 (MLA and
/// its unsplit form), qwen3moe, gpt-oss (<see cref="WholeGraphBytes"/>, <see cref="DeviceShareBytes"/>,
/// <see cref="GraphAllocationReplay"/>): exact to llama.cpp's printed 0.01 MiB for CPU-only contexts across the accuracy
/// matrix (docs/measurements.md), where the earlier per-phase shape was off by up to −41 %. The per-phase shape
/// (<see cref="LayerPeakBytes"/>, <see cref="OutputLayerBytes"/>, <see cref="InputBytes"/>) is no longer used by the
/// planner and stays as a rough, architecture-blind bound; its constants are in <see cref="Constants"/>.
/// </para>
/// </summary>
public static class ComputeBufferEstimator
{
    /// <summary>Calibration constants of the estimate (all in one place; see the accuracy tests).</summary>
    public static class Constants
    {
        /// <summary>f32 activations, as ggml keeps them.</summary>
        public const int ActivationBytes = 4;

        /// <summary>Residual-stream tensors of n_embd × n_tokens alive across a layer (inpL, attention out, ffn_inp).</summary>
        public const int ResidualCopies = 3;

        /// <summary>KQ score tensors alive at once without flash attention (soft_max runs in place in ggml-alloc).</summary>
        public const int ScoreCopies = 1;

        /// <summary>Bytes per mask element: f32 without flash attention, f16 with it (<c>llm_graph_input_attn_kv</c>).</summary>
        public const int MaskBytesNoFlash = 4, MaskBytesFlash = 2;

        /// <summary>FFN intermediates of n_ff × n_tokens alive at once (gate and up; the activation runs in place).</summary>
        public const int FfnCopies = 2;

        /// <summary>Router tensors of n_expert × n_tokens (logits and probabilities).</summary>
        public const int RouterCopies = 2;

        /// <summary>Small per-token input tensors (tokens, positions, output ids).</summary>
        public const int TokenInputs = 3;

        /// <summary>
        /// Batches at least this large run ops whose weights are in host memory on the GPU (op offload, on by
        /// default; the GPU backends' <c>offload_op</c> uses a minimum batch of 32).
        /// </summary>
        public const int OpOffloadMinBatch = 32;

        /// <summary>
        /// With op offload, the scheduler copies the host weights of one layer's offloaded matmuls into the GPU's
        /// compute buffer (<c>ggml-backend.cpp</c>, split inputs; "the memory of the previously offloaded weights
        /// can be reused" per split). Layers staged at once.
        /// </summary>
        public const int OffloadStagedLayers = 1;

        /// <summary>Sequences the output buffer is first reserved for (LLamaSharp's default n_seq_max).</summary>
        public const int OutputSequences = 1;
    }

    /// <summary>
    /// Ceiling of every estimate here and of each layer's share in <see cref="KvCacheEstimator"/>: 2^56 bytes (64 PiB),
    /// beyond any machine. A shape whose bytes do not fit 64-bit arithmetic — a u32-sized hyper-parameter, or a context
    /// and ubatch of 2^31 tokens — reports this instead of throwing <see cref="OverflowException"/>, so it plans as "does
    /// not fit", and the planner's sums of a few estimates stay far inside a <see cref="long"/>.
    /// </summary>
    public const long SaturatedBytes = 1L << 56;

    /// <summary><paramref name="estimate"/>, or <see cref="SaturatedBytes"/> when it overflows or exceeds it.</summary>
    internal static long Saturating(Func<long> estimate)
    {
        try
        {
            var bytes = estimate();
            return bytes is < 0 or > SaturatedBytes ? SaturatedBytes : bytes;
        }
        catch (OverflowException)
        {
            return SaturatedBytes;
        }
    }

    /// <summary>Tokens in the worst-case (prompt) ubatch: min(n_ctx, n_batch, n_ubatch) as llama_context clamps them.</summary>
    public static long ReserveTokens(int contextSize, int batchSize, int ubatchSize)
    {
        long tokens = Math.Max(1, ubatchSize);
        if (batchSize > 0) tokens = Math.Min(tokens, batchSize);
        if (contextSize > 0) tokens = Math.Min(tokens, contextSize);
        return tokens;
    }

    /// <summary>
    /// The compute buffer when the whole graph runs on one backend (CPU only): ggml-alloc replayed over the llama graph
    /// (<see cref="GraphAllocationReplay"/>) for a prompt ubatch of <paramref name="tokens"/> tokens,
    /// <paramref name="outputs"/> of them producing logits, against <paramref name="kvCells"/> KV cells. This is what
    /// llama.cpp logs as "CPU compute buffer size" for a CPU-only context: measured within its printed 0.01 MiB across
    /// the accuracy matrix (docs/measurements.md).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="tokens">Tokens of the reserved ubatch (<see cref="ReserveTokens"/>).</param>
    /// <param name="outputs">Of those, tokens whose logits are computed (all of them in the reserve).</param>
    /// <param name="kvCells">KV cells (<see cref="KvCacheEstimator.Cells"/>).</param>
    /// <param name="flashAttention">Flash attention on.</param>
    /// <param name="typeK">K cache type: a quantized one adds llama.cpp's Hadamard rotation of Q and K.</param>
    /// <param name="typeV">V cache type: a quantized one adds the rotation of V and of the attention output.</param>
    /// <param name="slidingWindowKvCells">Cells of the sliding-window cache (<see cref="KvCacheEstimator.SlidingWindowCells"/>); 0 when none.</param>
    public static long WholeGraphBytes(ModelSummary model, long tokens, long outputs, long kvCells, bool flashAttention,
        KvCacheType typeK = KvCacheType.F16, KvCacheType typeV = KvCacheType.F16, long slidingWindowKvCells = 0) =>
        Saturating(() => GraphAllocationReplay.PeakBytes(Shape(model, tokens, outputs, kvCells, flashAttention, typeK, typeV, slidingWindowKvCells)));

    /// <summary>
    /// <see cref="WholeGraphBytes"/> for the reserve (every token an output) and, of that buffer, the bytes a chat-shaped
    /// run makes resident: <paramref name="residentOutputs"/> logits per ubatch, the rest of the logits rows never
    /// written (<see cref="GraphAllocationReplay.TouchedBytes"/>).
    /// </summary>
    internal static long WholeGraphResidentBytes(ModelSummary model, long tokens, long residentOutputs, long kvCells, bool flashAttention,
        KvCacheType typeK, KvCacheType typeV, long slidingWindowKvCells, out long reservedBytes)
    {
        var shape = Shape(model, tokens, tokens, kvCells, flashAttention, typeK, typeV, slidingWindowKvCells);
        return Resident(shape, residentOutputs, out reservedBytes);
    }

    /// <summary><see cref="DeviceShareBytes"/> for the reserve and the bytes of it a run with <paramref name="residentOutputs"/> logits per ubatch touches.</summary>
    internal static long DeviceShareResidentBytes(ModelSummary model, int firstLayer, int layerCount, bool includesOutput, bool hostsInputs,
        long tokens, long residentOutputs, long kvCells, bool flashAttention, KvCacheType typeK, KvCacheType typeV, long slidingWindowKvCells,
        out long reservedBytes)
    {
        reservedBytes = 0;
        if (!hostsInputs && layerCount <= 0 && !includesOutput) return 0;
        var shape = ShareShape(model, firstLayer, layerCount, includesOutput, hostsInputs, tokens, kvCells, flashAttention, typeK, typeV, slidingWindowKvCells);
        return Resident(shape, residentOutputs, out reservedBytes);
    }

    private static long Resident(GraphAllocationReplay.GraphShape shape, long residentOutputs, out long reservedBytes)
    {
        long reserved = 0;
        var resident = Saturating(() => GraphAllocationReplay.TouchedBytes(shape, Math.Max(1, residentOutputs), out reserved));
        reservedBytes = resident == SaturatedBytes ? SaturatedBytes : reserved;
        return resident;
    }

    /// <summary>
    /// One backend's compute buffer when the graph is split across devices: the same replay over its share — layers
    /// <paramref name="firstLayer"/> … <paramref name="firstLayer"/> + <paramref name="layerCount"/> − 1 and, if it holds
    /// it, the output layer. The CPU's share (<paramref name="hostsInputs"/>) also holds every graph input (the
    /// scheduler assigns inputs to the CPU backend) and the token-embedding lookup; a GPU's share starts with copies of
    /// the hidden state and of the inputs its layers read (<c>ggml_backend_sched_split_graph</c>). Derived from the
    /// measured single-backend replay; split placements are not measured here (no GPU on the project's machines).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="firstLayer">First repeating layer of the share.</param>
    /// <param name="layerCount">Repeating layers in the share (0 for none).</param>
    /// <param name="includesOutput">The share holds the output layer.</param>
    /// <param name="hostsInputs">The share is the CPU's.</param>
    /// <param name="tokens">Tokens of the reserved ubatch.</param>
    /// <param name="kvCells">KV cells.</param>
    /// <param name="flashAttention">Flash attention on.</param>
    /// <param name="typeK">K cache type.</param>
    /// <param name="typeV">V cache type.</param>
    /// <param name="slidingWindowKvCells">Cells of the sliding-window cache; 0 when none.</param>
    public static long DeviceShareBytes(ModelSummary model, int firstLayer, int layerCount, bool includesOutput, bool hostsInputs,
        long tokens, long kvCells, bool flashAttention, KvCacheType typeK = KvCacheType.F16, KvCacheType typeV = KvCacheType.F16,
        long slidingWindowKvCells = 0)
    {
        if (!hostsInputs && layerCount <= 0 && !includesOutput) return 0;
        var shape = ShareShape(model, firstLayer, layerCount, includesOutput, hostsInputs, tokens, kvCells, flashAttention, typeK, typeV, slidingWindowKvCells);
        return Saturating(() => GraphAllocationReplay.PeakBytes(shape));
    }

    private static GraphAllocationReplay.GraphShape ShareShape(ModelSummary model, int firstLayer, int layerCount, bool includesOutput,
        bool hostsInputs, long tokens, long kvCells, bool flashAttention, KvCacheType typeK, KvCacheType typeV, long slidingWindowKvCells)
    {
        var shape = Shape(model, tokens, tokens, kvCells, flashAttention, typeK, typeV, slidingWindowKvCells);
        shape.FirstLayer = Math.Max(0, firstLayer);
        shape.LayerCount = Math.Max(0, layerCount);
        shape.IncludeOutput = includesOutput;
        shape.IncludeEmbedding = hostsInputs;
        return shape;
    }

    private static GraphAllocationReplay.GraphShape Shape(ModelSummary model, long tokens, long outputs, long kvCells, bool flashAttention,
        KvCacheType typeK, KvCacheType typeV, long slidingWindowKvCells)
    {
        var shape = StandardShape(model, tokens, outputs, kvCells, flashAttention, typeK, typeV);
        var traits = ArchitectureTraits.Of(model);
        shape.QkNorm = traits.QkNorm;
        shape.AttentionBiases = traits.GptOssAttention;
        shape.KeyBeforeValue = traits.GptOssAttention;
        shape.OutputRowsAfterLayers = traits.GptOssAttention;
        shape.Gating = traits.Gating;
        shape.SelectionBias = traits.SelectionBias;
        shape.RouterBias = traits.MoeBiases;
        shape.ExpertBiases = traits.MoeBiases;
        shape.NormalizeExpertWeights = traits.NormalizeExpertWeights;
        shape.ScaleExpertWeights = traits.ScaleExpertWeights;
        shape.SlidingWindowPattern = traits.SlidingWindowPattern;
        shape.SlidingWindowKvCells = slidingWindowKvCells > 0 ? slidingWindowKvCells : kvCells;
        if (traits.DecompressedMla)
        {
            // The unsplit form caches every head: key_length = no-RoPE + RoPE, value_length = V, as the KV cache reads them.
            var rope = model.RopeDimensionCount ?? 0;
            shape.Attention = GraphAllocationReplay.AttentionKind.DecompressedMla;
            shape.KvLoraRank = model.KvLoraRank ?? 0;
            shape.QLoraRank = model.QLoraRank ?? 0;
            shape.RopeLength = rope;
            shape.NopeLength = Math.Max(0, model.KeyLength - rope);
        }
        if (traits.Mla)
        {
            // llm_build_deepseek2 with is_mla: the head sizes after decompression come from key_length_mla /
            // value_length_mla (older files: key_length / value_length before they were folded).
            var rope = model.RopeDimensionCount ?? 0;
            shape.Attention = GraphAllocationReplay.AttentionKind.Mla;
            shape.KvLoraRank = model.KvLoraRank ?? 0;
            shape.QLoraRank = model.QLoraRank ?? 0;
            shape.RopeLength = rope;
            shape.NopeLength = Math.Max(0, (model.KeyLengthMla ?? model.KeyLength) - rope);
            shape.MlaValueLength = model.ValueLengthMla ?? model.ValueLength;
            shape.KCacheElementBytes = Math.Max(1, KvCacheEstimator.RowBytes(KvCacheEstimator.ToGgml(typeK), 256) / 256);
            // The rotation of a quantized cache (attn_rot_k) is not applied to the latent cache.
            shape.RotateK = false;
            shape.RotateV = false;
        }
        return shape;
    }

    private static GraphAllocationReplay.GraphShape StandardShape(ModelSummary model, long tokens, long outputs, long kvCells, bool flashAttention,
        KvCacheType typeK, KvCacheType typeV)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        var heads = MaxHeads(model);
        var kvHeads = model.HeadCountKv;
        foreach (var h in model.HeadCountKvPerLayer) kvHeads = Math.Max(kvHeads, h);
        var keyLength = model.KeyLength > 0 ? model.KeyLength : (heads > 0 ? model.EmbeddingLength / heads : 0);
        var valueLength = model.ValueLength > 0 ? model.ValueLength : keyLength;
        return new GraphAllocationReplay.GraphShape
        {
            Layers = Math.Max(0, model.BlockCount),
            Embedding = model.EmbeddingLength,
            Vocab = model.VocabSize,
            Heads = heads,
            KvHeads = kvHeads > 0 ? kvHeads : heads,
            KeyLength = keyLength,
            ValueLength = valueLength,
            FeedForward = model.FeedForwardLength,
            Experts = model.ExpertCount,
            ExpertsUsed = model.ExpertUsedCount,
            ExpertFeedForward = model.ExpertFeedForwardLength > 0 ? model.ExpertFeedForwardLength : model.FeedForwardLength,
            SharedExperts = model.ExpertSharedCount,
            LeadingDenseLayers = model.LeadingDenseBlockCount,
            Tokens = tokens,
            Outputs = outputs,
            KvCells = kvCells,
            FlashAttention = flashAttention,
            // llama_kv_cache: attn_rot_k/v = quantized cache type && head size % 64 == 0 (PR 21038).
            RotateK = KvCacheEstimator.IsQuantized(typeK) && keyLength > 0 && keyLength % 64 == 0,
            RotateV = KvCacheEstimator.IsQuantized(typeV) && valueLength > 0 && valueLength % 64 == 0,
            KRotation = LargestPowerOfTwoDividing(keyLength),
        };
    }

    /// <summary>Peak bytes of one repeating layer's activations for <paramref name="tokens"/> tokens against <paramref name="kvCells"/> cells.</summary>
    public static long LayerPeakBytes(ModelSummary model, long tokens, long kvCells, bool flashAttention) => Saturating(() =>
    {
        var a = Constants.ActivationBytes;
        var residual = checked(Constants.ResidualCopies * model.EmbeddingLength * tokens * a);
        return checked(residual + Math.Max(AttentionBytes(model, tokens, kvCells, flashAttention), FfnBytes(model, tokens)));
    });

    /// <summary>Attention working set: Q and the attention output, plus KQ scores and mask.</summary>
    public static long AttentionBytes(ModelSummary model, long tokens, long kvCells, bool flashAttention) => Saturating(() =>
    {
        var a = Constants.ActivationBytes;
        long heads = MaxHeads(model);
        long keyLength, valueLength;
        if (KvCacheEstimator.IsMla(model))
        {
            // MLA attends in the latent space (absorbed weights): K rows are kv_lora_rank + rope, V rows kv_lora_rank.
            keyLength = model.KvLoraRank!.Value + (model.RopeDimensionCount ?? 0);
            valueLength = model.KvLoraRank.Value;
        }
        else
        {
            keyLength = model.KeyLength > 0 ? model.KeyLength : (heads > 0 ? model.EmbeddingLength / heads : 0);
            valueLength = model.ValueLength > 0 ? model.ValueLength : keyLength;
        }

        var qAndOut = checked(tokens * heads * (keyLength + valueLength) * a);
        if (flashAttention)
        {
            return checked(qAndOut + kvCells * tokens * Constants.MaskBytesFlash);
        }
        return checked(qAndOut + Constants.ScoreCopies * kvCells * tokens * heads * a + kvCells * tokens * Constants.MaskBytesNoFlash);
    });

    /// <summary>FFN working set: dense gate/up, or the routed experts' intermediates plus router.</summary>
    public static long FfnBytes(ModelSummary model, long tokens) => Saturating(() =>
    {
        var a = Constants.ActivationBytes;
        var dense = checked(Constants.FfnCopies * model.FeedForwardLength * tokens * a);
        if (!model.IsMoe) return dense;
        var expertFf = model.ExpertFeedForwardLength > 0 ? model.ExpertFeedForwardLength : model.FeedForwardLength;
        var used = Math.Max(1, model.ExpertUsedCount);
        var routed = checked(Constants.FfnCopies * expertFf * used * tokens * a
                     + model.EmbeddingLength * used * tokens * a
                     + Constants.RouterCopies * (long)model.ExpertCount * tokens * a);
        // Leading dense layers run the dense FFN; the peak is the larger of the two kinds of layer.
        return Math.Max(dense, routed);
    });

    /// <summary>The output layer's working set: logits of n_vocab × n_outputs f32 plus the final norm.</summary>
    public static long OutputLayerBytes(ModelSummary model, long tokens, long outputs)
    {
        var a = Constants.ActivationBytes;
        return Saturating(() => checked(model.VocabSize * outputs * a + model.EmbeddingLength * tokens * a));
    }

    /// <summary>Graph inputs the CPU holds: the token-embedding rows (get_rows on the CPU) and per-token inputs.</summary>
    public static long InputBytes(ModelSummary model, long tokens)
    {
        var a = Constants.ActivationBytes;
        return Saturating(() => checked(model.EmbeddingLength * tokens * a + Constants.TokenInputs * tokens * 4));
    }

    /// <summary>
    /// The CPU backend's work buffer, outside the compute buffer (<c>ggml-cpu</c>'s graph plan: a matrix product whose
    /// second operand is not in the weight's dot-product type converts it first, into a buffer of
    /// <c>row_size(vec_dot_type, nelements(src1))</c> kept for the context's life). Without flash attention the largest is
    /// the product of the f16 V cache with the attention scores: n_kv × n_tokens × n_head values converted to f16. With
    /// flash attention it is a few rows per thread, counted as 0. An upper bound of what becomes resident: at context
    /// 2048 the measured peak RSS without flash attention exceeded the plan without this term by 16 MiB (16 heads) and
    /// 37 MiB (32 heads), about half and 60 % of it (docs/evidence.md#the-compute-buffer-is-not-all-resident).
    /// </summary>
    internal static long CpuWorkBufferBytes(ModelSummary model, long tokens, long kvCells, bool flashAttention)
    {
        if (flashAttention || model is null) return 0;
        return Saturating(() => checked(MaxHeads(model) * Math.Max(1, tokens) * Math.Max(0, kvCells) * 2));
    }

    /// <summary>
    /// The output buffer llama_context reserves up front (<c>output_reserve(n_seq_max)</c>): n_vocab f32 logits per
    /// sequence. It grows on demand when a batch asks for more outputs, up to <c>n_outputs_max</c> (default n_batch);
    /// LLamaSharp's executors ask for the last token's logits only.
    /// </summary>
    public static long OutputBufferBytes(ModelSummary model) =>
        Saturating(() => checked(model.VocabSize * Constants.ActivationBytes * Constants.OutputSequences));

    private static long LargestPowerOfTwoDividing(long n)
    {
        if (n <= 0) return 64;
        return n & -n;
    }

    private static long MaxHeads(ModelSummary model)
    {
        var max = model.HeadCount;
        foreach (var h in model.HeadCountPerLayer) max = Math.Max(max, h);
        return max;
    }
}
