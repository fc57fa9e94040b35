using System.Globalization;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using FlashMoe.Synthetic.Gguf;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

public sealed class SyntheticModelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-synth-tests-" + Guid.NewGuid().ToString("N"));

    public SyntheticModelTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<GgmlType, bool> TypesAndShapes()
    {
        var data = new TheoryData<GgmlType, bool>();
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0 })
        {
            data.Add(type, false);
            data.Add(type, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndShapes))]
    public void File_size_is_header_plus_padding_plus_tensor_bytes_and_offsets_are_aligned(GgmlType type, bool moe)
    {
        var spec = (moe ? SyntheticPresets.TinyMoe : SyntheticPresets.TinyDense) with { WeightType = type, ExpertWeightType = type };
        var path = Path.Combine(_dir, $"{type}-{moe}.gguf");

        var layout = SyntheticModel.Write(spec, path);
        var header = TestGguf.Read(path);

        Assert.Equal(3u, header.Version);
        Assert.Equal(layout.TensorCount, header.Tensors.Count);
        Assert.Equal(layout.HeaderBytes, header.HeaderEnd);
        var dataOffset = RoundUp(header.HeaderEnd, 32);
        Assert.Equal(dataOffset, layout.DataOffset);
        long expectedOffset = 0;
        foreach (var tensor in header.Tensors)
        {
            Assert.Equal(0, tensor.Offset % 32);
            Assert.Equal(expectedOffset, tensor.Offset); // densely packed, each tensor padded to the alignment
            expectedOffset = RoundUp(tensor.Offset + TestGguf.BytesOf(tensor), 32);
        }
        Assert.Equal(dataOffset + expectedOffset, new FileInfo(path).Length);
        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
        Assert.Equal(header.Tensors.Sum(TestGguf.BytesOf), layout.TensorBytes);

        // Every weight of the chosen type carries it; norms (and the router) stay F32.
        Assert.All(header.Tensors.Where(t => t.Name.EndsWith("_norm.weight", StringComparison.Ordinal) || t.Name.EndsWith("ffn_gate_inp.weight", StringComparison.Ordinal)),
            t => Assert.Equal((uint)GgmlType.F32, t.Type));
        Assert.All(header.Tensors.Where(t => t.Name.Contains("attn_q") || t.Name.Contains("_exps") || t.Name == "output.weight"),
            t => Assert.Equal((uint)type, t.Type));
        Assert.Equal((uint)SyntheticModel.FileTypeOf(type), header.Metadata["general.file_type"]);
    }

    [Fact]
    public void Moe_header_has_the_shapes_and_u32_hyper_parameters_llama_cpp_expects()
    {
        var spec = SyntheticPresets.TinyMoe;
        var path = Path.Combine(_dir, "moe.gguf");
        SyntheticModel.Write(spec, path);
        var h = TestGguf.Read(path);

        Assert.Equal("llama", h.Metadata["general.architecture"]);
        foreach (var key in new[] { "llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                     "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count", "llama.expert_count", "llama.expert_used_count" })
        {
            Assert.Equal(TestGguf.TypeUInt32, h.MetadataTypes[key]);
        }
        Assert.Equal(2u, h.Metadata["llama.block_count"]);
        Assert.Equal(8u, h.Metadata["llama.expert_count"]);
        Assert.Equal(2u, h.Metadata["llama.expert_used_count"]);
        Assert.Equal(32u, h.Metadata["llama.rope.dimension_count"]); // embd 128 / 4 heads
        Assert.Equal(128u, h.Metadata["llama.feed_forward_length"]); // llama sizes its experts by n_ff

        var shapes = h.Tensors.ToDictionary(t => t.Name, t => string.Join("x", t.Dimensions));
        Assert.Equal("128x8", shapes["blk.0.ffn_gate_inp.weight"]);
        Assert.Equal("128x128x8", shapes["blk.1.ffn_gate_exps.weight"]);
        Assert.Equal("128x128x8", shapes["blk.1.ffn_up_exps.weight"]);
        Assert.Equal("128x128x8", shapes["blk.1.ffn_down_exps.weight"]);
        Assert.Equal("128x64", shapes["blk.0.attn_k.weight"]); // 2 KV heads × 32
        Assert.Equal($"128x{h.TokenCount}", shapes["token_embd.weight"]);
        Assert.Equal($"128x{h.TokenCount}", shapes["output.weight"]);
        Assert.DoesNotContain("blk.0.ffn_up.weight", shapes.Keys);
    }

    [Fact]
    public void Vocab_has_specials_then_the_256_byte_tokens_then_pieces()
    {
        var vocab = SyntheticVocab.Build(SyntheticVocab.CommonPieces, vocabSize: null);

        Assert.Equal(new[] { "<unk>", "<s>", "</s>" }, vocab.Tokens.Take(3));
        Assert.Equal(new[] { 2, 3, 3 }, vocab.TokenTypes.Take(3));
        for (var b = 0; b < 256; b++)
        {
            Assert.Equal($"<0x{b:X2}>", vocab.Tokens[3 + b]);
            Assert.Equal(6, vocab.TokenTypes[3 + b]);
        }
        Assert.Contains("\u2581the", vocab.Tokens);
        Assert.Contains("\u2581th", vocab.Tokens); // the merge path to "▁the"
        Assert.Equal(vocab.Count, vocab.Tokens.Distinct().Count());
        Assert.Equal(vocab.Count, vocab.Scores.Count);
        Assert.True(vocab.Scores[SyntheticVocab.BaseTokenCount] > vocab.Scores[vocab.Count - 1]);
    }

    [Fact]
    public void Realistic_vocab_has_the_requested_distinct_tokens_and_a_megabyte_header()
    {
        var vocab = SyntheticVocab.Build(SyntheticVocab.CommonPieces, 129280);
        Assert.Equal(129280, vocab.Count);
        Assert.Equal(129280, vocab.Tokens.Distinct(StringComparer.Ordinal).Count());

        var small = SyntheticModel.Plan(SyntheticPresets.TinyMoe);
        var big = SyntheticModel.Plan(SyntheticPresets.TinyMoe with { VocabSize = 129280 });
        Assert.True(big.HeaderBytes > 1_500_000, $"header {big.HeaderBytes}");
        Assert.True(small.HeaderBytes < 20_000, $"header {small.HeaderBytes}");
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_does_not()
    {
        var spec = SyntheticPresets.TinyMoe with { WeightType = GgmlType.F16 };
        var a = Hash(spec);
        var b = Hash(spec);
        var c = Hash(spec with { Seed = 2 });

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Writing_to_a_stream_matches_writing_to_a_file()
    {
        var path = Path.Combine(_dir, "file.gguf");
        SyntheticModel.Write(SyntheticPresets.TinyDense, path);
        using var memory = new MemoryStream();
        SyntheticModel.Write(SyntheticPresets.TinyDense, memory);
        Assert.Equal(File.ReadAllBytes(path), memory.ToArray());
    }

    [Fact]
    public void Random_weights_are_finite_and_norms_are_about_one()
    {
        var spec = SyntheticPresets.TinyMoe with { WeightType = GgmlType.F16, ExpertWeightType = GgmlType.Q8_0 };
        var path = Path.Combine(_dir, "values.gguf");
        var layout = SyntheticModel.Write(spec, path);
        var bytes = File.ReadAllBytes(path);

        foreach (var t in layout.Tensors)
        {
            var start = (int)(layout.DataOffset + t.Offset);
            var data = new ReadOnlySpan<byte>(bytes, start, (int)t.Bytes);
            if (t.Type == GgmlType.F32)
            {
                for (var i = 0; i < data.Length; i += 4)
                {
                    var v = BitConverter.ToSingle(data.Slice(i, 4));
                    if (t.Name.EndsWith("_norm.weight", StringComparison.Ordinal)) Assert.InRange(v, 1f, 1.01f);
                    else Assert.InRange(Math.Abs(v), 0.001f, 0.25f);
                }
            }
            else if (t.Type == GgmlType.F16)
            {
                for (var i = 0; i < data.Length; i += 2) Assert.InRange(Math.Abs((float)BitConverter.ToHalf(data.Slice(i, 2))), 0.001f, 0.25f);
            }
            else
            {
                Assert.Equal(GgmlType.Q8_0, t.Type);
                var distinctQuants = new HashSet<byte>();
                for (var i = 0; i < data.Length; i += 34)
                {
                    var scale = (float)BitConverter.ToHalf(data.Slice(i, 2));
                    Assert.True(float.IsFinite(scale) && scale > 0 && scale < 0.01f, $"{t.Name}: scale {scale}");
                    distinctQuants.UnionWith(data.Slice(i + 2, 32).ToArray());
                }
                Assert.True(distinctQuants.Count > 200, "quants should be random");
            }
        }
    }

    [Fact]
    public void Alignment_key_moves_every_offset_to_its_multiple()
    {
        var path = Path.Combine(_dir, "a64.gguf");
        var layout = SyntheticModel.Write(SyntheticPresets.TinyDense with { Alignment = 64 }, path);
        var h = TestGguf.Read(path);

        Assert.Equal(64u, h.Metadata["general.alignment"]);
        Assert.All(h.Tensors, t => Assert.Equal(0, t.Offset % 64));
        Assert.Equal(RoundUp(h.HeaderEnd, 64), layout.DataOffset);
        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
    }

    [Fact]
    public void Sparse_file_has_the_full_length_but_almost_no_disk_blocks()
    {
        var spec = SyntheticModel.FitToSize(SyntheticPresets.TinyMoe, 3L << 30) with { Sparse = true };
        var path = Path.Combine(_dir, "sparse-3g.gguf");
        var layout = SyntheticModel.Write(spec, path);

        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
        Assert.InRange(layout.FileBytes, 2.9 * (1L << 30), 3.1 * (1L << 30));
        AssertAllocatedBelow(path, 1L << 20);
        // The header is real: the test-local parser reads it and the data section reads as zeros.
        Assert.Equal(layout.TensorCount, TestGguf.Read(path).Tensors.Count);
        using var stream = File.OpenRead(path);
        stream.Seek(layout.DataOffset + layout.TensorBytes / 2, SeekOrigin.Begin);
        var probe = new byte[4096];
        stream.ReadExactly(probe);
        Assert.All(probe, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Sparse_130_GiB_big_moe_is_within_one_percent_and_costs_only_its_header()
    {
        var target = 130L << 30;
        var spec = SyntheticModel.FitToSize(SyntheticPresets.BigMoe, target) with { Sparse = true };
        var path = Path.Combine(_dir, "big.gguf");
        var layout = SyntheticModel.Write(spec, path);

        Assert.Equal(layout.FileBytes, new FileInfo(path).Length);
        Assert.InRange(layout.FileBytes, target * 0.99, target * 1.01);
        Assert.Equal(129280, layout.VocabSize);
        AssertAllocatedBelow(path, layout.DataOffset + (1L << 20));
        var h = TestGguf.Read(path);
        Assert.Equal((uint)spec.Layers, h.Metadata["llama.block_count"]);
        Assert.Equal(128u, h.Metadata["llama.expert_count"]);
    }

    [Fact]
    public void Fit_to_size_widens_or_narrows_when_layers_alone_cannot_reach_the_target()
    {
        var wide = SyntheticModel.FitToSize(SyntheticPresets.TinyDense, 1L << 30, maxLayers: 32);
        var planned = SyntheticModel.Plan(wide).FileBytes;
        Assert.InRange(wide.Layers, 1, 32);
        Assert.InRange(planned, 0.9 * (1L << 30), 1.1 * (1L << 30));

        var narrow = SyntheticModel.FitToSize(SyntheticPresets.BigMoe with { VocabSize = null }, 512L << 20);
        Assert.True(narrow.EffectiveExpertFeedForwardLength < SyntheticPresets.BigMoe.EffectiveExpertFeedForwardLength);
        Assert.True(narrow.Layers >= 4, $"{narrow.Layers} layers");
        Assert.InRange(SyntheticModel.Plan(narrow).FileBytes, 0.85 * (512L << 20), 1.15 * (512L << 20));

        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticModel.FitToSize(SyntheticPresets.BigMoe, 1000));
    }

    [Fact]
    public void Invalid_specs_are_refused_with_every_reason()
    {
        var spec = SyntheticPresets.TinyMoe with { EmbeddingLength = 130, ExpertUsedCount = 9 };
        var problems = spec.Validate();

        Assert.Contains(problems, p => p.Contains("multiple of HeadCount"));
        Assert.Contains(problems, p => p.Contains("ExpertUsedCount"));
        Assert.Throws<ArgumentException>(() => SyntheticModel.Plan(spec));
        Assert.Contains((SyntheticPresets.TinyDense with { EmbeddingLength = 48 }).Validate(), p => p.Contains("block size 32"));
        Assert.Empty(SyntheticPresets.TinyDense.Validate());
        Assert.Empty(SyntheticPresets.TinyMoe.Validate());
        Assert.Empty(SyntheticPresets.BigMoe.Validate());
        Assert.NotEmpty((SyntheticPresets.TinyDense with { WeightType = GgmlType.Q4_K }).Validate());
    }

    [Theory]
    [InlineData("130GiB", 130L << 30)]
    [InlineData("130GB", 130_000_000_000L)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("512MB", 512_000_000L)]
    [InlineData("1.5 GiB", 3L << 29)]
    [InlineData("4096", 4096L)]
    public void Sizes_parse_binary_and_decimal_units(string text, long expected) => Assert.Equal(expected, ByteSize.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("GiB")]
    [InlineData("-1GB")]
    [InlineData("12 parsecs")]
    [InlineData("99999999999999999999999TiB")]
    public void Bad_sizes_do_not_parse(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData(1.0f, 0x3C00)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(65504f, 0x7BFF)]
    [InlineData(1e6f, 0x7C00)]
    [InlineData(5.96e-8f, 0x0001)]
    public void Half_encoding_matches_the_BCL(float value, int expected)
    {
        Assert.Equal((ushort)expected, HalfBits.FromSingle(value));
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)value), HalfBits.FromSingle(value));
    }

    [Fact]
    public void Half_encoding_matches_the_BCL_across_the_range()
    {
        var rng = new Random(7);
        for (var i = 0; i < 100_000; i++)
        {
            var value = (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 20)));
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)value), HalfBits.FromSingle(value));
        }
    }

    private static string Hash(SyntheticModelSpec spec)
    {
        using var memory = new MemoryStream();
        SyntheticModel.Write(spec, memory);
        return Convert.ToHexString(SHA256.HashData(memory.ToArray()));
    }

    private static long RoundUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    internal static void AssertAllocatedBelow(string path, long maxBytes)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // NTFS needs FSCTL_SET_SPARSE for holes
        var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        stat.WaitForExit();
        var allocated = long.Parse(output[0], CultureInfo.InvariantCulture) * long.Parse(output[1], CultureInfo.InvariantCulture);
        Assert.True(allocated <= maxBytes, $"{path}: {allocated} bytes allocated, expected ≤ {maxBytes}");
    }
}

