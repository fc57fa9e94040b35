using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Tests.Native;
using FlashMoe.Synthetic;
using Xunit;
using Xunit.Abstractions;

namespace FlashMoe.Runtime.Tests;

/// <summary>
/// The synthetic models of the accuracy matrix, written once per run, and the measured rows, written as a markdown
/// table when <c>FLASHMOE_MEASUREMENTS_OUT</c> names a file (docs/measurements.md is made from it).
/// </summary>
public sealed class PlanAccuracyModels : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashmoe-accuracy-" + Guid.NewGuid().ToString("N"));
    private readonly List<PlanAccuracyTests.Row> _rows = new();

    /// <summary>Small models (≈ 1–4 MB, random weights) and two bigger sparse ones (≈ 240–260 MB) where MiB-level errors show.</summary>
    public static IReadOnlyDictionary<string, SyntheticModelSpec> Specs { get; } = BuildSpecs();

    public PlanAccuracyModels()
    {
        Directory.CreateDirectory(_directory);
        foreach (var (name, spec) in Specs) SyntheticModel.Write(spec, PathOf(name));
    }

    public string PathOf(string model) => Path.Combine(_directory, model + ".gguf");

    public void Record(IEnumerable<PlanAccuracyTests.Row> rows)
    {
        lock (_rows) _rows.AddRange(rows);
    }

    public void Dispose()
    {
        var target = Environment.GetEnvironmentVariable("FLASHMOE_MEASUREMENTS_OUT");
        if (!string.IsNullOrWhiteSpace(target))
        {
            lock (_rows) File.WriteAllText(target, PlanAccuracyTests.Table(_rows));
        }
        Directory.Delete(_directory, recursive: true);
    }

    private static IReadOnlyDictionary<string, SyntheticModelSpec> BuildSpecs()
    {
        var dense = new SyntheticModelSpec
        {
            Layers = 2, EmbeddingLength = 256, FeedForwardLength = 768, HeadCount = 4, KvHeadCount = 2, VocabSize = 2048,
            ContextLength = 8192,
        };
        var moe = dense with { FeedForwardLength = 512, ExpertCount = 8, ExpertUsedCount = 2, ExpertFeedForwardLength = 512 };
        var bigDense = new SyntheticModelSpec
        {
            Layers = 2, EmbeddingLength = 2048, FeedForwardLength = 5632, HeadCount = 16, KvHeadCount = 4, VocabSize = 32000,
            ContextLength = 8192, WeightType = GgmlType.Q8_0, Sparse = true,
        };
        var bigMoe = new SyntheticModelSpec
        {
            Layers = 2, EmbeddingLength = 1024, FeedForwardLength = 1024, HeadCount = 8, KvHeadCount = 2, VocabSize = 65536,
            ExpertCount = 32, ExpertUsedCount = 4, ExpertFeedForwardLength = 1024, ContextLength = 8192,
            WeightType = GgmlType.Q8_0, ExpertWeightType = GgmlType.Q4_0, Sparse = true,
        };
        var specs = new Dictionary<string, SyntheticModelSpec>(StringComparer.Ordinal)
        {
            ["dense-f16"] = dense with { Name = "dense-f16", WeightType = GgmlType.F16 },
            ["dense-q8_0"] = dense with { Name = "dense-q8_0", WeightType = GgmlType.Q8_0 },
            ["dense-q4_0"] = dense with { Name = "dense-q4_0", WeightType = GgmlType.Q4_0 },
            ["moe-q8_0"] = moe with { Name = "moe-q8_0", WeightType = GgmlType.Q8_0 },
            ["moe-q4_0x"] = moe with { Name = "moe-q4_0x", WeightType = GgmlType.Q8_0, ExpertWeightType = GgmlType.Q4_0 },
            ["big-dense-q8_0"] = bigDense with { Name = "big-dense-q8_0" },
            ["big-moe-q4_0x"] = bigMoe with { Name = "big-moe-q4_0x" },
        };
        // The real architectures at their tiny presets' shapes, with the type mixes of the files people download.
        var context = new SyntheticModelSpec().ContextLength * 32; // 65 536: every context of the matrix fits the training one
        void Add(string name, SyntheticModelSpec spec) => specs[name] = spec with { Name = name, ContextLength = context };
        Add("deepseek-r1-q4_k_m", SyntheticPresets.DeepseekR1Tiny with { Recipe = SyntheticRecipe.Q4_K_M });
        Add("deepseek-r1-ud-iq1_s", SyntheticPresets.DeepseekR1Tiny with { Recipe = SyntheticRecipe.UD_IQ1_S });
        // Files converted before the split MLA tensors: attn_kv_b decompresses before attention, every head cached.
        Add("deepseek-r1-legacy-q4_k_m", SyntheticPresets.DeepseekR1Tiny with { Recipe = SyntheticRecipe.Q4_K_M, LegacyMla = true });
        Add("qwen3-30b-q4_k_m", SyntheticPresets.Qwen3_30B_A3BTiny with { Recipe = SyntheticRecipe.Q4_K_M });
        Add("qwen3-235b-ud-iq1_s", SyntheticPresets.Qwen3_235B_A22BTiny with { Recipe = SyntheticRecipe.UD_IQ1_S });
        Add("gpt-oss-20b-mxfp4", SyntheticPresets.GptOss20BTiny with { Recipe = SyntheticRecipe.MXFP4 });
        Add("gpt-oss-120b-mxfp4", SyntheticPresets.GptOss120BTiny with { Recipe = SyntheticRecipe.MXFP4 });
        // Every block type as the only weight type (norms and the router stay F32), on the qwen3moe shape: the CPU and
        // CPU_REPACK buffers per type.
        foreach (var type in BlockTypes)
        {
            Add(TypeModel(type), SyntheticPresets.Qwen3_30B_A3BTiny with { Recipe = null, WeightType = type, ExpertWeightType = type });
        }
        return specs;
    }

    /// <summary>The block types found in real GGUF files.</summary>
    public static IReadOnlyList<GgmlType> BlockTypes => new[]
    {
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ1_S, GgmlType.IQ1_M,
        GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ4_NL, GgmlType.IQ4_XS,
        GgmlType.MXFP4,
    };

    /// <summary>The name of the all-<paramref name="type"/> model.</summary>
    public static string TypeModel(GgmlType type) => "qwen3-30b-" + SyntheticWeightTypes.Name(type);
}

