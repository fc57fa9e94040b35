using System;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Runtime.Tests.Fixtures;

/// <summary>
/// Tiny synthetic models (FlashMoe.Synthetic) written once per test class into a temporary directory: a Q8_0 MoE
/// (nothing repacked), a Q4_0 MoE (repacked on AVX2), the preset's mix (Q8_0 with Q4_0 experts), and two corrupt
/// copies (truncated; one tensor offset moved).
/// </summary>
public sealed class SyntheticModels : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashmoe-runtime-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>2 layers, 128 embd, 8 experts / 2 used; every weight Q8_0 (no CPU repack in this build).</summary>
    public static SyntheticModelSpec Q8Spec { get; } = SyntheticPresets.TinyMoe with { ExpertWeightType = GgmlType.Q8_0 };

    /// <summary>The same shape with every weight Q4_0 (repacked into CPU_REPACK buffers on AVX2).</summary>
    public static SyntheticModelSpec Q4Spec { get; } = SyntheticPresets.TinyMoe with { WeightType = GgmlType.Q4_0, ExpertWeightType = GgmlType.Q4_0 };

    public SyntheticModels()
    {
        Directory.CreateDirectory(_directory);
        Q8Layout = SyntheticModel.Write(Q8Spec, Q8);
        Q4Layout = SyntheticModel.Write(Q4Spec, Q4);
        MixedLayout = SyntheticModel.Write(SyntheticPresets.TinyMoe, Mixed);
        File.Copy(Q8, MisplacedOutput);
        MisplaceTensor(MisplacedOutput, "output.weight");
        File.Copy(Q8, Truncated);
        using (var stream = new FileStream(Truncated, FileMode.Open)) stream.SetLength(stream.Length * 2 / 3);
    }

    public string Q8 => Path.Combine(_directory, "tiny-moe-q8_0.gguf");
    public string Q4 => Path.Combine(_directory, "tiny-moe-q4_0.gguf");
    public string Mixed => Path.Combine(_directory, "tiny-moe.gguf");
    public string Truncated => Path.Combine(_directory, "tiny-truncated.gguf");
    public string MisplacedOutput => Path.Combine(_directory, "tiny-misplaced-output.gguf");

    public SyntheticModelLayout Q8Layout { get; }
    public SyntheticModelLayout Q4Layout { get; }
    public SyntheticModelLayout MixedLayout { get; }

    /// <summary>What a mapped load maps: the data section from the first tensor to the end of the last.</summary>
    public static long MappedBytes(SyntheticModelLayout layout) =>
        layout.Tensors.Max(t => t.Offset + t.Bytes) - layout.Tensors.Min(t => t.Offset);

    /// <summary>
    /// Moves <paramref name="tensorName"/>'s recorded data offset one alignment step further (llama.cpp then
    /// refuses the file: "tensor '…' has offset …, expected …"). The offset field is the last u64 of the tensor
    /// info record: name (u64 length + bytes), n_dims (u32), dims (u64 each), type (u32), offset (u64).
    /// </summary>
    public static void MisplaceTensor(string path, string tensorName)
    {
        var file = GgufReader.Read(path);
        if (!file.TryGetTensor(tensorName, out var info)) throw new ArgumentException($"no tensor {tensorName} in {path}");
        var offsetField = info.InfoOffset + 8 + Encoding.UTF8.GetByteCount(info.Name) + 4 + 8L * info.Dimensions.Count + 4;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offsetField;
        var bytes = new byte[8];
        stream.ReadExactly(bytes);
        var offset = BitConverter.ToUInt64(bytes);
        if (offset != (ulong)info.Offset) throw new InvalidOperationException("The offset field is not where the GGUF layout puts it.");
        stream.Position = offsetField;
        stream.Write(BitConverter.GetBytes(offset + (ulong)file.Alignment));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
