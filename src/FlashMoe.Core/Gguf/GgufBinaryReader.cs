using System;
using System.IO;
using FlashMoe.Diagnostics;

namespace FlashMoe.Gguf;

/// <summary>
/// Little-endian reader over a stream with its own small buffer. Hand-written because Core targets
/// netstandard2.0 without System.Memory (no BinaryPrimitives/Span), and BinaryReader neither reports file offsets
/// nor skips by seeking. Skips seek forward, so skipped bytes (large arrays, tensor data) are never read.
/// Positions are file offsets: 0 is where the stream stood when the reader was created.
/// </summary>
internal sealed class GgufBinaryReader
{
    private readonly Stream _stream;
    private readonly long _origin;
    private readonly byte[] _buffer;
    private long _bufferStart; // file offset of _buffer[0]
    private int _bufferPos;
    private int _bufferLength;

    public GgufBinaryReader(Stream stream, long origin, long length, int bufferSize, long headerLimit)
    {
        _stream = stream;
        _origin = origin;
        Length = length;
        HeaderLimit = headerLimit;
        _buffer = new byte[Math.Max(16, bufferSize)];
    }

    /// <summary>Length of the file in bytes.</summary>
    public long Length { get; }

    /// <summary>Offset past which the header may not extend.</summary>
    public long HeaderLimit { get; }

    /// <summary>Current file offset.</summary>
    public long Position => _bufferStart + _bufferPos;

    /// <summary>Bytes left in the file after <see cref="Position"/>.</summary>
    public long RemainingInFile => Math.Max(0, Length - Position);

    /// <summary>Bytes actually read from the stream so far (skipped bytes are not read).</summary>
    public long BytesRead { get; private set; }

    public byte ReadByte(string what, string? subject = null)
    {
        Ensure(1, what, subject);
        return _buffer[_bufferPos++];
    }

    public ushort ReadUInt16(string what, string? subject = null)
    {
        Ensure(2, what, subject);
        var value = (ushort)(_buffer[_bufferPos] | (_buffer[_bufferPos + 1] << 8));
        _bufferPos += 2;
        return value;
    }

    public uint ReadUInt32(string what, string? subject = null)
    {
        Ensure(4, what, subject);
        var b = _buffer;
        var p = _bufferPos;
        var value = b[p] | ((uint)b[p + 1] << 8) | ((uint)b[p + 2] << 16) | ((uint)b[p + 3] << 24);
        _bufferPos += 4;
        return value;
    }

    public ulong ReadUInt64(string what, string? subject = null)
    {
        Ensure(8, what, subject);
        var b = _buffer;
        var p = _bufferPos;
        var low = b[p] | ((uint)b[p + 1] << 8) | ((uint)b[p + 2] << 16) | ((uint)b[p + 3] << 24);
        var high = b[p + 4] | ((uint)b[p + 5] << 8) | ((uint)b[p + 6] << 16) | ((uint)b[p + 7] << 24);
        _bufferPos += 8;
        return low | ((ulong)high << 32);
    }

    /// <summary>Reads <paramref name="count"/> bytes; the caller has checked the count against the remaining file.</summary>
    public byte[] ReadBytes(int count, string what, string? subject = null)
    {
        if (count > RemainingInFile) throw Truncated(what, subject, count);
        var result = new byte[count];
        var done = 0;
        while (done < count)
        {
            if (_bufferPos == _bufferLength) Fill(1, what, subject);
            var chunk = Math.Min(count - done, _bufferLength - _bufferPos);
            Buffer.BlockCopy(_buffer, _bufferPos, result, done, chunk);
            _bufferPos += chunk;
            done += chunk;
        }
        return result;
    }

    /// <summary>Moves forward <paramref name="count"/> bytes without reading them when the stream can seek.</summary>
    public void Skip(long count, string what, string? subject = null)
    {
        if (count < 0 || count > RemainingInFile) throw Truncated(what, subject, count);
        if (count <= _bufferLength - _bufferPos)
        {
            _bufferPos += (int)count;
            return;
        }
        SeekTo(Position + count);
    }

    /// <summary>Moves to an absolute file offset.</summary>
    public void SeekTo(long position)
    {
        if (position >= _bufferStart && position <= _bufferStart + _bufferLength)
        {
            _bufferPos = (int)(position - _bufferStart);
            return;
        }
        var streamPosition = _bufferStart + _bufferLength; // where the stream stands, relative to _origin
        _bufferStart = position;
        _bufferPos = 0;
        _bufferLength = 0;
        if (_stream.CanSeek)
        {
            _stream.Seek(_origin + position, SeekOrigin.Begin);
            return;
        }
        if (position < streamPosition) throw new NotSupportedException("Cannot move backwards in a stream that cannot seek.");
        // Forward-only stream: read and discard; bounded because the caller checked the count against the file.
        var toDiscard = position - streamPosition;
        while (toDiscard > 0)
        {
            var read = _stream.Read(_buffer, 0, (int)Math.Min(_buffer.Length, toDiscard));
            if (read <= 0) throw Truncated("skipped data", null, toDiscard);
            BytesRead += read;
            toDiscard -= read;
        }
    }

    /// <summary>
    /// The FM0103 error for a read at the current position. <paramref name="what"/> is a constant description that
    /// may hold <c>{0}</c> for <paramref name="subject"/> (a key or tensor name): the message is only composed when
    /// thrown, so the hot path allocates nothing.
    /// </summary>
    public GgufFormatException Truncated(string what, string? subject, long needed) =>
        new(DiagnosticCatalog.GgufTruncated, Position, Describe(what, subject), needed, RemainingInFile);

    public static string Describe(string what, string? subject) =>
        subject is null ? what : string.Format(System.Globalization.CultureInfo.InvariantCulture, what, subject);

    private void Ensure(int count, string what, string? subject)
    {
        if (_bufferLength - _bufferPos >= count) return;
        if (count > RemainingInFile) throw Truncated(what, subject, count);
        Fill(count, what, subject);
    }

    /// <summary>Keeps the unread bytes and reads until at least <paramref name="count"/> are buffered.</summary>
    private void Fill(int count, string what, string? subject)
    {
        var unread = _bufferLength - _bufferPos;
        if (unread > 0 && _bufferPos > 0) Buffer.BlockCopy(_buffer, _bufferPos, _buffer, 0, unread);
        _bufferStart += _bufferPos;
        _bufferPos = 0;
        _bufferLength = unread;
        // Never read past the declared file length, so a stream longer than `length` behaves like the file. The
        // buffer now starts at the first unread byte, so the file's rest from there already includes the unread bytes.
        var wanted = (int)Math.Min(_buffer.Length, Math.Max(0, Length - _bufferStart));
        while (_bufferLength < count)
        {
            var read = _stream.Read(_buffer, _bufferLength, wanted - _bufferLength);
            if (read <= 0)
            {
                // The stream ended before the declared length: the file is shorter than it claimed.
                throw new GgufFormatException(DiagnosticCatalog.GgufTruncated, _bufferStart + _bufferLength, Describe(what, subject), count - _bufferLength, 0);
            }
            BytesRead += read;
            _bufferLength += read;
        }
    }
}
