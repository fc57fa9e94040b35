using System;
using System.Collections.Generic;

namespace FlashMoe.Planning;

/// <summary>
/// Builds the worst-case graph <c>llama_context::sched_reserve</c> reserves, node by node in llama.cpp's order, for
/// <see cref="GgmlGraphAllocator"/> to replay: the llama, qwen3moe, gpt-oss and deepseek2 graphs
/// (<c>src/models/*.cpp</c>; <c>build_attn</c> / <c>build_attn_mha</c> / <c>build_ffn</c> / <c>build_moe_ffn</c> in
/// <c>src/llama-graph.cpp</c>; <c>cpy_k</c> / <c>cpy_v</c> in <c>src/llama-kv-cache.cpp</c>), each checked against the
/// scheduler's node dump (<c>GGML_SCHED_DEBUG=2</c>) and the tensor addresses of the llama.cpp build LLamaSharp 0.30
/// ships. What differs per architecture is set in <see cref="GraphAllocationReplay.GraphShape"/> from
/// <see cref="ArchitectureTraits"/>; other architectures are replayed with llama's graph and their own dimensions.
/// </summary>
internal static class LlamaGraphBuilder
{
    /// <summary>Appends the inputs and nodes of <paramref name="s"/>'s share of the graph to <paramref name="g"/>.</summary>
    public static void Build(ReplayGraph g, GraphAllocationReplay.GraphShape s)
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
            ReplayTensor? Need(bool used, long bytes) => allInputs || used ? g.Input(bytes) : null;

            ReplayTensor? tokens = null, hiddenCopy = null;
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
                var mla = s.Attention == GraphAllocationReplay.AttentionKind.Mla;
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
                ReplayTensor attnOut = s.Attention switch
                {
                    GraphAllocationReplay.AttentionKind.Mla => MlaAttention(g, s, attnNorm, positions, cache, T),
                    GraphAllocationReplay.AttentionKind.DecompressedMla => DecompressedMlaAttention(g, s, attnNorm, positions, cache, T),
                    _ => Attention(g, s, attnNorm, positions, cache, T),
                };

                // The last layer keeps only the rows that produce outputs (inp_out_ids).
                var residual = inpL;
                if (last)
                {
                    attnOut = g.Op(false, new[] { E, n }, attnOut, outIds);
                    residual = g.Op(false, new[] { E, n }, inpL, outIds);
                }
                var ffnInp = g.Op(true, new[] { E, rows }, attnOut, residual);
                var ffnNorm = g.Op(true, new[] { E, rows }, g.Op(true, new[] { E, rows }, ffnInp));

                ReplayTensor ffnOut;
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
        public CacheInputs(long cells, ReplayTensor? kRotation, ReplayTensor? vRotation, ReplayTensor kIdx, ReplayTensor? vIdx, ReplayTensor mask)
        {
            Cells = cells;
            KRotation = kRotation;
            VRotation = vRotation;
            KIdx = kIdx;
            VIdx = vIdx;
            Mask = mask;
        }

