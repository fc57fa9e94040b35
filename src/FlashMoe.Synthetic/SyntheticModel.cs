using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>The file a spec produces, known before (and after) writing it.</summary>
/// <param name="Spec">The spec.</param>
/// <param name="HeaderBytes">Header bytes before the alignment padding.</param>
/// <param name="DataOffset">Start of the data section (header padded to the alignment).</param>
/// <param name="FileBytes">File length: <paramref name="DataOffset"/> + every tensor padded to the alignment.</param>
/// <param name="TensorBytes">Sum of the tensors' data bytes, without padding.</param>
/// <param name="ParameterCount">Sum of the tensors' element counts.</param>
/// <param name="VocabSize">Tokens in the vocabulary.</param>
/// <param name="MetadataCount">Metadata key/value pairs.</param>
/// <param name="FileType">The <c>general.file_type</c> written (llama_ftype).</param>
/// <param name="Tensors">Tensors in file order.</param>
public sealed record SyntheticModelLayout(
    SyntheticModelSpec Spec,
    long HeaderBytes,
    long DataOffset,
    long FileBytes,
    long TensorBytes,
    long ParameterCount,
    int VocabSize,
    int MetadataCount,
    int FileType,
    EquatableArray<GgufTensorLayout> Tensors)
{
    /// <summary>Number of tensors.</summary>
    public int TensorCount => Tensors.Count;
}

/// <summary>Writes synthetic llama-architecture GGUF models that llama.cpp (LLamaSharp 0.30) loads and runs.</summary>
public static class SyntheticModel
{
    private const string Arch = "llama";

    /// <summary>The file <paramref name="spec"/> would produce, computed without writing anything.</summary>
    public static SyntheticModelLayout Plan(SyntheticModelSpec spec)
    {
        var model = Describe(spec);
        using var writer = new GgufWriter(Stream.Null, spec.EffectiveAlignment, leaveOpen: true);
        return Lay(model, writer);
    }

