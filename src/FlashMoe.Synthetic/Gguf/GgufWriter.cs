using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using FlashMoe.Gguf;

namespace FlashMoe.Synthetic.Gguf;

/// <summary>One tensor as the writer lays it out.</summary>
/// <param name="Name">Tensor name, e.g. <c>blk.0.ffn_up_exps.weight</c>.</param>
/// <param name="Type">Storage type.</param>
/// <param name="Dimensions">Shape, ne0 (row length) first.</param>
/// <param name="Offset">Offset relative to the data section; a multiple of the alignment.</param>
/// <param name="Bytes">Size of the data in bytes (from <see cref="GgmlTypeTable"/>), without padding.</param>
public sealed record GgufTensorLayout(string Name, GgmlType Type, EquatableArray<long> Dimensions, long Offset, long Bytes);

/// <summary>
/// Streaming GGUF (v2/v3) writer. Phase 1: add metadata and tensor infos (the layout, <see cref="DataOffset"/> and
/// <see cref="FileLength"/> are known from then on). Phase 2: <see cref="WriteHeader"/>. Phase 3: tensor data, in the
/// order the tensors were added, through <see cref="WriteTensorData"/> (any chunking) or <see cref="SkipTensorData"/>
/// (file holes). Phase 4: <see cref="Finish"/>. Only the header is held in memory; tensor data passes straight through,
/// so a multi-GB file is written in constant memory.
/// </summary>
public sealed class GgufWriter : IDisposable
{
    /// <summary>"GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>llama.cpp's alignment when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>The key that sets the alignment.</summary>
    public const string AlignmentKey = "general.alignment";

