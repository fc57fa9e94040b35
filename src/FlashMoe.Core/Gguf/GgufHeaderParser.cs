using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using FlashMoe.Diagnostics;

namespace FlashMoe.Gguf;

/// <summary>
/// Parses the GGUF header (gguf.h layout, as ggml's gguf.cpp reads it). Every count is checked against the bytes
/// left in the file and the header limit before it drives a loop or an allocation, so no input can hang the
/// parser or make it allocate more than the file holds.
/// </summary>
internal sealed class GgufHeaderParser
{
    /// <summary>llama.cpp's GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;

    /// <summary>llama.cpp's GGML_MAX_NAME: a tensor name must be shorter than this many bytes.</summary>
    public const int MaxTensorNameBytes = 64;

    /// <summary>Largest alignment accepted (real files use 32; an int keeps the layout arithmetic simple).</summary>
    private const int MaxAlignment = 1 << 30;

    /// <summary>name length (8) + n_dims (4) + type (4) + offset (8).</summary>
    private const int MinTensorInfoBytes = 24;

    /// <summary>key length (8) + value type (4) + one-byte value.</summary>
    private const int MinKeyValueBytes = 13;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly UTF8Encoding LenientUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Hard cap on nesting whatever the options say: the parser recurses once per level.</summary>
    private const int MaxSupportedArrayNesting = 64;

    private readonly GgufBinaryReader _reader;
    private readonly GgufReadOptions _options;

    /// <summary>Array elements materialised so far in this header (bounded by <see cref="GgufReadOptions.MaxMaterializedElementsTotal"/>).</summary>
    private long _materializedElements;

    private int MaxArrayNesting => Math.Max(1, Math.Min(_options.MaxArrayNesting, MaxSupportedArrayNesting));

    public GgufHeaderParser(GgufBinaryReader reader, GgufReadOptions options)
    {
        _reader = reader;
        _options = options;
    }