/// <summary>
/// The memory plan against llama.cpp's own buffer lines, CPU only, for a matrix of synthetic models (dense and MoE;
/// F16, Q8_0, Q4_0 — Q4_0 is repacked on AVX2/AVX-512, Q8_0/F16 are not, and LLamaSharp 0.30 cannot switch repacking
/// off), context sizes, ubatch sizes, flash attention and mmap on/off. Every buffer must meet the plan's accuracy contract
/// (±3 % or 64 MiB) and a strict one that a wrong estimator fails even on tiny models: weights, KV, output and the
/// mapped range exact (modulo llama.cpp's two-decimal MiB print and per-tensor alignment padding), the compute buffer
/// exact to the print as well (the planner replays ggml-alloc, see ComputeBufferEstimator.WholeGraphBytes).
/// </summary>
[Collection(NativeCollection.Name)]
public class PlanAccuracyTests : IClassFixture<PlanAccuracyModels>
{
    /// <summary>llama.cpp prints sizes as "%8.2f MiB": a figure is the true size ± 0.005 MiB.</summary>
    private const long PrintResolution = Units.MiB / 200 + 1;

    /// <summary>ggml's CPU buffer alignment (TENSOR_ALIGNMENT): each tensor of an allocated buffer is padded to it.</summary>
    private const long TensorAlignment = 32;

    private readonly PlanAccuracyModels _models;
    private readonly ITestOutputHelper _output;

    public PlanAccuracyTests(PlanAccuracyModels models, ITestOutputHelper output)
    {
        _models = models;
        _output = output;
    }

    /// <summary>One buffer of one case: what the plan said and what llama.cpp allocated.</summary>
    public sealed record Row(string Model, string Weights, int Context, int UBatch, bool FlashAttention, bool Mmap, string Kv,
        string Buffer, long Planned, long Actual, bool SwaFull = true)
    {
        public double ErrorPercent => Actual == 0 ? (Planned == 0 ? 0 : double.PositiveInfinity) : (Planned - Actual) * 100.0 / Actual;
    }

