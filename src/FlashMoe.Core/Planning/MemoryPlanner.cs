using System;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Computes where every byte lives under llama.cpp for a model, a host and concrete load options: placement
/// (<see cref="LlamaPlacement"/>), per-device weights, KV cache (<see cref="KvCacheEstimator"/>), compute and
/// output buffers (<see cref="ComputeBufferEstimator"/>), host RAM under mmap or not, the roofline and the
/// quantization fit table. Pure and deterministic; the advice rules read its result.
/// </summary>
public static partial class MemoryPlanner
{
    /// <summary>Resolves the profile's <c>auto</c> options (<see cref="ProfileResolver"/>) and returns the plan for them.</summary>
    public static MemoryPlan Plan(FlashMoeProfile profile, ModelSummary model, HostFacts host) =>
        ProfileResolver.Resolve(profile, model, host).Plan;

    /// <summary>The plan for concrete options.</summary>
    public static MemoryPlan Plan(ResolvedLoadOptions options, ModelSummary model, HostFacts host) =>
        Plan(new PreparedModel(model, options.TensorOverrides, host.Gpus.Count), options, host);

    /// <summary>
    /// Usable RAM: min(RAM − reserve, container limit, available RAM when known). The reserve is the host's
    /// declared one, else <see cref="EvidenceThresholds.DefaultReserveBytes"/>.
    /// </summary>
    public static long UsableRamBytes(HostFacts host, out long reserveBytes, out bool reserveIsDefault)
    {
        reserveIsDefault = host.ReserveBytes is null;
        reserveBytes = host.ReserveBytes is { } declared && declared >= 0 ? declared : EvidenceThresholds.DefaultReserveBytes(host.TotalRamBytes);
        var usable = Math.Max(0, host.TotalRamBytes - reserveBytes);
        if (host.MemoryLimitBytes is { } limit && limit > 0) usable = Math.Min(usable, limit);
        if (host.AvailableRamBytes is { } available && available > 0) usable = Math.Min(usable, available);
        return usable;
    }

    /// <summary>A GPU's VRAM in bytes (profiles declare GiB).</summary>
    public static long VramBytes(GpuSpec gpu) => gpu.VramGiB > 0 && !double.IsInfinity(gpu.VramGiB) ? (long)(gpu.VramGiB * Units.GiB) : 0;

    internal static MemoryPlan Plan(PreparedModel prepared, ResolvedLoadOptions options, HostFacts host)
    {
        var model = prepared.Model;
        var gpus = host.Gpus;
        var layerCount = Math.Max(0, model.BlockCount);
        var shares = LlamaPlacement.GpuShares(gpus, options.TensorSplits);
        var layerDevices = LlamaPlacement.AssignLayers(layerCount, options.GpuLayerCount, shares, out var outputDevice);

        var placed = WeightPlacement.Place(prepared, options, host, layerDevices, outputDevice);

        // ---- per-device weights ----
        var deviceCount = gpus.Count + 1;
        var (weights, repacked) = WeightPlacement.BytesByDevice(placed, deviceCount, options.UseMmap);

        // ---- KV cache (llama-kv-cache.cpp: on dev_layer(il) when offload_kqv, else the CPU buffer type) ----
        var kvLayers = prepared.KvLayerBytes(options.ContextSize, options.TypeK, options.TypeV,
            ComputeBufferEstimator.ReserveTokens(options.ContextSize, options.BatchSize, options.UBatchSize), options.SwaFull);
        var kv = new long[deviceCount];
        long kvTotal = 0;
        for (var il = 0; il < kvLayers.Length; il++)
        {
            var device = options.KvOffload ? layerDevices[il] : DeviceRef.Cpu;
            kv[Slot(device)] += kvLayers[il];
            kvTotal += kvLayers[il];
        }

        // ---- compute buffers ----
        var compute = DeviceComputeBuffers.Estimate(prepared, options, gpus.Count, layerDevices, outputDevice, placed, out var cpuComputeResident);
        var outputBuffer = ComputeBufferEstimator.OutputBufferBytes(model);

        // ---- devices ----
        var usable = UsableRamBytes(host, out var reserve, out var reserveIsDefault);
        var devices = new DevicePlan[deviceCount];
        for (var d = 0; d < deviceCount; d++)
        {
            var device = d == 0 ? DeviceRef.Cpu : DeviceRef.Gpu(d - 1);
            devices[d] = new DevicePlan
            {
                Device = device,
                Name = d == 0 ? "CPU" : (string.IsNullOrWhiteSpace(gpus[d - 1].Name) ? device.ToString() : gpus[d - 1].Name),
                LayerCount = LlamaPlacement.LayersOn(layerDevices, device),
                HoldsOutputLayer = outputDevice == device,
                WeightBytes = weights[d],
                RepackedBytes = repacked[d],
                KvCacheBytes = kv[d],
                ComputeBytes = compute[d],
                OutputBytes = d == 0 ? outputBuffer : 0,
                CapacityBytes = d == 0 ? usable : VramBytes(gpus[d - 1]),
                ReserveBytes = d == 0 ? 0 : EvidenceThresholds.GpuReserveBytes,
            };
        }

        var hostPlan = HostFootprint.Account(options, devices[0], cpuComputeResident, prepared.FileTensorBytes, EvidenceThresholds.RuntimeOverheadBytes(model), usable, reserve, reserveIsDefault, host)
            with { MappedBytes = options.UseMmap ? HostFootprint.MappedSpanBytes(prepared, placed) : 0 };
        var offloaded = LlamaPlacement.GpuLayers(layerDevices) + (outputDevice.IsCpu ? 0 : 1);

        var plan = new MemoryPlan
        {
            Options = options,
            Devices = devices.ToEquatableArray(),
            LayerDevices = EquatableArray<DeviceRef>.Own((DeviceRef[])layerDevices.Clone()), // no LINQ over a Core value type
            OutputDevice = outputDevice,
            OffloadedLayerCount = offloaded,
            Tensors = placed.ToEquatableArray(),
            IgnoredOverrides = prepared.Ignored.ToEquatableArray(),
            Host = hostPlan,
            Roofline = EstimateRoofline(model, placed, host.MemoryBandwidthGBs),
            KvCacheBytes = kvTotal,
        };
        return plan with { QuantizationFits = QuantizationFitTable(model, plan, host).ToEquatableArray() };
    }

    /// <summary>The index of a device in per-device arrays: the CPU first, then each GPU.</summary>
    internal static int Slot(DeviceRef device) => device.IsCpu ? 0 : device.GpuIndex + 1;
}
