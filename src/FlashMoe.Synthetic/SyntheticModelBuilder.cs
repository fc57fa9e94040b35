using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>One tensor to write: name, type, shape (ne0 first) and how to fill it.</summary>
internal sealed record TensorPlan(string Name, GgmlType Type, long[] Dimensions, WeightFill Fill, SyntheticTensorRole Role);

/// <summary>Everything a spec turns into: metadata in file order, tensors in file order.</summary>
internal sealed record ModelDescription(SyntheticModelSpec Spec, List<KeyValuePair<string, GgufMetadataValue>> Metadata, List<TensorPlan> Tensors, int VocabSize, int FileType);

/// <summary>
/// The tensors and hyper-parameters llama.cpp requires per architecture: its <c>llama_model::load_hparams</c> and
/// <c>load_tensors</c> (src/llama-model.cpp, src/models/*.cpp) name every key read without a default and every tensor
/// created without TENSOR_NOT_REQUIRED; shapes are written as llama.cpp creates them (ne0 first).
/// </summary>
internal static class SyntheticModelBuilder
{
    public static ModelDescription Describe(SyntheticModelSpec spec)
    {
        if (spec is null) throw new ArgumentNullException(nameof(spec));
        spec.EnsureValid();
        var vocab = SyntheticVocab.Build(spec.ExtraVocabPieces, spec.VocabSize);
        var b = new Builder(spec, vocab.Count);
        switch (spec.Architecture)
        {
            case SyntheticArchitecture.Deepseek2: b.Deepseek2(); break;
            case SyntheticArchitecture.Qwen3Moe: b.Qwen3Moe(); break;
            case SyntheticArchitecture.GptOss: b.GptOss(); break;
            default: b.Llama(); break;
        }

        var fileType = spec.Recipe is { } recipe ? SyntheticRecipes.FileType(recipe) : SyntheticModel.FileTypeOf(MainWeightType(b.Tensors));
        var metadata = new List<KeyValuePair<string, GgufMetadataValue>>();
        void Add(string key, GgufMetadataValue value) => metadata.Add(new KeyValuePair<string, GgufMetadataValue>(key, value));
        Add("general.architecture", GgufMetadataValue.String(SyntheticArchitectures.Name(spec.Architecture)));
        Add("general.name", GgufMetadataValue.String(spec.Name));
        Add("general.file_type", GgufMetadataValue.UInt32((uint)fileType));
        if (fileType != 0 && fileType != 1 && fileType != 32) Add("general.quantization_version", GgufMetadataValue.UInt32(2));
        if (spec.Alignment is { } alignment) Add(GgufWriter.AlignmentKey, GgufMetadataValue.UInt32((uint)alignment));
        metadata.AddRange(b.Keys);
        Add("tokenizer.ggml.model", GgufMetadataValue.String("llama"));
        Add("tokenizer.ggml.tokens", GgufMetadataValue.StringArray(vocab.Tokens));
        Add("tokenizer.ggml.scores", GgufMetadataValue.Float32Array(vocab.Scores));
        Add("tokenizer.ggml.token_type", GgufMetadataValue.Int32Array(vocab.TokenTypes));
        Add("tokenizer.ggml.bos_token_id", GgufMetadataValue.UInt32(SyntheticVocab.BosId));
        Add("tokenizer.ggml.eos_token_id", GgufMetadataValue.UInt32(SyntheticVocab.EosId));
        Add("tokenizer.ggml.unknown_token_id", GgufMetadataValue.UInt32(SyntheticVocab.UnknownId));
        Add("tokenizer.ggml.add_bos_token", GgufMetadataValue.Bool(true));
        Add("tokenizer.ggml.add_eos_token", GgufMetadataValue.Bool(false));
        return new ModelDescription(spec, metadata, b.Tensors, vocab.Count, fileType);
    }

    // The type holding most weight bytes (norms and the router excluded): what llama.cpp's ftype names.
    private static GgmlType MainWeightType(List<TensorPlan> tensors)
    {
        var bytes = new Dictionary<GgmlType, long>();
        foreach (var t in tensors)
        {
            if (t.Type == GgmlType.F32 && t.Role is SyntheticTensorRole.Norm or SyntheticTensorRole.Router or SyntheticTensorRole.Bias
                or SyntheticTensorRole.AttentionSinks or SyntheticTensorRole.ExpertProbabilityBias) continue;
            bytes.TryGetValue(t.Type, out var sum);
            bytes[t.Type] = sum + (GgmlTypeTable.TensorBytes(t.Type, t.Dimensions) ?? 0);
        }
        return bytes.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
    }

