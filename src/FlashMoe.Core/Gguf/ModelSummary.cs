using System.Collections.Generic;

namespace FlashMoe.Gguf;

/// <summary>What a tensor is for; decides where llama.cpp places it and whether it is read per token.</summary>
public enum TensorRole
{
    /// <summary><c>token_embd.weight</c>: always on the CPU (input layer).</summary>
    TokenEmbedding,
    /// <summary><c>output.weight</c> and <c>output_norm.weight</c>: the output layer.</summary>
    Output,
    /// <summary><c>blk.N.attn_*</c> weights (q, k, v, output, MLA projections), excluding norms.</summary>
    Attention,
    /// <summary>Dense feed-forward weights <c>blk.N.ffn_{gate,up,down}</c>.</summary>
    DenseFfn,
    /// <summary>Routed expert weights <c>blk.N.ffn_{gate,up,down}_exps</c> (3-D).</summary>
    ExpertFfn,
    /// <summary>Shared-expert weights <c>blk.N.ffn_{gate,up,down}_shexp</c>.</summary>
    SharedExpertFfn,
    /// <summary>The MoE router <c>blk.N.ffn_gate_inp</c> (and expert bias/probability tensors).</summary>
    ExpertRouter,
    /// <summary>Normalisation weights (<c>*_norm</c>).</summary>
    Norm,
    /// <summary>Anything else (rope factors, …).</summary>
    Other,
}

/// <summary>One tensor as described by the GGUF header.</summary>
/// <param name="Name">Tensor name, e.g. <c>blk.3.ffn_up_exps.weight</c>.</param>
/// <param name="Type">Storage type.</param>
/// <param name="Dimensions">Shape, ne0 (row length) first, as stored in GGUF.</param>
/// <param name="Offset">Offset relative to the data section.</param>
/// <param name="Bytes">Size in bytes (from the type table).</param>
/// <param name="Role">What it is for.</param>
/// <param name="Layer">Block index for <c>blk.N.*</c> tensors, else null.</param>
public sealed record TensorSummary(
    string Name,
    GgmlType Type,
    EquatableArray<long> Dimensions,
    long Offset,
    long Bytes,
    TensorRole Role,
    int? Layer)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dimensions) n *= d;
            return n;
        }
    }
}

/// <summary>
/// Everything FlashMoe needs to know about a model, read from the GGUF header only (or built from the
/// profile's declared facts when the file is absent). Hyper-parameters use llama.cpp's key names
/// with the architecture prefix stripped (<c>llama.block_count</c> → <see cref="BlockCount"/>).
/// </summary>
public sealed class ModelSummary
{
    /// <summary><c>general.architecture</c>, e.g. <c>llama</c>, <c>deepseek2</c>.</summary>
    public string Architecture { get; init; } = "unknown";
    /// <summary><c>general.name</c> if present.</summary>
    public string? Name { get; init; }
    /// <summary>GGUF version (2 or 3). 0 when built from declared facts.</summary>
    public uint GgufVersion { get; init; }
    /// <summary>Size of the file in bytes (or the declared size).</summary>
    public long FileSizeBytes { get; init; }
    /// <summary>Bytes of the header (metadata + tensor infos), before alignment padding.</summary>
    public long HeaderBytes { get; init; }
    /// <summary>Offset of the data section (header end padded to <see cref="Alignment"/>).</summary>
    public long DataOffset { get; init; }
    /// <summary><c>general.alignment</c>, default 32.</summary>
    public int Alignment { get; init; } = 32;
    /// <summary>True when this summary came from declared facts, not a file.</summary>
    public bool IsDeclared { get; init; }

