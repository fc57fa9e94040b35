using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace FlashMoe.Gguf;

/// <summary>GGUF metadata value types, numbered as <c>enum gguf_type</c> in gguf.h.</summary>
public enum GgufValueType : uint
{
    /// <summary>8-bit unsigned integer.</summary>
    UInt8 = 0,
    /// <summary>8-bit signed integer.</summary>
    Int8 = 1,
    /// <summary>16-bit unsigned integer.</summary>
    UInt16 = 2,
    /// <summary>16-bit signed integer.</summary>
    Int16 = 3,
    /// <summary>32-bit unsigned integer.</summary>
    UInt32 = 4,
    /// <summary>32-bit signed integer.</summary>
    Int32 = 5,
    /// <summary>32-bit IEEE float.</summary>
    Float32 = 6,
    /// <summary>Boolean stored in one byte.</summary>
    Bool = 7,
    /// <summary>UTF-8 string: u64 byte length, then the bytes (no terminator).</summary>
    String = 8,
    /// <summary>Array: u32 element type, u64 count, then the elements.</summary>
    Array = 9,
    /// <summary>64-bit unsigned integer.</summary>
    UInt64 = 10,
    /// <summary>64-bit signed integer.</summary>
    Int64 = 11,
    /// <summary>64-bit IEEE float.</summary>
    Float64 = 12,
}

/// <summary>Sizes of the GGUF value types.</summary>
public static class GgufValueTypes
{
    /// <summary>True for the 13 types defined by the format.</summary>
    public static bool IsDefined(uint type) => type <= (uint)GgufValueType.Float64;

    /// <summary>Encoded size of a fixed-size type, or 0 for <see cref="GgufValueType.String"/> and <see cref="GgufValueType.Array"/>.</summary>
    public static int FixedSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>
    /// Fewest bytes one encoded value of <paramref name="type"/> can take: its fixed size, 8 for a string (the
    /// length), 12 for an array (element type and count). Used to reject counts before looping over them.
    /// </summary>
    public static int MinimumSize(GgufValueType type) => type switch
    {
        GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => FixedSize(type),
    };

