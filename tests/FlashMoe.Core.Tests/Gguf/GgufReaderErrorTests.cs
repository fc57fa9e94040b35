using System.Globalization;
using System;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Gguf;
using Xunit;

namespace FlashMoe.Core.Tests.Gguf;

/// <summary>One test (or theory) per FM01xx ID: a near-miss that must stay clean, then the corruption that triggers it.</summary>
public sealed class GgufReaderErrorTests
{
    private static GgufFile Read(byte[] bytes, GgufReadOptions? options = null) => GgufReaderTests.Read(bytes, options);

    private static GgufFormatException Fails(byte[] bytes, GgufReadOptions? options = null) =>
        Assert.Throws<GgufFormatException>(() => Read(bytes, options));

    private static GgufBytes WithTensor(string name = "t", GgmlType type = GgmlType.F32, long[]? dims = null, ulong? offset = null) =>
        new GgufBytes().Add("general.architecture", Val.Str("llama")).Tensor(name, type, dims ?? new long[] { 8 }, offset);

    [Fact]
    public void AValidHeaderReadsWithoutError()
    {
        var summary = Read(GgufBytes.SmallMoe().Build()).ToSummary();
        Assert.Equal("llama", summary.Architecture);
    }

    [Theory]
    [InlineData("GGML")]
    [InlineData("gguf")]
    [InlineData("\0\0\0\0")]
    public void FM0101_BadMagic(string magic)
    {
        var builder = GgufBytes.SmallMoe();
        builder.Magic = Encoding.ASCII.GetBytes(magic);

        var error = Fails(builder.Build());

        Assert.Equal("FM0101", error.Id);
        Assert.Equal(0, error.Offset);
        Assert.Contains("GGUF", error.Message);
    }

    [Theory]
    [InlineData(1u, "obsolete")]
    [InlineData(0u, "version 0")]
    [InlineData(4u, "version 4")]
    [InlineData(0x03000000u, "big-endian")]
    public void FM0102_UnsupportedVersion(uint version, string expectedText)
    {
        var builder = GgufBytes.SmallMoe();
        builder.Version = version;

        var error = Fails(builder.Build());

        Assert.Equal("FM0102", error.Id);
        Assert.Equal(4, error.Offset);
        Assert.Contains(expectedText, error.Message);
    }

    [Fact]
    public void FM0103_TruncatedInsideTheHeader()
    {
        // Cut where the declared counts still fit in what is left, so the cut (not a count) is what fails.
        var oneKey = new GgufBytes().Add("llama.block_count", Val.U32(2));
        var oneKeyBytes = oneKey.Build();
        var typeOffset = oneKey.ValueTypeOffsets["llama.block_count"];
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        var dimsOffset = builder.TensorDimsOffsets["output.weight"];

        var empty = Fails(Array.Empty<byte>());
        var inValueType = Fails(oneKeyBytes.Take((int)typeOffset + 2).ToArray());
        var inDimension = Fails(bytes.Take((int)dimsOffset + 9).ToArray());

        Assert.Equal(("FM0103", 0L), (empty.Id, empty.Offset));
        Assert.Equal(("FM0103", typeOffset), (inValueType.Id, inValueType.Offset));
        Assert.Contains("value type of 'llama.block_count'", inValueType.Message);
        Assert.Equal(("FM0103", dimsOffset + 4), (inDimension.Id, inDimension.Offset));
    }

    [Fact]
    public void FM0103_StreamShorterThanTheDeclaredLength()
    {
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        var cut = (int)builder.KeyOffsets["llama.block_count"] + 3;

        var error = Assert.Throws<GgufFormatException>(() =>
            GgufReader.Read(new MemoryStream(bytes, 0, cut, writable: false), fileLength: bytes.Length));

        Assert.Equal("FM0103", error.Id);
        Assert.Equal(cut, error.Offset);
    }

