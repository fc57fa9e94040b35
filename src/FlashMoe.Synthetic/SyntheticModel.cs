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

/// <summary>Writes synthetic GGUF models (llama, deepseek2, qwen3moe, gpt-oss) that llama.cpp (LLamaSharp 0.30) loads and runs.</summary>
public static class SyntheticModel
{
    /// <summary>The file <paramref name="spec"/> would produce, computed without writing anything.</summary>
    public static SyntheticModelLayout Plan(SyntheticModelSpec spec)
    {
        var model = SyntheticModelBuilder.Describe(spec);
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
        var model = SyntheticModelBuilder.Describe(spec);
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
        var model = SyntheticModelBuilder.Describe(spec);
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
            // Measure the step from the first block that is like the rest (past deepseek2's leading dense blocks).
            var leading = current.Architecture == SyntheticArchitecture.Deepseek2 ? Math.Max(0, current.LeadingDenseLayers) : 0;
            var baseLayers = Math.Max(1, Math.Min(maxLayers - 1, leading + 1));
            var one = Plan(current with { Layers = baseLayers }).FileBytes;
            var perLayer = Plan(current with { Layers = baseLayers + 1 }).FileBytes - one;
            var exact = baseLayers + ((double)(targetFileBytes - one) / perLayer);
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
                        $"The target is smaller than the smallest model of this shape ({Plan(current with { Layers = 1 }).FileBytes} bytes with one layer).");
                }
                return ClosestLayerCount(current, targetFileBytes, maxLayers);
            }
            current = next;
        }
        throw new InvalidOperationException("FitToSize did not converge.");
    }

    /// <summary>
    /// The llama_ftype (<c>general.file_type</c>, enum llama_ftype in llama.h) of a file whose main weight type is
    /// <paramref name="type"/>; a K type maps to its _S variant (uniform, no mix).
    /// </summary>
    public static int FileTypeOf(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.Q2_K => 10,
        GgmlType.Q3_K => 11,
        GgmlType.Q4_K => 14,
        GgmlType.Q5_K => 16,
        GgmlType.Q6_K => 18,
        GgmlType.IQ2_XXS => 19,
        GgmlType.IQ2_XS => 20,
        GgmlType.IQ3_XXS => 23,
        GgmlType.IQ1_S => 24,
        GgmlType.IQ4_NL => 25,
        GgmlType.IQ3_S => 26,
        GgmlType.IQ2_S => 28,
        GgmlType.IQ4_XS => 30,
        GgmlType.IQ1_M => 31,
        GgmlType.BF16 => 32,
        GgmlType.MXFP4 => 38,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No llama_ftype for this type here."),
    };

    // The size grows with the layer count, but not by a constant step: deepseek2's first blocks are dense and the
    // recipes give some layers more bits (which layers depends on the count). So search the count itself.
    private static SyntheticModelSpec ClosestLayerCount(SyntheticModelSpec spec, long targetFileBytes, int maxLayers)
    {
        long SizeAt(int layers) => Plan(spec with { Layers = layers }).FileBytes;
        int low = 1, high = maxLayers;
        // Smallest count whose file reaches the target (or maxLayers).
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (SizeAt(middle) >= targetFileBytes) high = middle;
            else low = middle + 1;
        }
        var best = low;
        if (best > 1 && targetFileBytes - SizeAt(best - 1) < SizeAt(best) - targetFileBytes) best--;
        return spec with { Layers = best };
    }

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
}
