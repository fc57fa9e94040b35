using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Native;
using Xunit;

namespace FlashMoe.Runtime.Tests;

/// <summary>The planned-vs-actual comparison: tolerance rule, buffer-name → device mapping, per-kind rows.</summary>
public class BufferComparisonTests
{
    [Theory]
    [InlineData(1000 * Units.MiB, 1000 * Units.MiB + 64 * Units.MiB, true)]      // 64 MiB off: within
    [InlineData(1000 * Units.MiB, 1000 * Units.MiB + 65 * Units.MiB, false)]     // 65 MiB and 6.5 %: outside
    [InlineData(4000 * Units.MiB, 4000 * Units.MiB + 120 * Units.MiB, true)]     // 3 % of 4000 MiB = 120 MiB: within
    [InlineData(4000 * Units.MiB, 4000 * Units.MiB + 125 * Units.MiB, false)]    // 125 MiB is above 64 MiB and 3 %
    [InlineData(4000 * Units.MiB, 4000 * Units.MiB - 120 * Units.MiB, true)]     // too high by 3 %: within
    [InlineData(0L, 10 * Units.MiB, true)]                                       // small buffers are judged by 64 MiB
    public void Tolerance_is_3_percent_or_64_MiB_per_buffer(long planned, long actual, bool within)
    {
        var row = new BufferEstimate(DeviceRef.Cpu, BufferKind.Compute, planned, actual);
        Assert.Equal(within, row.WithinTolerance);
        Assert.Equal(actual - planned, row.ErrorBytes);
    }

    [Fact]
    public void Without_an_actual_figure_nothing_is_judged()
    {
        var row = new BufferEstimate(DeviceRef.Cpu, BufferKind.KvCache, 100, null);
        Assert.Null(row.ErrorBytes);
        Assert.Null(row.RelativeError);
        Assert.Null(row.WithinTolerance);
    }

    [Theory]
    [InlineData("CPU", -1)]
    [InlineData("CPU_Mapped", -1)]
    [InlineData("CPU_REPACK", -1)]
    [InlineData("Vulkan_Host", -1)]
    [InlineData("CUDA_Host", -1)]
    [InlineData("Vulkan0", 0)]
    [InlineData("Vulkan1", 1)]
    [InlineData("CUDA12", 12)]
    [InlineData("Metal", -1)]
    public void Buffer_names_map_to_devices(string name, int device) => Assert.Equal(device, BufferComparison.DeviceOf(name));

    [Fact]
    public void Gpu_plan_is_compared_per_device_and_kind()
    {
        // 4 layers of 100 MiB-ish Q8_0 weights, two offloaded to one declared GPU.
        var model = Model();
        var profile = new FlashMoeProfile("Gpu",
            new HardwareSpec(64, 0, new CpuSpec(8, 16), EquatableArray.Create(new GpuSpec("GPU", 24, GpuBackend.Vulkan)), StorageKind.Nvme),
            new ModelSpec(null, null),
            LoadOptions.Default with { Mmap = AutoSwitch.Off, GpuLayers = GpuLayers.Of(2), ContextSize = 1024 });
        var resolved = ProfileResolver.Resolve(profile, model);
        var cpu = resolved.Plan.Devices[0];
        var gpu = resolved.Plan.Devices[1];

        var actual = new LlamaBufferReport
        {
            ModelBuffers = new Dictionary<string, long> { ["Vulkan_Host"] = cpu.WeightBytes, ["Vulkan0"] = gpu.WeightBytes + 200 * Units.MiB },
            KvBuffers = new Dictionary<string, long> { ["CPU"] = cpu.KvCacheBytes, ["Vulkan0"] = gpu.KvCacheBytes },
            ComputeBuffers = new Dictionary<string, long> { ["Vulkan0"] = gpu.ComputeBytes, ["Vulkan_Host"] = 5 * Units.MiB },
            OutputBuffers = new Dictionary<string, long> { ["CPU"] = cpu.OutputBytes },
            ContextCount = 1,
        };

        var c = BufferComparison.Compare(resolved, actual);

        Assert.Equal(0, c.Find(DeviceRef.Cpu, BufferKind.Weights)!.ErrorBytes);
        var gpuWeights = c.Find(DeviceRef.Gpu(0), BufferKind.Weights)!;
        Assert.Equal(200 * Units.MiB, gpuWeights.ErrorBytes);
        Assert.False(gpuWeights.WithinTolerance);
        Assert.False(c.AllWithinTolerance);
        Assert.Equal(0, c.Find(DeviceRef.Gpu(0), BufferKind.KvCache)!.ErrorBytes);
        Assert.Equal(5 * Units.MiB, c.Find(DeviceRef.Cpu, BufferKind.Compute)!.ActualBytes);
        Assert.Null(c.Find(DeviceRef.Gpu(0), BufferKind.Repacked)); // neither side has one
        Assert.False(c.WeightsAreMappedRange);
        Assert.Contains("NO", c.Describe());
        // CPU rows first, then the GPU's, each in kind order.
        Assert.Equal(c.Rows.OrderBy(r => r.Device.GpuIndex).ThenBy(r => r.Kind), c.Rows);
    }