public sealed class GgufWriterTests
{
    [Fact]
    public void Every_value_type_including_nested_arrays_is_encoded_as_gguf_specifies()
    {
        using var memory = new MemoryStream();
        using (var writer = new GgufWriter(memory, leaveOpen: true))
        {
            writer.AddMetadata("u8", GgufMetadataValue.UInt8(0xAB));
            writer.AddMetadata("i8", GgufMetadataValue.Int8(-2));
            writer.AddMetadata("u16", GgufMetadataValue.UInt16(0xBEEF));
            writer.AddMetadata("i16", GgufMetadataValue.Int16(-3));
            writer.AddMetadata("u32", GgufMetadataValue.UInt32(0xDEADBEEF));
            writer.AddMetadata("i32", GgufMetadataValue.Int32(-4));
            writer.AddMetadata("f32", GgufMetadataValue.Float32(1.5f));
            writer.AddMetadata("bool", GgufMetadataValue.Bool(true));
            writer.AddMetadata("str", GgufMetadataValue.String("héllo"));
            writer.AddMetadata("u64", GgufMetadataValue.UInt64(ulong.MaxValue));
            writer.AddMetadata("i64", GgufMetadataValue.Int64(-5));
            writer.AddMetadata("f64", GgufMetadataValue.Float64(-0.25));
            writer.AddMetadata("nested", GgufMetadataValue.Array(GgufValueType.Array, new[]
            {
                GgufMetadataValue.UInt32Array(new uint[] { 7, 8 }),
                GgufMetadataValue.StringArray(new[] { "x" }),
                GgufMetadataValue.Array(GgufValueType.Bool, Array.Empty<GgufMetadataValue>()),
            }));
            writer.WriteHeader();
            writer.Finish();
            Assert.Equal(writer.FileLength, memory.Length);
        }

        using var expected = new MemoryStream();
        using var w = new BinaryWriter(expected);
        w.Write(Encoding.ASCII.GetBytes("GGUF"));
        w.Write(3u);
        w.Write(0UL);
        w.Write(13UL);
        void Key(string key, uint type)
        {
            w.Write((ulong)key.Length);
            w.Write(Encoding.ASCII.GetBytes(key));
            w.Write(type);
        }
        Key("u8", 0); w.Write((byte)0xAB);
        Key("i8", 1); w.Write((sbyte)-2);
        Key("u16", 2); w.Write((ushort)0xBEEF);
        Key("i16", 3); w.Write((short)-3);
        Key("u32", 4); w.Write(0xDEADBEEFu);
        Key("i32", 5); w.Write(-4);
        Key("f32", 6); w.Write(1.5f);
        Key("bool", 7); w.Write((byte)1);
        Key("str", 8); w.Write(6UL); w.Write(Encoding.UTF8.GetBytes("héllo"));
        Key("u64", 10); w.Write(ulong.MaxValue);
        Key("i64", 11); w.Write(-5L);
        Key("f64", 12); w.Write(-0.25);
        Key("nested", 9); w.Write(9u); w.Write(3UL);
        w.Write(4u); w.Write(2UL); w.Write(7u); w.Write(8u);
        w.Write(8u); w.Write(1UL); w.Write(1UL); w.Write((byte)'x');
        w.Write(7u); w.Write(0UL);
        while (expected.Length % 32 != 0) w.Write((byte)0);

        Assert.Equal(expected.ToArray(), memory.ToArray());
    }

