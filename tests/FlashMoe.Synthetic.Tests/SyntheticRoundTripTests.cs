using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>
/// Writer → reader round trip: every synthetic model the writer supports is read back by Core's GGUF reader, and
/// every <see cref="ModelSummary"/> field, tensor offset and size equals what the writer laid out and what the file
/// holds. Expected values come from the spec and the writer's layout, not from the reader.
/// </summary>
public sealed class SyntheticRoundTripTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-roundtrip-" + Guid.NewGuid().ToString("N"));

    public SyntheticRoundTripTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<GgmlType, GgmlType?, bool, int?> Models()
    {
        var data = new TheoryData<GgmlType, GgmlType?, bool, int?>();
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0 })
        {
            data.Add(type, null, false, null); // dense
            data.Add(type, null, true, null);  // MoE, experts of the same type
        }
        // MoE with the expert type chosen separately (the mix real MoE quants use), and a non-default alignment.
        data.Add(GgmlType.Q8_0, GgmlType.Q4_0, true, null);
        data.Add(GgmlType.F16, GgmlType.Q8_0, true, null);
        data.Add(GgmlType.Q4_0, GgmlType.F32, true, 64);
        return data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_summary_field_and_tensor_matches_the_written_file(GgmlType type, GgmlType? expertType, bool moe, int? alignment)
    {
        var spec = (moe ? SyntheticPresets.TinyMoe : SyntheticPresets.TinyDense) with
        {
            WeightType = type,
            ExpertWeightType = moe ? expertType ?? type : null,
            Alignment = alignment,
            Name = $"roundtrip-{type}-{expertType}-{moe}",
        };
        var path = Path.Combine(_dir, spec.Name + ".gguf");
        var layout = SyntheticModel.Write(spec, path);
        var fileLength = new FileInfo(path).Length;

        var file = GgufReader.Read(path);
        var s = file.ToSummary();

        // File layout.
        Assert.Equal(3u, s.GgufVersion);
        Assert.Equal(fileLength, s.FileSizeBytes);
        Assert.Equal(layout.FileBytes, s.FileSizeBytes);
        Assert.Equal(layout.HeaderBytes, s.HeaderBytes);
        Assert.Equal(layout.DataOffset, s.DataOffset);
        Assert.Equal(spec.EffectiveAlignment, s.Alignment);
        Assert.Equal(0, s.DataOffset % s.Alignment);
        Assert.False(s.IsDeclared);
        Assert.Empty(s.Assumptions);

        // Hyper-parameters.
        Assert.Equal("llama", s.Architecture);
        Assert.Equal(spec.Name, s.Name);
        Assert.Equal(spec.Layers, s.BlockCount);
        Assert.Equal(spec.EmbeddingLength, s.EmbeddingLength);
        // llama.cpp sizes llama-architecture experts by feed_forward_length, so a MoE writes the expert width there.
        Assert.Equal(moe ? spec.EffectiveExpertFeedForwardLength : spec.FeedForwardLength, s.FeedForwardLength);
        Assert.Equal(Enumerable.Repeat(spec.HeadCount, spec.Layers), s.HeadCountPerLayer);
        Assert.Equal(Enumerable.Repeat(spec.KvHeadCount, spec.Layers), s.HeadCountKvPerLayer);
        Assert.Equal(spec.HeadCount, s.HeadCount);
        Assert.Equal(spec.KvHeadCount, s.HeadCountKv);
        Assert.Equal(spec.HeadDimension, s.KeyLength);
        Assert.Equal(spec.HeadDimension, s.ValueLength);
        Assert.Null(s.KvLoraRank);
        Assert.Null(s.QLoraRank);
        Assert.Equal(spec.HeadDimension, s.RopeDimensionCount);
        Assert.Equal(spec.ContextLength, s.ContextLength);
        Assert.Equal(layout.VocabSize, s.VocabSize);
        Assert.Equal(moe ? spec.ExpertCount : 0, s.ExpertCount);
        Assert.Equal(moe ? spec.ExpertUsedCount : 0, s.ExpertUsedCount);
        Assert.Equal(0, s.ExpertSharedCount);
        Assert.Equal(moe ? spec.EffectiveExpertFeedForwardLength : 0, s.ExpertFeedForwardLength);
        Assert.Equal(0, s.LeadingDenseBlockCount);
        Assert.Equal(moe, s.IsMoe);
        Assert.Equal(layout.FileType, s.FileType);

        // Totals.
        Assert.Equal(layout.TensorCount, s.TensorCount);
        Assert.Equal(layout.ParameterCount, s.ParameterCount);
        Assert.Equal(layout.TensorBytes, s.TensorBytes);

        // Every tensor: name, type, shape, offset and size exactly as laid out, data inside the file, densely packed.
        Assert.Equal(layout.Tensors.Select(t => t.Name), s.Tensors.Select(t => t.Name));
        long expectedOffset = 0;
        for (var i = 0; i < layout.Tensors.Count; i++)
        {
            var written = layout.Tensors[i];
            var read = s.Tensors[i];
            Assert.Equal(written.Type, read.Type);
            Assert.Equal(written.Dimensions, read.Dimensions);
            Assert.Equal(written.Offset, read.Offset);
            Assert.Equal(written.Bytes, read.Bytes);
            Assert.Equal(GgmlTypeTable.TensorBytes(written.Type, written.Dimensions.ToArray()), read.Bytes);
            Assert.Equal(expectedOffset, read.Offset);
            expectedOffset = RoundUp(read.Offset + read.Bytes, s.Alignment);
        }
        Assert.Equal(fileLength, s.DataOffset + expectedOffset);

        // Per-type, per-role and per-layer bytes, from the layout and llama.cpp's tensor names.
        Assert.Equal(Sum(layout.Tensors, t => t.Type), s.BytesByType.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value));
        if (moe && expertType is { } x && x != type)
        {
            // The expert type is its own entry, holding at least every expert tensor.
            Assert.True(s.BytesByType[x] >= layout.Tensors.Where(t => t.Name.EndsWith("_exps.weight", StringComparison.Ordinal)).Sum(t => t.Bytes));
            Assert.All(s.Tensors.Where(t => t.Role == TensorRole.ExpertFfn), t => Assert.Equal(x, t.Type));
        }
        Assert.Equal(Sum(layout.Tensors, t => ExpectedRole(t.Name)), s.BytesByRole.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value));
        var perLayer = new long[spec.Layers];
        foreach (var t in layout.Tensors.Where(t => t.Name.StartsWith("blk.", StringComparison.Ordinal)))
        {
            perLayer[int.Parse(t.Name.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture)] += t.Bytes;
        }
        Assert.Equal(perLayer, s.BytesByLayer);

        // The offsets point at the data the writer put there: output_norm is F32 norm weights (≈ 1).
        var norm = s.Tensors.Single(t => t.Name == "output_norm.weight");
        using var stream = File.OpenRead(path);
        stream.Position = s.DataOffset + norm.Offset;
        var bytes = new byte[norm.Bytes];
        stream.ReadExactly(bytes);
        for (var i = 0; i < bytes.Length; i += 4) Assert.InRange(BitConverter.ToSingle(bytes, i), 0.5f, 1.5f);

        // Only the header was read.
        Assert.True(file.BytesRead < s.DataOffset + GgufReadOptions.Default.BufferSize, $"read {file.BytesRead} of a {s.DataOffset}-byte header");
    }

    /// <summary>The role of each tensor the writer emits, by llama.cpp's names (independent of Core's classifier).</summary>
    private static TensorRole ExpectedRole(string name) => name switch
    {
        "token_embd.weight" => TensorRole.TokenEmbedding,
        "output.weight" or "output_norm.weight" => TensorRole.Output,
        _ when name.EndsWith("_norm.weight", StringComparison.Ordinal) => TensorRole.Norm,
        _ when name.EndsWith("ffn_gate_inp.weight", StringComparison.Ordinal) => TensorRole.ExpertRouter,
        _ when name.EndsWith("_exps.weight", StringComparison.Ordinal) => TensorRole.ExpertFfn,
        _ when name.Contains(".attn_", StringComparison.Ordinal) => TensorRole.Attention,
        _ when name.Contains(".ffn_", StringComparison.Ordinal) => TensorRole.DenseFfn,
        _ => throw new ArgumentException("unexpected tensor " + name),
    };

    private static Dictionary<TKey, long> Sum<TKey>(IEnumerable<FlashMoe.Synthetic.Gguf.GgufTensorLayout> tensors, Func<FlashMoe.Synthetic.Gguf.GgufTensorLayout, TKey> key)
        where TKey : notnull =>
        tensors.GroupBy(key).ToDictionary(g => g.Key, g => g.Sum(t => t.Bytes));

    private static long RoundUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}

