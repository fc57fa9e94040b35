using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Gguf;

namespace FlashMoe.Core.Tests.Gguf;

/// <summary>
/// Test-only GGUF header builder: writes exactly the bytes the format prescribes, and remembers where each
/// field went so tests can corrupt a precise byte and assert the reported offset. Not the product's writer
/// (that is FlashMoe.Synthetic); kept independent so reader and writer do not share a bug.
/// </summary>
internal sealed class GgufBytes
{
    private readonly List<(string Key, byte[] KeyBytes, Val Value)> _metadata = new();
    private readonly List<TensorSpec> _tensors = new();

    public byte[] Magic { get; set; } = Encoding.ASCII.GetBytes("GGUF");
    public uint Version { get; set; } = 3;

    /// <summary>Overrides the tensor count written in the header (default: the number of tensors added).</summary>
    public ulong? TensorCountOverride { get; set; }

    /// <summary>Overrides the key/value count written in the header (default: the number of keys added).</summary>
    public ulong? KeyValueCountOverride { get; set; }

    /// <summary>Alignment used to lay out tensors whose offset is not given (write general.alignment yourself).</summary>
    public int LayoutAlignment { get; set; } = 32;

    /// <summary>Append zero-filled tensor data after the padded header (false: header only).</summary>
    public bool IncludeData { get; set; } = true;

    // Offsets recorded by the last Build().
    public Dictionary<string, long> KeyOffsets { get; } = new();
    public Dictionary<string, long> ValueTypeOffsets { get; } = new();
    public Dictionary<string, long> TensorInfoOffsets { get; } = new();
    public Dictionary<string, long> TensorDimsOffsets { get; } = new();
    public Dictionary<string, long> TensorTypeOffsets { get; } = new();
    public Dictionary<string, long> TensorOffsetFieldOffsets { get; } = new();
    public long HeaderBytes { get; private set; }
    public long DataOffset { get; private set; }
    /// <summary>Bytes from the data section start to the end of the last tensor's data.</summary>
    public long DataBytes { get; private set; }

    public GgufBytes Add(string key, Val value)
    {
        _metadata.Add((key, Encoding.UTF8.GetBytes(key), value));
        return this;
    }

    /// <summary>Adds a key written as raw bytes (e.g. invalid UTF-8); offsets are recorded under <paramref name="label"/>.</summary>
    public GgufBytes AddRawKey(string label, byte[] keyBytes, Val value)
    {
        _metadata.Add((label, keyBytes, value));
        return this;
    }

    public GgufBytes Tensor(string name, GgmlType type, long[] dims, ulong? offset = null) =>
        TensorRaw(name, (uint)type, dims.Select(d => (ulong)d).ToArray(), offset);

    public GgufBytes TensorRaw(string name, uint typeId, ulong[] dims, ulong? offset = null)
    {
        _tensors.Add(new TensorSpec(name, typeId, dims, offset));
        return this;
    }

    /// <summary>A small but complete llama-style MoE header: 2 layers, 4 experts, a 300-token vocab.</summary>
    public static GgufBytes SmallMoe(uint version = 3)
    {
        const int embd = 64, ff = 128, experts = 4, vocab = 300, layers = 2;
        var b = new GgufBytes { Version = version }
            .Add("general.architecture", Val.Str("llama"))
            .Add("general.name", Val.Str("tiny moe"))
            .Add("general.file_type", Val.U32(7))
            .Add("llama.block_count", Val.U32(layers))
            .Add("llama.context_length", Val.U32(2048))
            .Add("llama.embedding_length", Val.U32(embd))
            .Add("llama.feed_forward_length", Val.U32(ff))
            .Add("llama.attention.head_count", Val.U32(4))
            .Add("llama.attention.head_count_kv", Val.U32(2))
            .Add("llama.rope.dimension_count", Val.U32(16))
            .Add("llama.expert_count", Val.U32(experts))
            .Add("llama.expert_used_count", Val.U32(2))
            .Add("tokenizer.ggml.model", Val.Str("llama"))
            .Add("tokenizer.ggml.tokens", Val.Arr(GgufValueType.String, Enumerable.Range(0, vocab).Select(i => Val.Str("t" + i)).ToArray()))
            .Add("tokenizer.ggml.scores", Val.Arr(GgufValueType.Float32, Enumerable.Range(0, vocab).Select(i => Val.F32(-i)).ToArray()));
        b.Tensor("token_embd.weight", GgmlType.Q8_0, new long[] { embd, vocab });
        for (var l = 0; l < layers; l++)
        {
            b.Tensor($"blk.{l}.attn_norm.weight", GgmlType.F32, new long[] { embd })
             .Tensor($"blk.{l}.attn_q.weight", GgmlType.Q8_0, new long[] { embd, embd })
             .Tensor($"blk.{l}.attn_k.weight", GgmlType.Q8_0, new long[] { embd, embd / 2 })
             .Tensor($"blk.{l}.attn_v.weight", GgmlType.Q8_0, new long[] { embd, embd / 2 })
             .Tensor($"blk.{l}.attn_output.weight", GgmlType.Q8_0, new long[] { embd, embd })
             .Tensor($"blk.{l}.ffn_norm.weight", GgmlType.F32, new long[] { embd })
             .Tensor($"blk.{l}.ffn_gate_inp.weight", GgmlType.F32, new long[] { embd, experts })
             .Tensor($"blk.{l}.ffn_gate_exps.weight", GgmlType.Q4_0, new long[] { embd, ff, experts })
             .Tensor($"blk.{l}.ffn_up_exps.weight", GgmlType.Q4_0, new long[] { embd, ff, experts })
             .Tensor($"blk.{l}.ffn_down_exps.weight", GgmlType.Q4_0, new long[] { ff, embd, experts });
        }
        b.Tensor("output_norm.weight", GgmlType.F32, new long[] { embd })
         .Tensor("output.weight", GgmlType.Q8_0, new long[] { embd, vocab });
        return b;
    }

