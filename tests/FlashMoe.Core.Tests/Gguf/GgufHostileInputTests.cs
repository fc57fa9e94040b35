using System.Globalization;
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests.Gguf;

/// <summary>
/// Hostile or absurd GGUF input: every case ends in a coded error (or a bounded, correct read), never an exception
/// from deeper down, a hang, or an allocation sized by a count from the file.
/// </summary>
public sealed class GgufHostileInputTests
{
    private static GgufFile Read(byte[] bytes, GgufReadOptions? options = null) => GgufReaderTests.Read(bytes, options);

    private static GgufBytes Llama() => new GgufBytes().Add("general.architecture", Val.Str("llama"));

    // ---- allocation bounds ----------------------------------------------------------------------------------------

    /// <summary>The payload of a u8 array of <paramref name="count"/> elements: element type, count, the bytes.</summary>
    private static byte[] U8ArrayPayload(int count)
    {
        var payload = new byte[4 + 8 + count];
        BitConverter.GetBytes((uint)GgufValueType.UInt8).CopyTo(payload, 0);
        BitConverter.GetBytes((ulong)count).CopyTo(payload, 4);
        return payload;
    }

    [Fact]
    public void Many_small_arrays_materialise_at_most_the_element_budget()
    {
        // 2,000 arrays of 4,096 one-byte elements: each under the per-array limit, 8.2 M elements in an 8 MB header.
        // Materialised, each element is an object of its own (~40× the file); the budget leaves the rest unread.
        const int arrays = 2000, elements = 4096;
        var payload = U8ArrayPayload(elements);
        var builder = Llama();
        for (var i = 0; i < arrays; i++) builder.Add("junk." + i.ToString("D4", CultureInfo.InvariantCulture), Val.Raw((uint)GgufValueType.Array, payload));
        var bytes = builder.Build();
        Read(Llama().Add("a", Val.Raw((uint)GgufValueType.Array, payload)).Build()); // JIT warm-up

        var before = GC.GetAllocatedBytesForCurrentThread();
        var file = Read(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var budget = GgufReadOptions.Default.MaxMaterializedElementsTotal;
        var materialised = file.MetadataEntries.Where(m => m.Value.Array is { IsMaterialized: true }).Sum(m => m.Value.Array!.Count);
        Assert.InRange(materialised, budget - elements + 1, budget);
        Assert.False(file.TryGetArray("junk.1999", out var last) && last.IsMaterialized);
        Assert.Equal(elements, last.Count);
        // Bounded by the budget, not by the file: ~100 bytes per materialised element at most, plus the file once.
        Assert.True(allocated < (budget * 100) + bytes.Length, $"allocated {allocated:N0} bytes for a {bytes.Length:N0}-byte header");
    }

    [Fact]
    public void Nested_arrays_share_the_element_budget()
    {
        var inner = Val.Arr(GgufValueType.UInt8, Enumerable.Range(0, 10).Select(i => Val.U8((byte)i)).ToArray());
        var nested = Val.Arr(GgufValueType.Array, Enumerable.Range(0, 10).Select(_ => inner).ToArray());
        var bytes = Llama().Add("nested", nested).Build();

        var roomy = Read(bytes, new GgufReadOptions { MaxMaterializedElementsTotal = 110 });
        var tight = Read(bytes, new GgufReadOptions { MaxMaterializedElementsTotal = 50 });

        Assert.True(roomy.TryGetArray("nested", out var all));
        Assert.All(all.Elements, e => Assert.True(e.Array!.IsMaterialized));
        Assert.True(tight.TryGetArray("nested", out var some));
        Assert.True(some.IsMaterialized); // the outer 10 fit; of the inner 10 × 10 only 4 arrays do
        Assert.Equal(4, some.Elements.Count(e => e.Array!.IsMaterialized));
        Assert.Equal(10, some.Elements[9].Array!.Count);
    }

    [Fact]
    public void FM0110_more_key_value_pairs_than_the_reader_accepts()
    {
        var builder = Llama();
        for (var i = 0; i < 40; i++) builder.Add("k" + i.ToString("D2", CultureInfo.InvariantCulture), Val.U8(1));
        var bytes = builder.Build();
        Read(bytes, new GgufReadOptions { MaxKeyValueCount = 41 });

        var error = Assert.Throws<GgufFormatException>(() => Read(bytes, new GgufReadOptions { MaxKeyValueCount = 40 }));

        Assert.Equal(("FM0110", 16L), (error.Id, error.Offset)); // magic, version, tensor count, then the key/value count
        Assert.Contains("41 key/value pairs", error.Message);
    }

    [Fact]
    public void FM0110_the_default_key_value_cap_refuses_a_flood_of_tiny_keys()
    {
        // 70,000 one-byte keys: 1.3 MB on disk, each a dictionary entry, a key string and a value object in memory.
        var builder = new GgufBytes();
        for (var i = 0; i < 70_000; i++) builder.Add("k" + i.ToString("D5", CultureInfo.InvariantCulture), Val.U8(1));

        var error = Assert.Throws<GgufFormatException>(() => Read(builder.Build()));

        Assert.Equal("FM0110", error.Id);
        Assert.Contains("at most 65536", error.Message);
    }

    // ---- a stream longer than the declared file -------------------------------------------------------------------

    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(23)]
    [InlineData(29)]
    [InlineData(64)]
    public void The_reader_never_reads_past_the_declared_file_length(int bufferSize)
    {
        // A metadata-only file (no tensors) ending in a u64: the last value the reader needs ends where the header ends.
        var builder = Llama();
        for (var i = 0; i < 25; i++) builder.Add("k" + i, i % 3 == 0 ? Val.U64((ulong)i) : i % 3 == 1 ? Val.U32((uint)i) : Val.Str(new string('s', i)));
        var file = builder.Build();
        var longer = file.Concat(Enumerable.Repeat((byte)0xEE, 4096)).ToArray();
        var options = new GgufReadOptions { BufferSize = bufferSize };

        using var stream = new FurthestReadStream(new MemoryStream(longer, writable: false));
        var read = GgufReader.Read(stream, file.Length, options);

        Assert.True(stream.Furthest <= file.Length, $"read up to byte {stream.Furthest} of a {file.Length}-byte file");
        Assert.Equal(file.Length, read.FileLength);
        Assert.Equal(26, read.Metadata.Count);

        // Declared to end one byte inside the header, the same stream is a truncated file: the bytes past the end must
        // not complete it.
        var cut = Assert.Throws<GgufFormatException>(() => GgufReader.Read(new MemoryStream(longer, writable: false), builder.HeaderBytes - 1, options));
        Assert.Equal("FM0103", cut.Id);
    }

