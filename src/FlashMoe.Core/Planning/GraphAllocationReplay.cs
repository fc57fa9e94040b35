using System;
using System.Collections.Generic;

namespace FlashMoe.Planning;

/// <summary>
/// Replays llama.cpp's graph allocator over the worst-case graph <c>llama_context::sched_reserve</c> reserves, to
/// find the compute buffer a single backend needs. The compute buffer is not a sum of live tensors: ggml-alloc
/// (<c>ggml/src/ggml-alloc.c</c>) places each tensor by best fit into the free blocks left by earlier ones, reuses a
/// parent's memory for some ops, and the buffer is the highest offset ever reached — so fragmentation decides whether
/// the logits land on top of a freed FFN block or above it. Replaying the exact algorithm over the exact node order is
/// what makes the estimate track llama.cpp to the byte (see docs/measurements.md).
/// <para>
/// The allocator, as in <c>ggml_gallocr_alloc_graph_impl</c> / <c>ggml_dyn_tallocr_alloc</c>:
/// graph inputs are allocated first; then, node by node in graph order, the node is allocated — in place of its first
/// own, non-view parent when the op can run in place (<c>ggml_op_can_inplace</c>: ADD, MUL, DIV, RMS_NORM, SOFT_MAX,
/// ROPE, CLAMP, …), that parent has no other consumer and the layouts match — else into the best-fitting free block
/// other than the last one, else at the end (growing the buffer); after each node, parents whose consumers are all done
/// are freed (a view keeps its source alive until the view's consumers are done) and adjacent free blocks merge.
/// Graph outputs (<c>result_norm</c>, <c>result_output</c>) are never freed; views and weights take no compute memory.
/// </para>
/// <para>
/// The node order is the llama architecture's (<c>build_llama</c> in <c>src/models/llama.cpp</c>, <c>build_attn</c> /
/// <c>build_attn_mha</c> / <c>build_ffn</c> / <c>build_moe_ffn</c> in <c>src/llama-graph.cpp</c>, <c>cpy_k</c> / <c>cpy_v</c>
/// in <c>src/llama-kv-cache.cpp</c>), checked against the scheduler's own node dump (<c>GGML_SCHED_DEBUG=2</c>) of the
/// llama.cpp build LLamaSharp 0.30 ships. Other architectures are replayed with this graph and their own dimensions.
/// </para>
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
        var graph = new Graph();
        Build(graph, shape);
        return Allocate(graph, alignment);
    }

    // ---------------------------------------------------------------- graph

    private sealed class Tensor
    {
        public Tensor(long bytes, int elementType, long[]? shape, Tensor[] sources, bool canInplace, Tensor? viewOf, bool isView)
        {
            Bytes = bytes;
            ElementType = elementType;
            Shape = shape;
            Sources = sources;
            CanInplace = canInplace;
            ViewOf = viewOf;
            IsView = isView;
        }

        public long Bytes { get; }
        /// <summary>0 = f32, 1 = i32; inputs and views have no layout another tensor could share.</summary>
        public int ElementType { get; }
        public long[]? Shape { get; }
        public Tensor[] Sources { get; }
        public bool CanInplace { get; }
        /// <summary>The tensor whose memory a view shares (null for views of weights or of the KV cache).</summary>
        public Tensor? ViewOf { get; }
        public bool IsView { get; }
        public bool IsOutput { get; set; }

        // allocator state (hash_node)
        public int Children;
        public int Views;
        public bool Allocated;
        public long Offset;
    }

    private sealed class Graph
    {
        public List<Tensor> Inputs { get; } = new();
        public List<Tensor> Nodes { get; } = new();

        public Tensor Input(long bytes)
        {
            if (bytes > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("A graph input exceeds 2^56 bytes.");
            var t = new Tensor(bytes, -1, null, Array.Empty<Tensor>(), false, null, false);
            Inputs.Add(t);
            return t;
        }

        /// <summary>An op producing a new f32 tensor of the given shape.</summary>
        public Tensor Op(bool inplace, long[] shape, params Tensor?[] sources) =>
            Add(new Tensor(Bytes(shape), 0, shape, NonNull(sources), inplace, null, false));

        /// <summary>An op producing a new f16 (or other 2-byte) tensor of the given shape, e.g. a copy of a K cache view.</summary>
        public Tensor OpOfElement(long elementBytes, long[] shape, params Tensor?[] sources) =>
            Add(new Tensor(Bytes(shape) / 4 * elementBytes, 2, shape, NonNull(sources), false, null, false));

        /// <summary>An op producing a new i32 tensor (ARGSORT).</summary>
        public Tensor OpI32(long[] shape, params Tensor?[] sources) =>
            Add(new Tensor(Bytes(shape), 1, shape, NonNull(sources), false, null, false));

        /// <summary>A view (reshape, permute, view_nd) of <paramref name="source"/>: no memory, keeps its base alive.</summary>
        public Tensor View(Tensor source) =>
            Add(new Tensor(0, -1, null, new[] { source }, false, source.IsView ? source.ViewOf : source, true));

        /// <summary>A view of memory outside the compute buffer (KV cache views, SET_ROWS into the cache).</summary>
        public Tensor ExternalView(params Tensor?[] sources) =>
            Add(new Tensor(0, -1, null, NonNull(sources), false, null, true));

        private Tensor Add(Tensor t)
        {
            Nodes.Add(t);
            return t;
        }

        private static Tensor[] NonNull(Tensor?[] sources)
        {
            var list = new List<Tensor>(sources.Length);
            foreach (var s in sources) if (s is not null) list.Add(s);
            return list.ToArray();
        }

        /// <summary>
        /// Bytes of a 4-byte-element tensor. Past <see cref="ComputeBufferEstimator.SaturatedBytes"/> it throws
        /// <see cref="OverflowException"/> (the caller saturates), so no offset sum in the allocator can overflow.
        /// </summary>
        public static long Bytes(long[] shape)
        {
            long n = 4;
            foreach (var d in shape) n = checked(n * d);
            if (n > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("A tensor of the replayed graph exceeds 2^56 bytes.");
            return n;
        }
    }

    private static void Build(Graph g, GraphShape s)
    {
        // Checked: shapes multiply hyper-parameters by token counts; an overflow is saturated by the caller.
        checked
        {
            long T = Math.Max(1, s.Tokens), n = Math.Max(1, Math.Min(s.Outputs, T));
            long E = s.Embedding;

            // Graph inputs in the order the graph first uses them (llm_graph_input_*): tokens, positions, the KV cache
            // row indices, the KQ mask (f16 with flash attention), the output row ids. Without flash attention V is stored
            // transposed and its index tensor has one entry per element (llama_kv_cache::build_input_v_idxs).
            // build_inp_embd also creates an n_embd × n_tokens f32 embeddings input beside the tokens and selects one of
            // the two per batch (llama.cpp PR 18550, ggml_build_forward_select): the unused one is still a graph input,
            // allocated first and never freed — one E × T block under everything else.
            // A quantized cache adds the Hadamard matrices (llama_kv_cache attn_rot_k / attn_rot_v) as inputs.
            // An interleaved sliding-window model (llm_graph_input_attn_kv_iswa) has one set of cache inputs per cache,
            // in the order its layers first use them; MLA caches no V, so it has no V row indices.
            var first = Math.Max(0, Math.Min(s.FirstLayer, s.Layers));
            var end = s.LayerCount is { } count ? Math.Min(s.Layers, first + Math.Max(0, count)) : s.Layers;
            var hasLayers = end > first;
            var allInputs = s.IncludeEmbedding;
            Tensor? Need(bool used, long bytes) => allInputs || used ? g.Input(bytes) : null;

            Tensor? tokens = null, hiddenCopy = null;
            if (s.IncludeEmbedding)
            {
                tokens = g.Input(4 * T);
                g.Input(4 * E * T);
            }
            else
            {
                hiddenCopy = g.Input(4 * E * (hasLayers ? T : n)); // the hidden state copied in from the previous device
            }
            var positions = Need(hasLayers, 4 * T);

            var cacheInputs = new CacheInputs?[2]; // [0] the full-context cache, [1] the sliding-window cache
            var kinds = new List<int>(2);
            for (var il = first; il < end && kinds.Count < 2; il++)
            {
                var kind = s.IsSlidingWindowLayer(il) ? 1 : 0;
                if (!kinds.Contains(kind)) kinds.Add(kind);
            }
            if (allInputs)
            {
                // The CPU holds every input, also those of a cache none of its layers uses.
                if (!kinds.Contains(0)) kinds.Add(0);
                if (s.SlidingWindowPattern > 0 && !kinds.Contains(1)) kinds.Add(1);
            }
            foreach (var kind in kinds)
            {
                var cells = Math.Max(1, kind == 1 ? s.SlidingWindowKvCells : s.KvCells);
                var mla = s.Attention == AttentionKind.Mla;
                var v = s.ValueLength * Math.Max(1, s.KvHeads);
                cacheInputs[kind] = new CacheInputs(
                    cells,
                    s.RotateK ? g.Input(4 * s.KRotation * s.KRotation) : null,
                    s.RotateV ? g.Input(4 * 64 * 64) : null,
                    g.Input(8 * T),
                    mla ? null : g.Input(8 * T * (s.FlashAttention ? 1 : v)),
                    g.Input(cells * T * (s.FlashAttention ? 2 : 4)));
            }
            var outIds = Need(end == s.Layers && hasLayers, 4 * n);

            var inpL = hiddenCopy ?? g.Op(false, new[] { E, T }, tokens); // get_rows(token_embd, inp_tokens)
            for (var il = first; il < end; il++)
            {
                var last = il == s.Layers - 1 && !s.OutputRowsAfterLayers;
                var rows = last ? n : T;
                var cache = cacheInputs[s.IsSlidingWindowLayer(il) ? 1 : 0]!;

                var norm = g.Op(true, new[] { E, T }, inpL);
                var attnNorm = g.Op(true, new[] { E, T }, norm);
                Tensor attnOut = s.Attention == AttentionKind.Mla
                    ? MlaAttention(g, s, attnNorm, positions, cache, T)
                    : Attention(g, s, attnNorm, positions, cache, T);

                // The last layer keeps only the rows that produce outputs (inp_out_ids).
                var residual = inpL;
                if (last)
                {
                    attnOut = g.Op(false, new[] { E, n }, attnOut, outIds);
                    residual = g.Op(false, new[] { E, n }, inpL, outIds);
                }
                var ffnInp = g.Op(true, new[] { E, rows }, attnOut, residual);
                var ffnNorm = g.Op(true, new[] { E, rows }, g.Op(true, new[] { E, rows }, ffnInp));

                Tensor ffnOut;
                if (s.Experts > 0 && il >= s.LeadingDenseLayers)
                {
                    ffnOut = MoeFfn(g, s, ffnNorm, rows);
                    if (s.SharedExperts > 0)
                    {
                        var shared = DenseFfn(g, E, s.ExpertFeedForward * s.SharedExperts, ffnNorm, rows);
                        ffnOut = g.Op(true, new[] { E, rows }, ffnOut, shared);
                    }
                }
                else
                {
                    ffnOut = DenseFfn(g, E, s.FeedForward, ffnNorm, rows);
                }
                inpL = g.Op(true, new[] { E, rows }, ffnOut, ffnInp); // l_out
            }

            if (!s.IncludeOutput) return;
            if (s.OutputRowsAfterLayers && hasLayers && end == s.Layers)
            {
                // gpt-oss selects the output rows after the last layer, and that layer's full-width output stays a
                // graph output (the hidden state llama.cpp keeps for next-token drafting): it is never freed, as the
                // tensor addresses llama.cpp's eval callback reports show (docs/measurements.md).
                inpL.IsOutput = true;
                inpL = g.Op(false, new[] { E, n }, inpL, outIds);
            }
            var outNorm = g.Op(true, new[] { E, n }, inpL);
            var resultNorm = g.Op(true, new[] { E, n }, outNorm);
            resultNorm.IsOutput = true;
            var logits = g.Op(false, new[] { s.Vocab, n }, resultNorm);
            logits.IsOutput = true;
        }
    }

    /// <summary>The inputs one KV cache gives the graph, and its cell count.</summary>
    private sealed class CacheInputs
    {
        public CacheInputs(long cells, Tensor? kRotation, Tensor? vRotation, Tensor kIdx, Tensor? vIdx, Tensor mask)
        {
            Cells = cells;
            KRotation = kRotation;
            VRotation = vRotation;
            KIdx = kIdx;
            VIdx = vIdx;
            Mask = mask;
        }

        public long Cells { get; }
        public Tensor? KRotation { get; }
        public Tensor? VRotation { get; }
        public Tensor KIdx { get; }
        public Tensor? VIdx { get; }
        public Tensor Mask { get; }
    }

    // Multi-head attention (build_attn / build_attn_mha, cpy_k / cpy_v): Q, then V and K (K and V in gpt-oss), each
    // projected (plus an in-place bias ADD in gpt-oss), Q and K normalised per head in qwen3moe, RoPE; the cache writes;
    // then KQ, softmax (in place; gpt-oss's sinks are one more source, no new tensor) and KQV — or one FLASH_ATTN_EXT —
    // and the output projection. Returns the projected attention output.
    private static Tensor Attention(Graph g, GraphShape s, Tensor attnNorm, Tensor? positions, CacheInputs cache, long T)
    {
        long E = s.Embedding, H = Math.Max(1, s.Heads), Hkv = Math.Max(1, s.KvHeads), kv = cache.Cells;
        long dk = s.KeyLength, dv = s.ValueLength;
        long q = dk * H, k = dk * Hkv, v = dv * Hkv;
        var kRotation = cache.KRotation;
        var vRotation = cache.VRotation;

        Tensor Project(long width)
        {
            var cur = g.Op(false, new[] { width, T }, attnNorm);
            return s.AttentionBiases ? g.Op(true, new[] { width, T }, cur) : cur;
        }

        // RoPE of a reshaped projection: a view's memory is never reused, so it allocates; after a per-head
        // RMS norm (a new tensor, then an in-place MUL) it runs in place.
        Tensor Rope(Tensor projected, long heads)
        {
            Tensor roped;
            if (s.QkNorm)
            {
                var normed = g.Op(true, new[] { dk, heads, T }, g.View(projected));
                normed = g.Op(true, new[] { dk, heads, T }, normed);
                roped = g.Op(true, new[] { dk, heads, T }, normed, positions);
            }
            else
            {
                roped = g.Op(true, new[] { dk, heads, T }, g.View(projected), positions);
            }
            // rotation: mul_mat(hadamard, x reshaped to rows of the rotation order), same size as x
            if (kRotation is not null) roped = g.Op(false, new[] { dk * heads * T }, kRotation, g.View(roped));
            return roped;
        }

        Tensor Value()
        {
            var vView = g.View(Project(v));
            if (vRotation is not null) vView = g.View(g.Op(false, new[] { v * T }, vRotation, g.View(vView)));
            return vView;
        }

        var qRope = Rope(Project(q), H);
        Tensor kRope, vView;
        if (s.KeyBeforeValue)
        {
            kRope = Rope(Project(k), Hkv);
            vView = Value();
        }
        else
        {
            vView = Value();
            kRope = Rope(Project(k), Hkv);
        }
        g.ExternalView(g.View(kRope), cache.KIdx); // set_rows(cache_k, k_cur, k_idxs)
        var v2d = g.View(vView);
        g.ExternalView(s.FlashAttention ? v2d : g.View(v2d), cache.VIdx); // set_rows(cache_v, …)

        Tensor kqvOut;
        if (s.FlashAttention)
        {
            var fa = g.Op(false, new[] { dv, H, T }, g.View(g.View(qRope)), g.ExternalView(), g.ExternalView(), cache.Mask);
            kqvOut = g.View(fa); // reshape_2d
            if (vRotation is not null) kqvOut = g.View(g.Op(false, new[] { dv * H * T }, vRotation, g.View(kqvOut)));
        }
        else
        {
            var kq = g.Op(false, new[] { kv, T, H }, g.ExternalView(), g.View(g.View(qRope)));
            var softmax = g.Op(true, new[] { kv, T, H }, kq, cache.Mask);
            var kqv = g.Op(false, new[] { dv, T, H }, g.ExternalView(), softmax);
            kqvOut = g.Op(false, new[] { dv * H, T }, g.View(kqv)); // cont_2d of the permuted result
        }
        var attnOut = g.Op(false, new[] { E, T }, kqvOut);
        return s.AttentionBiases ? g.Op(true, new[] { E, T }, attnOut) : attnOut;
    }

    // DeepSeek's multi-head latent attention with absorbed weights (llm_build_deepseek2, is_mla; build_attn with v_mla):
    // q = wq_b(norm(wq_a(x))) (or wq(x)) split into a no-RoPE and a RoPE part; the no-RoPE part is absorbed into the
    // latent space (wk_b), RoPE'd part concatenated: Q has kv_lora_rank + n_rot per head. The latent kv_cmpr (normed)
    // and the RoPE'd k_pe are concatenated into the one cached K row; V is a view of the K cache. Attention runs in the
    // latent space (MQA, one KV head) and wv_b decompresses its output per head before the output projection.
    private static Tensor MlaAttention(Graph g, GraphShape s, Tensor attnNorm, Tensor? positions, CacheInputs cache, long T)
    {
        long E = s.Embedding, H = Math.Max(1, s.Heads), kv = cache.Cells;
        long kr = s.KvLoraRank, rope = s.RopeLength, nope = s.NopeLength, vd = s.MlaValueLength;

        Tensor qIn = attnNorm;
        if (s.QLoraRank > 0)
        {
            var qa = g.Op(false, new[] { s.QLoraRank, T }, attnNorm);
            qa = g.Op(true, new[] { s.QLoraRank, T }, qa); // rms_norm in place
            qIn = g.Op(true, new[] { s.QLoraRank, T }, qa); // × attn_q_a_norm
        }
        var qFull = g.Op(false, new[] { (nope + rope) * H, T }, qIn);
        var qNopePerm = g.View(g.View(qFull));
        var qAbsorbed = g.Op(false, new[] { kr, T, H }, qNopePerm); // wk_b × q_nope
        var qAbsorbedPerm = g.View(qAbsorbed);
        var qPe = g.Op(true, new[] { rope, H, T }, g.View(qFull), positions);
        var qCur = g.Op(false, new[] { kr + rope, H, T }, qAbsorbedPerm, qPe); // concat

        var kvCmprPe = g.Op(false, new[] { kr + rope, T }, attnNorm);
        var kvCmpr = g.Op(true, new[] { kr, T }, g.View(kvCmprPe)); // rms_norm of the latent view
        kvCmpr = g.Op(true, new[] { kr, T }, kvCmpr); // × attn_kv_a_norm
        var kvReshaped = g.View(kvCmpr);
        var kPe = g.Op(true, new[] { rope, 1, T }, g.View(kvCmprPe), positions);
        var kCur = g.Op(false, new[] { kr + rope, 1, T }, kvReshaped, kPe); // concat
        g.ExternalView(g.View(kCur), cache.KIdx); // set_rows(cache_k, k_cur, k_idxs); V has no cache of its own

        Tensor kqvOut;
        if (s.FlashAttention)
        {
            var fa = g.Op(false, new[] { kr, H, T }, g.View(g.View(qCur)), g.ExternalView(), g.ExternalView(), cache.Mask);
            var decompressed = g.Op(false, new[] { vd, T, H }, g.View(fa)); // wv_b × permuted output
            var contiguous = g.Op(false, new[] { vd, H, T }, g.View(decompressed)); // cont of the permuted result
            kqvOut = g.View(contiguous); // reshape_2d
        }
        else
        {
            // V (a view of the K cache) is copied transposed into a contiguous tensor of the cache's type.
            var vCont = g.OpOfElement(s.KCacheElementBytes, new[] { kv, kr }, g.ExternalView());
            var kq = g.Op(false, new[] { kv, T, H }, g.ExternalView(), g.View(g.View(qCur)));
            var softmax = g.Op(true, new[] { kv, T, H }, kq, cache.Mask);
            var kqv = g.Op(false, new[] { kr, T, H }, vCont, softmax);
            var decompressed = g.Op(false, new[] { vd, T, H }, kqv); // wv_b × kqv
            kqvOut = g.Op(false, new[] { vd * H, T }, g.View(decompressed)); // cont_2d of the permuted result
        }
        return g.Op(false, new[] { E, T }, kqvOut);
    }

    // build_ffn with LLM_FFN_SILU + LLM_FFN_PAR: gate and up matmuls, fused swiglu (GLU, not in place), down.
    private static Tensor DenseFfn(Graph g, long embedding, long width, Tensor input, long rows)
    {
        var gate = g.Op(false, new[] { width, rows }, input);
        var up = g.Op(false, new[] { width, rows }, input);
        var glu = g.Op(false, new[] { width, rows }, gate, up);
        return g.Op(false, new[] { embedding, rows }, glu);
    }

    // build_moe_ffn: router logits (plus gpt-oss's bias), gating (softmax; DeepSeek-V3's sigmoid, whose top-k is chosen
    // on the probabilities plus exp_probs_b; gpt-oss's top-k of the logits, softmaxed after), top-k by argsort, the
    // chosen weights gathered (GET_ROWS), then normalised (SUM_ROWS, CLAMP, DIV) and/or scaled as the architecture says;
    // mul_mat_id gate/up (plus gpt-oss's per-expert ADD_ID biases), the GLU, down, weighting, then the experts' rows
    // summed by a chain of adds over views. ggml_op_can_inplace decides which of these reuse their parent: ADD, ADD_ID,
    // MUL, DIV, SCALE, UNARY (sigmoid) and SOFT_MAX may; GET_ROWS, SUM_ROWS, CLAMP, ARGSORT, MUL_MAT(_ID) and GLU never.
    private static Tensor MoeFfn(Graph g, GraphShape s, Tensor input, long rows)
    {
        long E = s.Embedding, X = s.Experts, U = Math.Max(1, Math.Min(s.ExpertsUsed, s.Experts));
        var ef = s.ExpertFeedForward > 0 ? s.ExpertFeedForward : s.FeedForward;

        var logits = g.Op(false, new[] { X, rows }, input);
        var probs = s.Gating switch
        {
            GatingKind.SoftmaxWeight => s.RouterBias ? g.Op(true, new[] { X, rows }, logits) : logits,
            _ => g.Op(true, new[] { X, rows }, logits), // SOFT_MAX or SIGMOID, in place
        };
        var probs3d = g.View(probs);
        var selection = s.SelectionBias ? g.Op(true, new[] { X, rows }, probs) : probs; // probs + exp_probs_b
        var argsort = g.OpI32(new[] { X, rows }, selection);
        var topK = g.View(argsort);
        var weights = g.Op(false, new[] { 1, U, rows }, probs3d, topK);
        if (s.Gating == GatingKind.SoftmaxWeight)
        {
            weights = g.View(g.Op(true, new[] { U, rows }, g.View(weights))); // soft_max of the reshaped weights
        }
        if (s.NormalizeExpertWeights)
        {
            var weights2d = g.View(weights);
            var sum = g.Op(false, new[] { 1, rows }, weights2d);
            var clamped = g.Op(false, new[] { 1, rows }, sum);
            weights = g.View(g.Op(true, new[] { U, rows }, weights2d, clamped));
        }
        if (s.ScaleExpertWeights) weights = g.Op(true, new[] { 1, U, rows }, weights);

        Tensor Biased(Tensor projected) => s.ExpertBiases ? g.Op(true, new[] { projected.Shape![0], U, rows }, projected, topK) : projected;
        var input3d = g.View(input);
        var gate = Biased(g.Op(false, new[] { ef, U, rows }, input3d, topK));
        var up = Biased(g.Op(false, new[] { ef, U, rows }, input3d, topK));
        var glu = g.Op(false, new[] { ef, U, rows }, gate, up);
        var down = Biased(g.Op(false, new[] { E, U, rows }, glu, topK));
        var weighted = g.Op(true, new[] { E, U, rows }, down, weights);

        if (U == 1) return g.Op(false, new[] { E, rows }, g.View(weighted)); // cont
        // llama.cpp sums the experts' rows with a chain of U − 1 adds over views of `weighted`. Only the first add
        // allocates (its sources are views); each later one runs in place of the previous sum (its only consumer, same
        // layout), and `weighted` is freed right after the last. So adds 2 … U − 1 never change the allocator's state and
        // the first add alone replays the chain exactly — with no loop an expert count could size.
        return g.Op(true, new[] { E, rows }, g.View(weighted), g.View(weighted));
    }

    // ---------------------------------------------------------------- allocator

    private static long Allocate(Graph graph, long alignment)
    {
        var allocator = new DynamicAllocator(alignment);

        foreach (var node in graph.Nodes)
        {
            if (node.IsView && node.ViewOf is not null) node.ViewOf.Views++;
            foreach (var source in node.Sources) source.Children++;
        }

        // ggml_gallocr_alloc_graph_impl allocates the graph's leafs first, in leaf order (the order the graph found
        // them): the inputs as Build creates them, the unselected embeddings input included.
        foreach (var input in graph.Inputs) AllocateTensor(allocator, input);

        foreach (var node in graph.Nodes)
        {
            AllocateTensor(allocator, node);
            foreach (var parent in node.Sources)
            {
                parent.Children--;
                if (parent.Children != 0 || parent.Views != 0) continue;
                if (parent.IsView)
                {
                    var source = parent.ViewOf;
                    if (source is null) continue;
                    source.Views--;
                    if (source.Views == 0 && source.Children == 0 && source.Allocated) Free(allocator, source);
                }
                else if (parent.Allocated)
                {
                    Free(allocator, parent);
                }
            }
        }
        return allocator.MaxSize;
    }

    private static void AllocateTensor(DynamicAllocator allocator, Tensor node)
    {
        if (node.Allocated || node.IsView) return;
        node.Allocated = true;
        if (node.CanInplace)
        {
            foreach (var parent in node.Sources)
            {
                // Only memory the allocator owns (not views, weights or freed tensors), never a graph output.
                if (!parent.Allocated || parent.IsOutput || !SameLayout(parent, node)) continue;
                if (parent.Children == 1 && parent.Views == 0)
                {
                    node.Offset = parent.Offset;
                    parent.Allocated = false; // the node owns it now
                    return;
                }
            }
        }
        node.Offset = allocator.Allocate(node.Bytes);
    }

    // ggml_are_same_layout: same type and shape (every tensor replayed here is contiguous).
    private static bool SameLayout(Tensor a, Tensor b)
    {
        if (a.ElementType < 0 || a.ElementType != b.ElementType || a.Shape is null || b.Shape is null || a.Shape.Length != b.Shape.Length) return false;
        for (var i = 0; i < a.Shape.Length; i++)
        {
            if (a.Shape[i] != b.Shape[i]) return false;
        }
        return true;
    }

    private static void Free(DynamicAllocator allocator, Tensor tensor)
    {
        if (tensor.IsOutput) return;
        allocator.Free(tensor.Offset, tensor.Bytes);
        tensor.Allocated = false;
    }

    /// <summary><c>ggml_dyn_tallocr</c> with one chunk (the CPU buffer type has no maximum size).</summary>
    private sealed class DynamicAllocator
    {
        private readonly long _alignment;
        private readonly List<long> _offsets = new() { 0 };
        private readonly List<long> _sizes = new() { long.MaxValue / 4 };

        public DynamicAllocator(long alignment) => _alignment = alignment;

        public long MaxSize { get; private set; }

        public long Allocate(long bytes)
        {
            var size = Align(bytes);
            // best fit among the free blocks except the last; ties go to the later block (<=)
            var best = -1;
            var bestSize = long.MaxValue;
            for (var i = 0; i < _offsets.Count - 1; i++)
            {
                if (_sizes[i] >= size && _sizes[i] <= bestSize)
                {
                    best = i;
                    bestSize = _sizes[i];
                }
            }
            if (best < 0) best = _offsets.Count - 1;

            var offset = _offsets[best];
            _offsets[best] = offset + size;
            _sizes[best] -= size;
            if (_sizes[best] == 0)
            {
                _offsets.RemoveAt(best);
                _sizes.RemoveAt(best);
            }
            MaxSize = Math.Max(MaxSize, offset + size);
            // Each tensor is at most SaturatedBytes, so stopping here keeps every offset far from overflowing.
            if (MaxSize > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("The replayed compute buffer exceeds 2^56 bytes.");
            return offset;
        }

        public void Free(long offset, long bytes)
        {
            var size = Align(bytes);
            for (var i = 0; i < _offsets.Count; i++)
            {
                if (_offsets[i] + _sizes[i] == offset)
                {
                    _sizes[i] += size;
                    if (i < _offsets.Count - 1 && _offsets[i] + _sizes[i] == _offsets[i + 1])
                    {
                        _sizes[i] += _sizes[i + 1];
                        _offsets.RemoveAt(i + 1);
                        _sizes.RemoveAt(i + 1);
                    }
                    return;
                }
                if (offset + size == _offsets[i])
                {
                    _offsets[i] = offset;
                    _sizes[i] += size;
                    if (i > 0 && _offsets[i - 1] + _sizes[i - 1] == _offsets[i])
                    {
                        _sizes[i - 1] += _sizes[i];
                        _offsets.RemoveAt(i);
                        _sizes.RemoveAt(i);
                    }
                    return;
                }
            }
            var at = 0;
            while (at < _offsets.Count && _offsets[at] < offset) at++;
            _offsets.Insert(at, offset);
            _sizes.Insert(at, size);
        }

        private long Align(long bytes) => (bytes + _alignment - 1) / _alignment * _alignment;
    }
}