    public byte[] Build()
    {
        using var stream = new MemoryStream();
        WriteHeader(stream);
        if (IncludeData)
        {
            stream.SetLength(DataOffset + DataBytes);
        }
        return stream.ToArray();
    }

    /// <summary>Writes the header only (no padding, no data) and records the layout figures.</summary>
    public void WriteHeader(Stream stream)
    {
        KeyOffsets.Clear();
        ValueTypeOffsets.Clear();
        TensorInfoOffsets.Clear();
        TensorDimsOffsets.Clear();
        TensorTypeOffsets.Clear();
        TensorOffsetFieldOffsets.Clear();
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write(TensorCountOverride ?? (ulong)_tensors.Count);
        w.Write(KeyValueCountOverride ?? (ulong)_metadata.Count);
        foreach (var (key, keyBytes, value) in _metadata)
        {
            KeyOffsets[key] = stream.Position;
            w.Write((ulong)keyBytes.Length);
            w.Write(keyBytes);
            ValueTypeOffsets[key] = stream.Position;
            w.Write((uint)value.Type);
            value.WritePayload(w);
        }
        ulong next = 0, end = 0;
        foreach (var t in _tensors)
        {
            TensorInfoOffsets[t.Name] = stream.Position;
            WriteString(w, t.Name);
            TensorDimsOffsets[t.Name] = stream.Position;
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims) w.Write(d);
            TensorTypeOffsets[t.Name] = stream.Position;
            w.Write(t.TypeId);
            TensorOffsetFieldOffsets[t.Name] = stream.Position;
            var offset = t.Offset ?? next;
            w.Write(offset);
            var bytes = SafeBytes(t);
            next = Math.Max(next, offset + (ulong)Pad(bytes, LayoutAlignment));
            end = Math.Max(end, offset + (ulong)bytes);
        }
        w.Flush();
        HeaderBytes = stream.Position;
        DataOffset = Pad(HeaderBytes, LayoutAlignment);
        DataBytes = (long)end; // the file ends where the last tensor's data ends (no trailing padding)
    }

    public static long Pad(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    internal static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static long SafeBytes(TensorSpec t)
    {
        if (!GgmlTypeTable.TryGet(t.TypeId, out var info) || t.Dims.Any(d => d == 0 || d > int.MaxValue)) return 0;
        return GgmlTypeTable.TensorBytes(info.Type, t.Dims.Select(d => (long)d).ToArray()) ?? 0;
    }

    private sealed record TensorSpec(string Name, uint TypeId, ulong[] Dims, ulong? Offset);
}

/// <summary>A GGUF metadata value to write: type tag plus payload writer.</summary>
public sealed class Val
{
    private readonly Action<BinaryWriter> _payload;

    private Val(GgufValueType type, object? expected, Action<BinaryWriter> payload)
    {
        Type = type;
        Expected = expected;
        _payload = payload;
    }

    public GgufValueType Type { get; }

    /// <summary>What GgufValue.Value should return (for arrays: the element Vals).</summary>
    public object? Expected { get; }

    public void WritePayload(BinaryWriter w) => _payload(w);

    public static Val U8(byte v) => new(GgufValueType.UInt8, v, w => w.Write(v));
    public static Val I8(sbyte v) => new(GgufValueType.Int8, v, w => w.Write(v));
    public static Val U16(ushort v) => new(GgufValueType.UInt16, v, w => w.Write(v));
    public static Val I16(short v) => new(GgufValueType.Int16, v, w => w.Write(v));
    public static Val U32(uint v) => new(GgufValueType.UInt32, v, w => w.Write(v));
    public static Val I32(int v) => new(GgufValueType.Int32, v, w => w.Write(v));
    public static Val F32(float v) => new(GgufValueType.Float32, v, w => w.Write(v));
    public static Val Bool(bool v) => new(GgufValueType.Bool, v, w => w.Write((byte)(v ? 1 : 0)));
    public static Val Str(string v) => new(GgufValueType.String, v, w => GgufBytes.WriteString(w, v));
    public static Val U64(ulong v) => new(GgufValueType.UInt64, v, w => w.Write(v));
    public static Val I64(long v) => new(GgufValueType.Int64, v, w => w.Write(v));
    public static Val F64(double v) => new(GgufValueType.Float64, v, w => w.Write(v));

    /// <summary>A value with a raw type tag and raw payload bytes (for corrupt headers).</summary>
    public static Val Raw(uint type, byte[] payload) => new((GgufValueType)type, null, w => w.Write(payload));

    /// <summary>A string whose declared length differs from its bytes.</summary>
    public static Val StrWithLength(ulong declaredLength, byte[] bytes) =>
        new(GgufValueType.String, null, w => { w.Write(declaredLength); w.Write(bytes); });

    public static Val Arr(GgufValueType elementType, params Val[] items) =>
        new(GgufValueType.Array, items, w =>
        {
            w.Write((uint)elementType);
            w.Write((ulong)items.Length);
            foreach (var item in items) item.WritePayload(w); // a nested array's payload starts with its own element type and count
        });

    /// <summary>An array header with a declared count but no (or few) elements (for corrupt headers).</summary>
    public static Val ArrHeader(uint elementType, ulong declaredCount) =>
        new(GgufValueType.Array, null, w => { w.Write(elementType); w.Write(declaredCount); });
}
