using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Native;
using FlashMoe.Runtime.Tests.Fixtures;
using LLama;
using LLama.Common;
using LLama.Exceptions;
using LLama.Sampling;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

[Collection(NativeCollection.Name)]
public class FlashMoeModelTests : IClassFixture<SyntheticModels>
{
    private const double HalfPrintedDigit = 0.005 * Units.MiB + 1; // llama.cpp prints MiB with two decimals
    private readonly SyntheticModels _models;

    public FlashMoeModelTests(SyntheticModels models) => _models = models;

    private static ResolvedLoadOptions CpuOptions(bool mmap) => new()
    {
        UseMmap = mmap,
        GpuLayerCount = 0,
        Threads = 2,
        BatchThreads = 2,
        ContextSize = 256,
        BatchSize = 64,
        UBatchSize = 64,
        FlashAttention = false,
    };

    private sealed class RecordingProgress : IProgress<float>
    {
        public List<float> Values { get; } = new();
        public void Report(float value)
        {
            lock (Values) Values.Add(value);
        }
    }

    [Fact]
    public async Task Loads_with_mmap_reports_the_mapped_weights_and_generates()
    {
        var progress = new RecordingProgress();
        var logger = new ListLogger();
        using var model = await FlashMoeModel.LoadAsync(_models.Q8, CpuOptions(mmap: true), progress, logger);

        Assert.Equal(LLama.Native.LLamaLoadMode.MemoryMap, model.Parameters.LoadMode);
        Assert.Equal("mmap", model.Buffers.LoadMode);
        var mapped = Assert.Single(model.Buffers.ModelBuffers);
        Assert.Equal("CPU_Mapped", mapped.Key);
        var mappedBytes = SyntheticModels.MappedBytes(_models.Q8Layout);
        Assert.InRange(mapped.Value, mappedBytes - HalfPrintedDigit, mappedBytes + HalfPrintedDigit);
        Assert.Equal("2", model.Buffers.ModelInfo["n_layer"]);
        Assert.Equal("8", model.Buffers.ModelInfo["n_expert"]);
        Assert.False(model.Buffers.KvBuffers.Any()); // no context yet
        Assert.Empty(model.Unsupported);
        Assert.True(model.LoadTime > TimeSpan.Zero);
        Assert.Contains(1f, progress.Values);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("CPU_Mapped model buffer size"));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("Loaded ", StringComparison.Ordinal));

        using var context = model.CreateContext();
        // KV = n_ctx · layers · kv_heads · head_dim · (K + V) · 2 bytes (f16)
        var spec = SyntheticModels.Q8Spec;
        long expectedKv = 256L * spec.Layers * spec.KvHeadCount * spec.HeadDimension * 2 * 2;
        Assert.InRange(model.Buffers.KvBytes, expectedKv - HalfPrintedDigit, expectedKv + HalfPrintedDigit);
        Assert.Equal(256, model.Buffers.KvCells);
        Assert.Equal(("f16", "f16"), (model.Buffers.KType, model.Buffers.VType));
        Assert.True(model.Buffers.ComputeBytes > 0);
        Assert.Equal(1, model.Buffers.ContextCount);
        Assert.Equal(2, (int)context.NativeHandle.GenerationThreads);

        var executor = new InteractiveExecutor(context);
        var pieces = new List<string>();
        var inference = new InferenceParams { MaxTokens = 4, SamplingPipeline = new GreedySamplingPipeline() };
        await foreach (var piece in executor.InferAsync("once upon a time", inference)) pieces.Add(piece);
        Assert.NotEmpty(pieces);
    }

    [Fact]
    public async Task Parallel_loads_of_two_models_each_report_their_own_buffers_and_log()
    {
        // What each model reports when loaded alone.
        LlamaBufferReport q8Alone, q4Alone;
        using (var alone = await FlashMoeModel.LoadAsync(_models.Q8, CpuOptions(mmap: true))) q8Alone = alone.Buffers;
        using (var alone = await FlashMoeModel.LoadAsync(_models.Q4, CpuOptions(mmap: false))) q4Alone = alone.Buffers;

        // Both native loads are held inside llama.cpp at once: llama.cpp reports progress synchronously from the
        // loading thread, so each load waits there for the other before it goes on logging its buffers.
        using var bothLoading = new Barrier(2);
        var q8Progress = new RendezvousProgress(bothLoading);
        var q4Progress = new RendezvousProgress(bothLoading);
        var q8Logger = new ListLogger();
        var q4Logger = new ListLogger();
        var q8Task = Task.Run(() => FlashMoeModel.LoadAsync(_models.Q8, CpuOptions(mmap: true), q8Progress, q8Logger));
        var q4Task = Task.Run(() => FlashMoeModel.LoadAsync(_models.Q4, CpuOptions(mmap: false), q4Progress, q4Logger));
        using var q8 = await q8Task;
        using var q4 = await q4Task;

        Assert.True(q8Progress.MetTheOther && q4Progress.MetTheOther, "the two loads did not overlap inside llama.cpp");
        AssertSameReport(q8Alone, q8.Buffers);
        AssertSameReport(q4Alone, q4.Buffers);
        Assert.NotEqual(q8.Buffers.ModelBuffers, q4.Buffers.ModelBuffers);
        AssertOnlyItsOwnFile(q8.LoadLog.Select(l => l.Text), _models.Q8, _models.Q4);
        AssertOnlyItsOwnFile(q4.LoadLog.Select(l => l.Text), _models.Q4, _models.Q8);
        AssertOnlyItsOwnFile(q8Logger.Entries.Select(e => e.Message), _models.Q8, _models.Q4);
        AssertOnlyItsOwnFile(q4Logger.Entries.Select(e => e.Message), _models.Q4, _models.Q8);
    }

    private static void AssertSameReport(LlamaBufferReport expected, LlamaBufferReport actual)
    {
        Assert.Equal(expected.ModelBuffers, actual.ModelBuffers);
        Assert.Equal(expected.LoadMode, actual.LoadMode);
        Assert.Equal(expected.RepackedTensorCount, actual.RepackedTensorCount);
        Assert.Equal(expected.ModelInfo, actual.ModelInfo);
        Assert.Equal(expected.Warnings, actual.Warnings);
    }

    /// <summary>llama.cpp names the file it reads ("… tensors from /tmp/…/tiny-moe-q8_0.gguf (version GGUF V3 …)").</summary>
    private static void AssertOnlyItsOwnFile(IEnumerable<string> lines, string own, string other)
    {
        var list = lines.ToList();
        Assert.Contains(list, l => l.Contains(own, StringComparison.Ordinal));
        Assert.DoesNotContain(list, l => l.Contains(other, StringComparison.Ordinal));
    }

    /// <summary>On its first report, waits (bounded) until the other load has reported too.</summary>
    private sealed class RendezvousProgress(Barrier barrier) : IProgress<float>
    {
        private int _reported;

        public bool MetTheOther { get; private set; }

        public void Report(float value)
        {
            if (Interlocked.Exchange(ref _reported, 1) == 0) MetTheOther = barrier.SignalAndWait(TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public async Task No_mmap_load_of_q4_repacks_on_avx2()
    {
        using var model = await FlashMoeModel.LoadAsync(_models.Q4, CpuOptions(mmap: false));

        Assert.Equal(LLama.Native.LLamaLoadMode.None, model.Parameters.LoadMode);
        Assert.Equal("none", model.Buffers.LoadMode);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.True(model.Buffers.RepackBytes > 0);
            Assert.Equal(SyntheticModels.Q4Spec.Layers * 7, model.Buffers.RepackedTensorCount); // attn q/k/v/output + 3 expert tensors
        }
    }

    [Fact]
    public async Task Quantized_kv_cache_types_reach_llama_cpp()
    {
        var options = CpuOptions(mmap: true) with { FlashAttention = true, TypeK = KvCacheType.Q8_0, TypeV = KvCacheType.BF16 };
        using var model = await FlashMoeModel.LoadAsync(_models.Q8, options);
        using var context = model.CreateContext();
        Assert.Equal(("q8_0", "bf16"), (model.Buffers.KType, model.Buffers.VType));
    }

    [Fact]
    public async Task Overrides_to_a_missing_device_are_reported_not_dropped_silently()
    {
        var options = CpuOptions(mmap: false) with
        {
            TensorOverrides = EquatableArray.Create(new TensorOverride(@"\.ffn_(up|down|gate)_exps", "CPU"), new TensorOverride("attn", "Vulkan0")),
        };
        var logger = new ListLogger();
        using var model = await FlashMoeModel.LoadAsync(_models.Q8, options, logger: logger);

        var note = Assert.Single(model.Unsupported);
        Assert.Contains("'attn' → Vulkan0: no such buffer type in this backend (available: CPU)", note);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Vulkan0"));
        Assert.Equal(SyntheticModels.Q8Spec.Layers * 3, model.Buffers.OverriddenTensorCount); // the CPU override was applied
    }

    [Fact]
    public async Task Truncated_model_fails_with_llama_cpps_reason()
    {
        var error = await Assert.ThrowsAsync<FlashMoeLoadException>(() => FlashMoeModel.LoadAsync(_models.Truncated, CpuOptions(mmap: true)));

        Assert.Matches(@"^tensor '[^']+' data is not within the file bounds, model is corrupted or incomplete$", error.Reason);
        Assert.StartsWith($"llama.cpp could not load '{_models.Truncated}': tensor '", error.Message);
        Assert.IsType<LoadWeightsFailedException>(error.InnerException);
        Assert.Contains(error.NativeErrors, l => l.StartsWith("llama_model_load: error loading model:", StringComparison.Ordinal));
        Assert.Empty(error.Advice);
    }

    [Fact]
    public async Task Misplaced_tensor_offset_fails_with_llama_cpps_reason()
    {
        var error = await Assert.ThrowsAsync<FlashMoeLoadException>(() => FlashMoeModel.LoadAsync(_models.MisplacedOutput, CpuOptions(mmap: false)));
        Assert.Matches(@"tensor 'output\.weight' has offset \d+, expected \d+", error.Reason);
    }

    [Fact]
    public async Task Missing_file_is_a_load_exception()
    {
        var path = Path.Combine(Path.GetTempPath(), "does-not-exist-" + Guid.NewGuid().ToString("N") + ".gguf");
        var error = await Assert.ThrowsAsync<FlashMoeLoadException>(() => FlashMoeModel.LoadAsync(path, CpuOptions(mmap: true)));
        Assert.Equal("the model file does not exist", error.Reason);
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }
}
