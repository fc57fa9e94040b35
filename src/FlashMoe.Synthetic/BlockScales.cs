using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>
/// Where each quantised ggml block keeps its scales (ggml-common.h <c>block_*</c> structs) and the value this writer
/// puts there. Block byte sizes come from <see cref="GgmlTypeTable"/>; this table adds only the scale fields.
/// </summary>
/// <remarks>
/// Each value is chosen so a dequantised weight has a spread of ≈ 0.05: scale ≈ 0.05 / (spread of sub-scale × quant).
/// The spreads are those of uniform random bits through ggml's dequantisers (e.g. a 4-bit quant has std 4.6, a 6-bit
/// sub-scale mean 31.5, the IQ4 non-linear table std ≈ 65). Approximate is enough: the point is finite, small values.
/// </remarks>
internal sealed class BlockScales
{
    private static readonly Dictionary<GgmlType, BlockScales> Table = new()
    {
        // block_q4_0 { f16 d; u8 qs[16]; }: x = d·(q − 8)
        [GgmlType.Q4_0] = F16(GgmlType.Q4_0, (0, 0.05f / 4.61f)),
        // block_q4_1 { f16 d; f16 m; u8 qs[16]; }: x = d·q + m, q 0…15 (mean 7.5)
        [GgmlType.Q4_1] = F16(GgmlType.Q4_1, (0, 0.05f / 4.61f), (2, -7.5f * 0.05f / 4.61f)),
        // block_q5_0 { f16 d; u8 qh[4]; u8 qs[16]; }: x = d·(q − 16)
        [GgmlType.Q5_0] = F16(GgmlType.Q5_0, (0, 0.05f / 9.23f)),
        // block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16]; }
        [GgmlType.Q5_1] = F16(GgmlType.Q5_1, (0, 0.05f / 9.23f), (2, -15.5f * 0.05f / 9.23f)),
        // block_q8_0 { f16 d; i8 qs[32]; }
        [GgmlType.Q8_0] = F16(GgmlType.Q8_0, (0, 0.05f / 73.9f)),
        // block_q2_K { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin; }: x = d·(sc & 15)·q − dmin·(sc >> 4)
        [GgmlType.Q2_K] = F16(GgmlType.Q2_K, (80, 0.006f), (82, 0.009f)),
        // block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d; }: x = d·(sc − 32)·q, q −4…3
        [GgmlType.Q3_K] = F16(GgmlType.Q3_K, (108, 0.0012f)),
        // block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128]; }: x = d·sc·q − dmin·m, sc and m 6-bit
        [GgmlType.Q4_K] = F16(GgmlType.Q4_K, (0, 3.45e-4f), (2, 2.6e-3f)),
        // block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }
        [GgmlType.Q5_K] = F16(GgmlType.Q5_K, (0, 1.7e-4f), (2, 2.6e-3f)),
        // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }: x = d·sc·(q − 32)
        [GgmlType.Q6_K] = F16(GgmlType.Q6_K, (208, 4e-5f)),
        // block_iq2_xxs { f16 d; u16 qs[32]; }
        [GgmlType.IQ2_XXS] = F16(GgmlType.IQ2_XXS, (0, 0.001f)),
        // block_iq2_xs { f16 d; u16 qs[32]; u8 scales[8]; }
        [GgmlType.IQ2_XS] = F16(GgmlType.IQ2_XS, (0, 0.001f)),
        // block_iq2_s { f16 d; u8 qs[64]; u8 qh[8]; u8 scales[8]; }
        [GgmlType.IQ2_S] = F16(GgmlType.IQ2_S, (0, 0.001f)),
        // block_iq3_xxs { f16 d; u8 qs[96]; }
        [GgmlType.IQ3_XXS] = F16(GgmlType.IQ3_XXS, (0, 4e-4f)),
        // block_iq3_s { f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]; }
        [GgmlType.IQ3_S] = F16(GgmlType.IQ3_S, (0, 4e-4f)),
        // block_iq1_s { f16 d; u8 qs[32]; u16 qh[8]; }: x = d·(2·s + 1)·(grid ± 1/8), grid −1…1
        [GgmlType.IQ1_S] = F16(GgmlType.IQ1_S, (0, 0.006f)),
        // block_iq4_nl { f16 d; u8 qs[16]; }: x = d·kvalues_iq4nl[q], table −127…113
        [GgmlType.IQ4_NL] = F16(GgmlType.IQ4_NL, (0, 7.7e-4f)),
        // block_iq4_xs { f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]; }: x = d·(ls − 32)·kvalues_iq4nl[q]
        [GgmlType.IQ4_XS] = F16(GgmlType.IQ4_XS, (0, 4.2e-5f)),
        // block_iq1_m { u8 qs[32]; u8 qh[16]; u8 scales[8]; }: no d field; the f16 scale is spread over the top
        // nibble of each of the four u16 words of scales (word k holds bits 4k…4k+3).
        [GgmlType.IQ1_M] = new BlockScales(GgmlType.IQ1_M, Array.Empty<(int, ushort)>(), iq1mScale: HalfBits.FromSingle(0.006f)),
        // block_mxfp4 { u8 e; u8 qs[16]; }: e is E8M0, x = 2^(e − 128)·kvalues_mxfp4[q] (table −12…12, std ≈ 5.5).
        // 121 → 2^-7; 255 would be NaN.
        [GgmlType.MXFP4] = new BlockScales(GgmlType.MXFP4, Array.Empty<(int, ushort)>(), e8m0: 121),
    };