    /// <summary>Records the furthest stream position any read reached.</summary>
    private sealed class FurthestReadStream(Stream inner) : Stream
    {
        public long Furthest { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            Furthest = Math.Max(Furthest, inner.Position);
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ---- paths that are not regular files -------------------------------------------------------------------------

    [Fact]
    public async Task A_FIFO_is_refused_before_it_is_opened_instead_of_blocking()
    {
        if (OperatingSystem.IsWindows()) return; // no FIFOs in the Windows file system
        using var dir = new TempDirectory();
        var fifo = Path.Combine(dir.Path, "model.gguf");
        MakeFifo(fifo);
        var link = Path.Combine(dir.Path, "link.gguf");
        File.CreateSymbolicLink(link, fifo);

        foreach (var path in new[] { fifo, link })
        {
            var read = Task.Run(() => GgufReader.Read(path));
            var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(30))) == read;
            if (!finished) ReleaseBlockedReader(fifo);
            Assert.True(finished, $"reading '{path}' blocked");
            var error = await Assert.ThrowsAnyAsync<IOException>(() => read);
            Assert.Contains("not a regular file", error.Message);
        }
    }

    [Fact]
    public void An_empty_file_or_dev_null_is_an_IOException_naming_the_cause()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDirectory();
        var empty = Path.Combine(dir.Path, "empty.gguf");
        File.WriteAllBytes(empty, Array.Empty<byte>());

        foreach (var path in new[] { empty, "/dev/null" })
        {
            var error = Assert.ThrowsAny<IOException>(() => GgufReader.Read(path));
            Assert.Contains("0 bytes", error.Message);
        }
    }

    [Fact]
    public void A_symbolic_link_to_a_regular_GGUF_is_read()
    {
        if (OperatingSystem.IsWindows()) return; // creating links needs a privilege there
        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "blob");
        File.WriteAllBytes(model, GgufBytes.SmallMoe().Build());
        var link = Path.Combine(dir.Path, "model.gguf");
        File.CreateSymbolicLink(link, model);

        Assert.Equal(2, GgufReader.Read(link).ToSummary().BlockCount);
    }

    internal static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", "\"" + path + "\"") { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>Opens the FIFO for writing and closes it: a reader blocked in open() then sees end of file.</summary>
    internal static void ReleaseBlockedReader(string fifo)
    {
        try
        {
            using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }
        catch (IOException)
        {
        }
    }

    internal sealed class TempDirectory : IDisposable
    {
        public TempDirectory()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flashmoe-hostile-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}
