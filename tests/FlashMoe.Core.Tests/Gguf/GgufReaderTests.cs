using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Core.Tests.Gguf;

public sealed class GgufReaderTests
{
    internal static GgufFile Read(byte[] bytes, GgufReadOptions? options = null) =>
        GgufReader.Read(new MemoryStream(bytes, writable: false), null, options);

    /// <summary>
    /// Reads a header-only buffer that declares the full file length: the reader never reads past the header,
    /// so tests can describe multi-GB models without holding their data.
    /// </summary>
    internal static GgufFile ReadHeaderOnly(GgufBytes builder, GgufReadOptions? options = null)
    {
        builder.IncludeData = false;
        var header = builder.Build();
        return GgufReader.Read(new MemoryStream(header, writable: false), builder.DataOffset + builder.DataBytes, options);
    }

    public static TheoryData<string, Val> Scalars() => new()
    {
        { "u8", Val.U8(250) },
        { "i8", Val.I8(-120) },
        { "u16", Val.U16(65000) },
        { "i16", Val.I16(-32000) },
        { "u32", Val.U32(4_000_000_000) },
        { "i32", Val.I32(-2_000_000_000) },
        { "f32", Val.F32(3.25f) },
        { "bool_true", Val.Bool(true) },
        { "bool_false", Val.Bool(false) },
        { "str", Val.Str("héllo ✓") },
        { "empty_str", Val.Str(string.Empty) },
        { "u64", Val.U64(ulong.MaxValue - 1) },
        { "i64", Val.I64(long.MinValue + 1) },
        { "f64", Val.F64(-1.0e300) },
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void EveryScalarTypeRoundTrips(string key, Val value)
    {
        var file = Read(new GgufBytes().Add(key, value).Build());

        var read = file.Metadata[key];
        Assert.Equal(value.Type, read.Type);
        Assert.Equal(value.Expected, read.Value);
    }

    [Fact]
    public void ArraysOfEveryElementTypeRoundTrip()
    {
        var arrays = new Dictionary<string, Val>
        {
            ["a.u8"] = Val.Arr(GgufValueType.UInt8, Val.U8(0), Val.U8(255)),
            ["a.i8"] = Val.Arr(GgufValueType.Int8, Val.I8(-128), Val.I8(127)),
            ["a.u16"] = Val.Arr(GgufValueType.UInt16, Val.U16(1), Val.U16(65535)),
            ["a.i16"] = Val.Arr(GgufValueType.Int16, Val.I16(-1), Val.I16(2)),
            ["a.u32"] = Val.Arr(GgufValueType.UInt32, Val.U32(7), Val.U32(8), Val.U32(9)),
            ["a.i32"] = Val.Arr(GgufValueType.Int32, Val.I32(-7), Val.I32(8)),
            ["a.f32"] = Val.Arr(GgufValueType.Float32, Val.F32(0.5f), Val.F32(-0.25f)),
            ["a.bool"] = Val.Arr(GgufValueType.Bool, Val.Bool(true), Val.Bool(false)),
            ["a.str"] = Val.Arr(GgufValueType.String, Val.Str("<unk>"), Val.Str(""), Val.Str("▁the")),
            ["a.u64"] = Val.Arr(GgufValueType.UInt64, Val.U64(1UL << 40)),
            ["a.i64"] = Val.Arr(GgufValueType.Int64, Val.I64(-(1L << 40))),
            ["a.f64"] = Val.Arr(GgufValueType.Float64, Val.F64(Math.PI)),
            ["a.empty"] = Val.Arr(GgufValueType.UInt32),
            ["a.nested"] = Val.Arr(GgufValueType.Array,
                Val.Arr(GgufValueType.UInt32, Val.U32(1), Val.U32(2)),
                Val.Arr(GgufValueType.String, Val.Str("x")),
                Val.Arr(GgufValueType.Array, Val.Arr(GgufValueType.Int8, Val.I8(-3)))),
        };
        var builder = new GgufBytes();
        foreach (var (key, value) in arrays) builder.Add(key, value);

        var file = Read(builder.Build());

        Assert.Equal(arrays.Keys, file.MetadataEntries.Select(e => e.Key));
        foreach (var (key, value) in arrays) AssertSameValue(value, file.Metadata[key]);
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void ReadsVersionsTwoAndThree(uint version)
    {
        var builder = GgufBytes.SmallMoe(version);
        var file = Read(builder.Build());

        Assert.Equal(version, file.Version);
        Assert.Equal(23, file.TensorCount);
        Assert.Equal(builder.HeaderBytes, file.HeaderBytes);
        Assert.Equal(builder.DataOffset, file.DataOffset);
        Assert.Equal(0, file.DataOffset % 32);
        Assert.Equal(32, file.Alignment);
    }

    [Fact]
    public void ReadsTensorInfosAndLayout()
    {
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        var file = Read(bytes);

        var embedding = file.Tensors[0];
        Assert.Equal("token_embd.weight", embedding.Name);
        Assert.Equal(GgmlType.Q8_0, embedding.Type);
        Assert.Equal(new long[] { 64, 300 }, embedding.Dimensions);
        Assert.Equal(0, embedding.Offset);
        Assert.Equal(64 / 32 * 34 * 300, embedding.Bytes);
        Assert.Equal(builder.TensorInfoOffsets["token_embd.weight"], embedding.InfoOffset);
        Assert.True(file.TryGetTensor("blk.1.ffn_down_exps.weight", out var down));
        Assert.Equal(new long[] { 128, 64, 4 }, down.Dimensions);
        Assert.Equal(file.DataOffset + down.Offset, file.TensorDataFileOffset(down));
        Assert.Equal(bytes.Length, file.FileLength);
        Assert.Equal(builder.DataBytes, file.Tensors.Last().Offset + file.Tensors.Last().Bytes);
    }

    [Fact]
    public void HonoursGeneralAlignment()
    {
        var builder = new GgufBytes { LayoutAlignment = 256 }
            .Add("general.alignment", Val.U32(256))
            .Tensor("a", GgmlType.F32, new long[] { 3 })
            .Tensor("b", GgmlType.F16, new long[] { 5, 2 });
        var file = Read(builder.Build());

        Assert.Equal(256, file.Alignment);
        Assert.Equal(256, file.DataOffset);
        Assert.Equal(256, file.Tensors[1].Offset);
    }

    [Fact]
    public void TypedAccessorsConvertBetweenIntegerTypes()
    {
        var file = Read(new GgufBytes()
            .Add("u8", Val.U8(7)).Add("i64", Val.I64(-5)).Add("u64", Val.U64(ulong.MaxValue))
            .Add("s", Val.Str("x")).Add("b", Val.Bool(true)).Add("f", Val.F32(1.5f))
            .Add("arr", Val.Arr(GgufValueType.UInt32, Val.U32(1))).Build());

        Assert.True(file.TryGetUInt64("u8", out var u8) && u8 == 7);
        Assert.True(file.TryGetInt32("u8", out var i32) && i32 == 7);
        Assert.False(file.TryGetUInt64("i64", out _));
        Assert.True(file.TryGetInt64("i64", out var i64) && i64 == -5);
        Assert.False(file.TryGetInt64("u64", out _));
        Assert.True(file.TryGetString("s", out var s) && s == "x");
        Assert.False(file.TryGetString("u8", out _));
        Assert.True(file.TryGetBoolean("b", out var b) && b);
        Assert.True(file.TryGetDouble("f", out var f) && f == 1.5);
        Assert.True(file.TryGetArray("arr", out var arr) && arr.Count == 1);
        Assert.False(file.TryGetArray("s", out _));
        Assert.False(file.TryGetValue("missing", out _));
    }

    [Fact]
    public void LargeArraysAreDescribedNotMaterialisedAndCanBeReadOnDemand()
    {
        var values = Enumerable.Range(0, 5000).Select(i => Val.U32((uint)(i * 3))).ToArray();
        var strings = Enumerable.Range(0, 5000).Select(i => Val.Str("piece" + i)).ToArray();
        var bytes = new GgufBytes()
            .Add("big.u32", Val.Arr(GgufValueType.UInt32, values))
            .Add("big.str", Val.Arr(GgufValueType.String, strings))
            .Add("after", Val.U32(42))
            .Build();
        using var stream = new MemoryStream(bytes, writable: false);

        var file = GgufReader.Read(stream);

        Assert.True(file.TryGetArray("big.u32", out var numbers));
        Assert.False(numbers.IsMaterialized);
        Assert.Empty(numbers.Elements);
        Assert.Equal(5000, numbers.Count);
        Assert.Equal(5000 * 4, numbers.ByteLength);
        Assert.True(file.TryGetUInt64("after", out var after) && after == 42); // skipping kept the reader in step
        var loaded = numbers.ReadElements(stream);
        Assert.Equal(values.Select(v => v.Expected), loaded.Select(v => v.Value));

        Assert.True(file.TryGetArray("big.str", out var pieces));
        Assert.False(pieces.IsMaterialized);
        Assert.Equal(strings.Select(v => v.Expected), pieces.ReadElements(stream).Select(v => v.Value));
    }

    [Fact]
    public void ArrayElementsCanBeReadOnDemandFromThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"flashmoe-lazy-{Guid.NewGuid():N}.gguf");
        try
        {
            var builder = GgufBytes.SmallMoe();
            File.WriteAllBytes(path, builder.Build());
            var file = GgufReader.Read(path, new GgufReadOptions { MaxMaterializedArrayElements = 10 });

            Assert.Equal(path, file.SourcePath);
            Assert.True(file.TryGetArray("tokenizer.ggml.tokens", out var tokens));
            Assert.False(tokens.IsMaterialized);
            var read = tokens.ReadElements(path);
            Assert.Equal(300, read.Count);
            Assert.Equal("t299", read[299].Value);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AVocabularyOf150kTokensIsSkippedWithoutMaterialisingIt()
    {
        const int vocab = 150_000;
        var builder = new GgufBytes()
            .Add("general.architecture", Val.Str("llama"))
            .Add("tokenizer.ggml.tokens", Val.Arr(GgufValueType.String, Enumerable.Range(0, vocab).Select(i => Val.Str("tok" + i)).ToArray()))
            .Add("tokenizer.ggml.scores", Val.Arr(GgufValueType.Float32, Enumerable.Range(0, vocab).Select(i => Val.F32(i)).ToArray()))
            .Add("tokenizer.ggml.token_type", Val.Arr(GgufValueType.Int32, Enumerable.Range(0, vocab).Select(_ => Val.I32(1)).ToArray()))
            .Tensor("token_embd.weight", GgmlType.F16, new long[] { 8, vocab });
        var bytes = builder.Build();
        Read(bytes); // warm up (JIT) so the allocation figure below is the reader's own

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var file = Read(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.True(file.TryGetArray("tokenizer.ggml.tokens", out var tokens));
        Assert.False(tokens.IsMaterialized);
        Assert.Equal(vocab, tokens.Count);
        Assert.Equal(vocab, file.ToSummary().VocabSize);
        // Materialising would allocate a value object and a string per token (> 10 MB); the reader keeps < 1 MiB.
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
        // The 1.2 MB of scores and token types were skipped by seeking, never read; the tensor data neither.
        var fixedArrayBytes = 2L * vocab * 4;
        Assert.True(file.BytesRead <= file.HeaderBytes - fixedArrayBytes + (3 * GgufReadOptions.Default.BufferSize),
            $"read {file.BytesRead} of a {file.HeaderBytes}-byte header");
    }

    [Fact]
    public void ASparse130GiBModelIsInspectedWithoutReadingItsData()
    {
        var builder = DeepSeekLikeHeader(layers: 61, denseLayers: 3, vocab: 1000);
        var path = Path.Combine(Path.GetTempPath(), $"flashmoe-sparse-{Guid.NewGuid():N}.gguf");
        try
        {
            using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                builder.WriteHeader(output);
                output.SetLength(builder.DataOffset + builder.DataBytes); // a hole on ext4/APFS: costs no disk
            }
            Assert.True(new FileInfo(path).Length > 129L << 30);

            GgufFile file;
            long counted;
            using (var fileStream = File.OpenRead(path))
            using (var stream = new CountingStream(fileStream))
            {
                file = GgufReader.Read(stream);
                counted = stream.BytesRead;
            }

            Assert.True(counted <= file.HeaderBytes + GgufReadOptions.Default.BufferSize, $"read {counted} bytes, header {file.HeaderBytes}");
            Assert.Equal(counted, file.BytesRead);
            var summary = file.ToSummary();
            Assert.Equal(new FileInfo(path).Length, summary.FileSizeBytes);
            Assert.True(summary.TensorBytes > 129L << 30);
            Assert.Equal(256, summary.ExpertCount);
            Assert.Equal(61, summary.BlockCount);
            Assert.Equal(summary.TensorBytes, summary.BytesByType.Values.Sum());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A DeepSeek-R1-class MoE header: 7168 embd, 256 experts of 2048, IQ1_M/IQ1_S experts (≈ 132 GiB).</summary>
    internal static GgufBytes DeepSeekLikeHeader(int layers, int denseLayers, int vocab)
    {
        const long embd = 7168, expertFf = 2048, denseFf = 18432, experts = 256;
        var b = new GgufBytes()
            .Add("general.architecture", Val.Str("deepseek2"))
            .Add("general.name", Val.Str("DeepSeek-R1-like synthetic"))
            .Add("general.file_type", Val.U32(24))
            .Add("deepseek2.block_count", Val.U32((uint)layers))
            .Add("deepseek2.context_length", Val.U32(163840))
            .Add("deepseek2.embedding_length", Val.U32((uint)embd))
            .Add("deepseek2.feed_forward_length", Val.U32((uint)denseFf))
            .Add("deepseek2.attention.head_count", Val.U32(128))
            .Add("deepseek2.attention.head_count_kv", Val.U32(128))
            .Add("deepseek2.attention.key_length", Val.U32(192))
            .Add("deepseek2.attention.value_length", Val.U32(128))
            .Add("deepseek2.attention.q_lora_rank", Val.U32(1536))
            .Add("deepseek2.attention.kv_lora_rank", Val.U32(512))
            .Add("deepseek2.rope.dimension_count", Val.U32(64))
            .Add("deepseek2.leading_dense_block_count", Val.U32((uint)denseLayers))
            .Add("deepseek2.expert_count", Val.U32((uint)experts))
            .Add("deepseek2.expert_used_count", Val.U32(8))
            .Add("deepseek2.expert_shared_count", Val.U32(1))
            .Add("deepseek2.expert_feed_forward_length", Val.U32((uint)expertFf))
            .Add("tokenizer.ggml.model", Val.Str("gpt2"))
            .Add("tokenizer.ggml.tokens", Val.Arr(GgufValueType.String, Enumerable.Range(0, vocab).Select(i => Val.Str("tok" + i)).ToArray()))
            .Add("tokenizer.ggml.token_type", Val.Arr(GgufValueType.Int32, Enumerable.Range(0, vocab).Select(_ => Val.I32(1)).ToArray()));
        b.IncludeData = false;
        b.Tensor("token_embd.weight", GgmlType.Q4_K, new[] { embd, vocab });
        for (var l = 0; l < layers; l++)
        {
            b.Tensor($"blk.{l}.attn_norm.weight", GgmlType.F32, new[] { embd })
             .Tensor($"blk.{l}.attn_q_a_norm.weight", GgmlType.F32, new[] { 1536L })
             .Tensor($"blk.{l}.attn_kv_a_norm.weight", GgmlType.F32, new[] { 512L })
             .Tensor($"blk.{l}.attn_q_a.weight", GgmlType.Q4_K, new[] { embd, 1536 })
             .Tensor($"blk.{l}.attn_q_b.weight", GgmlType.Q4_K, new[] { 1536, 128L * 192 })
             .Tensor($"blk.{l}.attn_kv_a_mqa.weight", GgmlType.Q4_K, new[] { embd, 576 })
             .Tensor($"blk.{l}.attn_kv_b.weight", GgmlType.Q4_K, new[] { 512, 128L * 256 })
             .Tensor($"blk.{l}.attn_output.weight", GgmlType.Q4_K, new[] { 128L * 128, embd })
             .Tensor($"blk.{l}.ffn_norm.weight", GgmlType.F32, new[] { embd });
            if (l < denseLayers)
            {
                b.Tensor($"blk.{l}.ffn_gate.weight", GgmlType.Q4_K, new[] { embd, denseFf })
                 .Tensor($"blk.{l}.ffn_up.weight", GgmlType.Q4_K, new[] { embd, denseFf })
                 .Tensor($"blk.{l}.ffn_down.weight", GgmlType.Q6_K, new[] { denseFf, embd });
                continue;
            }
            b.Tensor($"blk.{l}.ffn_gate_inp.weight", GgmlType.F32, new[] { embd, experts })
             .Tensor($"blk.{l}.exp_probs_b.bias", GgmlType.F32, new[] { experts })
             .Tensor($"blk.{l}.ffn_gate_exps.weight", GgmlType.IQ1_M, new[] { embd, expertFf, experts })
             .Tensor($"blk.{l}.ffn_up_exps.weight", GgmlType.IQ1_S, new[] { embd, expertFf, experts })
             .Tensor($"blk.{l}.ffn_down_exps.weight", GgmlType.IQ1_S, new[] { expertFf, embd, experts })
             .Tensor($"blk.{l}.ffn_gate_shexp.weight", GgmlType.Q4_K, new[] { embd, expertFf })
             .Tensor($"blk.{l}.ffn_up_shexp.weight", GgmlType.Q4_K, new[] { embd, expertFf })
             .Tensor($"blk.{l}.ffn_down_shexp.weight", GgmlType.Q6_K, new[] { expertFf, embd });
        }
        b.Tensor("output_norm.weight", GgmlType.F32, new[] { embd })
         .Tensor("output.weight", GgmlType.Q6_K, new[] { embd, vocab });
        return b;
    }

    private static void AssertSameValue(Val expected, GgufValue actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        if (expected.Type != GgufValueType.Array)
        {
            Assert.Equal(expected.Expected, actual.Value);
            return;
        }
        var items = (Val[])expected.Expected!;
        var array = actual.Array!;
        Assert.True(array.IsMaterialized);
        Assert.Equal(items.Length, array.Count);
        for (var i = 0; i < items.Length; i++) AssertSameValue(items[i], array.Elements[i]);
    }
}
