using System;
using System.Collections.Generic;

namespace FlashMoe.Gguf;

/// <summary>ggml tensor types, numbered exactly as <c>enum ggml_type</c> in ggml.h (ids 4, 5, 31–33, 36–38 were removed upstream).</summary>
#pragma warning disable CS1591 // the names are ggml's own; each is documented by its block size in GgmlTypeTable
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
}
#pragma warning restore CS1591

/// <summary>Block geometry of one ggml type: <see cref="BlockSize"/> elements are stored in <see cref="BytesPerBlock"/> bytes.</summary>
/// <param name="Type">The type.</param>
/// <param name="BlockSize">Elements per block (1 for plain types).</param>
/// <param name="BytesPerBlock">Bytes per block.</param>
public readonly record struct GgmlTypeInfo(GgmlType Type, int BlockSize, int BytesPerBlock)
{
    /// <summary>Average bits per weight, e.g. 8.5 for Q8_0.</summary>
    public double BitsPerWeight => BytesPerBlock * 8.0 / BlockSize;
}

/// <summary>The complete ggml type table (ggml/src/ggml.c <c>type_traits</c>).</summary>
public static class GgmlTypeTable
{
    // The rows in table order, and the same indexed by type id (a default entry, block size 0, is an unknown id).
    // Plain arrays, not a Dictionary<GgmlType, GgmlTypeInfo>: ReadyToRun cannot precompile framework generics over
    // Core's value types, and the build check's first run would pay the JIT for them.
    private static readonly GgmlTypeInfo[] Rows = BuildRows(
        (GgmlType.F32, 1, 4), (GgmlType.F16, 1, 2), (GgmlType.BF16, 1, 2), (GgmlType.F64, 1, 8),
        (GgmlType.I8, 1, 1), (GgmlType.I16, 1, 2), (GgmlType.I32, 1, 4), (GgmlType.I64, 1, 8),
        (GgmlType.Q4_0, 32, 18), (GgmlType.Q4_1, 32, 20), (GgmlType.Q5_0, 32, 22), (GgmlType.Q5_1, 32, 24),
        (GgmlType.Q8_0, 32, 34), (GgmlType.Q8_1, 32, 36),
        (GgmlType.Q2_K, 256, 84), (GgmlType.Q3_K, 256, 110), (GgmlType.Q4_K, 256, 144), (GgmlType.Q5_K, 256, 176),
        (GgmlType.Q6_K, 256, 210), (GgmlType.Q8_K, 256, 292),
        (GgmlType.IQ2_XXS, 256, 66), (GgmlType.IQ2_XS, 256, 74), (GgmlType.IQ2_S, 256, 82),
        (GgmlType.IQ3_XXS, 256, 98), (GgmlType.IQ3_S, 256, 110),
        (GgmlType.IQ1_S, 256, 50), (GgmlType.IQ1_M, 256, 56),
        (GgmlType.IQ4_NL, 32, 18), (GgmlType.IQ4_XS, 256, 136),
        (GgmlType.TQ1_0, 256, 54), (GgmlType.TQ2_0, 256, 66),
        (GgmlType.MXFP4, 32, 17));

    private static readonly GgmlTypeInfo[] ById = IndexById(Rows);

    /// <summary>All known types.</summary>
    public static IEnumerable<GgmlTypeInfo> All => InTableOrder();

    /// <summary>Looks up a type id as stored in a GGUF file.</summary>
    public static bool TryGet(uint id, out GgmlTypeInfo info)
    {
        info = id < (uint)ById.Length ? ById[id] : default;
        return info.BlockSize != 0;
    }

    /// <summary>The block geometry of a known type.</summary>
    public static GgmlTypeInfo Get(GgmlType type) =>
        TryGet((uint)type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type.");

    /// <summary>
    /// Bytes of a tensor: rows × (row length / block size) × bytes per block, where the row length is
    /// <paramref name="dimensions"/>[0] (ggml's ne0). Returns null when the row length is not a multiple of the
    /// block size or the product overflows a 64-bit count.
    /// </summary>
    public static long? TensorBytes(GgmlType type, IReadOnlyList<long> dimensions)
    {
        var info = Get(type);
        if (dimensions.Count == 0) return info.BytesPerBlock; // a scalar is one element of a plain type
        var rowLength = dimensions[0];
        if (rowLength < 0 || rowLength % info.BlockSize != 0) return null;
        try
        {
            checked
            {
                long rows = 1;
                for (var i = 1; i < dimensions.Count; i++)
                {
                    if (dimensions[i] < 0) return null;
                    rows *= dimensions[i];
                }
                return rows * (rowLength / info.BlockSize) * info.BytesPerBlock;
            }
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static IEnumerable<GgmlTypeInfo> InTableOrder()
    {
        foreach (var row in Rows) yield return row;
    }

    private static GgmlTypeInfo[] BuildRows(params (GgmlType Type, int Block, int Bytes)[] rows)
    {
        var infos = new GgmlTypeInfo[rows.Length];
        for (var i = 0; i < rows.Length; i++) infos[i] = new GgmlTypeInfo(rows[i].Type, rows[i].Block, rows[i].Bytes);
        return infos;
    }

    private static GgmlTypeInfo[] IndexById(GgmlTypeInfo[] rows)
    {
        var largest = 0u;
        foreach (var row in rows) largest = Math.Max(largest, (uint)row.Type);
        var byId = new GgmlTypeInfo[largest + 1];
        foreach (var row in rows)
        {
            if (byId[(uint)row.Type].BlockSize != 0) throw new InvalidOperationException("ggml type " + row.Type + " is listed twice.");
            byId[(uint)row.Type] = row;
        }
        return byId;
    }
}
