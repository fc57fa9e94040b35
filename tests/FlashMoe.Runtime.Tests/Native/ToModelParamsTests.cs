using System;
using System.Linq;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using LLama.Common;
using LLama.Native;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

// ModelParams' constructor asks llama.cpp for its device count, so these run in the native collection.
[Collection(NativeCollection.Name)]
public class ToModelParamsTests
{
    private const string ModelPath = "/models/moe.gguf";

    /// <summary>Every field differs from LLamaSharp's defaults, so each assertion proves the mapping set it.</summary>
    private static ResolvedLoadOptions Options() => new()
    {
        UseMmap = false,
        UseMlock = false,
        GpuLayerCount = 7,
        TensorOverrides = EquatableArray.Create(
            new TensorOverride(@"blk\.0\.attn_.*", "CPU"),
            new TensorOverride(@"\.ffn_(up|down|gate)_exps", "CPU")),
        Threads = 3,
        BatchThreads = 5,
        ContextSize = 8192,
        BatchSize = 1024,
        UBatchSize = 256,
        FlashAttention = true,
        TypeK = KvCacheType.Q8_0,
        TypeV = KvCacheType.Q4_0,
        Repack = true,
        KvOffload = false,
        MainGpu = 1,
        TensorSplits = EquatableArray.Create(3f, 1f),
    };

    [Fact]
    public void Model_path() => Assert.Equal(ModelPath, Options().ToModelParams(ModelPath).ModelPath);

    [Theory]
    [InlineData(false, false, LLamaLoadMode.None)]
    [InlineData(true, false, LLamaLoadMode.MemoryMap)]
    [InlineData(false, true, LLamaLoadMode.MemoryLock)]
    [InlineData(true, true, LLamaLoadMode.MemoryMapAndLock)]
    public void LoadMode(bool mmap, bool mlock, LLamaLoadMode expected)
    {
        var parameters = (Options() with { UseMmap = mmap, UseMlock = mlock }).ToModelParams(ModelPath);
        Assert.Equal(expected, parameters.LoadMode);
    }

    [Fact]
    public void LoadMode_mmap_is_not_left_at_LLamaSharps_no_mmap_default()
    {
        // LLamaSharp 0.30 defaults to None (no mmap) while llama.cpp defaults to mmap: mmap = true must say so.
        Assert.Equal(LLamaLoadMode.None, new ModelParams(ModelPath).LoadMode);
        Assert.Equal(LLamaLoadMode.MemoryMap, (Options() with { UseMmap = true }).ToModelParams(ModelPath).LoadMode);
        Assert.Equal(LLamaLoadMode.None, (Options() with { UseMmap = false }).ToModelParams(ModelPath).LoadMode);
    }

    [Fact]
    public void GpuLayerCount()
    {
        Assert.Equal(20, new ModelParams(ModelPath).GpuLayerCount); // LLamaSharp's default, which must never leak through
        Assert.Equal(7, Options().ToModelParams(ModelPath).GpuLayerCount);
        Assert.Equal(0, (Options() with { GpuLayerCount = 0 }).ToModelParams(ModelPath).GpuLayerCount);
    }

    [Fact]
    public void TensorBufferOverrides_in_order()
    {
        var overrides = Options().ToModelParams(ModelPath).TensorBufferOverrides;
        Assert.Equal(
            new[] { (@"blk\.0\.attn_.*", "CPU"), (@"\.ffn_(up|down|gate)_exps", "CPU") },
            overrides.Select(o => (o.Pattern, o.BufferType)));
    }

    [Fact]
    public void Threads() => Assert.Equal(3, Options().ToModelParams(ModelPath).Threads);

    [Fact]
    public void BatchThreads() => Assert.Equal(5, Options().ToModelParams(ModelPath).BatchThreads);

    [Fact]
    public void ContextSize() => Assert.Equal(8192u, Options().ToModelParams(ModelPath).ContextSize);

    [Fact]
    public void BatchSize() => Assert.Equal(1024u, Options().ToModelParams(ModelPath).BatchSize);

    [Fact]
    public void UBatchSize() => Assert.Equal(256u, Options().ToModelParams(ModelPath).UBatchSize);

    [Fact]
    public void TypeK() => Assert.Equal(GGMLType.GGML_TYPE_Q8_0, Options().ToModelParams(ModelPath).TypeK);

    [Fact]
    public void TypeV() => Assert.Equal(GGMLType.GGML_TYPE_Q4_0, Options().ToModelParams(ModelPath).TypeV);