    /// <summary>Repeating layers (<c>{arch}.block_count</c>).</summary>
    public int BlockCount { get; init; }
    /// <summary><c>{arch}.embedding_length</c>.</summary>
    public long EmbeddingLength { get; init; }
    /// <summary><c>{arch}.feed_forward_length</c> (dense FFN width; first layer's if per-layer).</summary>
    public long FeedForwardLength { get; init; }
    /// <summary>Attention heads per layer (scalar keys are expanded to every layer).</summary>
    public EquatableArray<int> HeadCountPerLayer { get; init; }
    /// <summary>KV heads per layer (defaults to the head count, as llama.cpp does).</summary>
    public EquatableArray<int> HeadCountKvPerLayer { get; init; }
    /// <summary>Attention heads of layer 0 (convenience).</summary>
    public int HeadCount => HeadCountPerLayer.Count > 0 ? HeadCountPerLayer[0] : 0;
    /// <summary>KV heads of layer 0 (convenience).</summary>
    public int HeadCountKv => HeadCountKvPerLayer.Count > 0 ? HeadCountKvPerLayer[0] : 0;
    /// <summary><c>{arch}.attention.key_length</c>, default embd / heads.</summary>
    public int KeyLength { get; init; }
    /// <summary><c>{arch}.attention.value_length</c>, default embd / heads.</summary>
    public int ValueLength { get; init; }
    /// <summary>MLA: <c>{arch}.attention.kv_lora_rank</c>, when present.</summary>
    public int? KvLoraRank { get; init; }
    /// <summary>MLA: <c>{arch}.attention.q_lora_rank</c>, when present.</summary>
    public int? QLoraRank { get; init; }
    /// <summary>MLA: <c>{arch}.rope.dimension_count</c> (the rope part of the key), when present.</summary>
    public int? RopeDimensionCount { get; init; }
    /// <summary>MLA: <c>{arch}.attention.key_length_mla</c>, a head's query/key length after decompression (no-RoPE + RoPE part).</summary>
    public int? KeyLengthMla { get; init; }
    /// <summary>MLA: <c>{arch}.attention.value_length_mla</c>, a head's value length after decompression.</summary>
    public int? ValueLengthMla { get; init; }
    /// <summary><c>{arch}.attention.sliding_window</c> (n_swa): the window of the sliding-window layers, when present.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary><c>{arch}.expert_gating_func</c>: 1 softmax, 2 sigmoid, 3 softmax of the chosen weights; null when absent.</summary>
    public int? ExpertGatingFunction { get; init; }
    /// <summary><c>{arch}.expert_weights_norm</c>: the chosen experts' weights are normalised; null when absent.</summary>
    public bool? ExpertWeightsNorm { get; init; }
    /// <summary><c>{arch}.context_length</c> (training context).</summary>
    public long ContextLength { get; init; }
    /// <summary>Number of tokens (length of <c>tokenizer.ggml.tokens</c>, or <c>{arch}.vocab_size</c>).</summary>
    public long VocabSize { get; init; }

    /// <summary><c>{arch}.expert_count</c> (0 for dense models).</summary>
    public int ExpertCount { get; init; }
    /// <summary><c>{arch}.expert_used_count</c>.</summary>
    public int ExpertUsedCount { get; init; }
    /// <summary><c>{arch}.expert_shared_count</c>.</summary>
    public int ExpertSharedCount { get; init; }
    /// <summary><c>{arch}.expert_feed_forward_length</c>.</summary>
    public long ExpertFeedForwardLength { get; init; }
    /// <summary><c>{arch}.leading_dense_block_count</c>.</summary>
    public int LeadingDenseBlockCount { get; init; }
    /// <summary>True when the model has routed experts.</summary>
    public bool IsMoe => ExpertCount > 0;

    /// <summary><c>general.file_type</c> (llama_ftype), when present.</summary>
    public int? FileType { get; init; }
    /// <summary>Total number of weights (elements of all tensors).</summary>
    public long ParameterCount { get; init; }
    /// <summary>Total bytes of all tensors.</summary>
    public long TensorBytes { get; init; }
    /// <summary>Number of tensors.</summary>
    public int TensorCount { get; init; }

    /// <summary>Bytes per tensor role.</summary>
    public IReadOnlyDictionary<TensorRole, long> BytesByRole { get; init; } = new RoleBytes();
    /// <summary>Bytes per block index (index = layer); tensors outside blocks are not counted here.</summary>
    public EquatableArray<long> BytesByLayer { get; init; }
    /// <summary>Bytes per ggml type.</summary>
    public IReadOnlyDictionary<GgmlType, long> BytesByType { get; init; } = new TypeBytes();
    /// <summary>Every tensor in header order (empty for declared summaries).</summary>
    public EquatableArray<TensorSummary> Tensors { get; init; }
    /// <summary>For declared summaries: each fact that was assumed rather than declared (empty for files).</summary>
    public EquatableArray<string> Assumptions { get; init; }
}
