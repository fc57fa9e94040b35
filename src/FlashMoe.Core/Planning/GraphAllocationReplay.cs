namespace FlashMoe.Planning;

/// <summary>
/// Replays llama.cpp's graph allocator over the worst-case graph <c>llama_context::sched_reserve</c> reserves, to
/// find the compute buffer a single backend needs. The compute buffer is not a sum of live tensors: ggml-alloc
/// (<c>ggml/src/ggml-alloc.c</c>) places each tensor by best fit into the free blocks left by earlier ones, reuses a
/// parent's memory for some ops, and the buffer is the highest offset ever reached — so fragmentation decides whether
/// the logits land on top of a freed FFN block or above it. Replaying the exact algorithm over the exact node order is
/// what makes the estimate track llama.cpp to the byte (see docs/measurements.md).
/// The allocator is <see cref="GgmlGraphAllocator"/>; the graph it replays comes from <see cref="LlamaGraphBuilder"/>.
/// </summary>
internal static class GraphAllocationReplay
{
    /// <summary>Alignment of the CPU buffer type (<c>TENSOR_ALIGNMENT</c> in ggml-backend.cpp).</summary>
    public const long CpuAlignment = 32;

    /// <summary>Shape of the graph to replay.</summary>
    public sealed class GraphShape
    {
        public int Layers { get; set; }
        public long Embedding { get; set; }
        public long Vocab { get; set; }
        public long Heads { get; set; }
        public long KvHeads { get; set; }
        public long KeyLength { get; set; }
        public long ValueLength { get; set; }
        public long FeedForward { get; set; }
        public int Experts { get; set; }
        public int ExpertsUsed { get; set; }
        public long ExpertFeedForward { get; set; }
        public int SharedExperts { get; set; }
        public int LeadingDenseLayers { get; set; }
        public long Tokens { get; set; }
        public long Outputs { get; set; }
        public long KvCells { get; set; }
        public bool FlashAttention { get; set; }
        /// <summary>Hadamard-rotate Q and K (quantized K cache, head size a multiple of 64; llama.cpp PR 21038).</summary>
        public bool RotateK { get; set; }
        /// <summary>Hadamard-rotate V and the attention output (quantized V cache).</summary>
        public bool RotateV { get; set; }
        /// <summary>Order of the K rotation: the largest power of two dividing the head size.</summary>
        public long KRotation { get; set; } = 64;
        /// <summary>First repeating layer of the share replayed (a device's share of a split model).</summary>
        public int FirstLayer { get; set; }
        /// <summary>Repeating layers in the share; null = every layer from <see cref="FirstLayer"/> on.</summary>
        public int? LayerCount { get; set; }
        /// <summary>
        /// The share is the CPU's: it holds every graph input (the scheduler assigns inputs to the CPU backend) and the
        /// token-embedding lookup. Otherwise it is a GPU's: its hidden state and the inputs its layers use arrive as
        /// copies allocated at the start of its split (<c>ggml_backend_sched_split_graph</c>).
        /// </summary>
        public bool IncludeEmbedding { get; set; } = true;
        /// <summary>The share includes the output layer (final norm and logits).</summary>
        public bool IncludeOutput { get; set; } = true;

