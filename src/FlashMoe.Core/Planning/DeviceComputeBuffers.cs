using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

/// <summary>
/// Each device's compute buffer under llama.cpp's scheduler: which device runs which part of the graph (layer
/// prefix on the CPU, overridden expert matmuls, op offload to the first GPU) and the bytes
/// <see cref="ComputeBufferEstimator"/> gives for that part.
/// </summary>
internal static class DeviceComputeBuffers
{
    /// <summary>
    /// Compute buffer bytes per device slot (CPU first, then each GPU), as llama.cpp reserves them; and
    /// <paramref name="cpuResident"/>, the bytes of the CPU's buffer a chat-shaped run makes resident (one output per
    /// ubatch: <see cref="ComputeBufferEstimator.Constants.OutputSequences"/>), plus, CPU-only, the CPU backend's work
    /// buffer (<see cref="ComputeBufferEstimator.CpuWorkBufferBytes"/>). A GPU's buffer is committed device memory
    /// whatever the run touches.
    /// </summary>
    public static long[] Estimate(PreparedModel prepared, ResolvedLoadOptions options, int gpuCount,
        DeviceRef[] layerDevices, DeviceRef outputDevice, List<PlacedTensor> placed, out long cpuResident)
    {
        var model = prepared.Model;
        var compute = new long[gpuCount + 1];
        cpuResident = 0;
        if (model.BlockCount <= 0 && model.VocabSize <= 0) return compute;
        const long outputs = ComputeBufferEstimator.Constants.OutputSequences;

        var tokens = ComputeBufferEstimator.ReserveTokens(options.ContextSize, options.BatchSize, options.UBatchSize);
        var cells = KvCacheEstimator.Cells(options.ContextSize);
        var windowCells = KvCacheEstimator.SlidingWindowCells(model, options.ContextSize, tokens, options.SwaFull);
        var fa = options.FlashAttention;

        if (gpuCount == 0)
        {
            // One backend runs the whole graph: llama.cpp's allocator replayed over it (measured exact, docs/measurements.md).
            var whole = prepared.WholeGraphCompute(tokens, outputs, cells, fa, options.TypeK, options.TypeV, windowCells);
            compute[0] = whole[0];
            cpuResident = whole[1] + ComputeBufferEstimator.CpuWorkBufferBytes(model, tokens, cells, fa);
            return compute;
        }

        long Share(int first, int count, bool output, bool hostsInputs, long t) =>
            ComputeBufferEstimator.DeviceShareBytes(model, first, count, output, hostsInputs, t, cells, fa, options.TypeK, options.TypeV, windowCells);
        // The CPU's share: reserved into compute[0], resident into hostResident (an out parameter cannot be captured).
        long hostResident = 0;
        void CpuShare(int first, int count, bool output, bool hostsInputs, long t)
        {
            hostResident += ComputeBufferEstimator.DeviceShareResidentBytes(model, first, count, output, hostsInputs, t, outputs, cells, fa,
                options.TypeK, options.TypeV, windowCells, out var reserved);
            compute[0] += reserved;
        }

        // llama.cpp keeps the first i_gpu_start layers on the CPU (a prefix); overrides may keep a GPU layer's matmul
        // weights (experts on CPU) there too.
        var cpuLayers = 0;
        while (cpuLayers < layerDevices.Length && layerDevices[cpuLayers].IsCpu) cpuLayers++;
        var overridden = placed.Where(p => p.Device.IsCpu && p.IsMatmul && p.Layer is { } l && l < layerDevices.Length && !layerDevices[l].IsCpu)
            .Select(p => p.Layer!.Value).DefaultIfEmpty(-1).Min();
        var cpuLayerWork = cpuLayers > 0 || overridden >= 0;
        var hostedFirst = cpuLayers > 0 ? 0 : Math.Max(0, overridden);

        // Op offload: with a GPU backend, batches ≥ 32 run host-weight matmuls on the first GPU (its weights staged
        // in that GPU's compute buffer); the CPU then only computes single-token graphs. Every graph input lives in the
        // CPU's buffer whatever runs where (the scheduler assigns inputs to the CPU backend).
        var opOffload = tokens >= ComputeBufferEstimator.Constants.OpOffloadMinBatch;
        if (opOffload)
        {
            CpuShare(0, 0, false, true, tokens);
            if (cpuLayerWork || outputDevice.IsCpu) CpuShare(hostedFirst, cpuLayerWork ? Math.Max(1, cpuLayers) : 0, outputDevice.IsCpu, false, 1);
        }
        else
        {
            CpuShare(0, cpuLayers, outputDevice.IsCpu, true, tokens);
            if (cpuLayers == 0 && overridden >= 0) CpuShare(overridden, 1, false, false, tokens);
        }
        cpuResident = hostResident;

        for (var g = 0; g < gpuCount; g++)
        {
            var device = DeviceRef.Gpu(g);
            var first = LlamaPlacement.FirstLayerOn(layerDevices, device);
            var count = LlamaPlacement.LayersOn(layerDevices, device);
            var peak = Share(Math.Max(0, first), count, outputDevice == device, false, tokens);
            if (opOffload && g == 0 && (cpuLayerWork || outputDevice.IsCpu))
            {
                var hosted = Share(hostedFirst, cpuLayerWork ? 1 : 0, outputDevice.IsCpu, false, tokens);
                peak = Math.Max(peak, hosted) + ComputeBufferEstimator.Constants.OffloadStagedLayers * LargestHostMatmulGroup(placed);
            }
            compute[g + 1] = peak;
        }
        return compute;
    }

    // The biggest set of host-resident matmul weights one offloaded split needs: one layer's, or the output layer.
    private static long LargestHostMatmulGroup(List<PlacedTensor> placed)
    {
        // Summed in a class per layer, not a Dictionary<int, long>: that instantiation is not precompiled (ReadyToRun)
        // and would be JIT-compiled on every build's first check.
        var perLayer = new Dictionary<int, LayerBytes>();
        long nonLayer = 0;
        long largestLayer = 0;
        foreach (var p in placed)
        {
            if (!p.Device.IsCpu || !p.IsMatmul) continue;
            if (p.Layer is { } layer)
            {
                if (!perLayer.TryGetValue(layer, out var sum)) perLayer.Add(layer, sum = new LayerBytes());
                sum.Bytes += p.Bytes;
                largestLayer = Math.Max(largestLayer, sum.Bytes);
            }
            else if (p.Role == TensorRole.Output)
            {
                nonLayer = Math.Max(nonLayer, p.Bytes);
            }
        }
        return Math.Max(nonLayer, largestLayer);
    }

    private sealed class LayerBytes
    {
        public long Bytes { get; set; }
    }
}