    public static TheoryData<string, int, int, bool, bool, string> Cases()
    {
        var data = new TheoryData<string, int, int, bool, bool, string>();
        int[] contexts = { 256, 2048, 8192 };
        int[] ubatches = { 32, 128, 512 };
        foreach (var model in new[] { "dense-f16", "dense-q8_0", "dense-q4_0", "moe-q8_0", "moe-q4_0x" })
        {
            foreach (var ctx in contexts)
            {
                foreach (var ub in ubatches)
                {
                    data.Add(model, ctx, ub, false, true, "f16");
                    data.Add(model, ctx, ub, true, false, "f16");
                }
            }
        }
        foreach (var model in new[] { "big-dense-q8_0", "big-moe-q4_0x" })
        {
            foreach (var ctx in new[] { 2048, 8192 })
            {
                foreach (var ub in new[] { 128, 512 })
                {
                    data.Add(model, ctx, ub, false, true, "f16");
                    data.Add(model, ctx, ub, true, false, "f16");
                }
            }
        }
        // Ubatches below the 16-token graph llama.cpp also reserves while probing fused ops.
        data.Add("dense-q8_0", 2048, 8, false, true, "f16");
        data.Add("moe-q4_0x", 8192, 1, true, false, "f16");
        // Quantized KV caches (a quantized V cache needs flash attention).
        data.Add("dense-q8_0", 2048, 128, true, true, "q8_0");
        data.Add("moe-q4_0x", 8192, 512, true, false, "q4_0");
        return data;
    }

    /// <summary>
    /// deepseek2 (MLA, dense lead, shared expert), qwen3moe and gpt-oss (sliding window, sinks) with their released type
    /// mixes, across context, ubatch, flash attention, mmap, KV type and the sliding-window cache size.
    /// </summary>
    public static TheoryData<string, int, int, bool, bool, string, bool> ArchitectureCases()
    {
        var data = new TheoryData<string, int, int, bool, bool, string, bool>();
        foreach (var model in new[] { "deepseek-r1-q4_k_m", "deepseek-r1-ud-iq1_s", "qwen3-30b-q4_k_m", "qwen3-235b-ud-iq1_s", "gpt-oss-20b-mxfp4", "gpt-oss-120b-mxfp4" })
        {
            data.Add(model, 512, 128, false, true, "f16", true);
            data.Add(model, 2048, 32, false, false, "f16", true);
            data.Add(model, 4096, 512, true, false, "q8_0", true);
            data.Add(model, 8192, 256, true, true, "f16", true);
        }
        data.Add("deepseek-r1-legacy-q4_k_m", 512, 128, false, true, "f16", true);
        data.Add("deepseek-r1-legacy-q4_k_m", 4096, 512, true, false, "q8_0", true);
        data.Add("deepseek-r1-legacy-q4_k_m", 2048, 32, false, false, "f16", true);
        // A quantized latent cache (MLA reads V from the K cache, so it needs flash attention).
        data.Add("deepseek-r1-ud-iq1_s", 4096, 128, true, false, "q4_0", true);
        // The sliding-window cache at its own size: the window plus a ubatch, padded to 256.
        data.Add("gpt-oss-20b-mxfp4", 4096, 512, true, true, "f16", false);
        data.Add("gpt-oss-20b-mxfp4", 2048, 128, false, false, "f16", false);
        data.Add("gpt-oss-120b-mxfp4", 8192, 64, true, false, "q8_0", false);
        return data;
    }