        /// <summary>How attention is built: llama's multi-head attention, or DeepSeek's multi-head latent attention.</summary>
        public AttentionKind Attention { get; set; }
        /// <summary>Q and K are RMS-normalised per head before RoPE (qwen3moe: attn_q_norm, attn_k_norm).</summary>
        public bool QkNorm { get; set; }
        /// <summary>Q, K, V and the attention output carry biases (gpt-oss), each an in-place ADD.</summary>
        public bool AttentionBiases { get; set; }
        /// <summary>The graph computes K before V (gpt-oss); llama and qwen3moe compute V first.</summary>
        public bool KeyBeforeValue { get; set; }
        /// <summary>
        /// The output rows are selected after the last layer (gpt-oss: one GET_ROWS of the last layer's output) instead of
        /// inside it (llama: the attention output and the residual).
        /// </summary>
        public bool OutputRowsAfterLayers { get; set; }
        /// <summary>How the router turns logits into expert weights.</summary>
        public GatingKind Gating { get; set; }
        /// <summary>The router's selection adds a per-expert bias (DeepSeek-V3 exp_probs_b).</summary>
        public bool SelectionBias { get; set; }
        /// <summary>The router's logits add a bias (gpt-oss ffn_gate_inp.bias).</summary>
        public bool RouterBias { get; set; }
        /// <summary>The chosen experts' weights are normalised to sum to one (SUM_ROWS, CLAMP, DIV).</summary>
        public bool NormalizeExpertWeights { get; set; } = true;
        /// <summary>The chosen experts' weights are scaled (DeepSeek expert_weights_scale).</summary>
        public bool ScaleExpertWeights { get; set; }
        /// <summary>The experts' gate, up and down projections carry per-expert biases (gpt-oss ADD_ID).</summary>
        public bool ExpertBiases { get; set; }
        /// <summary>The experts' activation (SwiGLU, or gpt-oss's clamped SWIGLU_OAI: same allocation).</summary>
        public bool ExpertSwigluOai { get; set; }
        /// <summary>Every n-th layer attends to the full context, the others to a sliding window (gpt-oss: 2); 0 = none.</summary>
        public int SlidingWindowPattern { get; set; }
        /// <summary>KV cells of the sliding-window cache (used by sliding-window layers).</summary>
        public long SlidingWindowKvCells { get; set; }
        /// <summary>MLA: rank of the compressed query (0 = the query is projected directly).</summary>
        public long QLoraRank { get; set; }
        /// <summary>MLA: rank of the compressed KV latent, the cached row without its RoPE part.</summary>
        public long KvLoraRank { get; set; }
        /// <summary>MLA: the RoPE part of each head (n_rot).</summary>
        public long RopeLength { get; set; }
        /// <summary>MLA: the part of each query head without RoPE (key_length_mla − n_rot).</summary>
        public long NopeLength { get; set; }
        /// <summary>MLA: each head's value length after decompression (value_length_mla).</summary>
        public long MlaValueLength { get; set; }
        /// <summary>Bytes per element of the K cache (MLA without flash attention copies a transposed view of it).</summary>
        public long KCacheElementBytes { get; set; } = 2;

        /// <summary>The same shape with <paramref name="outputs"/> tokens producing logits.</summary>
        public GraphShape WithOutputs(long outputs)
        {
            var copy = (GraphShape)MemberwiseClone();
            copy.Outputs = outputs;
            return copy;
        }

        /// <summary>True when layer <paramref name="il"/> uses the sliding-window cache (llama_hparams::is_swa).</summary>
        public bool IsSlidingWindowLayer(int il) => SlidingWindowPattern > 0 && il % SlidingWindowPattern < SlidingWindowPattern - 1;
    }

    /// <summary>The attention a graph builds.</summary>
    public enum AttentionKind
    {
        /// <summary>Multi-head attention over a K and a V cache (llama, qwen3moe, gpt-oss).</summary>
        Standard,
        /// <summary>DeepSeek's multi-head latent attention with absorbed weights: one latent K cache, V a view of it.</summary>
        Mla,
        /// <summary>DeepSeek's latent attention decompressed before attention (files with the unsplit attn_kv_b).</summary>
        DecompressedMla,
    }

    /// <summary>The router's gating function (llama_expert_gating_func_type).</summary>
    public enum GatingKind
    {
        /// <summary>Softmax over all experts, then top-k.</summary>
        Softmax,
        /// <summary>Sigmoid over all experts, then top-k (DeepSeek-V3).</summary>
        Sigmoid,
        /// <summary>Top-k of the raw logits, then softmax over the chosen ones (gpt-oss).</summary>
        SoftmaxWeight,
    }

    /// <summary>The bytes ggml-alloc reserves for the whole graph of <paramref name="shape"/> on one backend.</summary>
    public static long PeakBytes(GraphShape shape, long alignment = CpuAlignment)
    {
        var graph = new ReplayGraph();
        LlamaGraphBuilder.Build(graph, shape);
        return GgmlGraphAllocator.Allocate(graph, alignment);
    }

    /// <summary>Size of the pages the kernel makes resident one at a time (4 KiB on x86-64 and most ARM64 kernels).</summary>
    public const long PageBytes = 4096;

    /// <summary>
    /// The buffer reserved for <paramref name="shape"/> (<see cref="PeakBytes"/>) and the bytes of it a run with only
    /// <paramref name="outputs"/> tokens producing logits touches (<see cref="GgmlGraphAllocator.TouchedBytes"/>): the
    /// reserve sizes the logits for every token of the ubatch, a chat prompt asks for one per sequence.
    /// </summary>
    public static long TouchedBytes(GraphShape shape, long outputs, out long reservedBytes, long alignment = CpuAlignment)
    {
        var reserved = new ReplayGraph();
        LlamaGraphBuilder.Build(reserved, shape);
        if (outputs >= shape.Outputs)
        {
            reservedBytes = GgmlGraphAllocator.Allocate(reserved, alignment);
            return reservedBytes;
        }
        var actual = new ReplayGraph();
        LlamaGraphBuilder.Build(actual, shape.WithOutputs(outputs));
        return GgmlGraphAllocator.TouchedBytes(reserved, actual, alignment, PageBytes, out reservedBytes);
    }
}