    [Fact]
    public void Tensor_data_may_be_chunked_across_tensor_boundaries()
    {
        byte[] Build(int chunk)
        {
            using var memory = new MemoryStream();
            using var writer = new GgufWriter(memory, leaveOpen: true);
            writer.AddTensor("a", GgmlType.F32, 3);
            writer.AddTensor("b", GgmlType.Q8_0, 32, 2);
            writer.AddTensor("c", GgmlType.F16, 5);
            writer.WriteHeader();
            var data = Enumerable.Range(1, (3 * 4) + (2 * 34) + (5 * 2)).Select(i => (byte)i).ToArray();
            for (var i = 0; i < data.Length; i += chunk) writer.WriteTensorData(data, i, Math.Min(chunk, data.Length - i));
            Assert.Null(writer.CurrentTensor);
            writer.Finish();
            Assert.Equal(new long[] { 0, 32, 128 }, writer.Tensors.Select(t => t.Offset));
            return memory.ToArray();
        }

        var whole = Build(int.MaxValue);
        Assert.Equal(whole, Build(1));
        Assert.Equal(whole, Build(7));
        Assert.Equal(0, whole.Length % 32);
    }

    [Fact]
    public void Misuse_is_refused_with_a_clear_exception()
    {
        using var memory = new MemoryStream();
        using var writer = new GgufWriter(memory, leaveOpen: true);
        writer.AddMetadata("k", GgufMetadataValue.UInt32(1));
        Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", GgufMetadataValue.UInt32(2)));
        Assert.Throws<ArgumentException>(() => writer.AddMetadata(GgufWriter.AlignmentKey, GgufMetadataValue.UInt32(64)));
        Assert.Throws<ArgumentException>(() => writer.AddMetadata(GgufWriter.AlignmentKey, GgufMetadataValue.UInt64(32)));
        writer.AddTensor("t", GgmlType.Q4_0, 64);
        Assert.Throws<ArgumentException>(() => writer.AddTensor("t", GgmlType.F32, 1));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("odd", GgmlType.Q4_0, 33));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("zero", GgmlType.F32, 0));
        Assert.Throws<ArgumentException>(() => GgufMetadataValue.Array(GgufValueType.UInt32, new[] { GgufMetadataValue.Int32(1) }));
        Assert.Throws<InvalidOperationException>(() => writer.WriteTensorData(new byte[1], 0, 1));
        writer.WriteHeader();
        Assert.Throws<InvalidOperationException>(() => writer.AddMetadata("late", GgufMetadataValue.Bool(true)));
        writer.WriteTensorData(new byte[10], 0, 10);
        var incomplete = Assert.Throws<InvalidOperationException>(() => writer.Finish());
        Assert.Contains("'t' got 10 of 36 bytes", incomplete.Message);
        writer.WriteTensorData(new byte[26], 0, 26);
        Assert.Throws<InvalidOperationException>(() => writer.WriteTensorData(new byte[1], 0, 1));
        writer.Finish();
    }

    [Fact]
    public void Version_2_differs_from_version_3_only_in_the_version_field()
    {
        byte[] Build(uint version)
        {
            using var memory = new MemoryStream();
            using var writer = new GgufWriter(memory, version: version, leaveOpen: true);
            writer.AddMetadata("general.architecture", GgufMetadataValue.String("llama"));
            writer.AddTensor("t", GgmlType.F16, 16);
            writer.WriteHeader();
            writer.WriteTensorData(new byte[32], 0, 32);
            writer.Finish();
            return memory.ToArray();
        }

        var v2 = Build(2);
        var v3 = Build(3);
        Assert.Equal(2u, BitConverter.ToUInt32(v2, 4));
        Assert.Equal(v3.Skip(8), v2.Skip(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(new MemoryStream(), version: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(new MemoryStream(), alignment: 48));
    }

    [Fact]
    public void Holes_need_a_seekable_stream()
    {
        using var writer = new GgufWriter(new NonSeekableStream());
        writer.AddTensor("t", GgmlType.F32, 8);
        writer.WriteHeader();
        Assert.Throws<InvalidOperationException>(() => writer.SkipTensorData(32));
        Assert.Throws<ArgumentException>(() => SyntheticModel.Write(SyntheticPresets.TinyDense with { Sparse = true }, new NonSeekableStream()));
    }

    private sealed class NonSeekableStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
    }
}

