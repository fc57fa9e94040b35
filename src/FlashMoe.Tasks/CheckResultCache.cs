using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace FlashMoe.Tasks;

/// <summary>One logged diagnostic as MSBuild received it, kept so an unchanged build can log it again.</summary>
internal sealed record LoggedDiagnostic(char Severity, string Code, string? File, int Line, int Column, int EndLine, int EndColumn, string Message)
{
    internal const char Error = 'E', Warning = 'W', Info = 'M';
}

/// <summary>A file the result depends on, by what can be checked without reading it whole.</summary>
internal sealed record FileIdentity(string Path, bool Exists, long Length, long LastWriteTicks, string Fingerprint)
{
    /// <summary>Bytes hashed from the start of a model file: the GGUF magic, counts and first metadata.</summary>
    internal const int FingerprintBytes = 64 * 1024;

    /// <summary>
    /// The file's identity now: existence, size, last write time and a SHA-256 of its first
    /// <see cref="FingerprintBytes"/> (a cheap guard against a header rewritten in place with its size and time kept).
    /// </summary>
    internal static FileIdentity Of(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) return new FileIdentity(path, false, 0, 0, string.Empty);
            // Nothing to hash, and a FIFO or device (which reports size 0) would block the open until a writer appears.
            if (info.Length == 0) return new FileIdentity(path, true, 0, info.LastWriteTimeUtc.Ticks, string.Empty);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            var buffer = new byte[(int)Math.Min(FingerprintBytes, info.Length)];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = stream.Read(buffer, read, buffer.Length - read)) > 0) read += n;
            return new FileIdentity(path, true, info.Length, info.LastWriteTimeUtc.Ticks, CheckResultCache.Sha256(buffer, read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            // Unreadable now: an identity no recorded one equals, so the check runs and reports it.
            return new FileIdentity(path, true, -1, -1, "unreadable: " + e.GetType().Name);
        }
    }
}

/// <summary>
/// The result of the last check, in obj: what it depended on and what it logged. An unchanged build (same task and
/// Core builds, same task parameters, same profile file bytes, same model files by identity, plan and pictures still there)
/// logs the same diagnostics again — with their codes and locations, so NoWarn / WarningsAsErrors apply as before —
/// without parsing, reading headers or planning. Anything unreadable or different is a miss, never an error.
/// </summary>
internal sealed class CheckResultCache
{
    private const string Magic = "FlashMoe.CheckResultCache";
    private const int FormatVersion = 2;

    /// <summary>Everything besides files that decides the result: build identities of the code and the task's parameters.</summary>
    internal string Key { get; set; } = string.Empty;

    /// <summary>Profile files by full path with the SHA-256 of their bytes.</summary>
    internal List<(string Path, string Hash)> ProfileFiles { get; } = new();

    /// <summary>Every model path the check looked at (found or not).</summary>
    internal List<FileIdentity> ModelFiles { get; } = new();

    /// <summary>The files the check wrote (plan, pictures): each must still be there, unchanged.</summary>
    internal List<FileIdentity> OutputFiles { get; } = new();

    /// <summary>What the check logged, in order.</summary>
    internal List<LoggedDiagnostic> Diagnostics { get; } = new();

    /// <summary>The check's closing summary line.</summary>
    internal string Summary { get; set; } = string.Empty;

    internal static string Sha256(byte[] bytes, int count)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(bytes, 0, count);
        var text = new StringBuilder(hash.Length * 2);
        foreach (var b in hash) text.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return text.ToString();
    }

    /// <summary>The cache at <paramref name="path"/>, or null when absent, unreadable or of another format.</summary>
    internal static CheckResultCache? TryRead(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (reader.ReadString() != Magic || reader.ReadInt32() != FormatVersion) return null;
            var cache = new CheckResultCache { Key = reader.ReadString(), Summary = reader.ReadString() };
            for (var i = ReadCount(reader); i > 0; i--) cache.ProfileFiles.Add((reader.ReadString(), reader.ReadString()));
            for (var i = ReadCount(reader); i > 0; i--) cache.ModelFiles.Add(ReadIdentity(reader));
            for (var i = ReadCount(reader); i > 0; i--) cache.OutputFiles.Add(ReadIdentity(reader));
            for (var i = ReadCount(reader); i > 0; i--)
            {
                cache.Diagnostics.Add(new LoggedDiagnostic(reader.ReadChar(), reader.ReadString(), reader.ReadBoolean() ? reader.ReadString() : null,
                    reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadString()));
            }
            return cache;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException
                                       or ArgumentException or NotSupportedException or InvalidDataException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Writes the cache; a failure only costs the next build a full check.</summary>
    internal bool TryWrite(string path)
    {
        try
        {
            var directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            using var writer = new BinaryWriter(File.Create(path), new UTF8Encoding(false));
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Key);
            writer.Write(Summary);
            writer.Write(ProfileFiles.Count);
            foreach (var (file, hash) in ProfileFiles)
            {
                writer.Write(file);
                writer.Write(hash);
            }
            writer.Write(ModelFiles.Count);
            foreach (var model in ModelFiles) WriteIdentity(writer, model);
            writer.Write(OutputFiles.Count);
            foreach (var output in OutputFiles) WriteIdentity(writer, output);
            writer.Write(Diagnostics.Count);
            foreach (var d in Diagnostics)
            {
                writer.Write(d.Severity);
                writer.Write(d.Code);
                writer.Write(d.File is not null);
                if (d.File is not null) writer.Write(d.File);
                writer.Write(d.Line);
                writer.Write(d.Column);
                writer.Write(d.EndLine);
                writer.Write(d.EndColumn);
                writer.Write(d.Message);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether this recorded result still holds: same key, the same profile files with the same bytes
    /// (<paramref name="currentProfileHashes"/>, in order), every model path and written file with the same identity.
    /// </summary>
    internal bool Matches(string key, IReadOnlyList<(string Path, string Hash)> currentProfileHashes)
    {
        return string.Equals(Key, key, StringComparison.Ordinal) && SameHashes(ProfileFiles, currentProfileHashes)
               && Unchanged(ModelFiles) && Unchanged(OutputFiles);
    }

    /// <summary>Whether two lists of files with their hashes are the same files, in the same order, with the same hashes.</summary>
    internal static bool SameHashes(IReadOnlyList<(string Path, string Hash)> recorded, IReadOnlyList<(string Path, string Hash)> current)
    {
        if (recorded.Count != current.Count) return false;
        for (var i = 0; i < recorded.Count; i++)
        {
            if (!string.Equals(recorded[i].Path, current[i].Path, StringComparison.Ordinal)
                || !string.Equals(recorded[i].Hash, current[i].Hash, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    /// <summary>Whether every file still has the identity recorded for it.</summary>
    internal static bool Unchanged(IEnumerable<FileIdentity> files)
    {
        foreach (var file in files)
        {
            if (FileIdentity.Of(file.Path) != file) return false;
        }
        return true;
    }

    // A count beyond this is a damaged file, not a result (a check logs at most a few thousand lines).
    private static int ReadCount(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 1_000_000) throw new InvalidDataException("count out of range");
        return count;
    }

    private static FileIdentity ReadIdentity(BinaryReader reader) =>
        new(reader.ReadString(), reader.ReadBoolean(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadString());

    private static void WriteIdentity(BinaryWriter writer, FileIdentity identity)
    {
        writer.Write(identity.Path);
        writer.Write(identity.Exists);
        writer.Write(identity.Length);
        writer.Write(identity.LastWriteTicks);
        writer.Write(identity.Fingerprint);
    }
}