    private const int Iq1mScalesOffset = 48;

    private readonly int _blockBytes;
    private readonly (int Offset, ushort Bits)[] _f16;
    private readonly ushort? _iq1mScale;
    private readonly byte? _e8m0;

    private BlockScales(GgmlType type, (int Offset, ushort Bits)[] f16, ushort? iq1mScale = null, byte? e8m0 = null)
    {
        _blockBytes = GgmlTypeTable.Get(type).BytesPerBlock;
        _f16 = f16;
        _iq1mScale = iq1mScale;
        _e8m0 = e8m0;
    }

    /// <summary>True for the plain float types and every block type in the table.</summary>
    public static bool IsSupported(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 || Table.ContainsKey(type);

    /// <summary>The scale layout of a quantised <paramref name="type"/>.</summary>
    public static BlockScales Get(GgmlType type) =>
        Table.TryGetValue(type, out var scales) ? scales : throw new NotSupportedException($"No block layout for {type}.");

    /// <summary>Overwrites the scale fields of every block in <paramref name="blocks"/>[0, <paramref name="length"/>).</summary>
    public void Apply(byte[] blocks, int length)
    {
        for (var block = 0; block + _blockBytes <= length; block += _blockBytes)
        {
            foreach (var (offset, bits) in _f16)
            {
                blocks[block + offset] = (byte)bits;
                blocks[block + offset + 1] = (byte)(bits >> 8);
            }
            if (_e8m0 is { } e) blocks[block] = e;
            if (_iq1mScale is { } scale)
            {
                for (var word = 0; word < 4; word++)
                {
                    // The high byte of little-endian u16 word k: keep its low nibble (sub-block scales), set the high nibble.
                    var high = block + Iq1mScalesOffset + (2 * word) + 1;
                    var nibble = (scale >> (4 * word)) & 0xF;
                    blocks[high] = (byte)((blocks[high] & 0x0F) | (nibble << 4));
                }
            }
        }
    }

    private static BlockScales F16(GgmlType type, params (int Offset, float Value)[] fields)
    {
        var bits = new (int, ushort)[fields.Length];
        for (var i = 0; i < fields.Length; i++) bits[i] = (fields[i].Offset, HalfBits.FromSingle(fields[i].Value));
        return new BlockScales(type, bits);
    }
}