    [Fact]
    public void Mmap_cpu_weights_are_the_plans_mapped_span()
    {
        // gpuLayers 2 of 4: layer 3 and the output on the GPU; token_embd and layers 0–2 are mapped from the file.
        var model = Model();
        var profile = new FlashMoeProfile("Mapped",
            new HardwareSpec(64, 0, new CpuSpec(8, 16), EquatableArray.Create(new GpuSpec("GPU", 24, GpuBackend.Vulkan)), StorageKind.Nvme),
            new ModelSpec(null, null),
            LoadOptions.Default with { Mmap = AutoSwitch.On, GpuLayers = GpuLayers.Of(2), ContextSize = 1024 });
        var resolved = ProfileResolver.Resolve(profile, model);
        var lastCpu = model.Tensors.Single(t => t.Name == "blk.2.ffn_up.weight");
        var span = lastCpu.Offset + lastCpu.Bytes; // token_embd starts at offset 0

        var actual = new LlamaBufferReport { ModelBuffers = new Dictionary<string, long> { ["CPU_Mapped"] = span } };
        var c = BufferComparison.Compare(resolved, actual);

        Assert.True(c.WeightsAreMappedRange);
        Assert.Equal(span, resolved.Plan.Host.MappedBytes);
        var weights = c.Find(DeviceRef.Cpu, BufferKind.Weights)!;
        Assert.Equal(resolved.Plan.Host.MappedBytes, weights.PlannedBytes);
        Assert.Equal(0, weights.ErrorBytes);
    }

    private static ModelSummary Model()
    {
        var tensors = new List<TensorSummary>();
        long offset = 0;
        void Add(string name, TensorRole role, int? layer, params long[] dims)
        {
            var bytes = GgmlTypeTable.TensorBytes(GgmlType.Q8_0, dims)!.Value;
            tensors.Add(new TensorSummary(name, GgmlType.Q8_0, dims.ToEquatableArray(), offset, bytes, role, layer));
            offset += bytes;
        }
        Add("token_embd.weight", TensorRole.TokenEmbedding, null, 4096, 1024);
        for (var i = 0; i < 4; i++)
        {
            Add($"blk.{i}.attn_q.weight", TensorRole.Attention, i, 4096, 4096);
            Add($"blk.{i}.ffn_up.weight", TensorRole.DenseFfn, i, 4096, 14336);
        }
        Add("output.weight", TensorRole.Output, null, 4096, 1024);
        var layers = new long[4];
        foreach (var t in tensors.Where(t => t.Layer is not null)) layers[t.Layer!.Value] += t.Bytes;
        return new ModelSummary
        {
            Architecture = "llama",
            FileSizeBytes = offset,
            BlockCount = 4,
            EmbeddingLength = 4096,
            FeedForwardLength = 14336,
            HeadCountPerLayer = EquatableArray.Create(32, 32, 32, 32),
            HeadCountKvPerLayer = EquatableArray.Create(8, 8, 8, 8),
            KeyLength = 128,
            ValueLength = 128,
            ContextLength = 4096,
            VocabSize = 1024,
            TensorBytes = offset,
            TensorCount = tensors.Count,
            Tensors = tensors.ToEquatableArray(),
            BytesByLayer = layers.ToEquatableArray(),
            BytesByType = new Dictionary<GgmlType, long> { [GgmlType.Q8_0] = offset },
            BytesByRole = tensors.GroupBy(t => t.Role).ToDictionary(g => g.Key, g => g.Sum(t => t.Bytes)),
        };
    }
}
