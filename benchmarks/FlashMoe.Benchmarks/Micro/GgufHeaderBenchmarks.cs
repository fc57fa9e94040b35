using System.IO;
using BenchmarkDotNet.Attributes;
using FlashMoe.Gguf;

namespace FlashMoe.Benchmarks.Micro;

/// <summary>
/// Reading the header of a ≈ 130 GiB DeepSeek-class GGUF (sparse file, 129 280-token vocab, 743 tensors, 2.7 MB header): what the
/// build check and the runtime do before every plan. The file is read from the page cache (warm), which is the
/// common case for a build that runs repeatedly.
/// </summary>
[MemoryDiagnoser]
public class GgufHeaderBenchmarks
{
    private string _path = null!;
    private byte[] _header = null!;
    private long _fileLength;

    [GlobalSetup]
    public void Setup()
    {
        _path = BenchmarkInputs.WriteSparseSeedClassModel();
        var file = GgufReader.Read(_path);
        _fileLength = new FileInfo(_path).Length;
        _header = new byte[file.HeaderBytes];
        using var stream = File.OpenRead(_path);
        stream.ReadExactly(_header);
    }

    [GlobalCleanup]
    public void Cleanup() => BenchmarkInputs.TryDelete(_path);

    /// <summary>Metadata and tensor infos from the file (open, read the header, close).</summary>
    [Benchmark(Baseline = true)]
    public GgufFile ReadFile() => GgufReader.Read(_path);

    /// <summary>The same header already in memory: the parser alone, without the file system.</summary>
    [Benchmark]
    public GgufFile ReadFromMemory()
    {
        using var stream = new MemoryStream(_header, writable: false);
        return GgufReader.Read(stream, _fileLength);
    }

    /// <summary>The header read plus the model summary the planner takes (roles, per-layer bytes, hyper-parameters).</summary>
    [Benchmark]
    public ModelSummary ReadSummary() => GgufReader.ReadSummary(_path);
}