    public GgufFile ParseFile(string? sourcePath)
    {
        ReadMagic();
        var version = ReadVersion();

        var tensorCountOffset = _reader.Position;
        var tensorCount = _reader.ReadUInt64("the tensor count");
        var keyValueCountOffset = _reader.Position;
        var keyValueCount = _reader.ReadUInt64("the metadata key/value count");
        CheckCount(tensorCount, MinTensorInfoBytes, tensorCountOffset, "The tensor count");
        CheckCount(keyValueCount, MinKeyValueBytes, keyValueCountOffset, "The metadata key/value count");
        if (keyValueCount > (ulong)Math.Max(0, _options.MaxKeyValueCount))
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, keyValueCountOffset, "(key/value count)",
                $"the header declares {keyValueCount} key/value pairs; at most {_options.MaxKeyValueCount} are accepted (real models have well under a hundred)");
        }

        var entries = new List<GgufMetadataEntry>((int)Math.Min(keyValueCount, 1024));
        var byKey = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (ulong i = 0; i < keyValueCount; i++)
        {
            var keyOffset = _reader.Position;
            var key = ReadName("metadata key", _options.MaxStringBytes, "the reader's limit");
            if (byKey.ContainsKey(key)) throw new GgufFormatException(DiagnosticCatalog.GgufDuplicateName, keyOffset, "metadata key", key);
            var typeOffset = _reader.Position;
            var type = _reader.ReadUInt32("the value type of '{0}'", key);
            var value = ReadValue(type, typeOffset, key, arrayDepth: 0);
            entries.Add(new GgufMetadataEntry(key, value, keyOffset));
            byKey.Add(key, value);
        }

        var alignment = ReadAlignment(byKey);
        var tensors = ReadTensorInfos(tensorCount, alignment);

        var headerBytes = _reader.Position;
        var dataOffset = Pad(headerBytes, alignment);
        var dataSectionBytes = Math.Max(0, _reader.Length - dataOffset);
        CheckTensorData(tensors, alignment, dataSectionBytes);

        var infos = new GgufTensorInfo[tensors.Count];
        for (var i = 0; i < infos.Length; i++) infos[i] = tensors[i].ToInfo();
        return new GgufFile(version, entries, byKey, infos, alignment, headerBytes, dataOffset, _reader.Length, _reader.BytesRead, sourcePath);
    }

    /// <summary>
    /// Reads the elements of an array whose count was already read (and is checked here again).
    /// Returns null when <paramref name="materialize"/> is false: the elements are then skipped.
    /// </summary>
    public IReadOnlyList<GgufValue>? ReadArrayElements(GgufValueType elementType, ulong count, int depth, bool materialize, string key)
    {
        var fixedSize = GgufValueTypes.FixedSize(elementType);
        if (!materialize && fixedSize > 0)
        {
            _reader.Skip((long)count * fixedSize, "the elements of '{0}'", key); // count checked: product ≤ remaining bytes
            return null;
        }

        var elements = materialize ? new List<GgufValue>((int)Math.Min(count, 4096)) : null;
        for (ulong i = 0; i < count; i++)
        {
            var offset = _reader.Position;
            if (elementType == GgufValueType.String)
            {
                var text = ReadStringValue(keep: materialize, key, offset);
                elements?.Add(text!);
            }
            else if (elementType == GgufValueType.Array)
            {
                var nested = ReadArray(offset, key, depth, materialize);
                elements?.Add(nested);
            }
            else
            {
                elements!.Add(ReadScalar(elementType, offset, key));
            }
        }
        return elements;
    }

    /// <summary>Reads every element of an array recorded without its elements, re-checking its count against the file.</summary>
    public IReadOnlyList<GgufValue> ReadLazyArray(GgufArray array)
    {
        if (array.Offset < 0 || array.Offset > _reader.Length)
        {
            throw _reader.Truncated("the elements of '{0}'", array.Key, array.ByteLength);
        }
        _reader.SeekTo(array.Offset);
        var count = (ulong)array.Count;
        CheckCount(count, GgufValueTypes.MinimumSize(array.ElementType), array.Offset, "The element count of array '{0}'", array.Key);
        return ReadArrayElements(array.ElementType, count, depth: 1, materialize: true, array.Key)!;
    }

    private void ReadMagic()
    {
        var magic = _reader.ReadBytes(4, "the magic");
        if (magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F') return;
        var printable = new StringBuilder(4);
        foreach (var b in magic) printable.Append(b >= 0x20 && b < 0x7F ? (char)b : '?');
        var found = $"'{printable}' (0x{magic[0]:X2}{magic[1]:X2}{magic[2]:X2}{magic[3]:X2})";
        throw new GgufFormatException(DiagnosticCatalog.GgufBadMagic, 0, found);
    }

    private uint ReadVersion()
    {
        var offset = _reader.Position;
        var version = _reader.ReadUInt32("the version");
        if (version is 2 or 3) return version;
        var hint = version switch
        {
            1 => "; GGUF v1 is obsolete, convert the model again with a current llama.cpp",
            _ when version != 0 && (version & 0xFFFF) == 0 => "; the file looks big-endian, which FlashMoe does not read",
            _ => string.Empty,
        };
        throw new GgufFormatException(DiagnosticCatalog.GgufUnsupportedVersion, offset, version, hint);
    }

    private GgufValue ReadValue(uint type, long typeOffset, string key, int arrayDepth)
    {
        if (!GgufValueTypes.IsDefined(type))
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, typeOffset, key,
                "unknown value type " + type.ToString(CultureInfo.InvariantCulture) + " (valid types are 0-12)");
        }
        var valueType = (GgufValueType)type;
        return valueType switch
        {
            GgufValueType.String => ReadStringValue(keep: true, key, typeOffset)!,
            GgufValueType.Array => ReadArray(typeOffset, key, arrayDepth, materializeAllowed: true),
            _ => ReadScalar(valueType, typeOffset, key),
        };
    }

    /// <summary>Reads an array's element type and count, then its elements (or skips them).</summary>
    private GgufValue ReadArray(long valueOffset, string key, int depth, bool materializeAllowed)
    {
        var level = depth + 1;
        if (level > MaxArrayNesting)
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, valueOffset, key,
                $"arrays are nested more than {MaxArrayNesting} deep");
        }
        var elementTypeOffset = _reader.Position;
        var elementType = _reader.ReadUInt32("the element type of '{0}'", key);
        if (!GgufValueTypes.IsDefined(elementType))
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, elementTypeOffset, key,
                "unknown array element type " + elementType.ToString(CultureInfo.InvariantCulture) + " (valid types are 0-12)");
        }
        var type = (GgufValueType)elementType;
        var countOffset = _reader.Position;
        var count = _reader.ReadUInt64("the element count of '{0}'", key);
        CheckCount(count, GgufValueTypes.MinimumSize(type), countOffset, "The element count of array '{0}'", key);

        var materialize = materializeAllowed
            && count <= (ulong)Math.Max(0, _options.MaxMaterializedArrayElements)
            && count <= (ulong)Math.Max(0, _options.MaxMaterializedElementsTotal - _materializedElements);
        if (materialize) _materializedElements += (long)count;
        var elementsOffset = _reader.Position;
        var elements = ReadArrayElements(type, count, level, materialize, key);
        var array = new GgufArray(key, type, (long)count, elementsOffset, _reader.Position - elementsOffset, elements);
        return GgufValue.ForArray(valueOffset, array);
    }

    private GgufValue ReadScalar(GgufValueType type, long offset, string key)
    {
        const string what = "the value of '{0}'";
        switch (type)
        {
            case GgufValueType.UInt8: return GgufValue.Unsigned(type, offset, _reader.ReadByte(what, key));
            case GgufValueType.Int8: return GgufValue.Signed(type, offset, (sbyte)_reader.ReadByte(what, key));
            case GgufValueType.UInt16: return GgufValue.Unsigned(type, offset, _reader.ReadUInt16(what, key));
            case GgufValueType.Int16: return GgufValue.Signed(type, offset, (short)_reader.ReadUInt16(what, key));
            case GgufValueType.UInt32: return GgufValue.Unsigned(type, offset, _reader.ReadUInt32(what, key));
            case GgufValueType.Int32: return GgufValue.Signed(type, offset, (int)_reader.ReadUInt32(what, key));
            case GgufValueType.UInt64: return GgufValue.Unsigned(type, offset, _reader.ReadUInt64(what, key));
            case GgufValueType.Int64: return GgufValue.Signed(type, offset, (long)_reader.ReadUInt64(what, key));
            case GgufValueType.Float32: return GgufValue.Floating(type, offset, FloatBits.ToSingle(_reader.ReadUInt32(what, key)));
            case GgufValueType.Float64: return GgufValue.Floating(type, offset, BitConverter.Int64BitsToDouble((long)_reader.ReadUInt64(what, key)));
            case GgufValueType.Bool: return GgufValue.Boolean(offset, _reader.ReadByte(what, key) != 0); // as gguf.cpp: any non-zero byte is true
            default: throw new InvalidOperationException("Not a scalar type: " + type);
        }
    }

    /// <summary>Reads a string value; keeps it when asked and not longer than the limit, else skips its bytes.</summary>
    private GgufValue? ReadStringValue(bool keep, string key, long valueOffset)
    {
        var offset = _reader.Position;
        var length = _reader.ReadUInt64("the length of a string in '{0}'", key);
        CheckCount(length, 1, offset, "The length of a string in '{0}'", key);
        if (!keep || length > (ulong)_options.MaxStringBytes)
        {
            _reader.Skip((long)length, "a string in '{0}'", key);
            return keep ? GgufValue.String(valueOffset, null, (long)length) : null;
        }
        var bytes = _reader.ReadBytes((int)length, "a string in '{0}'", key);
        var text = Decode(bytes, offset, "A string value of '{0}' is not valid UTF-8", key);
        return GgufValue.String(valueOffset, text, (long)length);
    }

    /// <summary>Reads a key or tensor name, which must be kept in memory (so it is limited, not skipped).</summary>
    private string ReadName(string what, int maxBytes, string limitReason)
    {
        var offset = _reader.Position;
        var length = _reader.ReadUInt64("the length of a {0}", what);
        CheckCount(length, 1, offset, "The length of a {0}", what);
        if (length > (ulong)maxBytes)
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidString, offset,
                $"A {what} is {length} bytes long; at most {maxBytes} are accepted ({limitReason})");
        }
        var bytes = _reader.ReadBytes((int)length, "a {0}", what);
        return Decode(bytes, offset, "A {0} is not valid UTF-8", what);
    }

    private string Decode(byte[] bytes, long offset, string invalidMessage, string subject)
    {
        if (!_options.ValidateUtf8) return LenientUtf8.GetString(bytes);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufInvalidString, offset, GgufBinaryReader.Describe(invalidMessage, subject));
        }
    }

    private int ReadAlignment(Dictionary<string, GgufValue> byKey)
    {
        if (!byKey.TryGetValue("general.alignment", out var value)) return 32;
        if (value.Type != GgufValueType.UInt32)
        {
            // gguf.cpp reads it with gguf_get_val_u32, which aborts the process on any other type.
            throw new GgufFormatException(DiagnosticCatalog.GgufBadAlignment, value.Offset,
                $"general.alignment must be a u32, found {GgufValueTypes.ShortName(value.Type)}");
        }
        value.TryGetUInt64(out var alignment);
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufBadAlignment, value.Offset,
                $"general.alignment is {alignment}, which is not a power of two");
        }
        if (alignment > MaxAlignment)
        {
            throw new GgufFormatException(DiagnosticCatalog.GgufBadAlignment, value.Offset,
                $"general.alignment is {alignment}; FlashMoe accepts at most {MaxAlignment} (1 GiB)");
        }
        return (int)alignment;
    }

    private List<PendingTensor> ReadTensorInfos(ulong tensorCount, int alignment)
    {
        var tensors = new List<PendingTensor>((int)Math.Min(tensorCount, 4096));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            var infoOffset = _reader.Position;
            var name = ReadName("tensor name", MaxTensorNameBytes - 1, "llama.cpp's GGML_MAX_NAME");
            if (!names.Add(name)) throw new GgufFormatException(DiagnosticCatalog.GgufDuplicateName, infoOffset, "tensor name", name);

            var dimsOffset = _reader.Position;
            var dimensionCount = _reader.ReadUInt32("the dimension count of '{0}'", name);
            if (dimensionCount > MaxDimensions)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufInvalidTensorShape, dimsOffset, name,
                    $"{dimensionCount} dimensions; at most {MaxDimensions} are allowed");
            }
            var dimensions = new long[dimensionCount];
            long elements = 1;
            for (var d = 0; d < dimensions.Length; d++)
            {
                var dimOffset = _reader.Position;
                var raw = _reader.ReadUInt64("a dimension of '{0}'", name);
                if (raw == 0 || raw > long.MaxValue)
                {
                    throw new GgufFormatException(DiagnosticCatalog.GgufInvalidTensorShape, dimOffset, name,
                        $"dimension {d} is {(long)raw}; every dimension must be at least 1");
                }
                dimensions[d] = (long)raw;
                if (elements > long.MaxValue / dimensions[d])
                {
                    throw new GgufFormatException(DiagnosticCatalog.GgufInvalidTensorShape, dimOffset, name,
                        "the element count overflows a 64-bit integer");
                }
                elements *= dimensions[d];
            }

            var typeOffset = _reader.Position;
            var typeId = _reader.ReadUInt32("the type of '{0}'", name);
            if (!GgmlTypeTable.TryGet(typeId, out var typeInfo))
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufUnknownGgmlType, typeOffset, name, typeId);
            }
            var rowLength = dimensions.Length > 0 ? dimensions[0] : 1;
            if (rowLength % typeInfo.BlockSize != 0)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufInvalidTensorShape, dimsOffset, name,
                    $"row length {rowLength} is not a multiple of the {typeInfo.Type} block size {typeInfo.BlockSize}");
            }
            var bytes = GgmlTypeTable.TensorBytes(typeInfo.Type, dimensions);
            if (bytes is null)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufInvalidTensorShape, dimsOffset, name,
                    "the byte size overflows a 64-bit integer");
            }

            var offsetOffset = _reader.Position;
            var dataOffset = _reader.ReadUInt64("the data offset of '{0}'", name);
            if (dataOffset % (ulong)alignment != 0)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufBadAlignment, offsetOffset,
                    $"Tensor '{name}' has data offset {dataOffset}, which is not a multiple of the alignment {alignment}");
            }
            tensors.Add(new PendingTensor(name, dimensions, typeInfo.Type, dataOffset, bytes.Value, infoOffset, offsetOffset));
        }
        return tensors;
    }

    private void CheckTensorData(List<PendingTensor> tensors, int alignment, long dataSectionBytes)
    {
        foreach (var t in tensors)
        {
            if (t.DataOffset > (ulong)dataSectionBytes || t.Bytes > dataSectionBytes - (long)t.DataOffset)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufTensorDataOutOfBounds, t.OffsetFieldOffset,
                    t.Name, t.Bytes, t.DataOffset, dataSectionBytes);
            }
        }
        if (!_options.RequirePackedTensorData) return;
        long expected = 0;
        foreach (var t in tensors)
        {
            if (t.DataOffset != (ulong)expected)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufTensorLayout, t.OffsetFieldOffset, t.Name, t.DataOffset, expected, alignment);
            }
            expected += Pad(t.Bytes, alignment); // ≤ data section + alignment: every tensor is inside the file
        }
    }

    /// <summary>
    /// Rejects a count whose elements, at their smallest, need more bytes than remain in the file (or within the
    /// header limit). Called before the count drives any loop or allocation.
    /// </summary>
    private void CheckCount(ulong count, int minimumElementBytes, long countOffset, string what, string? subject = null)
    {
        var remainingInFile = _reader.RemainingInFile;
        var remainingInHeader = Math.Max(0, _reader.HeaderLimit - _reader.Position);
        var budget = Math.Min(remainingInFile, remainingInHeader);
        if (count <= (ulong)budget / (ulong)minimumElementBytes) return;
        var needed = (decimal)count * minimumElementBytes;
        var where = remainingInFile <= remainingInHeader
            ? "in the file"
            : $"within the {_reader.HeaderLimit.ToString(CultureInfo.InvariantCulture)}-byte header limit";
        throw new GgufFormatException(DiagnosticCatalog.GgufCountExceedsFile, countOffset, GgufBinaryReader.Describe(what, subject), count, needed, budget, where);
    }

    private static long Pad(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private sealed class PendingTensor
    {
        public PendingTensor(string name, long[] dimensions, GgmlType type, ulong dataOffset, long bytes, long infoOffset, long offsetFieldOffset)
        {
            Name = name;
            Dimensions = dimensions;
            Type = type;
            DataOffset = dataOffset;
            Bytes = bytes;
            InfoOffset = infoOffset;
            OffsetFieldOffset = offsetFieldOffset;
        }

        public string Name { get; }
        public long[] Dimensions { get; }
        public GgmlType Type { get; }
        public ulong DataOffset { get; }
        public long Bytes { get; }
        public long InfoOffset { get; }
        public long OffsetFieldOffset { get; }

        // Only called after CheckTensorData, so DataOffset fits in a long.
        public GgufTensorInfo ToInfo() => new(Name, new EquatableArray<long>(Dimensions), Type, (long)DataOffset, Bytes, InfoOffset);
    }
}

/// <summary>Reinterprets the bits of a float without System.Memory (netstandard2.0 lacks Int32BitsToSingle).</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
internal struct FloatBits
{
    [System.Runtime.InteropServices.FieldOffset(0)] private uint _bits;
    [System.Runtime.InteropServices.FieldOffset(0)] private float _value;

    public static float ToSingle(uint bits) => new FloatBits { _bits = bits }._value;

    public static uint ToBits(float value) => new FloatBits { _value = value }._bits;
}