    /// <summary>The short name used by gguf.h and llama.cpp messages (<c>u32</c>, <c>str</c>, <c>arr</c>, …).</summary>
    public static string ShortName(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "u8",
        GgufValueType.Int8 => "i8",
        GgufValueType.UInt16 => "u16",
        GgufValueType.Int16 => "i16",
        GgufValueType.UInt32 => "u32",
        GgufValueType.Int32 => "i32",
        GgufValueType.Float32 => "f32",
        GgufValueType.Bool => "bool",
        GgufValueType.String => "str",
        GgufValueType.Array => "arr",
        GgufValueType.UInt64 => "u64",
        GgufValueType.Int64 => "i64",
        GgufValueType.Float64 => "f64",
        _ => "type " + ((uint)type).ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// One typed GGUF metadata value (scalar, string or array). Numbers convert between integer types when the
/// value fits, so callers need not care whether a writer used u32 or u64.
/// </summary>
public sealed class GgufValue
{
    private readonly ulong _raw;       // integers (signed ones sign-extended) and bool
    private readonly double _float;    // f32 and f64
    private readonly string? _string;  // null when the string was skipped
    private readonly GgufArray? _array;

    private GgufValue(GgufValueType type, long offset, ulong raw, double floating, string? text, long stringByteLength, GgufArray? array)
    {
        Type = type;
        Offset = offset;
        _raw = raw;
        _float = floating;
        _string = text;
        StringByteLength = stringByteLength;
        _array = array;
    }

    /// <summary>The value's type.</summary>
    public GgufValueType Type { get; }

    /// <summary>Byte offset in the file where the value starts: its type tag for a metadata value, the element itself for an array element.</summary>
    public long Offset { get; }

    /// <summary>For strings: the encoded length in bytes; otherwise 0.</summary>
    public long StringByteLength { get; }

    /// <summary>True for a string longer than <see cref="GgufReadOptions.MaxStringBytes"/>, which was skipped, not kept.</summary>
    public bool IsSkipped => Type == GgufValueType.String && _string is null;

    /// <summary>The array, when <see cref="Type"/> is <see cref="GgufValueType.Array"/>.</summary>
    public GgufArray? Array => _array;

    /// <summary>
    /// The value boxed as its natural .NET type: byte, sbyte, ushort, short, uint, int, float, bool, string
    /// (null when skipped), <see cref="GgufArray"/>, ulong, long or double.
    /// </summary>
    public object? Value => Type switch
    {
        GgufValueType.UInt8 => (byte)_raw,
        GgufValueType.Int8 => (sbyte)(long)_raw,
        GgufValueType.UInt16 => (ushort)_raw,
        GgufValueType.Int16 => (short)(long)_raw,
        GgufValueType.UInt32 => (uint)_raw,
        GgufValueType.Int32 => (int)(long)_raw,
        GgufValueType.Float32 => (float)_float,
        GgufValueType.Bool => _raw != 0,
        GgufValueType.String => _string,
        GgufValueType.Array => _array,
        GgufValueType.UInt64 => _raw,
        GgufValueType.Int64 => (long)_raw,
        GgufValueType.Float64 => _float,
        _ => null,
    };

    /// <summary>True for the eight integer types.</summary>
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    private bool IsSigned => Type is GgufValueType.Int8 or GgufValueType.Int16 or GgufValueType.Int32 or GgufValueType.Int64;

    /// <summary>Gets an integer value as <see cref="ulong"/> when it is a non-negative integer.</summary>
    public bool TryGetUInt64(out ulong value)
    {
        value = 0;
        if (!IsInteger || (IsSigned && (long)_raw < 0)) return false;
        value = _raw;
        return true;
    }

    /// <summary>Gets an integer value as <see cref="long"/> when it fits.</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        if (!IsInteger || (!IsSigned && _raw > long.MaxValue)) return false;
        value = (long)_raw;
        return true;
    }

    /// <summary>Gets an integer value as <see cref="int"/> when it fits.</summary>
    public bool TryGetInt32(out int value)
    {
        value = 0;
        if (!TryGetInt64(out var wide) || wide < int.MinValue || wide > int.MaxValue) return false;
        value = (int)wide;
        return true;
    }

    /// <summary>Gets a float or integer value as <see cref="double"/>.</summary>
    public bool TryGetDouble(out double value)
    {
        value = 0;
        if (Type is GgufValueType.Float32 or GgufValueType.Float64)
        {
            value = _float;
            return true;
        }
        if (!IsInteger) return false;
        value = IsSigned ? (long)_raw : (double)_raw;
        return true;
    }

    /// <summary>Gets a bool value.</summary>
    public bool TryGetBoolean(out bool value)
    {
        value = Type == GgufValueType.Bool && _raw != 0;
        return Type == GgufValueType.Bool;
    }

    /// <summary>Gets a string value that was kept (not skipped).</summary>
    public bool TryGetString(out string value)
    {
        value = _string ?? string.Empty;
        return _string is not null;
    }

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        GgufValueType.String => _string ?? $"<skipped string of {StringByteLength} bytes>",
        GgufValueType.Array => _array!.ToString(),
        GgufValueType.Float32 or GgufValueType.Float64 => _float.ToString("R", CultureInfo.InvariantCulture),
        GgufValueType.Bool => _raw != 0 ? "true" : "false",
        _ => IsSigned ? ((long)_raw).ToString(CultureInfo.InvariantCulture) : _raw.ToString(CultureInfo.InvariantCulture),
    };

    internal static GgufValue Unsigned(GgufValueType type, long offset, ulong value) => new(type, offset, value, 0, null, 0, null);

    internal static GgufValue Signed(GgufValueType type, long offset, long value) => new(type, offset, (ulong)value, 0, null, 0, null);

