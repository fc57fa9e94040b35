using System;
using System.Collections.Generic;
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
public static class MemoryPlanner
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

        // CPU weights are repacked only when the CPU buffer list reaches the CPU "extra" buffer types: with a GPU,
        // llama.cpp's make_cpu_buft_list (src/llama-model.cpp) puts the GPU's host (pinned) buffer first, and
        // LLamaSharp 0.30 leaves no_host off; with mmap that host buffer is swapped for the plain CPU buffer.
        var repackActive = options.Repack && gpus.Count == 0 && host.Avx2 != false;

        var placed = new List<PlacedTensor>(prepared.Tensors.Count + 1);
        for (var i = 0; i < prepared.Tensors.Count; i++)
        {
            var t = prepared.Tensors[i];
            var match = prepared.Matches[i];
            var device = match?.Device ?? DefaultDevice(t, layerDevices, outputDevice);
            placed.Add(new PlacedTensor(t.Name, t.Type, t.Role, t.Layer, t.Bytes, device, match?.Pattern,
                device.IsCpu && repackActive && LlamaPlacement.IsRepackable(t), false, LlamaPlacement.IsMatmulWeight(t)));
        }

        // Tied embeddings: without output.weight, llama.cpp creates the output as a TENSOR_DUPLICATED copy of
        // token_embd on the output device (create_tensor in load_tensors); overrides see the name token_embd.weight.
        if (prepared.TiedEmbedding is { } embedding)
        {
            var device = prepared.TiedMatch?.Device ?? outputDevice;
            var asOutput = embedding with { Role = TensorRole.Output, Layer = null };
            placed.Add(new PlacedTensor("output.weight", embedding.Type, TensorRole.Output, null, embedding.Bytes, device,
                prepared.TiedMatch?.Pattern, device.IsCpu && repackActive && LlamaPlacement.IsRepackable(asOutput), true, true));
        }

        // ---- per-device weights ----
        var deviceCount = gpus.Count + 1;
        var weights = new long[deviceCount];
        var repacked = new long[deviceCount];
        long mappedDuplicateBytes = 0;
        foreach (var p in placed)
        {
            var d = Slot(p.Device);
            if (p.IsDuplicate && p.Device.IsCpu && options.UseMmap && !p.Repacked)
            {
                mappedDuplicateBytes += p.Bytes; // same file pages as token_embd: no new memory
                continue;
            }
            weights[d] += p.Bytes;
            if (p.Repacked) repacked[d] += p.Bytes;
        }

        // ---- KV cache (llama-kv-cache.cpp: on dev_layer(il) when offload_kqv, else the CPU buffer type) ----
        var kvLayers = prepared.KvLayerBytes(options.ContextSize, options.TypeK, options.TypeV);
        var kv = new long[deviceCount];
        long kvTotal = 0;
        for (var il = 0; il < kvLayers.Length; il++)
        {
            var device = options.KvOffload ? layerDevices[il] : DeviceRef.Cpu;
            kv[Slot(device)] += kvLayers[il];
            kvTotal += kvLayers[il];
        }

        // ---- compute buffers ----
        var compute = EstimateCompute(prepared, options, gpus.Count, layerDevices, outputDevice, placed);
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
                LayerCount = layerDevices.Count(l => l == device),
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

        var hostPlan = HostAccounting(options, devices[0], prepared.FileTensorBytes, EvidenceThresholds.RuntimeOverheadBytes(model), usable, reserve, reserveIsDefault, host)
            with { MappedBytes = options.UseMmap ? MappedSpanBytes(prepared, placed) : 0 };
        var offloaded = layerDevices.Count(l => !l.IsCpu) + (outputDevice.IsCpu ? 0 : 1);

        var plan = new MemoryPlan
        {
            Options = options,
            Devices = devices.ToEquatableArray(),
            LayerDevices = layerDevices.ToEquatableArray(),
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

    /// <summary>
    /// The CPU_Mapped buffer llama.cpp reports with mmap: it maps the file range from the first to the last CPU-resident
    /// tensor it serves from the mapping (<c>llama_model_loader::get_mapping_range</c>: min offset … max offset + size of
    /// the tensors in the CPU buffer type's context), so alignment padding and any tensor in between — repacked or on a
    /// GPU — are inside it. Declared models have no offsets: their CPU-resident bytes stand in.
    /// </summary>
    private static long MappedSpanBytes(PreparedModel prepared, List<PlacedTensor> placed)
    {
        long first = long.MaxValue, last = long.MinValue, sum = 0;
        var hasOffsets = prepared.Model.Tensors.Count > 0;
        for (var i = 0; i < prepared.Tensors.Count; i++)
        {
            var p = placed[i];
            if (!p.Device.IsCpu || p.Repacked) continue;
            var t = prepared.Tensors[i];
            sum += t.Bytes;
            first = Math.Min(first, t.Offset);
            last = Math.Max(last, t.Offset + t.Bytes);
        }
        if (sum == 0) return 0;
        // Real offsets never overlap, so the span is at least the sum; hand-built summaries without offsets fall back to it.
        return hasOffsets ? Math.Max(last - first, sum) : sum;
    }

    private static int Slot(DeviceRef device) => device.IsCpu ? 0 : device.GpuIndex + 1;

    private static DeviceRef DefaultDevice(TensorSummary t, DeviceRef[] layerDevices, DeviceRef outputDevice)
    {
        // dev_input is always the CPU ("very little benefit to offloading the input layer"); dev_output and
        // dev_layer as assigned (llama_model::load_tensors).
        if (t.Role == TensorRole.TokenEmbedding) return DeviceRef.Cpu;
        if (t.Layer is { } layer && layer >= 0 && layer < layerDevices.Length) return layerDevices[layer];
        if (t.Role == TensorRole.Output || t.Name.StartsWith("output", StringComparison.Ordinal)) return outputDevice;
        return DeviceRef.Cpu;
    }

    private static long[] EstimateCompute(PreparedModel prepared, ResolvedLoadOptions options, int gpuCount,
        DeviceRef[] layerDevices, DeviceRef outputDevice, List<PlacedTensor> placed)
    {
        var model = prepared.Model;
        var compute = new long[gpuCount + 1];
        if (model.BlockCount <= 0 && model.VocabSize <= 0) return compute;

        var tokens = ComputeBufferEstimator.ReserveTokens(options.ContextSize, options.BatchSize, options.UBatchSize);
        var cells = KvCacheEstimator.Cells(options.ContextSize);
        var fa = options.FlashAttention;
        if (KvCacheEstimator.IsMla(model)) return EstimateComputeByPhase(model, tokens, cells, fa, gpuCount, layerDevices, outputDevice, placed);

        if (gpuCount == 0)
        {
            // One backend runs the whole graph: llama.cpp's allocator replayed over it (measured exact, docs/measurements.md).
            compute[0] = ComputeBufferEstimator.WholeGraphBytes(model, tokens, tokens, cells, fa, options.TypeK, options.TypeV);
            return compute;
        }

        long Share(int first, int count, bool output, bool hostsInputs, long t) =>
            ComputeBufferEstimator.DeviceShareBytes(model, first, count, output, hostsInputs, t, cells, fa, options.TypeK, options.TypeV);

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
            compute[0] = Share(0, 0, false, true, tokens)
                         + (cpuLayerWork || outputDevice.IsCpu ? Share(hostedFirst, cpuLayerWork ? Math.Max(1, cpuLayers) : 0, outputDevice.IsCpu, false, 1) : 0);
        }
        else
        {
            compute[0] = Share(0, cpuLayers, outputDevice.IsCpu, true, tokens)
                         + (cpuLayers == 0 && overridden >= 0 ? Share(overridden, 1, false, false, tokens) : 0);
        }

        for (var g = 0; g < gpuCount; g++)
        {
            var device = DeviceRef.Gpu(g);
            var first = Array.IndexOf(layerDevices, device);
            var count = layerDevices.Count(d => d == device);
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

    /// <summary>The per-phase estimate, for attention the replay does not model (MLA).</summary>
    private static long[] EstimateComputeByPhase(ModelSummary model, long tokens, long cells, bool fa, int gpuCount,
        DeviceRef[] layerDevices, DeviceRef outputDevice, List<PlacedTensor> placed)
    {
        var compute = new long[gpuCount + 1];
        var layerPeak = ComputeBufferEstimator.LayerPeakBytes(model, tokens, cells, fa);
        var layerPeakOne = ComputeBufferEstimator.LayerPeakBytes(model, 1, cells, fa);
        var outputPeak = ComputeBufferEstimator.OutputLayerBytes(model, tokens, tokens);
        var outputPeakOne = ComputeBufferEstimator.OutputLayerBytes(model, 1, 1);
        var inputs = ComputeBufferEstimator.InputBytes(model, tokens);

        var opOffload = gpuCount > 0 && tokens >= ComputeBufferEstimator.Constants.OpOffloadMinBatch;
        var cpuLayerWork = layerDevices.Any(d => d.IsCpu)
                           || placed.Any(p => p.Device.IsCpu && p.Layer is not null && p.IsMatmul);
        var cpuTokensPeak = opOffload
            ? Math.Max(cpuLayerWork ? layerPeakOne : 0, outputDevice.IsCpu ? outputPeakOne : 0)
            : Math.Max(cpuLayerWork ? layerPeak : 0, outputDevice.IsCpu ? outputPeak : 0);
        compute[0] = inputs + cpuTokensPeak;

        for (var g = 0; g < gpuCount; g++)
        {
            var device = DeviceRef.Gpu(g);
            var peak = Math.Max(layerDevices.Any(d => d == device) ? layerPeak : 0, outputDevice == device ? outputPeak : 0);
            if (opOffload && g == 0 && (cpuLayerWork || outputDevice.IsCpu))
            {
                peak = Math.Max(peak, Math.Max(cpuLayerWork ? layerPeak : 0, outputDevice.IsCpu ? outputPeak : 0));
                peak += ComputeBufferEstimator.Constants.OffloadStagedLayers * LargestHostMatmulGroup(placed);
            }
            compute[g + 1] = peak;
        }
        return compute;
    }

    // The biggest set of host-resident matmul weights one offloaded split needs: one layer's, or the output layer.
    private static long LargestHostMatmulGroup(List<PlacedTensor> placed)
    {
        var perLayer = new Dictionary<int, long>();
        long nonLayer = 0;
        foreach (var p in placed)
        {
            if (!p.Device.IsCpu || !p.IsMatmul) continue;
            if (p.Layer is { } layer)
            {
                perLayer.TryGetValue(layer, out var sum);
                perLayer[layer] = sum + p.Bytes;
            }
            else if (p.Role == TensorRole.Output)
            {
                nonLayer = Math.Max(nonLayer, p.Bytes);
            }
        }
        return Math.Max(nonLayer, perLayer.Count == 0 ? 0 : perLayer.Values.Max());
    }

    private static HostMemoryPlan HostAccounting(ResolvedLoadOptions options, DevicePlan cpu, long fileTensorBytes, long overhead,
        long usable, long reserve, bool reserveIsDefault, HostFacts host)
    {
        var nonWeights = cpu.KvCacheBytes + cpu.ComputeBytes + cpu.OutputBytes + overhead;
        long anonymous, fileBacked, peak;
        if (options.UseMmap)
        {
            // mmap: CPU weights are served from the page cache; repacked ones get an anonymous copy while their file
            // pages, read once to repack, stay mapped but evictable. Every tensor is read through the mapping at load
            // (also those copied to a GPU), so without memory pressure the peak RSS counts the whole file (E:77: 1.95×).
            anonymous = cpu.RepackedBytes + nonWeights;
            fileBacked = cpu.WeightBytes - cpu.RepackedBytes;
            peak = anonymous + Math.Max(fileBacked, fileTensorBytes);
        }
        else
        {
            // no-mmap: every CPU weight is read once into anonymous (or pinned host) buffers; repacked tensors are
            // read straight into the repack buffer (E:44: 3915 MiB for a 4.0 GB file).
            anonymous = cpu.WeightBytes + nonWeights;
            fileBacked = 0;
            peak = anonymous;
        }

        return new HostMemoryPlan
        {
            UseMmap = options.UseMmap,
            TotalRamBytes = host.TotalRamBytes,
            MemoryLimitBytes = host.MemoryLimitBytes,
            ReserveBytes = reserve,
            ReserveIsDefault = reserveIsDefault,
            UsableBytes = usable,
            CpuWeightBytes = cpu.WeightBytes,
            RepackedBytes = cpu.RepackedBytes,
            KvCacheBytes = cpu.KvCacheBytes,
            ComputeBytes = cpu.ComputeBytes,
            OutputBytes = cpu.OutputBytes,
            RuntimeOverheadBytes = overhead,
            AnonymousBytes = anonymous,
            FileBackedBytes = fileBacked,
            PeakRssBytes = peak,
            // llama.cpp mlocks the mapped CPU weights (mmap) or the CPU buffers (no-mmap); repacked weights never (E:34–E:35).
            LockedBytes = options.UseMlock ? cpu.WeightBytes - cpu.RepackedBytes : 0,
        };
    }

    /// <summary>
    /// Active bytes per generated token: every weight read for one token (attention, dense FFN, norms, router, shared
    /// experts, the output layer) plus used/total of each routed-expert tensor; the token embedding contributes one
    /// row and is left out. Host-side bytes bound the speed by the host's bandwidth.
    /// </summary>
    public static RooflineEstimate EstimateRoofline(ModelSummary model, IEnumerable<PlacedTensor> placed, double? bandwidthGBs)
    {
        double host = 0, gpu = 0;
        var used = model.ExpertCount > 0 ? (double)Math.Min(model.ExpertUsedCount, model.ExpertCount) / model.ExpertCount : 1.0;
        foreach (var p in placed)
        {
            if (p.Role == TensorRole.TokenEmbedding) continue;
            var active = p.Role == TensorRole.ExpertFfn ? p.Bytes * used : p.Bytes;
            if (p.Device.IsCpu) host += active; else gpu += active;
        }
        var hostBytes = (long)Math.Round(host);
        double? bound = null;
        if (bandwidthGBs is { } bw && bw > 0 && hostBytes > 0) bound = bw * Units.GB / hostBytes;
        return new RooflineEstimate
        {
            ActiveBytesPerToken = hostBytes + (long)Math.Round(gpu),
            ActiveHostBytesPerToken = hostBytes,
            ActiveGpuBytesPerToken = (long)Math.Round(gpu),
            MemoryBandwidthGBs = bandwidthGBs,
            UpperBoundTokensPerSecond = bound,
        };
    }

    /// <summary>
    /// Average bits per weight of the quantizations in the fit table. Plain types from the block table
    /// (<see cref="GgmlTypeTable"/>); K_M mixes as the base K type with a share one K level higher
    /// (<see cref="EvidenceThresholds.KmHigherShare"/>, <see cref="EvidenceThresholds.Q3KmHigherShare"/>).
    /// </summary>
    public static IReadOnlyList<(string Name, double BitsPerWeight)> QuantizationBitsPerWeight()
    {
        double Bpw(GgmlType t) => GgmlTypeTable.Get(t).BitsPerWeight;
        double Mix(GgmlType baseType, GgmlType higher, double share) => Bpw(baseType) * (1 - share) + Bpw(higher) * share;
        return new[]
        {
            ("IQ1_S", Bpw(GgmlType.IQ1_S)),
            ("IQ1_M", Bpw(GgmlType.IQ1_M)),
            ("IQ2_XXS", Bpw(GgmlType.IQ2_XXS)),
            ("Q2_K", Bpw(GgmlType.Q2_K)),
            ("Q3_K_M", Mix(GgmlType.Q3_K, GgmlType.Q4_K, EvidenceThresholds.Q3KmHigherShare)),
            ("Q4_K_M", Mix(GgmlType.Q4_K, GgmlType.Q6_K, EvidenceThresholds.KmHigherShare)),
            ("Q5_K_M", Mix(GgmlType.Q5_K, GgmlType.Q6_K, EvidenceThresholds.KmHigherShare)),
            ("Q6_K", Bpw(GgmlType.Q6_K)),
            ("Q8_0", Bpw(GgmlType.Q8_0)),
        };
    }

    /// <summary>The parameter count: from the header, else estimated from the bytes and the dominant type.</summary>
    public static long ParameterCount(ModelSummary model)
    {
        if (model.ParameterCount > 0) return model.ParameterCount;
        var type = GgmlType.F16;
        long biggest = -1;
        foreach (var pair in model.BytesByType)
        {
            if (pair.Value > biggest) { biggest = pair.Value; type = pair.Key; }
        }
        var bytes = model.TensorBytes > 0 ? model.TensorBytes : model.FileSizeBytes;
        return bytes <= 0 ? 0 : (long)(bytes * 8.0 / GgmlTypeTable.Get(type).BitsPerWeight);
    }

    private static IReadOnlyList<QuantizationFit> QuantizationFitTable(ModelSummary model, MemoryPlan plan, HostFacts host)
    {
        var parameters = ParameterCount(model);
        var budget = plan.Host.UsableBytes;
        foreach (var gpu in plan.Devices.Skip(1)) budget += Math.Max(0, gpu.CapacityBytes - gpu.ReserveBytes);
        long nonWeights = plan.Host.RuntimeOverheadBytes;
        foreach (var d in plan.Devices) nonWeights += d.KvCacheBytes + d.ComputeBytes + d.OutputBytes;
        var room = budget - nonWeights;

        var rows = new List<QuantizationFit>();
        foreach (var (name, bpw) in QuantizationBitsPerWeight())
        {
            var size = (long)Math.Ceiling(parameters * bpw / 8.0);
            rows.Add(new QuantizationFit(name, bpw, size, parameters > 0 && size <= room));
        }
        return rows;
    }
}

/// <summary>
/// A model prepared for repeated planning with one override list: tensors, override matches (regexes are
/// evaluated once per tensor, not once per candidate gpuLayers) and cached KV layer sizes.
/// </summary>
internal sealed class PreparedModel
{
    private readonly Dictionary<(int, KvCacheType, KvCacheType), long[]> _kv = new();

    public PreparedModel(ModelSummary model, IReadOnlyList<TensorOverride> overrides, int gpuCount)
    {
        Model = model;
        Tensors = DeclaredModel.TensorsOf(model);
        var active = new List<CompiledOverride>(LlamaPlacement.Compile(overrides, gpuCount, Ignored));
        Matches = new CompiledOverride?[Tensors.Count];
        long fileBytes = 0;
        TensorSummary? embedding = null;
        var hasOutput = false;
        for (var i = 0; i < Tensors.Count; i++)
        {
            var t = Tensors[i];
            Matches[i] = LlamaPlacement.Match(active, t.Name, Ignored);
            fileBytes += t.Bytes;
            if (t.Role == TensorRole.TokenEmbedding && t.Name == "token_embd.weight") embedding = t;
            if (t.Name == "output.weight") hasOutput = true;
        }
        FileTensorBytes = fileBytes;
        if (!hasOutput && embedding is not null && Tensors.Count > 0)
        {
            TiedEmbedding = embedding;
            TiedMatch = LlamaPlacement.Match(active, embedding.Name, Ignored);
        }
        DropTimedOutMatches(active);
        Ignored.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>
    /// An override dropped after a match timeout may already have matched earlier tensors: place those as if it had
    /// never been there (re-matching can drop another override, hence the loop; each round removes one at least).
    /// </summary>
    private void DropTimedOutMatches(List<CompiledOverride> active)
    {
        while (true)
        {
            var remaining = new HashSet<int>(active.Select(o => o.Index));
            var before = active.Count;
            for (var i = 0; i < Matches.Length; i++)
            {
                if (Matches[i] is { } m && !remaining.Contains(m.Index)) Matches[i] = LlamaPlacement.Match(active, Tensors[i].Name, Ignored);
            }
            if (TiedMatch is { } tied && !remaining.Contains(tied.Index)) TiedMatch = LlamaPlacement.Match(active, TiedEmbedding!.Name, Ignored);
            if (active.Count == before) return;
        }
    }

    public ModelSummary Model { get; }
    public IReadOnlyList<TensorSummary> Tensors { get; }
    public CompiledOverride?[] Matches { get; }
    public List<IgnoredOverride> Ignored { get; } = new();
    public long FileTensorBytes { get; }
    public TensorSummary? TiedEmbedding { get; }
    public CompiledOverride? TiedMatch { get; private set; }

    public long[] KvLayerBytes(int contextSize, KvCacheType k, KvCacheType v)
    {
        var key = (contextSize, k, v);
        if (!_kv.TryGetValue(key, out var bytes))
        {
            bytes = KvCacheEstimator.LayerBytes(Model, contextSize, k, v);
            _kv[key] = bytes;
        }
        return bytes;
    }
}
