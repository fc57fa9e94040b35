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
    }

    /// <summary>The bytes ggml-alloc reserves for the whole graph of <paramref name="shape"/> on one backend.</summary>
    public static long PeakBytes(GraphShape shape, long alignment = CpuAlignment)
    {
        var graph = new ReplayGraph();
        LlamaGraphBuilder.Build(graph, shape);
        return GgmlGraphAllocator.Allocate(graph, alignment);
    }
}