    [Fact]
    public void FM0104_StringLongerThanTheRestOfTheFile()
    {
        var clean = new GgufBytes().Add("general.name", Val.StrWithLength(3, "abc"u8.ToArray())).Build();
        Assert.Equal("abc", Read(clean).Metadata["general.name"].Value);

        var builder = new GgufBytes().Add("general.name", Val.StrWithLength(1000, "abc"u8.ToArray()));
        var error = Fails(builder.Build());

        Assert.Equal("FM0104", error.Id);
        Assert.Equal(builder.ValueTypeOffsets["general.name"] + 4, error.Offset);
        Assert.Contains("1000", error.Message);
    }

    [Fact]
    public void FM0104_ArrayCountLargerThanTheRestOfTheFile()
    {
        var builder = new GgufBytes().Add("tokenizer.ggml.scores", Val.ArrHeader((uint)GgufValueType.Float32, 1000));

        var error = Fails(builder.Build());

        Assert.Equal("FM0104", error.Id);
        Assert.Equal(builder.ValueTypeOffsets["tokenizer.ggml.scores"] + 8, error.Offset);
    }

    [Theory]
    [InlineData("tensors", 1UL << 60, 8L)]
    [InlineData("keys", 1UL << 62, 16L)]
    public void FM0104_HeaderCountsLargerThanTheFile(string which, ulong count, long expectedOffset)
    {
        var builder = GgufBytes.SmallMoe();
        if (which == "tensors") builder.TensorCountOverride = count;
        else builder.KeyValueCountOverride = count;

        var error = Fails(builder.Build());

        Assert.Equal(("FM0104", expectedOffset), (error.Id, error.Offset));
    }

    [Theory]
    [InlineData("tensor count 2^60")]
    [InlineData("string length 2^62")]
    [InlineData("array count 2^40")]
    [InlineData("string array count 2^40")]
    public void FM0104_HugeCountsFailFastWithoutAllocating(string what)
    {
        var builder = new GgufBytes().Add("general.architecture", Val.Str("llama"));
        switch (what)
        {
            case "tensor count 2^60": builder.TensorCountOverride = 1UL << 60; break;
            case "string length 2^62": builder.Add("general.name", Val.StrWithLength(1UL << 62, new byte[16])); break;
            case "array count 2^40": builder.Add("a", Val.ArrHeader((uint)GgufValueType.UInt8, 1UL << 40)); break;
            default: builder.Add("a", Val.ArrHeader((uint)GgufValueType.String, 1UL << 40)); break;
        }
        var bytes = builder.Build();
        Assert.Throws<GgufFormatException>(() => Read(bytes)); // warm up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Fails(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("FM0104", error.Id);
        Assert.True(allocated < 256 << 10, $"allocated {allocated} bytes");
    }

    [Fact]
    public void FM0104_HeaderLargerThanTheConfiguredLimit()
    {
        var bytes = GgufBytes.SmallMoe().Build();
        Read(bytes, new GgufReadOptions { MaxHeaderBytes = 1 << 20 });

        var error = Fails(bytes, new GgufReadOptions { MaxHeaderBytes = 1000 });

        Assert.Equal("FM0104", error.Id);
        Assert.Contains("header limit", error.Message);
    }

    [Fact]
    public void FM0105_TensorDataPastTheEndOfTheFile()
    {
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        Read(bytes); // the last tensor ends exactly at the end of the file: clean

        var error = Fails(bytes.Take(bytes.Length - 1).ToArray());

        Assert.Equal("FM0105", error.Id);
        Assert.Equal(builder.TensorOffsetFieldOffsets["output.weight"], error.Offset);
        Assert.Contains("output.weight", error.Message);
    }