    private sealed class Builder
    {
        private readonly SyntheticModelSpec _spec;
        private readonly string _arch;

        public Builder(SyntheticModelSpec spec, int vocab)
        {
            _spec = spec;
            _arch = SyntheticArchitectures.Name(spec.Architecture);
            Vocab = vocab;
        }

        public int Vocab { get; }
        public List<TensorPlan> Tensors { get; } = new();
        public List<KeyValuePair<string, GgufMetadataValue>> Keys { get; } = new();

        private long Embd => _spec.EmbeddingLength;

        // llama.cpp reads its integer hyper-parameters as u32 (a u64 fails to load: docs/evidence.md#writing-a-gguf-that-llamacpp-accepts).
        private void U32(string key, long value) => Keys.Add(new(_arch + "." + key, GgufMetadataValue.UInt32(checked((uint)value))));
        private void F32(string key, float value) => Keys.Add(new(_arch + "." + key, GgufMetadataValue.Float32(value)));
        private void Bool(string key, bool value) => Keys.Add(new(_arch + "." + key, GgufMetadataValue.Bool(value)));
        private void Str(string key, string value) => Keys.Add(new(_arch + "." + key, GgufMetadataValue.String(value)));

        private void Tensor(string name, SyntheticTensorRole role, int layer, params long[] dimensions)
        {
            var type = SyntheticRecipes.TypeFor(_spec, role, layer, dimensions[0]);
            var fill = role == SyntheticTensorRole.Norm ? WeightFill.Norm : WeightFill.Weight;
            Tensors.Add(new TensorPlan(name, type, dimensions, fill, role));
        }

        private void Layer(int i, string name, SyntheticTensorRole role, params long[] dimensions) => Tensor($"blk.{i}.{name}", role, i, dimensions);

        // Keys every architecture here reads (llama_model::load_hparams, before the per-architecture part).
        private void CommonKeys(long feedForward, int kvHeads, long? keyLength, long? valueLength, long rope)
        {
            U32("context_length", _spec.ContextLength);
            U32("embedding_length", Embd);
            U32("block_count", _spec.Layers);
            U32("feed_forward_length", feedForward);
            U32("attention.head_count", _spec.HeadCount);
            U32("attention.head_count_kv", kvHeads);
            if (keyLength is { } k) U32("attention.key_length", k);
            if (valueLength is { } v) U32("attention.value_length", v);
            // For llama n_rot must equal the head dimension ("invalid n_rot: 32, expected 64" otherwise).
            U32("rope.dimension_count", rope);
            F32("rope.freq_base", _spec.RopeFreqBase);
            F32("attention.layer_norm_rms_epsilon", _spec.RmsNormEpsilon);
            U32("vocab_size", Vocab);
            if (_spec.IsMoe)
            {
                U32("expert_count", _spec.ExpertCount);
                U32("expert_used_count", _spec.ExpertUsedCount);
            }
            if (_spec.YarnFactor is { } factor)
            {
                Str("rope.scaling.type", "yarn");
                F32("rope.scaling.factor", factor);
                U32("rope.scaling.original_context_length", _spec.YarnOriginalContextLength);
            }
        }

        private void Embeddings() => Tensor("token_embd.weight", SyntheticTensorRole.TokenEmbedding, -1, Embd, Vocab);

        private void OutputHead()
        {
            Tensor("output_norm.weight", SyntheticTensorRole.Norm, -1, Embd);
            Tensor("output.weight", SyntheticTensorRole.Output, -1, Embd, Vocab);
        }

        private void RoutedExperts(int i, long ff, bool biases)
        {
            long experts = _spec.ExpertCount;
            Layer(i, "ffn_gate_inp.weight", SyntheticTensorRole.Router, Embd, experts);
            if (biases) Layer(i, "ffn_gate_inp.bias", SyntheticTensorRole.Bias, experts);
            Layer(i, "ffn_gate_exps.weight", SyntheticTensorRole.ExpertGate, Embd, ff, experts);
            Layer(i, "ffn_down_exps.weight", SyntheticTensorRole.ExpertDown, ff, Embd, experts);
            Layer(i, "ffn_up_exps.weight", SyntheticTensorRole.ExpertUp, Embd, ff, experts);
            if (biases)
            {
                Layer(i, "ffn_gate_exps.bias", SyntheticTensorRole.Bias, ff, experts);
                Layer(i, "ffn_down_exps.bias", SyntheticTensorRole.Bias, Embd, experts);
                Layer(i, "ffn_up_exps.bias", SyntheticTensorRole.Bias, ff, experts);
            }
        }

