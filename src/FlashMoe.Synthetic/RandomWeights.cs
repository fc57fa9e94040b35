using System;
using System.Text;
using FlashMoe.Gguf;
using FlashMoe.Synthetic.Gguf;

namespace FlashMoe.Synthetic;

/// <summary>What a tensor's random values should look like.</summary>
internal enum WeightFill
{
    /// <summary>Small random weights (|x| ≈ 0.008–0.125, finite).</summary>
    Weight,
    /// <summary>RMS-norm weights ≈ 1.0 (F32).</summary>
    Norm,
}

/// <summary>
/// Deterministic random tensor data: the bytes of a tensor depend only on (seed, tensor name, type, size), never on
/// chunking, so the same seed gives an identical file. Generated in fixed-size chunks, so memory stays constant.
/// </summary>
internal sealed class RandomWeights
{
    /// <summary>Types whose random blocks are known to be valid for llama.cpp (docs/evidence.md#writing-a-gguf-that-llamacpp-accepts).</summary>
    public static bool IsSupported(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0;

    // Target weight spread; the quantised scales are chosen so that scale × std(quant) ≈ this.
    private const double WeightStd = 0.05;
    // std of a uniform int8 in [-128, 127] and of a uniform Q4_0 nibble in [-8, 7] (docs/evidence.md#writing-a-gguf-that-llamacpp-accepts: "std/74", "std/4.6").
    private const double Q8Std = 73.9;
    private const double Q4Std = 4.61;
    private const int ChunkTarget = 1 << 20;

    private readonly byte[] _bytes;
    private readonly ulong[] _words;

    public RandomWeights()
    {
        // Largest chunk for any block size is < ChunkTarget + 8 words; one extra word covers a partial tail.
        _bytes = new byte[ChunkTarget + 64];
        _words = new ulong[(_bytes.Length / 8) + 1];
    }

    /// <summary>Writes the data of <paramref name="tensor"/> (the writer's current tensor) in chunks.</summary>
    public void Write(GgufWriter writer, GgufTensorLayout tensor, WeightFill fill, ulong seed)
    {
        if (!IsSupported(tensor.Type)) throw new NotSupportedException($"Random data for {tensor.Type} is not supported (F32, F16, Q8_0, Q4_0 are).");
        var info = GgmlTypeTable.Get(tensor.Type);
        // A chunk is a whole number of blocks and of 8-byte words, so every chunk starts on a block boundary and the
        // random stream is the same however the tensor is cut.
        var unit = info.BytesPerBlock * 8;
        var chunk = ChunkTarget / unit * unit;
        var rng = new Xoshiro256(MixSeed(seed, tensor.Name));
        var scale = ScaleBits(tensor.Type);
        for (long done = 0; done < tensor.Bytes;)
        {
            var length = (int)Math.Min(chunk, tensor.Bytes - done);
            var words = (length + 7) / 8;
            for (var i = 0; i < words; i++) _words[i] = rng.Next();
            Buffer.BlockCopy(_words, 0, _bytes, 0, length);
            Shape(tensor.Type, fill, length, scale);
            writer.WriteTensorData(_bytes, 0, length);
            done += length;
        }
    }

    private void Shape(GgmlType type, WeightFill fill, int length, ushort scale)
    {
        var b = _bytes;
        switch (type)
        {
            case GgmlType.Q8_0:
            case GgmlType.Q4_0:
                // Block = f16 scale + quants; random quant bytes are always valid, the scale must be finite and small.
                var blockBytes = GgmlTypeTable.Get(type).BytesPerBlock;
                for (var i = 0; i < length; i += blockBytes)
                {
                    b[i] = (byte)scale;
                    b[i + 1] = (byte)(scale >> 8);
                }
                break;
            case GgmlType.F16:
                for (var i = 0; i < length; i += 2)
                {
                    var r = (uint)(b[i] | (b[i + 1] << 8));
                    // sign + 10 random mantissa bits, exponent 8..11 (2^-7 … 2^-4 × [1, 2)): always finite.
                    var h = fill == WeightFill.Norm
                        ? 0x3C00u | (r & 0x1F)
                        : (r & 0x83FFu) | ((8u + ((r >> 10) & 3u)) << 10);
                    b[i] = (byte)h;
                    b[i + 1] = (byte)(h >> 8);
                }
                break;
            case GgmlType.F32:
                for (var i = 0; i < length; i += 4)
                {
                    var r = (uint)(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
                    var f = fill == WeightFill.Norm
                        ? 0x3F800000u | (r & 0x7FFFu) // 1.0 … 1.004
                        : (r & 0x807FFFFFu) | ((120u + ((r >> 23) & 3u)) << 23); // same spread as F16 above
                    b[i] = (byte)f;
                    b[i + 1] = (byte)(f >> 8);
                    b[i + 2] = (byte)(f >> 16);
                    b[i + 3] = (byte)(f >> 24);
                }
                break;
        }
    }

    private static ushort ScaleBits(GgmlType type) => type switch
    {
        GgmlType.Q8_0 => HalfBits.FromSingle((float)(WeightStd / Q8Std)),
        GgmlType.Q4_0 => HalfBits.FromSingle((float)(WeightStd / Q4Std)),
        _ => 0,
    };

    private static ulong MixSeed(ulong seed, string name)
    {
        // FNV-1a over the UTF-8 name, so each tensor has its own stream independent of file order.
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return seed ^ hash;
    }

    /// <summary>xoshiro256** (Blackman &amp; Vigna), seeded through SplitMix64. Fast and reproducible everywhere.</summary>
    private struct Xoshiro256
    {
        private ulong _s0, _s1, _s2, _s3;

        public Xoshiro256(ulong seed)
        {
            _s0 = SplitMix(ref seed);
            _s1 = SplitMix(ref seed);
            _s2 = SplitMix(ref seed);
            _s3 = SplitMix(ref seed);
        }

        public ulong Next()
        {
            var result = RotL(_s1 * 5, 7) * 9;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = RotL(_s3, 45);
            return result;
        }

        private static ulong RotL(ulong x, int k) => (x << k) | (x >> (64 - k));

        private static ulong SplitMix(ref ulong state)
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>IEEE 754 binary16 encoding (netstandard2.0 has no System.Half).</summary>
public static class HalfBits
{
    /// <summary>The binary16 bits nearest to <paramref name="value"/> (round half to even; overflow → ±∞).</summary>
    public static ushort FromSingle(float value)
    {
        var f = unchecked((uint)BitConverter.ToInt32(BitConverter.GetBytes(value), 0));
        var sign = (f >> 16) & 0x8000u;
        var rawExponent = (int)((f >> 23) & 0xFF);
        var mantissa = f & 0x7FFFFFu;
        if (rawExponent == 0xFF) return (ushort)(sign | 0x7C00u | (mantissa != 0 ? 0x200u : 0u));
        var exponent = rawExponent - 127 + 15;
        if (exponent >= 31) return (ushort)(sign | 0x7C00u);
        if (exponent <= 0)
        {
            if (exponent < -10) return (ushort)sign;
            mantissa |= 0x800000u;
            var shift = 14 - exponent;
            var half = mantissa >> shift;
            var rest = mantissa & ((1u << shift) - 1);
            var halfway = 1u << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) != 0)) half++;
            return (ushort)(sign | half);
        }
        var bits = ((uint)exponent << 10) | (mantissa >> 13);
        var remainder = mantissa & 0x1FFFu;
        if (remainder > 0x1000u || (remainder == 0x1000u && (bits & 1) != 0)) bits++; // a carry into the exponent is correct rounding
        return (ushort)(sign | bits);
    }

    /// <summary>The single-precision value of binary16 <paramref name="bits"/>.</summary>
    public static float ToSingle(ushort bits)
    {
        var sign = (bits & 0x8000) != 0 ? -1f : 1f;
        var exponent = (bits >> 10) & 0x1F;
        var mantissa = bits & 0x3FF;
        if (exponent == 0) return sign * mantissa * (float)Math.Pow(2, -24);
        if (exponent == 31) return mantissa == 0 ? sign * float.PositiveInfinity : float.NaN;
        return sign * (1f + (mantissa / 1024f)) * (float)Math.Pow(2, exponent - 15);
    }
}
