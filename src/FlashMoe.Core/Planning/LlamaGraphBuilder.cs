using System;

namespace FlashMoe.Planning;

/// <summary>
/// Builds the worst-case graph <c>llama_context::sched_reserve</c> reserves, node by node in llama.cpp's order, for
/// <see cref="GgmlGraphAllocator"/> to replay.
/// <para>
/// The node order is the llama architecture's (<c>build_llama</c> in <c>src/models/llama.cpp</c>, <c>build_attn</c> /
/// <c>build_attn_mha</c> / <c>build_ffn</c> / <c>build_moe_ffn</c> in <c>src/llama-graph.cpp</c>, <c>cpy_k</c> / <c>cpy_v</c>
/// in <c>src/llama-kv-cache.cpp</c>), checked against the scheduler's own node dump (<c>GGML_SCHED_DEBUG=2</c>) of the
/// llama.cpp build LLamaSharp 0.30 ships. Other architectures are replayed with this graph and their own dimensions.
/// </para>
/// </summary>
internal static class LlamaGraphBuilder
{
    /// <summary>Appends the inputs and nodes of <paramref name="s"/>'s share of the graph to <paramref name="g"/>.</summary>
    public static void Build(ReplayGraph g, GraphAllocationReplay.GraphShape s)
    {
        // Checked: shapes multiply hyper-parameters by token counts; an overflow is saturated by the caller.
        checked
        {
            long T = Math.Max(1, s.Tokens), n = Math.Max(1, Math.Min(s.Outputs, T)), kv = Math.Max(1, s.KvCells);
            long E = s.Embedding, H = Math.Max(1, s.Heads), Hkv = Math.Max(1, s.KvHeads);
            long dk = s.KeyLength, dv = s.ValueLength;
            long q = dk * H, k = dk * Hkv, v = dv * Hkv;

            // Graph inputs in the order the graph first uses them (llm_graph_input_*): tokens, positions, the KV cache
            // row indices, the KQ mask (f16 with flash attention), the output row ids. Without flash attention V is stored
            // transposed and its index tensor has one entry per element (llama_kv_cache::build_input_v_idxs).
            // build_inp_embd also creates an n_embd × n_tokens f32 embeddings input beside the tokens and selects one of
            // the two per batch (llama.cpp PR 18550, ggml_build_forward_select): the unused one is still a graph input,
            // allocated first and never freed — one E × T block under everything else.
            // A quantized cache adds the Hadamard matrices (llama_kv_cache attn_rot_k / attn_rot_v) as inputs.
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
            var kRotation = s.RotateK ? Need(hasLayers, 4 * s.KRotation * s.KRotation) : null;
            var vRotation = s.RotateV ? Need(hasLayers, 4 * 64 * 64) : null;
            var kIdx = Need(hasLayers, 8 * T);
            var vIdx = Need(hasLayers, 8 * T * (s.FlashAttention ? 1 : v));
            var mask = Need(hasLayers, kv * T * (s.FlashAttention ? 2 : 4));
            var outIds = Need(end == s.Layers && hasLayers, 4 * n);

            var inpL = hiddenCopy ?? g.Op(false, new[] { E, T }, tokens); // get_rows(token_embd, inp_tokens)
            for (var il = first; il < end; il++)
            {
                var last = il == s.Layers - 1;
                var rows = last ? n : T;

                // attention: build_attn expands q, v, k in that order, then the cache copies
                var norm = g.Op(true, new[] { E, T }, inpL);
                var attnNorm = g.Op(true, new[] { E, T }, norm);
                var qCur = g.Op(false, new[] { q, T }, attnNorm);
                var qRope = g.Op(true, new[] { dk, H, T }, g.View(qCur), positions);
                // rotation: mul_mat(hadamard, x reshaped to rows of the rotation order), same size as x
                if (kRotation is not null) qRope = g.Op(false, new[] { q * T }, kRotation, g.View(qRope));
                var vCur = g.Op(false, new[] { v, T }, attnNorm);
                var vView = g.View(vCur);
                if (vRotation is not null) vView = g.View(g.Op(false, new[] { v * T }, vRotation, g.View(vView)));
                var kCur = g.Op(false, new[] { k, T }, attnNorm);
                var kRope = g.Op(true, new[] { dk, Hkv, T }, g.View(kCur), positions);
                if (kRotation is not null) kRope = g.Op(false, new[] { k * T }, kRotation, g.View(kRope));
                g.ExternalView(g.View(kRope), kIdx); // set_rows(cache_k, k_cur, k_idxs)
                var v2d = g.View(vView);
                g.ExternalView(s.FlashAttention ? v2d : g.View(v2d), vIdx); // set_rows(cache_v, …)

                ReplayTensor kqvOut;
                if (s.FlashAttention)
                {
                    var fa = g.Op(false, new[] { dv, H, T }, g.View(g.View(qRope)), g.ExternalView(), g.ExternalView(), mask);
                    kqvOut = g.View(fa); // reshape_2d
                    if (vRotation is not null) kqvOut = g.View(g.Op(false, new[] { dv * H * T }, vRotation, g.View(kqvOut)));
                }
                else
                {
                    var kq = g.Op(false, new[] { kv, T, H }, g.ExternalView(), g.View(g.View(qRope)));
                    var softmax = g.Op(true, new[] { kv, T, H }, kq, mask);
                    var kqv = g.Op(false, new[] { dv, T, H }, g.ExternalView(), softmax);
                    kqvOut = g.Op(false, new[] { dv * H, T }, g.View(kqv)); // cont_2d of the permuted result
                }
                ReplayTensor attnOut = g.Op(false, new[] { E, T }, kqvOut);

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
            var outNorm = g.Op(true, new[] { E, n }, inpL);
            var resultNorm = g.Op(true, new[] { E, n }, outNorm);
            resultNorm.IsOutput = true;
            var logits = g.Op(false, new[] { s.Vocab, n }, resultNorm);
            logits.IsOutput = true;
        }
    }

    // build_ffn with LLM_FFN_SILU + LLM_FFN_PAR: gate and up matmuls, fused swiglu (GLU, not in place), down.
    private static ReplayTensor DenseFfn(ReplayGraph g, long embedding, long width, ReplayTensor input, long rows)
    {
        var gate = g.Op(false, new[] { width, rows }, input);
        var up = g.Op(false, new[] { width, rows }, input);
        var glu = g.Op(false, new[] { width, rows }, gate, up);
        return g.Op(false, new[] { embedding, rows }, glu);
    }

    // build_moe_ffn for llama: softmax gating, top-k by argsort, normalised weights, mul_mat_id gate/up/down,
    // weighting, then the experts' rows summed by a chain of adds over views.
    private static ReplayTensor MoeFfn(ReplayGraph g, GraphAllocationReplay.GraphShape s, ReplayTensor input, long rows)
    {
        long E = s.Embedding, X = s.Experts, U = Math.Max(1, Math.Min(s.ExpertsUsed, s.Experts));
        var ef = s.ExpertFeedForward > 0 ? s.ExpertFeedForward : s.FeedForward;

        var logits = g.Op(false, new[] { X, rows }, input);
        var probs = g.Op(true, new[] { X, rows }, logits);
        var probs3d = g.View(probs);
        var argsort = g.OpI32(new[] { X, rows }, probs);
        var topK = g.View(argsort);
        var weights = g.Op(false, new[] { 1, U, rows }, probs3d, topK);
        var weights2d = g.View(weights);
        var sum = g.Op(false, new[] { 1, rows }, weights2d);
        var clamped = g.Op(true, new[] { 1, rows }, sum);
        var normalised = g.Op(true, new[] { U, rows }, weights2d, clamped);
        var normalised3d = g.View(normalised);
        var input3d = g.View(input);
        var gate = g.Op(false, new[] { ef, U, rows }, input3d, topK);
        var up = g.Op(false, new[] { ef, U, rows }, input3d, topK);
        var glu = g.Op(false, new[] { ef, U, rows }, gate, up);
        var down = g.Op(false, new[] { E, U, rows }, glu, topK);
        var weighted = g.Op(true, new[] { E, U, rows }, down, normalised3d);

        if (U == 1) return g.Op(false, new[] { E, rows }, g.View(weighted)); // cont
        // llama.cpp sums the experts' rows with a chain of U − 1 adds over views of `weighted`. Only the first add
        // allocates (its sources are views); each later one runs in place of the previous sum (its only consumer, same
        // layout), and `weighted` is freed right after the last. So adds 2 … U − 1 never change the allocator's state and
        // the first add alone replays the chain exactly — with no loop an expert count could size.
        return g.Op(true, new[] { E, rows }, g.View(weighted), g.View(weighted));
    }
}