        private void DenseFfn(int i, long ff)
        {
            Layer(i, "ffn_gate.weight", SyntheticTensorRole.DenseGate, Embd, ff);
            Layer(i, "ffn_down.weight", SyntheticTensorRole.DenseDown, ff, Embd);
            Layer(i, "ffn_up.weight", SyntheticTensorRole.DenseUp, Embd, ff);
        }

        private void GqaAttention(int i, long head, bool biases)
        {
            long q = head * _spec.HeadCount, kv = head * _spec.KvHeadCount;
            Layer(i, "attn_q.weight", SyntheticTensorRole.AttentionQ, Embd, q);
            Layer(i, "attn_k.weight", SyntheticTensorRole.AttentionK, Embd, kv);
            Layer(i, "attn_v.weight", SyntheticTensorRole.AttentionV, Embd, kv);
            Layer(i, "attn_output.weight", SyntheticTensorRole.AttentionOutput, q, Embd);
            if (biases)
            {
                Layer(i, "attn_q.bias", SyntheticTensorRole.Bias, q);
                Layer(i, "attn_k.bias", SyntheticTensorRole.Bias, kv);
                Layer(i, "attn_v.bias", SyntheticTensorRole.Bias, kv);
                Layer(i, "attn_output.bias", SyntheticTensorRole.Bias, Embd);
            }
        }

        public void Llama()
        {
            long head = _spec.HeadDimension;
            long ff = _spec.IsMoe ? _spec.EffectiveExpertFeedForwardLength : _spec.FeedForwardLength;
            // llama sizes its experts by feed_forward_length; expert_feed_forward_length is written for other readers.
            // key/value_length default to embd / heads: written only for a head of another width.
            long? keyLength = _spec.HeadLength is null ? null : head;
            CommonKeys(ff, _spec.KvHeadCount, keyLength, keyLength, head);
            if (_spec.IsMoe) U32("expert_feed_forward_length", ff);
            Embeddings();
            for (var i = 0; i < _spec.Layers; i++)
            {
                Layer(i, "attn_norm.weight", SyntheticTensorRole.Norm, Embd);
                GqaAttention(i, head, biases: false);
                Layer(i, "ffn_norm.weight", SyntheticTensorRole.Norm, Embd);
                if (_spec.IsMoe) RoutedExperts(i, ff, biases: false);
                else DenseFfn(i, ff);
            }
            OutputHead();
        }

