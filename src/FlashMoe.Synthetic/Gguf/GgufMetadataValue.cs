using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic.Gguf;


/// <summary>
/// One GGUF metadata value (scalar, string or array, arrays possibly nested). Immutable; knows its encoded
/// size so a writer can lay the file out before writing a byte.
/// </summary>
public abstract class GgufMetadataValue
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private protected GgufMetadataValue(GgufValueType type) => Type = type;

    /// <summary>The GGUF type tag written before the value.</summary>
    public GgufValueType Type { get; }

    /// <summary>Bytes of the encoded value, excluding its type tag.</summary>
    public abstract long EncodedBytes { get; }

    /// <summary>An unsigned 8-bit value.</summary>
    public static GgufMetadataValue UInt8(byte value) => new Scalar(GgufValueType.UInt8, value, 1);
    /// <summary>A signed 8-bit value.</summary>
    public static GgufMetadataValue Int8(sbyte value) => new Scalar(GgufValueType.Int8, unchecked((byte)value), 1);
    /// <summary>An unsigned 16-bit value.</summary>
    public static GgufMetadataValue UInt16(ushort value) => new Scalar(GgufValueType.UInt16, value, 2);
    /// <summary>A signed 16-bit value.</summary>
    public static GgufMetadataValue Int16(short value) => new Scalar(GgufValueType.Int16, unchecked((ushort)value), 2);
    /// <summary>An unsigned 32-bit value (llama.cpp reads its integer hyper-parameters as u32).</summary>
    public static GgufMetadataValue UInt32(uint value) => new Scalar(GgufValueType.UInt32, value, 4);
    /// <summary>A signed 32-bit value.</summary>
    public static GgufMetadataValue Int32(int value) => new Scalar(GgufValueType.Int32, unchecked((uint)value), 4);
    /// <summary>An unsigned 64-bit value.</summary>
    public static GgufMetadataValue UInt64(ulong value) => new Scalar(GgufValueType.UInt64, value, 8);
    /// <summary>A signed 64-bit value.</summary>
    public static GgufMetadataValue Int64(long value) => new Scalar(GgufValueType.Int64, unchecked((ulong)value), 8);
    /// <summary>A single-precision value.</summary>
    public static GgufMetadataValue Float32(float value) => new Scalar(GgufValueType.Float32, unchecked((uint)BitConverter.ToInt32(BitConverter.GetBytes(value), 0)), 4);
    /// <summary>A double-precision value.</summary>
    public static GgufMetadataValue Float64(double value) => new Scalar(GgufValueType.Float64, unchecked((ulong)BitConverter.DoubleToInt64Bits(value)), 8);
    /// <summary>A boolean (one byte).</summary>
    public static GgufMetadataValue Bool(bool value) => new Scalar(GgufValueType.Bool, value ? 1UL : 0UL, 1);
    /// <summary>A UTF-8 string.</summary>
    public static GgufMetadataValue String(string value) => new StringValue(value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>
    /// An array of values that all have <paramref name="elementType"/> (which may itself be
    /// <see cref="GgufValueType.Array"/> for nested arrays; the inner arrays may differ in element type and length).
    /// </summary>
    public static GgufMetadataValue Array(GgufValueType elementType, IReadOnlyList<GgufMetadataValue> elements)
    {
        if (elements is null) throw new ArgumentNullException(nameof(elements));
        foreach (var element in elements)
        {
            if (element is null || element.Type != elementType)
            {
                throw new ArgumentException($"Every element of a {elementType} array must be a {elementType} value.", nameof(elements));
            }
        }
        return new ValueArray(elementType, elements);
    }

    /// <summary>An array of strings, encoded without per-element wrappers (vocabularies have 10^5 entries).</summary>
    public static GgufMetadataValue StringArray(IReadOnlyList<string> values) => new StringArrayValue(values ?? throw new ArgumentNullException(nameof(values)));

    /// <summary>An array of single-precision values.</summary>
    public static GgufMetadataValue Float32Array(IReadOnlyList<float> values) =>
        new PrimitiveArray<float>(GgufValueType.Float32, values, 4, (w, v) => w.Write(v));

    /// <summary>An array of signed 32-bit values.</summary>
    public static GgufMetadataValue Int32Array(IReadOnlyList<int> values) =>
        new PrimitiveArray<int>(GgufValueType.Int32, values, 4, (w, v) => w.Write(v));

    /// <summary>An array of unsigned 32-bit values.</summary>
    public static GgufMetadataValue UInt32Array(IReadOnlyList<uint> values) =>
        new PrimitiveArray<uint>(GgufValueType.UInt32, values, 4, (w, v) => w.Write(v));

    /// <summary>Writes the value (without its type tag) little-endian, as GGUF requires.</summary>
    internal abstract void WritePayload(BinaryWriter writer);

    internal static long StringBytes(string value) => 8L + Utf8.GetByteCount(value);

    internal static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Utf8.GetBytes(value);
        writer.Write((ulong)bytes.LongLength);
        writer.Write(bytes);
    }

    private sealed class Scalar : GgufMetadataValue
    {
        private readonly ulong _bits;
        private readonly int _size;

        public Scalar(GgufValueType type, ulong bits, int size) : base(type)
        {
            _bits = bits;
            _size = size;
        }

        public override long EncodedBytes => _size;

        internal override void WritePayload(BinaryWriter writer)
        {
            switch (_size)
            {
                case 1: writer.Write((byte)_bits); break;
                case 2: writer.Write((ushort)_bits); break;
                case 4: writer.Write((uint)_bits); break;
                default: writer.Write(_bits); break;
            }
        }

        public override string ToString() => Type switch
        {
            GgufValueType.Float32 => BitConverter.ToSingle(BitConverter.GetBytes((uint)_bits), 0).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Float64 => BitConverter.Int64BitsToDouble((long)_bits).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Bool => _bits != 0 ? "true" : "false",
            GgufValueType.Int8 => ((sbyte)(byte)_bits).ToString(System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Int16 => ((short)(ushort)_bits).ToString(System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Int32 => ((int)(uint)_bits).ToString(System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Int64 => ((long)_bits).ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => _bits.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private sealed class StringValue : GgufMetadataValue
    {
        private readonly string _value;

        public StringValue(string value) : base(GgufValueType.String) => _value = value;

        public override long EncodedBytes => StringBytes(_value);

        internal override void WritePayload(BinaryWriter writer) => WriteString(writer, _value);

        public override string ToString() => _value;
    }

    private abstract class ArrayBase : GgufMetadataValue
    {
        protected ArrayBase() : base(GgufValueType.Array) { }

        protected abstract GgufValueType ElementType { get; }
        protected abstract int Count { get; }
        protected abstract long ElementBytes { get; }
        protected abstract void WriteElements(BinaryWriter writer);

        public sealed override long EncodedBytes => 4 + 8 + ElementBytes;

        internal sealed override void WritePayload(BinaryWriter writer)
        {
            writer.Write((uint)ElementType);
            writer.Write((ulong)Count);
            WriteElements(writer);
        }

        public override string ToString() => $"[{ElementType} × {Count}]";
    }

    private sealed class ValueArray : ArrayBase
    {
        private readonly GgufMetadataValue[] _elements;
        private readonly long _elementBytes;

        public ValueArray(GgufValueType elementType, IReadOnlyList<GgufMetadataValue> elements)
        {
            ElementType = elementType;
            _elements = new GgufMetadataValue[elements.Count];
            for (var i = 0; i < _elements.Length; i++)
            {
                _elements[i] = elements[i];
                // A nested array carries its own element-type tag and count inside its payload.
                _elementBytes += elements[i].EncodedBytes;
            }
        }

        protected override GgufValueType ElementType { get; }
        protected override int Count => _elements.Length;
        protected override long ElementBytes => _elementBytes;

        protected override void WriteElements(BinaryWriter writer)
        {
            foreach (var element in _elements) element.WritePayload(writer);
        }
    }

    private sealed class StringArrayValue : ArrayBase
    {
        private readonly string[] _values;
        private readonly long _elementBytes;

        public StringArrayValue(IReadOnlyList<string> values)
        {
            _values = new string[values.Count];
            for (var i = 0; i < _values.Length; i++)
            {
                _values[i] = values[i] ?? throw new ArgumentException("A string array cannot hold null.", nameof(values));
                _elementBytes += StringBytes(_values[i]);
            }
        }

        protected override GgufValueType ElementType => GgufValueType.String;
        protected override int Count => _values.Length;
        protected override long ElementBytes => _elementBytes;

        protected override void WriteElements(BinaryWriter writer)
        {
            foreach (var value in _values) WriteString(writer, value);
        }
    }

    private sealed class PrimitiveArray<T> : ArrayBase
    {
        private readonly T[] _values;
        private readonly int _elementSize;
        private readonly Action<BinaryWriter, T> _write;

        public PrimitiveArray(GgufValueType elementType, IReadOnlyList<T> values, int elementSize, Action<BinaryWriter, T> write)
        {
            if (values is null) throw new ArgumentNullException(nameof(values));
            ElementType = elementType;
            _values = new T[values.Count];
            for (var i = 0; i < _values.Length; i++) _values[i] = values[i];
            _elementSize = elementSize;
            _write = write;
        }

        protected override GgufValueType ElementType { get; }
        protected override int Count => _values.Length;
        protected override long ElementBytes => (long)_values.Length * _elementSize;

        protected override void WriteElements(BinaryWriter writer)
        {
            foreach (var value in _values) _write(writer, value);
        }
    }
}