    /// <summary>Writes the model to <paramref name="path"/> (created or overwritten).</summary>
    /// <param name="spec">What to write.</param>
    /// <param name="path">Destination file.</param>
    /// <param name="progress">Optional: reports the data bytes done after each tensor.</param>
    public static SyntheticModelLayout Write(SyntheticModelSpec spec, string path, IProgress<long>? progress = null)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        var model = Describe(spec);
        // 1 MiB buffer: tensor chunks are 1 MiB, so writes go straight through.
        var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 20);
        try
        {
            var layout = WriteModel(model, stream, progress);
            stream.Dispose();
            return layout;
        }
        catch
        {
            // A half-written model would load as garbage or fail obscurely later: leave nothing behind.
            stream.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Writes the model to <paramref name="output"/> from its current position (sparse needs a seekable stream). Leaves it open.</summary>
    public static SyntheticModelLayout Write(SyntheticModelSpec spec, Stream output, IProgress<long>? progress = null)
    {
        if (output is null) throw new ArgumentNullException(nameof(output));
        var model = Describe(spec);
        if (spec.Sparse && !output.CanSeek) throw new ArgumentException("A sparse model needs a seekable stream.", nameof(output));
        return WriteModel(model, output, progress);
    }

    /// <summary>
    /// Returns <paramref name="spec"/> with the layer count (and, if the layer count alone cannot get there, the FFN
    /// width and embedding) chosen so the file is as close as the layer granularity allows to <paramref name="targetFileBytes"/>.
    /// </summary>
    /// <param name="spec">Starting shape (a preset).</param>
    /// <param name="targetFileBytes">Wanted file length.</param>
    /// <param name="maxLayers">Most layers to use before widening instead (llama.cpp allows 512).</param>
    public static SyntheticModelSpec FitToSize(SyntheticModelSpec spec, long targetFileBytes, int maxLayers = 128)
    {
        if (spec is null) throw new ArgumentNullException(nameof(spec));
        if (targetFileBytes <= 0) throw new ArgumentOutOfRangeException(nameof(targetFileBytes), targetFileBytes, "The target size must be positive.");
        if (maxLayers is < 1 or > 512) throw new ArgumentOutOfRangeException(nameof(maxLayers), maxLayers, "maxLayers must be 1…512.");
        spec.EnsureValid();
        // Below this many layers one layer is too coarse a step (±1/8 at 4 layers): make the blocks narrower instead.
        var minLayers = Math.Min(4, maxLayers);
        var current = spec;
        bool widened = false, narrowed = false;
        // Each step halves or doubles a width, so 64 steps cover any 64-bit target.
        for (var step = 0; step < 64; step++)
        {
            var one = Plan(current with { Layers = 1 }).FileBytes;
            var perLayer = Plan(current with { Layers = 2 }).FileBytes - one;
            var exact = (double)(targetFileBytes - (one - perLayer)) / perLayer;
            SyntheticModelSpec? next = null;
            if (exact > maxLayers + 0.5 && !narrowed)
            {
                next = Wider(current) ?? throw new ArgumentOutOfRangeException(nameof(targetFileBytes), targetFileBytes, "The target is too large to reach by widening this shape.");
                widened = true;
            }
            else if (exact < minLayers && !widened)
            {
                next = Narrower(current);
                narrowed |= next is not null;
            }
            if (next is null)
            {
                if (exact < 0.5)
                {
                    throw new ArgumentOutOfRangeException(nameof(targetFileBytes), targetFileBytes,
                        $"The target is smaller than the smallest model of this shape ({one} bytes with one layer).");
                }
                return current with { Layers = (int)Math.Max(1, Math.Min(maxLayers, Math.Round(exact))) };
            }
            current = next;
        }
        throw new InvalidOperationException("FitToSize did not converge.");
    }

    /// <summary>The llama_ftype (<c>general.file_type</c>) for a main weight type: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7.</summary>
    public static int FileTypeOf(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No llama_ftype for this type here."),
    };

    private static SyntheticModelSpec? Narrower(SyntheticModelSpec spec)
    {
        var ff = spec.IsMoe ? spec.EffectiveExpertFeedForwardLength : spec.FeedForwardLength;
        var candidates = new List<SyntheticModelSpec>();
        candidates.Add(spec.IsMoe ? spec with { ExpertFeedForwardLength = ff / 2 } : spec with { FeedForwardLength = ff / 2 });
        if (spec.IsMoe && spec.ExpertCount / 2 >= Math.Max(spec.ExpertUsedCount, 2)) candidates.Add(spec with { ExpertCount = spec.ExpertCount / 2 });
        candidates.Add(spec with { EmbeddingLength = spec.EmbeddingLength / 2 });
        return candidates.FirstOrDefault(c => c.Validate().Count == 0);
    }

    private static SyntheticModelSpec? Wider(SyntheticModelSpec spec)
    {
        var ff = spec.IsMoe ? spec.EffectiveExpertFeedForwardLength : spec.FeedForwardLength;
        // Widths stay ints (they are written as u32): stop before doubling past int.MaxValue.
        if (ff > int.MaxValue / 2 || spec.EmbeddingLength > int.MaxValue / 2) return null;
        // Keep FFN width ≤ 8 × embedding (a plausible shape): widen the embedding once the FFN is that wide.
        var wider = ff < 8L * spec.EmbeddingLength
            ? (spec.IsMoe ? spec with { ExpertFeedForwardLength = ff * 2 } : spec with { FeedForwardLength = ff * 2 })
            : spec with { EmbeddingLength = spec.EmbeddingLength * 2 };
        return wider.Validate().Count == 0 ? wider : null;
    }

    private static SyntheticModelLayout WriteModel(ModelDescription model, Stream output, IProgress<long>? progress)
    {
        var spec = model.Spec;
        using var writer = new GgufWriter(output, spec.EffectiveAlignment, leaveOpen: true);
        var layout = Lay(model, writer);
        writer.WriteHeader();
        if (spec.Sparse)
        {
            writer.SkipAllRemainingTensorData();
        }
        else
        {
            var weights = new RandomWeights();
            long done = 0;
            for (var i = 0; i < model.Tensors.Count; i++)
            {
                weights.Write(writer, layout.Tensors[i], model.Tensors[i].Fill, spec.Seed);
                done += layout.Tensors[i].Bytes;
                progress?.Report(done);
            }
        }
        writer.Finish();
        return layout;
    }

    private static SyntheticModelLayout Lay(ModelDescription model, GgufWriter writer)
    {
        foreach (var pair in model.Metadata) writer.AddMetadata(pair.Key, pair.Value);
        foreach (var tensor in model.Tensors) writer.AddTensor(tensor.Name, tensor.Type, tensor.Dimensions);
        long parameters = 0, tensorBytes = 0;
        foreach (var tensor in writer.Tensors)
        {
            long elements = 1;
            foreach (var d in tensor.Dimensions) elements *= d;
            parameters += elements;
            tensorBytes += tensor.Bytes;
        }
        return new SyntheticModelLayout(model.Spec, writer.HeaderBytes, writer.DataOffset, writer.FileLength, tensorBytes, parameters,
            model.VocabSize, writer.MetadataCount, model.FileType, new EquatableArray<GgufTensorLayout>(writer.Tensors));
    }

    private sealed record TensorPlan(string Name, GgmlType Type, long[] Dimensions, WeightFill Fill);

    private sealed record ModelDescription(SyntheticModelSpec Spec, List<KeyValuePair<string, GgufMetadataValue>> Metadata, List<TensorPlan> Tensors, int VocabSize, int FileType);

    private static ModelDescription Describe(SyntheticModelSpec spec)
    {
        if (spec is null) throw new ArgumentNullException(nameof(spec));
        spec.EnsureValid();
        var vocab = SyntheticVocab.Build(spec.ExtraVocabPieces, spec.VocabSize);
        long embd = spec.EmbeddingLength, nVocab = vocab.Count;
        long headDim = spec.HeadDimension, qDim = headDim * spec.HeadCount, kvDim = headDim * spec.KvHeadCount;
        long ff = spec.IsMoe ? spec.EffectiveExpertFeedForwardLength : spec.FeedForwardLength;
        var w = spec.WeightType;
        var x = spec.EffectiveExpertWeightType;

        // Shapes: ne0 (row length) first, as llama.cpp's llama architecture creates them (docs/evidence.md#writing-a-gguf-that-llamacpp-accepts).
        var tensors = new List<TensorPlan> { new("token_embd.weight", w, new[] { embd, nVocab }, WeightFill.Weight) };
        for (var i = 0; i < spec.Layers; i++)
        {
            var p = $"blk.{i}.";
            tensors.Add(new(p + "attn_norm.weight", GgmlType.F32, new[] { embd }, WeightFill.Norm));
            tensors.Add(new(p + "attn_q.weight", w, new[] { embd, qDim }, WeightFill.Weight));
            tensors.Add(new(p + "attn_k.weight", w, new[] { embd, kvDim }, WeightFill.Weight));
            tensors.Add(new(p + "attn_v.weight", w, new[] { embd, kvDim }, WeightFill.Weight));
            tensors.Add(new(p + "attn_output.weight", w, new[] { qDim, embd }, WeightFill.Weight));
            tensors.Add(new(p + "ffn_norm.weight", GgmlType.F32, new[] { embd }, WeightFill.Norm));
            if (spec.IsMoe)
            {
                long experts = spec.ExpertCount;
                // The router stays F32, as real converters write it.
                tensors.Add(new(p + "ffn_gate_inp.weight", GgmlType.F32, new[] { embd, experts }, WeightFill.Weight));
                tensors.Add(new(p + "ffn_gate_exps.weight", x, new[] { embd, ff, experts }, WeightFill.Weight));
                tensors.Add(new(p + "ffn_down_exps.weight", x, new[] { ff, embd, experts }, WeightFill.Weight));
                tensors.Add(new(p + "ffn_up_exps.weight", x, new[] { embd, ff, experts }, WeightFill.Weight));
            }
            else
            {
                tensors.Add(new(p + "ffn_gate.weight", w, new[] { embd, ff }, WeightFill.Weight));
                tensors.Add(new(p + "ffn_down.weight", w, new[] { ff, embd }, WeightFill.Weight));
                tensors.Add(new(p + "ffn_up.weight", w, new[] { embd, ff }, WeightFill.Weight));
            }
        }
        tensors.Add(new("output_norm.weight", GgmlType.F32, new[] { embd }, WeightFill.Norm));
        tensors.Add(new("output.weight", w, new[] { embd, nVocab }, WeightFill.Weight));

        var fileType = FileTypeOf(MainWeightType(tensors));
        var metadata = new List<KeyValuePair<string, GgufMetadataValue>>();
        void Add(string key, GgufMetadataValue value) => metadata.Add(new KeyValuePair<string, GgufMetadataValue>(key, value));
        Add("general.architecture", GgufMetadataValue.String(Arch));
        Add("general.name", GgufMetadataValue.String(spec.Name));
        Add("general.file_type", GgufMetadataValue.UInt32((uint)fileType));
        if (fileType != 0 && fileType != 1) Add("general.quantization_version", GgufMetadataValue.UInt32(2));
        if (spec.Alignment is { } alignment) Add(GgufWriter.AlignmentKey, GgufMetadataValue.UInt32((uint)alignment));
        // llama.cpp reads its integer hyper-parameters as u32 (a u64 fails to load: docs/evidence.md#writing-a-gguf-that-llamacpp-accepts).
        Add("llama.context_length", GgufMetadataValue.UInt32((uint)spec.ContextLength));
        Add("llama.embedding_length", GgufMetadataValue.UInt32((uint)embd));
        Add("llama.block_count", GgufMetadataValue.UInt32((uint)spec.Layers));
        Add("llama.feed_forward_length", GgufMetadataValue.UInt32((uint)ff));
        Add("llama.attention.head_count", GgufMetadataValue.UInt32((uint)spec.HeadCount));
        Add("llama.attention.head_count_kv", GgufMetadataValue.UInt32((uint)spec.KvHeadCount));
        // n_rot must equal the head dimension ("invalid n_rot: 32, expected 64" otherwise).
        Add("llama.rope.dimension_count", GgufMetadataValue.UInt32((uint)headDim));
        Add("llama.rope.freq_base", GgufMetadataValue.Float32(spec.RopeFreqBase));
        Add("llama.attention.layer_norm_rms_epsilon", GgufMetadataValue.Float32(spec.RmsNormEpsilon));
        Add("llama.vocab_size", GgufMetadataValue.UInt32((uint)nVocab));
        if (spec.IsMoe)
        {
            Add("llama.expert_count", GgufMetadataValue.UInt32((uint)spec.ExpertCount));
            Add("llama.expert_used_count", GgufMetadataValue.UInt32((uint)spec.ExpertUsedCount));
            Add("llama.expert_feed_forward_length", GgufMetadataValue.UInt32((uint)ff));
        }
        Add("tokenizer.ggml.model", GgufMetadataValue.String("llama"));
        Add("tokenizer.ggml.tokens", GgufMetadataValue.StringArray(vocab.Tokens));
        Add("tokenizer.ggml.scores", GgufMetadataValue.Float32Array(vocab.Scores));
        Add("tokenizer.ggml.token_type", GgufMetadataValue.Int32Array(vocab.TokenTypes));
        Add("tokenizer.ggml.bos_token_id", GgufMetadataValue.UInt32(SyntheticVocab.BosId));
        Add("tokenizer.ggml.eos_token_id", GgufMetadataValue.UInt32(SyntheticVocab.EosId));
        Add("tokenizer.ggml.unknown_token_id", GgufMetadataValue.UInt32(SyntheticVocab.UnknownId));
        Add("tokenizer.ggml.add_bos_token", GgufMetadataValue.Bool(true));
        Add("tokenizer.ggml.add_eos_token", GgufMetadataValue.Bool(false));
        return new ModelDescription(spec, metadata, tensors, vocab.Count, fileType);
    }

    // The type holding most weight bytes (norms and the router excluded): what llama.cpp's ftype names.
    private static GgmlType MainWeightType(List<TensorPlan> tensors)
    {
        var bytes = new Dictionary<GgmlType, long>();
        foreach (var t in tensors)
        {
            if (t.Fill == WeightFill.Norm || t.Name.EndsWith("ffn_gate_inp.weight", StringComparison.Ordinal)) continue;
            bytes.TryGetValue(t.Type, out var sum);
            bytes[t.Type] = sum + (GgmlTypeTable.TensorBytes(t.Type, t.Dimensions) ?? 0);
        }
        return bytes.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
    }
}