        // llama_model_deepseek2: MLA in the split form current converters write (attn_k_b / attn_v_b, selected by
        // key_length_mla / value_length_mla; the cache holds the kv_lora latent plus the RoPE key, one "head"), or
        // the legacy unsplit attn_kv_b.
        public void Deepseek2()
        {
            var s = _spec;
            long rope = s.RopeHeadLength, nope = s.NopeHeadLength, v = s.ValueHeadLength, kvLora = s.KvLoraRank, qLora = s.EffectiveQLoraRank;
            long expertFf = s.EffectiveExpertFeedForwardLength, heads = s.HeadCount;
            if (s.LegacyMla)
            {
                // Unsplit form: llama.cpp takes the per-head K/V widths from key/value_length and caches every head.
                CommonKeys(s.FeedForwardLength, s.EffectiveKvHeadCount, keyLength: nope + rope, valueLength: v, rope: rope);
            }
            else
            {
                CommonKeys(s.FeedForwardLength, s.EffectiveKvHeadCount, keyLength: kvLora + rope, valueLength: kvLora, rope: rope);
            }
            U32("leading_dense_block_count", s.EffectiveLeadingDenseLayers);
            if (qLora > 0) U32("attention.q_lora_rank", qLora);
            U32("attention.kv_lora_rank", kvLora);
            if (!s.LegacyMla)
            {
                U32("attention.key_length_mla", nope + rope);
                U32("attention.value_length_mla", v);
            }
            U32("expert_feed_forward_length", expertFf);
            U32("expert_shared_count", s.SharedExpertCount);
            F32("expert_weights_scale", s.ExpertWeightsScale);
            Bool("expert_weights_norm", s.ExpertWeightsNorm);
            U32("expert_gating_func", (uint)s.ExpertGating);
            if (s.YarnFactor is not null && s.YarnLogMultiplier is { } logMultiplier) F32("rope.scaling.yarn_log_multiplier", logMultiplier);

            Embeddings();
            for (var i = 0; i < s.Layers; i++)
            {
                Layer(i, "attn_norm.weight", SyntheticTensorRole.Norm, Embd);
                if (qLora > 0)
                {
                    Layer(i, "attn_q_a_norm.weight", SyntheticTensorRole.Norm, qLora);
                    Layer(i, "attn_q_a.weight", SyntheticTensorRole.AttentionQA, Embd, qLora);
                    Layer(i, "attn_q_b.weight", SyntheticTensorRole.AttentionQB, qLora, heads * (nope + rope));
                }
                else
                {
                    Layer(i, "attn_q.weight", SyntheticTensorRole.AttentionQ, Embd, heads * (nope + rope));
                }
                Layer(i, "attn_kv_a_norm.weight", SyntheticTensorRole.Norm, kvLora);
                Layer(i, "attn_kv_a_mqa.weight", SyntheticTensorRole.AttentionKvA, Embd, kvLora + rope);
                if (s.LegacyMla)
                {
                    Layer(i, "attn_kv_b.weight", SyntheticTensorRole.AttentionKvB, kvLora, heads * (nope + v));
                }
                else
                {
                    Layer(i, "attn_k_b.weight", SyntheticTensorRole.AttentionKB, nope, kvLora, heads);
                    Layer(i, "attn_v_b.weight", SyntheticTensorRole.AttentionVB, kvLora, v, heads);
                }
                Layer(i, "attn_output.weight", SyntheticTensorRole.AttentionOutput, heads * v, Embd);
                Layer(i, "ffn_norm.weight", SyntheticTensorRole.Norm, Embd);
                if (i < s.EffectiveLeadingDenseLayers)
                {
                    DenseFfn(i, s.FeedForwardLength);
                    continue;
                }
                RoutedExperts(i, expertFf, biases: false);
                if (s.ExpertGating == SyntheticExpertGating.Sigmoid) Layer(i, "exp_probs_b.bias", SyntheticTensorRole.ExpertProbabilityBias, s.ExpertCount);
                long shared = expertFf * s.SharedExpertCount;
                Layer(i, "ffn_gate_shexp.weight", SyntheticTensorRole.SharedGate, Embd, shared);
                Layer(i, "ffn_down_shexp.weight", SyntheticTensorRole.SharedDown, shared, Embd);
                Layer(i, "ffn_up_shexp.weight", SyntheticTensorRole.SharedUp, Embd, shared);
            }
            OutputHead();
        }

        // llama_model_qwen3moe: GQA with per-head RMS norms on q and k, MoE in every block.
        public void Qwen3Moe()
        {
            long head = _spec.HeadDimension, ff = _spec.EffectiveExpertFeedForwardLength;
            CommonKeys(_spec.FeedForwardLength, _spec.KvHeadCount, head, head, head);
            U32("expert_feed_forward_length", ff);
            Embeddings();
            for (var i = 0; i < _spec.Layers; i++)
            {
                Layer(i, "attn_norm.weight", SyntheticTensorRole.Norm, Embd);
                GqaAttention(i, head, biases: false);
                Layer(i, "attn_k_norm.weight", SyntheticTensorRole.Norm, head);
                Layer(i, "attn_q_norm.weight", SyntheticTensorRole.Norm, head);
                Layer(i, "ffn_norm.weight", SyntheticTensorRole.Norm, Embd);
                RoutedExperts(i, ff, biases: false);
            }
            OutputHead();
        }

        // llama_model_openai_moe: biased attention with per-head sinks, post-attention norm, biased experts; the
        // sliding window applies to all but every SlidingWindowPattern-th layer.
        public void GptOss()
        {
            long head = _spec.HeadDimension, ff = _spec.EffectiveExpertFeedForwardLength;
            CommonKeys(_spec.FeedForwardLength, _spec.KvHeadCount, head, head, head);
            U32("expert_feed_forward_length", ff);
            U32("attention.sliding_window", _spec.SlidingWindow);
            if (_spec.SlidingWindowPattern != 2) U32("attention.sliding_window_pattern", _spec.SlidingWindowPattern);
            Embeddings();
            for (var i = 0; i < _spec.Layers; i++)
            {
                Layer(i, "attn_norm.weight", SyntheticTensorRole.Norm, Embd);
                Layer(i, "post_attention_norm.weight", SyntheticTensorRole.Norm, Embd);
                GqaAttention(i, head, biases: true);
                Layer(i, "attn_sinks.weight", SyntheticTensorRole.AttentionSinks, _spec.HeadCount);
                RoutedExperts(i, ff, biases: true);
            }
            OutputHead();
        }
    }
}