    private static readonly byte[] Zeros = new byte[256];

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly long _start;
    private readonly List<KeyValuePair<string, GgufMetadataValue>> _metadata = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<GgufTensorLayout> _tensors = new();
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);
    private long _nextOffset;
    private Phase _phase = Phase.Layout;
    private int _tensorIndex;
    private long _doneInTensor;

    private enum Phase { Layout, Data, Finished }

    /// <summary>Creates a writer on <paramref name="output"/>, starting at its current position.</summary>
    /// <param name="output">Destination; must be writable. Holes (<see cref="SkipTensorData"/>) need a seekable stream.</param>
    /// <param name="alignment">Data alignment (a power of two); written as <c>general.alignment</c> only if the caller adds the key.</param>
    /// <param name="version">GGUF version, 2 or 3 (same little-endian layout).</param>
    /// <param name="leaveOpen">Leave <paramref name="output"/> open on dispose.</param>
    public GgufWriter(Stream output, int alignment = DefaultAlignment, uint version = 3, bool leaveOpen = false)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        if (!output.CanWrite) throw new ArgumentException("The stream must be writable.", nameof(output));
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a positive power of two.");
        if (version is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(version), version, "Only GGUF v2 and v3 are written.");
        Alignment = alignment;
        Version = version;
        _leaveOpen = leaveOpen;
        _start = output.CanSeek ? output.Position : 0;
    }

    /// <summary>Data alignment in bytes.</summary>
    public int Alignment { get; }

    /// <summary>GGUF version written.</summary>
    public uint Version { get; }

    /// <summary>Tensors in file order, with their offsets.</summary>
    public IReadOnlyList<GgufTensorLayout> Tensors => _tensors;

    /// <summary>Number of metadata key/value pairs.</summary>
    public int MetadataCount => _metadata.Count;

    /// <summary>Bytes of the header (magic … last tensor info), before the alignment padding.</summary>
    public long HeaderBytes
    {
        get
        {
            long bytes = 4 + 4 + 8 + 8;
            foreach (var pair in _metadata) bytes += GgufMetadataValue.StringBytes(pair.Key) + 4 + pair.Value.EncodedBytes;
            foreach (var tensor in _tensors) bytes += GgufMetadataValue.StringBytes(tensor.Name) + 4 + 8L * tensor.Dimensions.Count + 4 + 8;
            return bytes;
        }
    }

    /// <summary>Offset of the data section: <see cref="HeaderBytes"/> padded to <see cref="Alignment"/>.</summary>
    public long DataOffset => Align(HeaderBytes, Alignment);

    /// <summary>Bytes of the data section: every tensor padded to <see cref="Alignment"/>.</summary>
    public long DataBytes => _nextOffset;

    /// <summary>Length of the finished file: <see cref="DataOffset"/> + <see cref="DataBytes"/>.</summary>
    public long FileLength => DataOffset + DataBytes;

    /// <summary>The tensor whose data is expected next, or null before the header or after the last tensor.</summary>
    public GgufTensorLayout? CurrentTensor => _phase == Phase.Data && _tensorIndex < _tensors.Count ? _tensors[_tensorIndex] : null;

    /// <summary>Rounds <paramref name="value"/> up to a multiple of <paramref name="alignment"/>.</summary>
    public static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    /// <summary>Adds a metadata key/value pair (keys are unique, written in the order added).</summary>
    public void AddMetadata(string key, GgufMetadataValue value)
    {
        EnsurePhase(Phase.Layout, nameof(AddMetadata));
        if (string.IsNullOrEmpty(key)) throw new ArgumentException("A metadata key cannot be empty.", nameof(key));
        if (value is null) throw new ArgumentNullException(nameof(value));
        if (!_keys.Add(key)) throw new ArgumentException($"Duplicate metadata key '{key}'.", nameof(key));
        if (key == AlignmentKey && (value.Type != GgufValueType.UInt32 || value.ToString() != Alignment.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            _keys.Remove(key);
            throw new ArgumentException($"'{AlignmentKey}' must be a u32 equal to the writer's alignment ({Alignment}).", nameof(value));
        }
        _metadata.Add(new KeyValuePair<string, GgufMetadataValue>(key, value));
    }

    /// <summary>Adds a tensor info; its data follows in the data phase, in the order tensors were added.</summary>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="type">Storage type.</param>
    /// <param name="dimensions">Shape, ne0 (row length) first; 1 to 4 dimensions, ne0 a multiple of the type's block size.</param>
    public GgufTensorLayout AddTensor(string name, GgmlType type, params long[] dimensions)
    {
        EnsurePhase(Phase.Layout, nameof(AddTensor));
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("A tensor name cannot be empty.", nameof(name));
        if (dimensions is null || dimensions.Length is < 1 or > 4) throw new ArgumentException("A tensor has 1 to 4 dimensions.", nameof(dimensions));
        foreach (var d in dimensions)
        {
            if (d <= 0) throw new ArgumentException($"Tensor '{name}': every dimension must be positive.", nameof(dimensions));
        }
        var bytes = GgmlTypeTable.TensorBytes(type, dimensions)
            ?? throw new ArgumentException($"Tensor '{name}': row length {dimensions[0]} is not a multiple of {type}'s block size {GgmlTypeTable.Get(type).BlockSize}, or the size overflows.", nameof(dimensions));
        if (bytes > long.MaxValue - _nextOffset - Alignment) throw new ArgumentException($"Tensor '{name}': the data section would exceed 2^63 bytes.", nameof(dimensions));
        if (!_tensorNames.Add(name)) throw new ArgumentException($"Duplicate tensor name '{name}'.", nameof(name));
        var layout = new GgufTensorLayout(name, type, new EquatableArray<long>(dimensions), _nextOffset, bytes);
        _tensors.Add(layout);
        _nextOffset += Align(bytes, Alignment);
        return layout;
    }

    /// <summary>Writes magic, version, counts, metadata, tensor infos and the padding up to <see cref="DataOffset"/>.</summary>
    public void WriteHeader()
    {
        EnsurePhase(Phase.Layout, nameof(WriteHeader));
        // BinaryWriter is little-endian on every platform, as GGUF requires.
        using (var writer = new BinaryWriter(_output, new UTF8Encoding(false), leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write((ulong)_tensors.Count);
            writer.Write((ulong)_metadata.Count);
            foreach (var pair in _metadata)
            {
                GgufMetadataValue.WriteString(writer, pair.Key);
                writer.Write((uint)pair.Value.Type);
                pair.Value.WritePayload(writer);
            }
            foreach (var tensor in _tensors)
            {
                GgufMetadataValue.WriteString(writer, tensor.Name);
                writer.Write((uint)tensor.Dimensions.Count);
                foreach (var d in tensor.Dimensions) writer.Write((ulong)d);
                writer.Write((uint)tensor.Type);
                writer.Write((ulong)tensor.Offset);
            }
            writer.Flush();
        }
        var headerBytes = HeaderBytes;
        // The offsets were laid out from HeaderBytes; a mismatch would silently corrupt every tensor.
        if (_output.CanSeek && _output.Position - _start != headerBytes)
        {
            throw new InvalidOperationException($"Header is {_output.Position - _start} bytes, laid out as {headerBytes}.");
        }
        WriteZeros(DataOffset - headerBytes);
        _phase = Phase.Data;
        _tensorIndex = 0;
        _doneInTensor = 0;
    }

    /// <summary>
    /// Appends data for the current tensor; a chunk may span tensor boundaries. The alignment padding after each
    /// tensor is written automatically.
    /// </summary>
    public void WriteTensorData(byte[] buffer, int offset, int count)
    {
        EnsurePhase(Phase.Data, nameof(WriteTensorData));
        if (buffer is null) throw new ArgumentNullException(nameof(buffer));
        if (offset < 0 || count < 0 || offset > buffer.Length - count) throw new ArgumentOutOfRangeException(nameof(count));
        while (count > 0)
        {
            var take = (int)Math.Min(count, TakeForCurrent(count));
            _output.Write(buffer, offset, take);
            offset += take;
            count -= take;
            Advance(take, hole: false);
        }
    }

    /// <summary>
    /// Leaves <paramref name="count"/> bytes of tensor data as a file hole (the stream must be seekable). On Linux/macOS
    /// file systems the skipped range costs no disk blocks and reads as zeros.
    /// </summary>
    public void SkipTensorData(long count)
    {
        EnsurePhase(Phase.Data, nameof(SkipTensorData));
        if (!_output.CanSeek) throw new InvalidOperationException("Skipping tensor data (sparse files) needs a seekable stream.");
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        while (count > 0)
        {
            var take = TakeForCurrent(count);
            _output.Seek(take, SeekOrigin.Current);
            count -= take;
            Advance(take, hole: true);
        }
    }

    /// <summary>Leaves the data of every remaining tensor as holes.</summary>
    public void SkipAllRemainingTensorData()
    {
        EnsurePhase(Phase.Data, nameof(SkipAllRemainingTensorData));
        while (_tensorIndex < _tensors.Count) SkipTensorData(_tensors[_tensorIndex].Bytes - _doneInTensor);
    }

    /// <summary>Checks every tensor got its data, sets the stream length (holes at the end need it) and flushes.</summary>
    public void Finish()
    {
        EnsurePhase(Phase.Data, nameof(Finish));
        if (_tensorIndex < _tensors.Count)
        {
            var tensor = _tensors[_tensorIndex];
            throw new InvalidOperationException($"Tensor '{tensor.Name}' got {_doneInTensor} of {tensor.Bytes} bytes; {_tensors.Count - _tensorIndex} tensor(s) incomplete.");
        }
        if (_output.CanSeek && _output.Length != _start + FileLength) _output.SetLength(_start + FileLength);
        _output.Flush();
        _phase = Phase.Finished;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen) _output.Dispose();
    }

    private long TakeForCurrent(long wanted)
    {
        if (_tensorIndex >= _tensors.Count) throw new InvalidOperationException("More tensor data than the tensors declared.");
        return Math.Min(wanted, _tensors[_tensorIndex].Bytes - _doneInTensor);
    }

    private void Advance(long bytes, bool hole)
    {
        _doneInTensor += bytes;
        var tensor = _tensors[_tensorIndex];
        if (_doneInTensor < tensor.Bytes) return;
        var padding = PaddingOf(tensor);
        if (hole) _output.Seek(padding, SeekOrigin.Current);
        else WriteZeros(padding);
        _tensorIndex++;
        _doneInTensor = 0;
    }

    private long PaddingOf(GgufTensorLayout tensor) => Align(tensor.Bytes, Alignment) - tensor.Bytes;

    private void WriteZeros(long count)
    {
        while (count > 0)
        {
            var n = (int)Math.Min(count, Zeros.Length);
            _output.Write(Zeros, 0, n);
            count -= n;
        }
    }

    private void EnsurePhase(Phase expected, string operation)
    {
        if (_phase != expected) throw new InvalidOperationException($"{operation} is not allowed {(_phase == Phase.Layout ? "before WriteHeader" : _phase == Phase.Data ? "after WriteHeader" : "after Finish")}.");
    }
}
