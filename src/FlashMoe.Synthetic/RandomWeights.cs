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
/// <remarks>
/// Quantised blocks are random bytes with their scale fields overwritten: every quant index of every ggml block type
/// is valid (the IQ grids have 2^bits entries), so only the scales need care. They are finite and chosen so that a
/// weight's spread is ≈ 0.05 (see <see cref="BlockScales"/>), which keeps activations and logits finite through the layers.
/// </remarks>
internal sealed class RandomWeights
{
    /// <summary>Types this writer produces data for: every type found in real GGUF files.</summary>
    public static bool IsSupported(GgmlType type) => BlockScales.IsSupported(type);

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
        if (!IsSupported(tensor.Type)) throw new NotSupportedException($"Random data for {tensor.Type} is not supported.");
        var info = GgmlTypeTable.Get(tensor.Type);
        // A chunk is a whole number of blocks and of 8-byte words, so every chunk starts on a block boundary and the
        // random stream is the same however the tensor is cut.
        var unit = info.BytesPerBlock * 8;
        var chunk = ChunkTarget / unit * unit;
        var rng = new Xoshiro256(MixSeed(seed, tensor.Name));
        for (long done = 0; done < tensor.Bytes;)
        {
            var length = (int)Math.Min(chunk, tensor.Bytes - done);
            var words = (length + 7) / 8;
            for (var i = 0; i < words; i++) _words[i] = rng.Next();
            Buffer.BlockCopy(_words, 0, _bytes, 0, length);
            Shape(tensor.Type, fill, length);
            writer.WriteTensorData(_bytes, 0, length);
            done += length;
        }
    }

    private void Shape(GgmlType type, WeightFill fill, int length)
    {
        var b = _bytes;
        switch (type)
        {
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
            case GgmlType.BF16:
                for (var i = 0; i < length; i += 2)
                {
                    var r = (uint)(b[i] | (b[i + 1] << 8));
                    // bf16 is the upper half of an f32: sign, 8 exponent bits, 7 mantissa bits; same spread as F32 below.
                    var h = fill == WeightFill.Norm
                        ? 0x3F80u | (r & 0x1)
                        : (r & 0x807Fu) | ((120u + ((r >> 7) & 3u)) << 7);
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
            default:
                BlockScales.Get(type).Apply(b, length);
                break;
        }
    }

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