/// <summary>
/// A deliberately minimal, test-local GGUF header parse (NOT the product reader): enough to check what the writer
/// put on disk independently of the writer's own bookkeeping. Block sizes are spelled out here for the same reason.
/// </summary>
internal static class TestGguf
{
    public const uint TypeUInt32 = 4;

    public sealed record Tensor(string Name, long[] Dimensions, uint Type, long Offset);

    public sealed record Header(uint Version, Dictionary<string, object> Metadata, Dictionary<string, uint> MetadataTypes, List<Tensor> Tensors, long HeaderEnd, int TokenCount);

    public static long BytesOf(Tensor t)
    {
        var (block, bytes) = t.Type switch
        {
            0 => (1, 4), // F32
            1 => (1, 2), // F16
            2 => (32, 18), // Q4_0
            8 => (32, 34), // Q8_0
            _ => throw new InvalidDataException($"type {t.Type}"),
        };
        return t.Dimensions.Aggregate(1L, (a, d) => a * d) / block * bytes;
    }

    public static Header Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        if (Encoding.ASCII.GetString(reader.ReadBytes(4)) != "GGUF") throw new InvalidDataException("magic");
        var version = reader.ReadUInt32();
        var tensorCount = checked((int)reader.ReadUInt64());
        var kvCount = checked((int)reader.ReadUInt64());
        var metadata = new Dictionary<string, object>();
        var types = new Dictionary<string, uint>();
        var tokenCount = 0;
        for (var i = 0; i < kvCount; i++)
        {
            var key = ReadString(reader);
            var type = reader.ReadUInt32();
            types.Add(key, type);
            var value = ReadValue(reader, type);
            metadata.Add(key, value);
            if (key == "tokenizer.ggml.tokens") tokenCount = ((List<object>)value).Count;
        }
        var tensors = new List<Tensor>();
        for (var i = 0; i < tensorCount; i++)
        {
            var name = ReadString(reader);
            var dims = new long[reader.ReadUInt32()];
            for (var d = 0; d < dims.Length; d++) dims[d] = checked((long)reader.ReadUInt64());
            tensors.Add(new Tensor(name, dims, reader.ReadUInt32(), checked((long)reader.ReadUInt64())));
        }
        return new Header(version, metadata, types, tensors, reader.BaseStream.Position, tokenCount);
    }

    private static string ReadString(BinaryReader reader) => Encoding.UTF8.GetString(reader.ReadBytes(checked((int)reader.ReadUInt64())));

    private static object ReadValue(BinaryReader reader, uint type) => type switch
    {
        0 => reader.ReadByte(),
        1 => reader.ReadSByte(),
        2 => reader.ReadUInt16(),
        3 => reader.ReadInt16(),
        4 => reader.ReadUInt32(),
        5 => reader.ReadInt32(),
        6 => reader.ReadSingle(),
        7 => reader.ReadByte() != 0,
        8 => ReadString(reader),
        9 => ReadArray(reader),
        10 => reader.ReadUInt64(),
        11 => reader.ReadInt64(),
        12 => reader.ReadDouble(),
        _ => throw new InvalidDataException($"value type {type}"),
    };

    private static List<object> ReadArray(BinaryReader reader)
    {
        var elementType = reader.ReadUInt32();
        var count = checked((int)reader.ReadUInt64());
        var list = new List<object>(Math.Min(count, 1 << 20));
        for (var i = 0; i < count; i++) list.Add(ReadValue(reader, elementType));
        return list;
    }
}