/// <summary>A header-faithful 130 GiB big-moe model, written sparse, is summarised from its header alone.</summary>
public sealed class SparseBigMoeTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"flashmoe-sparse-big-moe-{Guid.NewGuid():N}.gguf");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Sparse_130_GiB_big_moe_is_read_through_a_counting_stream_without_touching_its_data()
    {
        var target = 130L << 30;
        var spec = SyntheticModel.FitToSize(SyntheticPresets.BigMoe, target) with { Sparse = true };
        var layout = SyntheticModel.Write(spec, _path);
        Assert.True(new FileInfo(_path).Length > 128L << 30);

        GgufFile file;
        long counted;
        using (var fileStream = File.OpenRead(_path))
        using (var stream = new CountingStream(fileStream))
        {
            file = GgufReader.Read(stream);
            counted = stream.BytesRead;
        }

        // At most the header plus one read-ahead buffer: not a byte of the 130 GiB of tensor data beyond that.
        Assert.True(counted <= layout.HeaderBytes + GgufReadOptions.Default.BufferSize, $"read {counted} bytes of a {layout.HeaderBytes}-byte header");
        Assert.Equal(counted, file.BytesRead);

        var s = file.ToSummary();
        Assert.Equal(layout.FileBytes, s.FileSizeBytes);
        Assert.Equal(layout.TensorBytes, s.TensorBytes);
        Assert.Equal(layout.TensorCount, s.TensorCount);
        Assert.Equal(layout.ParameterCount, s.ParameterCount);
        Assert.Equal(129280, s.VocabSize);
        Assert.Equal(spec.Layers, s.BlockCount);
        Assert.Equal(128, s.ExpertCount);
        Assert.Equal(8, s.ExpertUsedCount);
        Assert.InRange(s.FileSizeBytes, target * 0.99, target * 1.01);
        Assert.Equal(s.TensorBytes, s.BytesByType.Values.Sum());
        Assert.True(s.BytesByRole[TensorRole.ExpertFfn] > s.TensorBytes * 0.9);
    }
}