        public long Cells { get; }
        public ReplayTensor? KRotation { get; }
        public ReplayTensor? VRotation { get; }
        public ReplayTensor KIdx { get; }
        public ReplayTensor? VIdx { get; }
        public ReplayTensor Mask { get; }
    }

    // Multi-head attention (build_attn / build_attn_mha, cpy_k / cpy_v): Q, then V and K (K and V in gpt-oss), each
    // projected (plus an in-place bias ADD in gpt-oss), Q and K normalised per head in qwen3moe, RoPE; the cache writes;
    // then KQ, softmax (in place; gpt-oss's sinks are one more source, no new tensor) and KQV — or one FLASH_ATTN_EXT —
    // and the output projection. Returns the projected attention output.
    private static ReplayTensor Attention(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor attnNorm, ReplayTensor? positions, CacheInputs cache, long T)
    {
        long E = s.Embedding, H = Math.Max(1, s.Heads), Hkv = Math.Max(1, s.KvHeads), kv = cache.Cells;
        long dk = s.KeyLength, dv = s.ValueLength;
        long q = dk * H, k = dk * Hkv, v = dv * Hkv;
        var kRotation = cache.KRotation;
        var vRotation = cache.VRotation;

        ReplayTensor Project(long width)
        {
            var cur = g.Op(false, new[] { width, T }, attnNorm);
            return s.AttentionBiases ? g.Op(true, new[] { width, T }, cur) : cur;
        }

        // RoPE of a reshaped projection: a view's memory is never reused, so it allocates; after a per-head
        // RMS norm (a new tensor, then an in-place MUL) it runs in place.
        ReplayTensor Rope(ReplayTensor projected, long heads)
        {
            ReplayTensor roped;
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

        ReplayTensor Value()
        {
            var vView = g.View(Project(v));
            if (vRotation is not null) vView = g.View(g.Op(false, new[] { v * T }, vRotation, g.View(vView)));
            return vView;
        }

        var qRope = Rope(Project(q), H);
        ReplayTensor kRope, vView;
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
        return CacheAndAttend(g, s, qRope, kRope, vView, cache, T, dv, H);
    }

    // The cache writes (cpy_k, cpy_v) and build_attn_mha: KQ, softmax in place and KQV (V stored transposed), or one
    // FLASH_ATTN_EXT; then the output projection (plus gpt-oss's bias).
    private static ReplayTensor CacheAndAttend(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor qRope, ReplayTensor kRope,
        ReplayTensor vView, CacheInputs cache, long T, long dv, long H)
    {
        long E = s.Embedding, kv = cache.Cells;
        g.ExternalView(g.View(kRope), cache.KIdx); // set_rows(cache_k, k_cur, k_idxs)
        var v2d = g.View(vView);
        g.ExternalView(s.FlashAttention ? v2d : g.View(v2d), cache.VIdx); // set_rows(cache_v, …)

        ReplayTensor kqvOut;
        if (s.FlashAttention)
        {
            var fa = g.Op(false, new[] { dv, H, T }, g.View(g.View(qRope)), g.ExternalView(), g.ExternalView(), cache.Mask);
            kqvOut = g.View(fa); // reshape_2d
            if (cache.VRotation is not null) kqvOut = g.View(g.Op(false, new[] { dv * H * T }, cache.VRotation, g.View(kqvOut)));
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

    // DeepSeek attention from files converted before MLA was split (llm_build_deepseek2 with is_mla false): the latent
    // is decompressed by attn_kv_b before attention into per-head K (no-RoPE part + the shared RoPE'd k_pe, REPEATed
    // to every head) and V (copied contiguous), then ordinary multi-head attention over a cache of every head. Q, then V,
    // then K, as build_attn expands them.
    private static ReplayTensor DecompressedMlaAttention(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor attnNorm,
        ReplayTensor? positions, CacheInputs cache, long T)
    {
        long H = Math.Max(1, s.Heads), kr = s.KvLoraRank, rope = s.RopeLength, nope = s.NopeLength, dv = s.ValueLength, dk = nope + rope;

        var qFull = LatentQuery(g, s, attnNorm, T);
        var qPe = g.Op(true, new[] { rope, H, T }, g.View(qFull), positions);
        var qCur = g.Op(false, new[] { dk, H, T }, g.View(qFull), qPe); // concat(q_nope, q_pe)

        var kvCmprPe = g.Op(false, new[] { kr + rope, T }, attnNorm);
        var kvCmpr = g.Op(true, new[] { kr, T }, g.View(kvCmprPe)); // rms_norm of the latent view
        kvCmpr = g.Op(true, new[] { kr, T }, kvCmpr); // × attn_kv_a_norm
        var kvFull = g.Op(false, new[] { (nope + dv) * H, T }, kvCmpr); // wkv_b × kv_cmpr
        var vCur = g.Op(false, new[] { dv, H, T }, g.View(kvFull)); // cont of the V view
        var kPe = g.Op(true, new[] { rope, 1, T }, g.View(kvCmprPe), positions);
        var kPeRepeated = g.Op(false, new[] { rope, H, T }, kPe); // repeat to every head
        var kCur = g.Op(false, new[] { dk, H, T }, g.View(kvFull), kPeRepeated); // concat(k_nope, k_pe)
        return CacheAndAttend(g, s, qCur, kCur, g.View(vCur), cache, T, dv, H);
    }

    // q = wq_b(norm(wq_a(x))), or wq(x) without a query rank: (no-RoPE + RoPE part) × n_head rows.
    private static ReplayTensor LatentQuery(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor attnNorm, long T)
    {
        ReplayTensor qIn = attnNorm;
        if (s.QLoraRank > 0)
        {
            var qa = g.Op(false, new[] { s.QLoraRank, T }, attnNorm);
            qa = g.Op(true, new[] { s.QLoraRank, T }, qa); // rms_norm in place
            qIn = g.Op(true, new[] { s.QLoraRank, T }, qa); // × attn_q_a_norm
        }
        return g.Op(false, new[] { (s.NopeLength + s.RopeLength) * Math.Max(1, s.Heads), T }, qIn);
    }

    // DeepSeek's multi-head latent attention with absorbed weights (llm_build_deepseek2, is_mla; build_attn with v_mla):
    // q = wq_b(norm(wq_a(x))) (or wq(x)) split into a no-RoPE and a RoPE part; the no-RoPE part is absorbed into the
    // latent space (wk_b), RoPE'd part concatenated: Q has kv_lora_rank + n_rot per head. The latent kv_cmpr (normed)
    // and the RoPE'd k_pe are concatenated into the one cached K row; V is a view of the K cache. Attention runs in the
    // latent space (MQA, one KV head) and wv_b decompresses its output per head before the output projection.
    private static ReplayTensor MlaAttention(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor attnNorm, ReplayTensor? positions, CacheInputs cache, long T)
    {
        long E = s.Embedding, H = Math.Max(1, s.Heads), kv = cache.Cells;
        long kr = s.KvLoraRank, rope = s.RopeLength, nope = s.NopeLength, vd = s.MlaValueLength;

        var qFull = LatentQuery(g, s, attnNorm, T);
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

        ReplayTensor kqvOut;
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
    private static ReplayTensor DenseFfn(ReplayGraph g, long embedding, long width, ReplayTensor input, long rows)
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
    private static ReplayTensor MoeFfn(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor input, long rows)
    {
        long E = s.Embedding, X = s.Experts, U = Math.Max(1, Math.Min(s.ExpertsUsed, s.Experts));
        var ef = s.ExpertFeedForward > 0 ? s.ExpertFeedForward : s.FeedForward;

        var logits = g.Op(false, new[] { X, rows }, input);
        var probs = s.Gating switch
        {
            GraphAllocationReplay.GatingKind.SoftmaxWeight => s.RouterBias ? g.Op(true, new[] { X, rows }, logits) : logits,
            _ => g.Op(true, new[] { X, rows }, logits), // SOFT_MAX or SIGMOID, in place
        };
        var probs3d = g.View(probs);
        var selection = s.SelectionBias ? g.Op(true, new[] { X, rows }, probs) : probs; // probs + exp_probs_b
        var argsort = g.OpI32(new[] { X, rows }, selection);
        var topK = g.View(argsort);
        var weights = g.Op(false, new[] { 1, U, rows }, probs3d, topK);
        if (s.Gating == GraphAllocationReplay.GatingKind.SoftmaxWeight)
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

        ReplayTensor Biased(ReplayTensor projected) => s.ExpertBiases ? g.Op(true, new[] { projected.Shape![0], U, rows }, projected, topK) : projected;
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
}
