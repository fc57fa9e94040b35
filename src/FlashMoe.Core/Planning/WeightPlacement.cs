using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

/// <summary>
/// Puts every weight tensor on its llama.cpp device (override match, else the layer's device, the input on the CPU,
/// the output on the output device), marks the CPU weights llama.cpp repacks, and sums the weight bytes per device.
/// </summary>
internal static class WeightPlacement
{
    /// <summary>The placed tensors, in the model's order, followed by the tied output copy when the model has one.</summary>
    public static List<PlacedTensor> Place(PreparedModel prepared, ResolvedLoadOptions options, HostFacts host,
        DeviceRef[] layerDevices, DeviceRef outputDevice)
    {
        // CPU weights are repacked only when the CPU buffer list reaches the CPU "extra" buffer types: with a GPU,
        // llama.cpp's make_cpu_buft_list (src/llama-model.cpp) puts the GPU's host (pinned) buffer first, and
        // LLamaSharp 0.30 leaves no_host off; with mmap that host buffer is swapped for the plain CPU buffer.
        var repackActive = options.Repack && host.Gpus.Count == 0 && host.Avx2 != false;

        var placed = new List<PlacedTensor>(prepared.Tensors.Count + 1);
        for (var i = 0; i < prepared.Tensors.Count; i++)
        {
            var t = prepared.Tensors[i];
            var match = prepared.Matches[i];
            var device = match?.Device ?? DefaultDevice(t, layerDevices, outputDevice);
            placed.Add(new PlacedTensor(t.Name, t.Type, t.Role, t.Layer, t.Bytes, device, match?.Pattern,
                device.IsCpu && repackActive && LlamaPlacement.IsRepackable(t) && LlamaPlacement.HostRepacks(t.Type, host), false,
                LlamaPlacement.IsMatmulWeight(t)));
        }

        // Tied embeddings: without output.weight, llama.cpp creates the output as a TENSOR_DUPLICATED copy of
        // token_embd on the output device (create_tensor in load_tensors); overrides see the name token_embd.weight.
        if (prepared.TiedEmbedding is { } embedding)
        {
            var device = prepared.TiedMatch?.Device ?? outputDevice;
            var asOutput = embedding with { Role = TensorRole.Output, Layer = null };
            placed.Add(new PlacedTensor("output.weight", embedding.Type, TensorRole.Output, null, embedding.Bytes, device,
                prepared.TiedMatch?.Pattern, device.IsCpu && repackActive && LlamaPlacement.IsRepackable(asOutput) && LlamaPlacement.HostRepacks(asOutput.Type, host), true, true));
        }

        return placed;
    }

    /// <summary>Weight bytes and repacked bytes per device slot (CPU first, then each GPU).</summary>
    public static (long[] Weights, long[] Repacked) BytesByDevice(List<PlacedTensor> placed, int deviceCount, bool useMmap)
    {
        var weights = new long[deviceCount];
        var repacked = new long[deviceCount];
        foreach (var p in placed)
        {
            var d = MemoryPlanner.Slot(p.Device);
            if (p.IsDuplicate && p.Device.IsCpu && useMmap && !p.Repacked)
            {
                continue; // same file pages as token_embd: no new memory
            }
            weights[d] += p.Bytes;
            if (p.Repacked) repacked[d] += p.Bytes;
        }
        return (weights, repacked);
    }

    private static DeviceRef DefaultDevice(TensorSummary t, DeviceRef[] layerDevices, DeviceRef outputDevice)
    {
        // dev_input is always the CPU ("very little benefit to offloading the input layer"); dev_output and
        // dev_layer as assigned (llama_model::load_tensors).
        if (t.Role == TensorRole.TokenEmbedding) return DeviceRef.Cpu;
        if (t.Layer is { } layer && layer >= 0 && layer < layerDevices.Length) return layerDevices[layer];
        if (t.Role == TensorRole.Output || t.Name.StartsWith("output", StringComparison.Ordinal)) return outputDevice;
        return DeviceRef.Cpu;
    }
}
