using System;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

/// <summary>The <c>general.architecture</c> names whose graphs the planner replays exactly.</summary>
public static class ModelArchitectures
{
    /// <summary>llama (and the MoE models converted as llama, such as Mixtral).</summary>
    public const string Llama = "llama";

    /// <summary>DeepSeek-V2/V3/R1: multi-head latent attention, leading dense layers, a shared expert.</summary>
    public const string DeepSeek2 = "deepseek2";

    /// <summary>Qwen3-MoE (30B-A3B, 235B-A22B): per-head Q/K norms, routed experts only.</summary>
    public const string Qwen3Moe = "qwen3moe";

    /// <summary>GPT-OSS (20B, 120B): biases, attention sinks, interleaved sliding-window attention, MXFP4 experts.</summary>
    public const string GptOss = "gpt-oss";

    /// <summary>The architectures above, in the order the docs list them.</summary>
    public static EquatableArray<string> Known { get; } = EquatableArray.Create(Llama, DeepSeek2, Qwen3Moe, GptOss);

    /// <summary>True when <paramref name="architecture"/> is one of <see cref="Known"/> (case-sensitive, as llama.cpp reads it).</summary>
    public static bool IsKnown(string? architecture) => architecture is not null && System.Linq.Enumerable.Contains(Known, architecture);
}

/// <summary>
/// What the graph llama.cpp builds for an architecture looks like to the allocator: how attention and the MoE router
/// are built (<c>src/models/*.cpp</c>, <c>build_attn</c> / <c>build_moe_ffn</c> in <c>src/llama-graph.cpp</c>) and which
/// layers use the sliding-window cache (<c>llama_hparams::set_swa_pattern</c>). The architecture decides the
/// structure; the header's hyper-parameters and tensors decide what each architecture leaves optional.
/// </summary>
internal sealed class ArchitectureTraits
{
    /// <summary>Multi-head latent attention with absorbed weights (<c>llm_build_deepseek2</c>, <c>is_mla</c>).</summary>
    public bool Mla { get; private set; }
    /// <summary>DeepSeek's latent attention decompressed by <c>attn_kv_b</c> before attention (<c>is_mla</c> false).</summary>
    public bool DecompressedMla { get; private set; }
    /// <summary>Per-head RMS norm of Q and K before RoPE (<c>llm_build_qwen3moe</c>).</summary>
    public bool QkNorm { get; private set; }
    /// <summary>Q/K/V/output biases, K computed before V, output rows selected after the last layer (<c>llm_build_openai_moe_iswa</c>).</summary>
    public bool GptOssAttention { get; private set; }
    /// <summary>The router's gating function.</summary>
    public GraphAllocationReplay.GatingKind Gating { get; private set; }
    /// <summary>Top-k chosen on the probabilities plus <c>exp_probs_b</c>.</summary>
    public bool SelectionBias { get; private set; }
    /// <summary>Router and experts carry biases (gpt-oss).</summary>
    public bool MoeBiases { get; private set; }
    /// <summary>The chosen experts' weights are normalised.</summary>
    public bool NormalizeExpertWeights { get; private set; } = true;
    /// <summary>The chosen experts' weights are scaled.</summary>
    public bool ScaleExpertWeights { get; private set; }
    /// <summary>Sliding-window pattern (every n-th layer is full attention); 0 = none.</summary>
    public int SlidingWindowPattern { get; private set; }

    /// <summary>The traits of <paramref name="model"/>'s architecture, with its header's optional facts applied.</summary>
    public static ArchitectureTraits Of(ModelSummary model)
    {
        if (model is null) throw new ArgumentNullException(nameof(model));
        var traits = new ArchitectureTraits();
        switch (model.Architecture)
        {
            case ModelArchitectures.DeepSeek2:
                traits.Mla = KvCacheEstimator.IsMla(model);
                traits.DecompressedMla = !traits.Mla && model.KvLoraRank is > 0;
                // llama_model::load_hparams (LLM_ARCH_DEEPSEEK2): a file without expert_gating_func is a V2/V2.5 file and
                // gates by softmax; V3/R1 write 2 (sigmoid). build_moe_ffn is called with scale_w = true and
                // norm_w = expert_weights_norm (default false).
                traits.Gating = model.ExpertGatingFunction == 2 ? GraphAllocationReplay.GatingKind.Sigmoid : GraphAllocationReplay.GatingKind.Softmax;
                traits.NormalizeExpertWeights = model.ExpertWeightsNorm ?? false;
                traits.ScaleExpertWeights = true;
                // exp_probs_b is TENSOR_NOT_REQUIRED: the header says whether it is there; declared V3/R1 facts have it.
                traits.SelectionBias = model.Tensors.Count == 0
                    ? traits.Gating == GraphAllocationReplay.GatingKind.Sigmoid
                    : HasTensor(model, ".exp_probs_b.");
                break;
            case ModelArchitectures.Qwen3Moe:
                traits.QkNorm = true;
                break;
            case ModelArchitectures.GptOss:
                traits.GptOssAttention = true;
                traits.Gating = GraphAllocationReplay.GatingKind.SoftmaxWeight;
                traits.MoeBiases = true;
                traits.NormalizeExpertWeights = false;
                // LLM_ARCH_OPENAI_MOE: hparams.set_swa_pattern(2) — even layers slide, odd layers see the whole context.
                traits.SlidingWindowPattern = 2;
                break;
        }
        return traits;
    }

    /// <summary>True when layer <paramref name="layer"/> uses the sliding-window cache (<c>llama_hparams::is_swa</c>).</summary>
    public bool IsSlidingWindowLayer(int layer) =>
        SlidingWindowPattern > 0 && layer % SlidingWindowPattern < SlidingWindowPattern - 1;

    private static bool HasTensor(ModelSummary model, string part)
    {
        foreach (var t in model.Tensors)
        {
            if (t.Name.IndexOf(part, StringComparison.Ordinal) >= 0) return true;
        }
        return false;
    }
}
