using System;
using System.IO;

namespace FlashMoe.Gguf;

/// <summary>
/// Reads GGUF v2/v3 headers — metadata and tensor infos — and never the tensor data. Malformed input raises
/// <see cref="GgufFormatException"/> with an FM01xx ID and the byte offset.
/// </summary>
public static class GgufReader
{
    /// <summary>
    /// Reads the header of the file at <paramref name="path"/> (shared read, sequential, no data read). Only a regular
    /// file is read: a FIFO, device or other special file is refused before it is opened.
    /// </summary>
    /// <exception cref="GgufFormatException">The header is malformed.</exception>
    /// <exception cref="IOException">The file cannot be opened or read, or is not a regular file.</exception>
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

    /// <summary>
    /// Opens a file for header reading: shared read, sequential, no FileStream buffer (the reader has its own). Only a
    /// regular file is opened: a FIFO would block the open until some writer appears, and a terminal or pipe the first
    /// read — a build must fail with a message instead of hanging.
    /// </summary>
    /// <exception cref="IOException">The path is not a regular file, or cannot be opened.</exception>
    internal static FileStream OpenHeaderStream(string path)
    {
        RequireRegularFile(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            throw new IOException($"'{path}' is not a regular file (it cannot seek: a pipe, FIFO or terminal); a GGUF model is a regular file");
        }
        return stream;
    }

    /// <summary>
    /// Refuses, before opening, a path that cannot be a regular GGUF file. netstandard2.0 exposes no file type, but every
    /// special file — FIFO, character or block device, procfs entry — reports a size of 0, and no GGUF file is empty, so
    /// the size of the file a path finally leads to (symbolic links followed) tells them apart without the open that
    /// would block on a FIFO.
    /// </summary>
    private static void RequireRegularFile(string path)
    {
        var info = new FileInfo(path);
        if ((info.Attributes & FileAttributes.ReparsePoint) != 0)
        {
            var target = FinalLinkTarget(info);
            // Without link resolution (.NET Framework) the link's own size says nothing: Windows reports 0 for a file
            // symlink, and has no FIFOs in the file system to guard against.
            if (target is null) return;
            if (!target.Exists || (target.Attributes & FileAttributes.Directory) != 0)
            {
                throw new FileNotFoundException($"'{path}' leads to '{target.FullName}', which is not a regular file", path);
            }
            info = target;
        }
        if (info.Exists && info.Length == 0)
        {
            throw new IOException($"'{path}' reports a size of 0 bytes: it is empty or not a regular file (a FIFO, a device, a /proc file); a GGUF model is a regular file");
        }
    }

    /// <summary>
    /// The file a link finally leads to, through <c>FileSystemInfo.ResolveLinkTarget(true)</c> (.NET 6+, found by
    /// reflection because Core targets netstandard2.0); null where that API does not exist.
    /// </summary>
    private static FileInfo? FinalLinkTarget(FileInfo link)
    {
        var resolve = typeof(FileSystemInfo).GetMethod("ResolveLinkTarget", new[] { typeof(bool) });
        if (resolve is null) return null;
        object? target;
        try
        {
            target = resolve.Invoke(link, new object[] { true });
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            // The API's own exception (IOException for a link loop, UnauthorizedAccessException …), as a direct call throws it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        return target is FileSystemInfo final ? new FileInfo(final.FullName) : link;
    }

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