    /// <summary>Every block type as the weights' type: the plain and the repacked CPU buffer, with and without mmap.</summary>
    public static TheoryData<string, bool> TypeCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var type in PlanAccuracyModels.BlockTypes) data.Add(type.ToString(), false);
        foreach (var type in new[] { GgmlType.Q4_K, GgmlType.IQ4_NL, GgmlType.MXFP4, GgmlType.IQ1_S }) data.Add(type.ToString(), true);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Plan_matches_llama_cpp_buffers(string model, int context, int ubatch, bool flashAttention, bool mmap, string kv) =>
        Check(model, context, ubatch, flashAttention, mmap, kv, swaFull: true);

    [Theory]
    [MemberData(nameof(ArchitectureCases))]
    public Task Architectures_match_llama_cpp_buffers(string model, int context, int ubatch, bool flashAttention, bool mmap, string kv, bool swaFull) =>
        Check(model, context, ubatch, flashAttention, mmap, kv, swaFull);

    [Theory]
    [MemberData(nameof(TypeCases))]
    public Task Every_block_type_matches_llama_cpp_buffers(string type, bool mmap) =>
        Check(PlanAccuracyModels.TypeModel(Enum.Parse<GgmlType>(type)), 1024, 128, false, mmap, "f16", swaFull: true);

    private async Task Check(string model, int context, int ubatch, bool flashAttention, bool mmap, string kv, bool swaFull)
    {
        var path = _models.PathOf(model);
        var kvType = kv switch { "q8_0" => KvCacheType.Q8_0, "q4_0" => KvCacheType.Q4_0, _ => KvCacheType.F16 };
        var options = new ResolvedLoadOptions
        {
            UseMmap = mmap,
            GpuLayerCount = 0,
            Threads = 2,
            BatchThreads = 2,
            ContextSize = context,
            BatchSize = 512,
            UBatchSize = ubatch,
            FlashAttention = flashAttention,
            TypeK = kvType,
            TypeV = kvType,
            SwaFull = swaFull,
        };
        var summary = GgufReader.ReadSummary(path);
        var plan = MemoryPlanner.Plan(options, summary, ThisMachine());

        using var loaded = await FlashMoeModel.LoadAsync(path, options);
        using (loaded.CreateContext())
        {
        }
        var actual = loaded.Buffers;
        Assert.Equal(1, actual.ContextCount);

        // The buffers llama.cpp made for the weights are exactly the kinds the plan predicts.
        var weightsBuffer = mmap ? "CPU_Mapped" : "CPU";
        var expectedBuffers = plan.Cpu.RepackedBytes > 0 ? new[] { weightsBuffer, "CPU_REPACK" } : new[] { weightsBuffer };
        Assert.Equal(expectedBuffers.OrderBy(n => n, StringComparer.Ordinal), actual.ModelBuffers.Keys.OrderBy(n => n, StringComparer.Ordinal));

        var spec = PlanAccuracyModels.Specs[model];
        var weightsType = spec.Recipe is { } recipe
            ? SyntheticRecipes.Name(recipe)
            : spec.WeightType + (spec.ExpertWeightType is { } x && x != spec.WeightType ? "+" + x + " experts" : "");
        Row MakeRow(string buffer, long planned, long measured) =>
            new(model, weightsType, context, ubatch, flashAttention, mmap, kv, buffer, planned, measured, swaFull);
        var rows = new List<Row>
        {
            mmap
                ? MakeRow("CPU_Mapped", plan.Host.MappedBytes, actual.ModelBuffers["CPU_Mapped"])
                : MakeRow("CPU", plan.Cpu.WeightBytes - plan.Cpu.RepackedBytes, actual.ModelBuffers["CPU"]),
            MakeRow("CPU_REPACK", plan.Cpu.RepackedBytes, actual.RepackBytes),
            MakeRow("KV", plan.Cpu.KvCacheBytes, actual.KvBytes),
            MakeRow("compute", plan.Cpu.ComputeBytes, actual.ComputeBytes),
            MakeRow("output", plan.Cpu.OutputBytes, actual.OutputBytes),
        };
        _models.Record(rows);
        foreach (var row in rows) _output.WriteLine(Format(row));

        var tensorCount = summary.TensorCount;
        foreach (var row in rows)
        {
            // The planner's promised tolerance (PlanAccuracy: ±3 % or 64 MiB, whichever is looser).
            Assert.True(PlanAccuracy.IsWithinTolerance(row.Planned, row.Actual), "tolerance " + PlanAccuracy.ToleranceText + ": " + Format(row));

            // Strict: what a right estimator achieves. Allocated weight buffers pad every tensor to the alignment.
            // A sliding-window model prints one KV buffer per cache, each rounded to the print.
            var prints = row.Buffer == "KV" && summary.Architecture == ModelArchitectures.GptOss ? 2 : 1;
            var strict = row.Buffer is "CPU" or "CPU_REPACK" ? PrintResolution + tensorCount * TensorAlignment : prints * PrintResolution;
            Assert.True(Math.Abs(row.Planned - row.Actual) <= strict,
                $"{Format(row)}: off by {row.Planned - row.Actual} bytes, strict tolerance {strict} bytes");
            if (row.Actual >= 16 * Units.MiB)
            {
                Assert.True(Math.Abs(row.ErrorPercent) <= 1.0, "≥ 16 MiB buffers within 1 %: " + Format(row));
            }
        }
    }

    /// <summary>This machine as the planner sees it: repacking depends on AVX2/AVX-512 (LLamaSharp loads the matching native build).</summary>
    private static HostFacts ThisMachine() => new()
    {
        TotalRamBytes = 24 * Units.GiB,
        Avx2 = Avx2.IsSupported,
        Avx512 = Avx512F.IsSupported,
        OperatingSystem = "linux",
        IsDetected = true,
    };

    private static string Format(Row row) => string.Format(CultureInfo.InvariantCulture,
        "{0} {1} ctx={2} ub={3} fa={4} mmap={5} kv={6} {7}: planned {8:0.000} MiB, actual {9:0.00} MiB, error {10:+0.00;-0.00;0.00} %",
        row.Model, row.Weights, row.Context, row.UBatch, row.FlashAttention ? "on" : "off", row.Mmap ? "on" : "off", KvText(row), row.Buffer,
        row.Planned / (double)Units.MiB, row.Actual / (double)Units.MiB, row.ErrorPercent);

    /// <summary>The measurement table (markdown), one line per buffer of every case, then the largest error per buffer kind.</summary>
    public static string Table(IReadOnlyCollection<Row> rows)
    {
        string MiB(long b) => (b / (double)Units.MiB).ToString("0.000", CultureInfo.InvariantCulture);
        string SignedMiB(long b) => (b / (double)Units.MiB).ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
        string Pct(double p) => double.IsInfinity(p) ? "∞" : p.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine("| model | weights | ctx | ubatch | FA | mmap | KV type | buffer | planned MiB | actual MiB | error % |");
        sb.AppendLine("|---|---|---:|---:|---|---|---|---|---:|---:|---:|");
        var ordered = rows
            .OrderBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Context).ThenBy(r => r.UBatch)
            .ThenBy(r => r.FlashAttention).ThenBy(r => r.Mmap).ThenBy(r => r.Kv, StringComparer.Ordinal);
        foreach (var r in ordered)
        {
            if (r.Buffer == "CPU_REPACK" && r.Planned == 0 && r.Actual == 0) continue;
            sb.Append("| ").Append(r.Model).Append(" | ").Append(r.Weights).Append(" | ").Append(r.Context).Append(" | ").Append(r.UBatch)
              .Append(" | ").Append(r.FlashAttention ? "on" : "off").Append(" | ").Append(r.Mmap ? "on" : "off").Append(" | ").Append(KvText(r))
              .Append(" | ").Append(r.Buffer).Append(" | ").Append(MiB(r.Planned)).Append(" | ").Append(MiB(r.Actual))
              .Append(" | ").Append(Pct(r.ErrorPercent)).AppendLine(" |");
        }
        sb.AppendLine();
        sb.AppendLine("| buffer | cases | largest error MiB | largest error % | largest error % where actual ≥ 16 MiB |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        static Row Worst(IEnumerable<Row> list, Func<Row, double> by) => list.OrderByDescending(r => Math.Abs(by(r))).First();
        foreach (var group in rows.GroupBy(r => r.Buffer is "CPU" or "CPU_Mapped" ? "weights (" + r.Buffer + ")" : r.Buffer).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var relevant = group.Where(r => r.Planned != 0 || r.Actual != 0).ToList();
            if (relevant.Count == 0) continue;
            var big = relevant.Where(r => r.Actual >= 16 * Units.MiB).ToList();
            sb.Append("| ").Append(group.Key).Append(" | ").Append(relevant.Count)
              .Append(" | ").Append(SignedMiB(Worst(relevant, r => r.Planned - r.Actual) is var w ? w.Planned - w.Actual : 0))
              .Append(" | ").Append(Pct(Worst(relevant, r => r.ErrorPercent).ErrorPercent))
              .Append(" | ").Append(big.Count == 0 ? "–" : Pct(Worst(big, r => r.ErrorPercent).ErrorPercent)).AppendLine(" |");
        }
        sb.AppendLine();
        sb.AppendLine("| architecture | cases | buffers compared | largest compute error MiB | largest KV error MiB | largest weights error MiB |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var family in rows.GroupBy(r => Architecture(r.Model)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            long WorstOf(Func<Row, bool> which) => family.Where(which).Select(r => r.Planned - r.Actual).OrderByDescending(Math.Abs).FirstOrDefault();
            var cases = family.Select(r => (r.Model, r.Context, r.UBatch, r.FlashAttention, r.Mmap, r.Kv, r.SwaFull)).Distinct().Count();
            sb.Append("| ").Append(family.Key).Append(" | ").Append(cases).Append(" | ").Append(family.Count(r => r.Planned != 0 || r.Actual != 0))
              .Append(" | ").Append(SignedMiB(WorstOf(r => r.Buffer == "compute")))
              .Append(" | ").Append(SignedMiB(WorstOf(r => r.Buffer == "KV")))
              .Append(" | ").Append(SignedMiB(WorstOf(r => r.Buffer is "CPU" or "CPU_Mapped" or "CPU_REPACK"))).AppendLine(" |");
        }
        return sb.ToString();
    }

    private static string KvText(Row r) => r.SwaFull ? r.Kv : r.Kv + ", window cache";

    private static string Architecture(string model) =>
        model.StartsWith("deepseek", StringComparison.Ordinal) ? ModelArchitectures.DeepSeek2
        : model.StartsWith("qwen3", StringComparison.Ordinal) ? ModelArchitectures.Qwen3Moe
        : model.StartsWith("gpt-oss", StringComparison.Ordinal) ? ModelArchitectures.GptOss
        : ModelArchitectures.Llama;
}
