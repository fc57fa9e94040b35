using System;
using System.Collections.Generic;

namespace FlashMoe.Gguf;

/// <summary>One tensor info record of a GGUF header.</summary>
/// <param name="Name">Tensor name, e.g. <c>blk.3.ffn_up_exps.weight</c>.</param>
/// <param name="Dimensions">Shape, ne0 (row length) first, as stored.</param>
/// <param name="Type">Storage type.</param>
/// <param name="Offset">Offset of the data relative to the data section (<see cref="GgufFile.DataOffset"/>).</param>
/// <param name="Bytes">Size of the data in bytes.</param>
/// <param name="InfoOffset">Byte offset in the file where this tensor info record starts.</param>
public sealed record GgufTensorInfo(string Name, EquatableArray<long> Dimensions, GgmlType Type, long Offset, long Bytes, long InfoOffset)
{
    /// <summary>Number of elements (product of the dimensions; validated not to overflow).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dimensions) n *= d;
            return n;
        }
    }
}

/// <summary>
/// A GGUF header as read by <see cref="GgufReader"/>: version, metadata, tensor infos and the layout figures.
/// Holds no tensor data; large arrays are described, not loaded (see <see cref="GgufArray"/>).
/// </summary>
public sealed class GgufFile
{
    private readonly Dictionary<string, GgufValue> _metadata;
    private Dictionary<string, GgufTensorInfo>? _tensorsByName;

    internal GgufFile(
        uint version,
        IReadOnlyList<GgufMetadataEntry> entries,
        Dictionary<string, GgufValue> metadata,
        IReadOnlyList<GgufTensorInfo> tensors,
        int alignment,
        long headerBytes,
        long dataOffset,
        long fileLength,
        long bytesRead,
        string? sourcePath)
    {
        Version = version;
        MetadataEntries = entries;
        _metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        HeaderBytes = headerBytes;
        DataOffset = dataOffset;
        FileLength = fileLength;
        BytesRead = bytesRead;
        SourcePath = sourcePath;
    }

    /// <summary>GGUF version: 2 or 3.</summary>
    public uint Version { get; }

    /// <summary>Number of tensors.</summary>
    public int TensorCount => Tensors.Count;

    /// <summary>Metadata in header order.</summary>
    public IReadOnlyList<GgufMetadataEntry> MetadataEntries { get; }

    /// <summary>Metadata by key.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata => _metadata;

    /// <summary>Tensor infos in header order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary><c>general.alignment</c>, or 32 when absent.</summary>
    public int Alignment { get; }

    /// <summary>Bytes of the header (magic to the end of the last tensor info), before alignment padding.</summary>
    public long HeaderBytes { get; }

    /// <summary>Offset of the data section: <see cref="HeaderBytes"/> padded to <see cref="Alignment"/>.</summary>
    public long DataOffset { get; }

    /// <summary>Length of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Bytes the reader actually read from the stream (skipped arrays and tensor data are not read).</summary>
    public long BytesRead { get; }

    /// <summary>The path the header was read from, when read from a path.</summary>
    public string? SourcePath { get; }

    /// <summary>Total bytes of all tensors.</summary>
    public long TensorBytes
    {
        get
        {
            long total = 0;
            foreach (var t in Tensors) total = SaturatingAdd(total, t.Bytes);
            return total;
        }
    }

    /// <summary>Gets a metadata value by key.</summary>
    public bool TryGetValue(string key, out GgufValue value)
    {
        if (_metadata.TryGetValue(key, out var found))
        {
            value = found;
            return true;
        }
        value = null!;
        return false;
    }

    /// <summary>True when the key exists.</summary>
    public bool ContainsKey(string key) => _metadata.ContainsKey(key);

    /// <summary>Gets a non-negative integer value of any integer type.</summary>
    public bool TryGetUInt64(string key, out ulong value)
    {
        value = 0;
        return _metadata.TryGetValue(key, out var v) && v.TryGetUInt64(out value);
    }

    /// <summary>Gets an integer value of any integer type that fits in a <see cref="long"/>.</summary>
    public bool TryGetInt64(string key, out long value)
    {
        value = 0;
        return _metadata.TryGetValue(key, out var v) && v.TryGetInt64(out value);
    }

    /// <summary>Gets an integer value of any integer type that fits in an <see cref="int"/>.</summary>
    public bool TryGetInt32(string key, out int value)
    {
        value = 0;
        return _metadata.TryGetValue(key, out var v) && v.TryGetInt32(out value);
    }

    /// <summary>Gets a float or integer value as <see cref="double"/>.</summary>
    public bool TryGetDouble(string key, out double value)
    {
        value = 0;
        return _metadata.TryGetValue(key, out var v) && v.TryGetDouble(out value);
    }

    /// <summary>Gets a bool value.</summary>
    public bool TryGetBoolean(string key, out bool value)
    {
        value = false;
        return _metadata.TryGetValue(key, out var v) && v.TryGetBoolean(out value);
    }

    /// <summary>Gets a string value (false when absent, not a string, or skipped for its length).</summary>
    public bool TryGetString(string key, out string value)
    {
        value = string.Empty;
        return _metadata.TryGetValue(key, out var v) && v.TryGetString(out value);
    }

    /// <summary>Gets an array value (materialised or not; see <see cref="GgufArray.IsMaterialized"/>).</summary>
    public bool TryGetArray(string key, out GgufArray array)
    {
        if (_metadata.TryGetValue(key, out var v) && v.Array is { } found)
        {
            array = found;
            return true;
        }
        array = null!;
        return false;
    }

    /// <summary>Finds a tensor by name.</summary>
    public bool TryGetTensor(string name, out GgufTensorInfo tensor)
    {
        _tensorsByName ??= BuildTensorIndex();
        if (_tensorsByName.TryGetValue(name, out var found))
        {
            tensor = found;
            return true;
        }
        tensor = null!;
        return false;
    }

    /// <summary>Absolute file offset of a tensor's data.</summary>
    public long TensorDataFileOffset(GgufTensorInfo tensor)
    {
        if (tensor is null) throw new ArgumentNullException(nameof(tensor));
        return DataOffset + tensor.Offset;
    }

    /// <summary>Builds the <see cref="ModelSummary"/> of this header.</summary>
    /// <exception cref="GgufFormatException">A hyper-parameter has the wrong type or is out of range (FM0110).</exception>
    public ModelSummary ToSummary() => ModelSummaryBuilder.Build(this);

    internal static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private Dictionary<string, GgufTensorInfo> BuildTensorIndex()
    {
        var index = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        foreach (var t in Tensors) index[t.Name] = t;
        return index;
    }
}