    [Theory]
    [InlineData(1UL << 40)]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue - 31)]
    public void FM0105_TensorOffsetFarPastTheEnd(ulong offset)
    {
        var builder = WithTensor(offset: offset);
        builder.IncludeData = false;

        var error = Fails(builder.Build());

        Assert.Equal(("FM0105", builder.TensorOffsetFieldOffsets["t"]), (error.Id, error.Offset));
    }

    [Theory]
    [InlineData(4u)]
    [InlineData(31u)]
    [InlineData(40u)]
    [InlineData(uint.MaxValue)]
    public void FM0106_UnknownGgmlType(uint typeId)
    {
        foreach (var known in GgmlTypeTable.All)
        {
            var dims = new ulong[] { (ulong)known.BlockSize * 2 };
            Read(new GgufBytes().TensorRaw("t", (uint)known.Type, dims).Build()); // every known type reads
        }
        var builder = new GgufBytes().TensorRaw("t", typeId, new ulong[] { 32 });

        var error = Fails(builder.Build());

        Assert.Equal(("FM0106", builder.TensorTypeOffsets["t"]), (error.Id, error.Offset));
        Assert.Contains(typeId.ToString(CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void FM0107_MisalignedTensorOffset()
    {
        Read(new GgufBytes().Tensor("a", GgmlType.F32, new long[] { 4 }).Tensor("b", GgmlType.F32, new long[] { 4 }, offset: 32).Build());
        var builder = new GgufBytes().Tensor("a", GgmlType.F32, new long[] { 4 }).Tensor("b", GgmlType.F32, new long[] { 4 }, offset: 16);

        var error = Fails(builder.Build());

        Assert.Equal(("FM0107", builder.TensorOffsetFieldOffsets["b"]), (error.Id, error.Offset));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(48u)]
    [InlineData(0x80000000u)]
    public void FM0107_AlignmentNotAPowerOfTwo(uint alignment)
    {
        Read(new GgufBytes { LayoutAlignment = 64 }.Add("general.alignment", Val.U32(64)).Tensor("t", GgmlType.F32, new long[] { 4 }).Build());
        var builder = new GgufBytes().Add("general.alignment", Val.U32(alignment));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0107", builder.ValueTypeOffsets["general.alignment"]), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0107_AlignmentOfTheWrongType()
    {
        var builder = new GgufBytes().Add("general.alignment", Val.U64(32));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0107", builder.ValueTypeOffsets["general.alignment"]), (error.Id, error.Offset));
        Assert.Contains("u32", error.Message);
    }

    [Fact]
    public void FM0108_DuplicateMetadataKey()
    {
        Read(new GgufBytes().Add("general.name", Val.Str("a")).Add("general.Name", Val.Str("b")).Build()); // keys are case-sensitive
        var builder = new GgufBytes().Add("general.name", Val.Str("a")).Add("llama.block_count", Val.U32(1)).Add("general.name", Val.Str("b"));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0108", builder.KeyOffsets["general.name"]), (error.Id, error.Offset)); // the second occurrence
        Assert.Contains("general.name", error.Message);
    }

    [Fact]
    public void FM0108_DuplicateTensorName()
    {
        var builder = new GgufBytes()
            .Tensor("blk.0.attn_q.weight", GgmlType.F32, new long[] { 8 })
            .Tensor("blk.0.attn_k.weight", GgmlType.F32, new long[] { 8 })
            .Tensor("blk.0.attn_q.weight", GgmlType.F32, new long[] { 8 });

        var error = Fails(builder.Build());

        Assert.Equal(("FM0108", builder.TensorInfoOffsets["blk.0.attn_q.weight"]), (error.Id, error.Offset));
    }

    [Theory]
    [InlineData("five dimensions", 0)]
    [InlineData("zero dimension", 4)]
    [InlineData("negative dimension", 12)]
    [InlineData("element count overflow", 12)]
    [InlineData("byte size overflow", 0)]
    [InlineData("row not a multiple of the block", 0)]
    public void FM0109_InvalidTensorShape(string what, int offsetAfterDims)
    {
        Read(new GgufBytes().TensorRaw("t", (uint)GgmlType.F32, new ulong[] { 2, 2, 2, 2 }).Build()); // four dimensions are fine
        var builder = what switch
        {
            "five dimensions" => new GgufBytes().TensorRaw("t", (uint)GgmlType.F32, new ulong[] { 1, 1, 1, 1, 1 }),
            "zero dimension" => new GgufBytes().TensorRaw("t", (uint)GgmlType.F32, new ulong[] { 0, 4 }),
            "negative dimension" => new GgufBytes().TensorRaw("t", (uint)GgmlType.F32, new ulong[] { 4, unchecked((ulong)-4L) }),
            "element count overflow" => new GgufBytes().TensorRaw("t", (uint)GgmlType.F32, new ulong[] { 1UL << 32, 1UL << 32 }),
            "byte size overflow" => new GgufBytes().TensorRaw("t", (uint)GgmlType.F64, new ulong[] { 1UL << 31, 1UL << 31 }),
            _ => new GgufBytes().TensorRaw("t", (uint)GgmlType.Q8_0, new ulong[] { 33, 2 }),
        };

        var error = Fails(builder.Build());

        Assert.Equal(("FM0109", builder.TensorDimsOffsets["t"] + offsetAfterDims), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0110_UnknownValueType()
    {
        var builder = new GgufBytes().Add("general.name", Val.Str("x")).Add("weird", Val.Raw(13, new byte[8]));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0110", builder.ValueTypeOffsets["weird"]), (error.Id, error.Offset));
        Assert.Contains("13", error.Message);
    }

    [Fact]
    public void FM0110_UnknownArrayElementType()
    {
        var builder = new GgufBytes().Add("weird", Val.ArrHeader(99, 0));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0110", builder.ValueTypeOffsets["weird"] + 4), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0110_ArraysNestedTooDeep()
    {
        var options = new GgufReadOptions { MaxArrayNesting = 2 };
        var twoLevels = Val.Arr(GgufValueType.Array, Val.Arr(GgufValueType.UInt8, Val.U8(1)));
        Read(new GgufBytes().Add("nested", twoLevels).Build(), options);
        var threeLevels = Val.Arr(GgufValueType.Array, Val.Arr(GgufValueType.Array, Val.Arr(GgufValueType.UInt8, Val.U8(1))));
        var builder = new GgufBytes().Add("nested", threeLevels);

        var error = Fails(builder.Build(), options);

        // type tag (4) + outer element type and count (12) + middle element type and count (12)
        Assert.Equal(("FM0110", builder.ValueTypeOffsets["nested"] + 28), (error.Id, error.Offset));
    }

    [Theory]
    [InlineData("negative")]
    [InlineData("string")]
    [InlineData("too many layers")]
    [InlineData("negative per-layer head count")]
    public void FM0110_HyperParameterOutOfRange(string what)
    {
        var builder = new GgufBytes().Add("general.architecture", Val.Str("llama"));
        var key = what.Contains("head") ? "llama.attention.head_count" : "llama.block_count";
        builder.Add(key, what switch
        {
            "negative" => Val.I32(-1),
            "string" => Val.Str("32"),
            "too many layers" => Val.U64(1UL << 40),
            _ => Val.Arr(GgufValueType.Int32, Val.I32(8), Val.I32(-8)),
        });
        var file = Read(builder.Build()); // the header itself is well-formed

        var error = Assert.Throws<GgufFormatException>(() => file.ToSummary());

        Assert.Equal("FM0110", error.Id);
        Assert.Contains(key, error.Message);
        var expectedOffset = what.Contains("head") ? builder.ValueTypeOffsets[key] + 16 + 4 : builder.ValueTypeOffsets[key];
        Assert.Equal(expectedOffset, error.Offset);
    }

    [Fact]
    public void FM0111_KeyNotValidUtf8()
    {
        var builder = new GgufBytes().AddRawKey("bad", new byte[] { 0x67, 0xFF, 0xFE }, Val.U8(1));
        Read(builder.Build(), new GgufReadOptions { ValidateUtf8 = false }); // opt-out reads it

        var error = Fails(builder.Build());

        Assert.Equal(("FM0111", builder.KeyOffsets["bad"]), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0111_StringValueNotValidUtf8()
    {
        var builder = new GgufBytes().Add("general.name", Val.StrWithLength(2, new byte[] { 0xC3, 0x28 }));

        var error = Fails(builder.Build());

        Assert.Equal(("FM0111", builder.ValueTypeOffsets["general.name"] + 4), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0111_TensorNameLongerThanLlamaCppAccepts()
    {
        Read(WithTensor(new string('n', 63)).Build());
        var name = new string('n', 64);
        var builder = WithTensor(name);

        var error = Fails(builder.Build());

        Assert.Equal(("FM0111", builder.TensorInfoOffsets[name]), (error.Id, error.Offset));
    }

    [Fact]
    public void FM0111_KeyLongerThanTheStringLimit()
    {
        var builder = new GgufBytes().Add("general.architecture", Val.Str("llama"));

        var error = Fails(builder.Build(), new GgufReadOptions { MaxStringBytes = 8 });

        Assert.Equal(("FM0111", builder.KeyOffsets["general.architecture"]), (error.Id, error.Offset));
    }

    [Fact]
    public void LongStringValuesAreSkippedNotKept()
    {
        var builder = new GgufBytes().Add("tokenizer.chat_template", Val.Str(new string('x', 100))).Add("after", Val.U8(5));

        var file = Read(builder.Build(), new GgufReadOptions { MaxStringBytes = 64 });

        var template = file.Metadata["tokenizer.chat_template"];
        Assert.True(template.IsSkipped);
        Assert.Equal(100, template.StringByteLength);
        Assert.False(file.TryGetString("tokenizer.chat_template", out _));
        Assert.Equal((byte)5, file.Metadata["after"].Value);
    }

    [Theory]
    [InlineData(64UL)] // gap
    [InlineData(0UL)]  // overlap
    public void FM0112_TensorDataNotPackedInHeaderOrder(ulong secondOffset)
    {
        GgufBytes Make(ulong? offset) => new GgufBytes()
            .Tensor("a", GgmlType.F32, new long[] { 8 })
            .Tensor("b", GgmlType.F32, new long[] { 8 }, offset)
            .Tensor("c", GgmlType.F32, new long[] { 8 });
        Read(Make(null).Build());
        var builder = Make(secondOffset);
        var bytes = builder.Build();
        Read(bytes, new GgufReadOptions { RequirePackedTensorData = false }); // opt-out accepts any in-bounds layout

        var error = Fails(bytes);

        Assert.Equal(("FM0112", builder.TensorOffsetFieldOffsets["b"]), (error.Id, error.Offset));
        Assert.Contains("expected 32", error.Message);
    }

    [Fact]
    public void EveryTruncationFailsWithACodedError()
    {
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        var lazy = new GgufReadOptions { MaxMaterializedArrayElements = 8, BufferSize = 48 };
        var eager = new GgufReadOptions { BufferSize = 100 };

        var lengths = Enumerable.Range(0, (int)builder.DataOffset + 40).Concat(new[] { bytes.Length - 33, bytes.Length - 1 });
        foreach (var length in lengths)
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            var error = Assert.Throws<GgufFormatException>(() => Read(cut, length % 2 == 0 ? lazy : eager));
            Assert.StartsWith("FM01", error.Id);
            Assert.InRange(error.Offset, 0, length);
        }
    }

    [Fact]
    public void RandomByteFlipsNeverThrowAnythingButCodedErrors()
    {
        var builder = GgufBytes.SmallMoe();
        var original = builder.Build();
        var random = new Random(20261125);
        var options = new GgufReadOptions { MaxMaterializedArrayElements = 64, BufferSize = 512 };
        var outcomes = new int[2];

        for (var i = 0; i < 3000; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                var at = random.Next((int)builder.HeaderBytes);
                bytes[at] = random.Next(4) == 0 ? (byte)0xFF : (byte)(bytes[at] ^ (1 << random.Next(8)));
            }
            try
            {
                Read(bytes, options).ToSummary();
                outcomes[0]++;
            }
            catch (GgufFormatException e)
            {
                Assert.StartsWith("FM01", e.Id);
                outcomes[1]++;
            }
        }

        Assert.True(outcomes[1] > 0 && outcomes[0] > 0, $"clean {outcomes[0]}, errors {outcomes[1]}");
    }
}