    [Theory]
    [InlineData(KvCacheType.F32, 0)]
    [InlineData(KvCacheType.F16, 1)]
    [InlineData(KvCacheType.Q4_0, 2)]
    [InlineData(KvCacheType.Q4_1, 3)]
    [InlineData(KvCacheType.Q5_0, 6)]
    [InlineData(KvCacheType.Q5_1, 7)]
    [InlineData(KvCacheType.Q8_0, 8)]
    [InlineData(KvCacheType.IQ4_NL, 20)] // absent from LLamaSharp's enum; ggml's id passes through
    [InlineData(KvCacheType.BF16, 30)]   // idem
    public void Kv_types_carry_ggmls_ids(KvCacheType type, int ggmlId)
    {
        Assert.Equal(ggmlId, (int)ResolvedLoadOptionsExtensions.ToGgmlType(type));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FlashAttention(bool on) =>
        Assert.Equal(on, (Options() with { FlashAttention = on }).ToModelParams(ModelPath).FlashAttention);

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void NoKqvOffload_is_not_KvOffload(bool kvOffload, bool expected) =>
        Assert.Equal(expected, (Options() with { KvOffload = kvOffload }).ToModelParams(ModelPath).NoKqvOffload);

    [Fact]
    public void MainGpu() => Assert.Equal(1, Options().ToModelParams(ModelPath).MainGpu);

    [Fact]
    public void SplitMode_layer_with_splits_none_for_a_single_chosen_gpu()
    {
        Assert.Equal(GPUSplitMode.Layer, Options().ToModelParams(ModelPath).SplitMode);
        Assert.Equal(GPUSplitMode.None, (Options() with { TensorSplits = default }).ToModelParams(ModelPath).SplitMode);
        Assert.Equal(GPUSplitMode.Layer, (Options() with { MainGpu = 0, TensorSplits = default }).ToModelParams(ModelPath).SplitMode);
    }

    [Fact]
    public void TensorSplits()
    {
        var splits = Options().ToModelParams(ModelPath).TensorSplits;
        Assert.Equal(3f, splits[0]);
        Assert.Equal(1f, splits[1]);
        Assert.All(splits.Skip(2), s => Assert.Equal(0f, s));
        Assert.All((Options() with { TensorSplits = default }).ToModelParams(ModelPath).TensorSplits, s => Assert.Equal(0f, s));
    }

    [Fact]
    public void Exact_mapping_reports_nothing_unsupported() => Assert.Empty(Options().GetUnsupported());

    [Fact]
    public void Repack_off_is_reported_unsupported()
    {
        var note = Assert.Single((Options() with { Repack = false }).GetUnsupported());
        Assert.Contains("use_extra_bufts", note);
    }

    [Fact]
    public void Cpu_repack_override_is_reported_unsupported()
    {
        var options = Options() with { TensorOverrides = EquatableArray.Create(new TensorOverride("exps", "CPU_REPACK")) };
        Assert.Contains("drops overrides naming CPU_REPACK", Assert.Single(options.GetUnsupported()));
    }

    [Theory]
    [InlineData("Threads", 0)]
    [InlineData("BatchThreads", 0)]
    [InlineData("GpuLayerCount", -1)]
    [InlineData("ContextSize", -1)]
    [InlineData("BatchSize", 0)]
    [InlineData("UBatchSize", 0)]
    [InlineData("MainGpu", -1)]
    public void Invalid_counts_are_clear_errors(string field, int value)
    {
        var options = field switch
        {
            "Threads" => Options() with { Threads = value },
            "BatchThreads" => Options() with { BatchThreads = value },
            "GpuLayerCount" => Options() with { GpuLayerCount = value },
            "ContextSize" => Options() with { ContextSize = value },
            "BatchSize" => Options() with { BatchSize = value },
            "UBatchSize" => Options() with { UBatchSize = value },
            _ => Options() with { MainGpu = value },
        };
        var error = Assert.Throws<ArgumentException>(() => options.ToModelParams(ModelPath));
        Assert.Contains($"ResolvedLoadOptions.{field} = {value} is invalid", error.Message);
    }

    [Fact]
    public void Too_many_splits_is_a_clear_error()
    {
        var options = Options() with { TensorSplits = Enumerable.Repeat(1f, 300).ToEquatableArray() };
        Assert.Contains("supports at most", Assert.Throws<ArgumentException>(() => options.ToModelParams(ModelPath)).Message);
    }
}
