using System;
using System.IO;

namespace FlashMoe.Gguf;

/// <summary>
/// Reads GGUF v2/v3 headers — metadata and tensor infos — and never the tensor data. Malformed input raises
/// <see cref="GgufFormatException"/> with an FM01xx ID and the byte offset.
/// </summary>
public static class GgufReader
{
    /// <summary>Reads the header of the file at <paramref name="path"/> (shared read, sequential, no data read).</summary>
    /// <exception cref="GgufFormatException">The header is malformed.</exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public static GgufFile Read(string path, GgufReadOptions? options = null)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        using var stream = OpenHeaderStream(path);
        return Read(stream, stream.Length, options, path);
    }

    /// <summary>
    /// Reads a header from <paramref name="stream"/>; offsets count from the stream's current position.
    /// <paramref name="fileLength"/> defaults to the rest of a seekable stream and must be given otherwise.
    /// Large arrays and tensor data are skipped by seeking when the stream can seek, else read and discarded.
    /// </summary>
    /// <exception cref="GgufFormatException">The header is malformed.</exception>
    public static GgufFile Read(Stream stream, long? fileLength = null, GgufReadOptions? options = null) =>
        Read(stream, fileLength, options, sourcePath: null);

    /// <summary>Reads the header of the file at <paramref name="path"/> and builds its <see cref="ModelSummary"/>.</summary>
    /// <exception cref="GgufFormatException">The header is malformed or a hyper-parameter is invalid.</exception>
    public static ModelSummary ReadSummary(string path, GgufReadOptions? options = null) => Read(path, options).ToSummary();

    /// <summary>Opens a file for header reading: shared read, sequential, no FileStream buffer (the reader has its own).</summary>
    internal static FileStream OpenHeaderStream(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);

    private static GgufFile Read(Stream stream, long? fileLength, GgufReadOptions? options, string? sourcePath)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        if (!stream.CanRead) throw new ArgumentException("The stream cannot be read.", nameof(stream));
        var origin = stream.CanSeek ? stream.Position : 0;
        long length;
        if (fileLength is { } given)
        {
            if (given < 0) throw new ArgumentOutOfRangeException(nameof(fileLength), given, "The file length cannot be negative.");
            length = given;
        }
        else if (stream.CanSeek)
        {
            length = stream.Length - origin;
        }
        else
        {
            throw new ArgumentException("A stream that cannot seek needs an explicit file length.", nameof(fileLength));
        }

        var opts = options ?? GgufReadOptions.Default;
        var reader = new GgufBinaryReader(stream, origin, length, opts.BufferSize, Math.Max(0, opts.MaxHeaderBytes));
        return new GgufHeaderParser(reader, opts).ParseFile(sourcePath);
    }
}