    internal static GgufValue Boolean(long offset, bool value) => new(GgufValueType.Bool, offset, value ? 1UL : 0UL, 0, null, 0, null);

    internal static GgufValue Floating(GgufValueType type, long offset, double value) => new(type, offset, 0, value, null, 0, null);

    internal static GgufValue String(long offset, string? value, long byteLength) => new(GgufValueType.String, offset, 0, 0, value, byteLength, null);

    internal static GgufValue ForArray(long offset, GgufArray array) => new(GgufValueType.Array, offset, 0, 0, null, 0, array);
}

/// <summary>
/// A GGUF array. Small arrays are materialised while reading; large ones (a 150 k-entry tokenizer vocabulary)
/// are only described — element type, count and file offset — and can be read on demand with
/// <see cref="ReadElements(string, GgufReadOptions?)"/>.
/// </summary>
public sealed class GgufArray
{
    private readonly IReadOnlyList<GgufValue>? _elements;

    internal GgufArray(string key, GgufValueType elementType, long count, long offset, long byteLength, IReadOnlyList<GgufValue>? elements)
    {
        Key = key;
        ElementType = elementType;
        Count = count;
        Offset = offset;
        ByteLength = byteLength;
        _elements = elements;
    }

    /// <summary>The metadata key the array belongs to (for a nested array, its outermost key).</summary>
    public string Key { get; }

    /// <summary>Type of every element.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>Byte offset in the file of the first element (just after the count).</summary>
    public long Offset { get; }

    /// <summary>Encoded bytes of all elements.</summary>
    public long ByteLength { get; }

    /// <summary>True when the elements were read into memory; false when the array was only skipped.</summary>
    public bool IsMaterialized => _elements is not null;

    /// <summary>The elements when materialised; empty otherwise (see <see cref="IsMaterialized"/>).</summary>
    public IReadOnlyList<GgufValue> Elements => _elements ?? System.Array.Empty<GgufValue>();

    /// <summary>Reads the elements from the file at <paramref name="path"/> (the file this array was read from).</summary>
    /// <exception cref="GgufFormatException">The elements are malformed or the file changed.</exception>
    public IReadOnlyList<GgufValue> ReadElements(string path, GgufReadOptions? options = null)
    {
        if (_elements is not null) return _elements;
        using var stream = GgufReader.OpenHeaderStream(path);
        return ReadElements(stream, stream.Length, options);
    }

    /// <summary>
    /// Reads the elements from <paramref name="stream"/>, positioned anywhere; offsets are taken from the stream's
    /// start. Every element is read regardless of <see cref="GgufReadOptions.MaxMaterializedArrayElements"/>
    /// (nested arrays stay bound by it); strings longer than <see cref="GgufReadOptions.MaxStringBytes"/> are skipped.
    /// </summary>
    /// <exception cref="GgufFormatException">The elements are malformed or the file changed.</exception>
    public IReadOnlyList<GgufValue> ReadElements(Stream stream, long? fileLength = null, GgufReadOptions? options = null)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        if (_elements is not null) return _elements;
        if (!stream.CanSeek) throw new ArgumentException("Reading array elements on demand needs a seekable stream.", nameof(stream));
        var length = fileLength ?? stream.Length;
        var opts = options ?? GgufReadOptions.Default;
        var reader = new GgufBinaryReader(stream, 0, length, (int)Math.Min(opts.BufferSize, Math.Max(16, ByteLength)), long.MaxValue);
        return new GgufHeaderParser(reader, opts).ReadLazyArray(this);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"[{GgufValueTypes.ShortName(ElementType)} × {Count.ToString(CultureInfo.InvariantCulture)}{(IsMaterialized ? string.Empty : ", not loaded")}]";
}

/// <summary>One metadata key/value pair, in header order.</summary>
/// <param name="Key">The key, e.g. <c>llama.block_count</c>.</param>
/// <param name="Value">The typed value.</param>
/// <param name="Offset">Byte offset of the key in the file.</param>
public sealed record GgufMetadataEntry(string Key, GgufValue Value, long Offset);
