using System;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>Every block type found in real GGUF files is written with ggml's exact block size and scale positions.</summary>
[Collection(LlamaNativeCollection.Name)]
public sealed class BlockTypeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-block-tests-" + Guid.NewGuid().ToString("N"));

    public BlockTypeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The 23 types of the real-file inventory, with (from ggml-common.h, written out here independently of the writer)
    // the block size in bytes and where the f16 super-block scale d sits; -1 where the scale is not a plain f16 d.
    public static TheoryData<GgmlType, int, int> Types() => new()
    {
        { GgmlType.F32, 4, -1 }, { GgmlType.F16, 2, -1 }, { GgmlType.BF16, 2, -1 },
        { GgmlType.Q8_0, 34, 0 }, { GgmlType.Q4_0, 18, 0 }, { GgmlType.Q4_1, 20, 0 }, { GgmlType.Q5_0, 22, 0 }, { GgmlType.Q5_1, 24, 0 },
        { GgmlType.Q2_K, 84, 80 }, { GgmlType.Q3_K, 110, 108 }, { GgmlType.Q4_K, 144, 0 }, { GgmlType.Q5_K, 176, 0 }, { GgmlType.Q6_K, 210, 208 },
        { GgmlType.IQ1_S, 50, 0 }, { GgmlType.IQ1_M, 56, -1 }, { GgmlType.IQ2_XXS, 66, 0 }, { GgmlType.IQ2_XS, 74, 0 }, { GgmlType.IQ2_S, 82, 0 },
        { GgmlType.IQ3_XXS, 98, 0 }, { GgmlType.IQ3_S, 110, 0 }, { GgmlType.IQ4_NL, 18, 0 }, { GgmlType.IQ4_XS, 136, 0 },
        { GgmlType.MXFP4, 17, -1 },
    };

    // A llama MoE whose every row length (256) is a whole number of blocks of every type.
    private static SyntheticModelSpec SpecOf(GgmlType type) => SyntheticPresets.TinyMoe with
    {
        EmbeddingLength = 256,
        FeedForwardLength = 256,
        ExpertFeedForwardLength = 256,
        ExpertCount = 4,
        WeightType = type,
        ExpertWeightType = type,
        Seed = 3,
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_block_type_round_trips_through_the_core_reader_with_finite_small_scales(GgmlType type, int blockBytes, int scaleOffset)
    {
        var path = Path.Combine(_dir, $"{type}.gguf");
        var layout = SyntheticModel.Write(SpecOf(type), path);
        var file = GgufReader.Read(path);

        Assert.Equal(blockBytes, GgmlTypeTable.Get(type).BytesPerBlock);
        Assert.Equal(new FileInfo(path).Length, file.FileLength);
        Assert.Equal(layout.FileBytes, file.FileLength);
        Assert.Equal(layout.TensorCount, file.TensorCount);
        foreach (var tensor in file.Tensors)
        {
            var written = layout.Tensors.Single(t => t.Name == tensor.Name);
            Assert.Equal(written.Type, tensor.Type);
            Assert.Equal(written.Offset, tensor.Offset);
            Assert.Equal(GgmlTypeTable.TensorBytes(tensor.Type, tensor.Dimensions.ToArray()), tensor.Bytes);
        }
        var weight = file.Tensors.Single(t => t.Name == "blk.0.ffn_up_exps.weight");
        Assert.Equal(type, weight.Type);
        Assert.True(file.TryGetUInt64("general.file_type", out var fileType));
        Assert.Equal((ulong)SyntheticModel.FileTypeOf(type), fileType);

        var data = new byte[weight.Bytes];
        using (var stream = File.OpenRead(path))
        {
            stream.Seek(file.TensorDataFileOffset(weight), SeekOrigin.Begin);
            stream.ReadExactly(data);
        }
        for (var block = 0; block < data.Length; block += blockBytes)
        {
            var scale = type switch
            {
                GgmlType.F32 => BitConverter.ToSingle(data, block),
                GgmlType.F16 => (float)BitConverter.ToHalf(data, block),
                GgmlType.BF16 => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(data, block) << 16),
                // E8M0 exponent: 2^(e − 127); 0xFF is NaN.
                GgmlType.MXFP4 => data[block] == 0xFF ? float.NaN : MathF.Pow(2, data[block] - 127),
                // The f16 scale is the top nibble of each of the four u16 scale words at the end of the block.
                GgmlType.IQ1_M => (float)BitConverter.UInt16BitsToHalf((ushort)Enumerable.Range(0, 4)
                    .Sum(k => (BitConverter.ToUInt16(data, block + 48 + (2 * k)) >> 12) << (4 * k))),
                _ => (float)BitConverter.ToHalf(data, block + scaleOffset),
            };
            Assert.True(float.IsFinite(scale) && scale != 0 && Math.Abs(scale) < 0.2f, $"{type} block {block / blockBytes}: scale {scale}");
        }
        // The quants are random, not a constant pattern.
        Assert.True(data.Distinct().Count() > 100, $"{type}: too few distinct bytes");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_block_type_loads_with_llama_cpps_row_check_and_generates(GgmlType type, int blockBytes, int scaleOffset)
    {
        _ = (blockBytes, scaleOffset);
        var path = Path.Combine(_dir, $"{type}.gguf");
        SyntheticModel.Write(SpecOf(type), path);

        var run = LlamaRun.LoadAndGenerate(path, tokens: 3);

        Assert.Equal(3, run.Generated);
        Assert.Matches($@"type\s+{SyntheticWeightTypes.Name(type).Replace("_k", "_K")}:\s+\d+ tensors", run.Log);
    }
}
