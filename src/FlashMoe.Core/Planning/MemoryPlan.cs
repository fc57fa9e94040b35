using FlashMoe.Gguf;

namespace FlashMoe.Planning;

/// <summary>A device llama.cpp places tensors on: the CPU (host memory) or GPU <see cref="GpuIndex"/>.</summary>
/// <param name="GpuIndex">Index into the host's GPU list; negative for the CPU.</param>
public readonly record struct DeviceRef(int GpuIndex)
{
    /// <summary>The CPU (host memory).</summary>
    public static DeviceRef Cpu => new(-1);

    /// <summary>GPU <paramref name="index"/>.</summary>
    public static DeviceRef Gpu(int index) => new(index);

    /// <summary>True for the CPU.</summary>
    public bool IsCpu => GpuIndex < 0;

    /// <summary><c>CPU</c> or <c>GPU0</c>, <c>GPU1</c>, …</summary>
    public override string ToString() => IsCpu ? "CPU" : "GPU" + GpuIndex;
}

/// <summary>Where one tensor lives and how it is held.</summary>
/// <param name="Name">Tensor name (synthetic names for declared models).</param>
/// <param name="Type">Storage type.</param>
/// <param name="Role">What it is for.</param>
/// <param name="Layer">Block index, or null.</param>
/// <param name="Bytes">Size in the file.</param>
/// <param name="Device">The device it is loaded on.</param>
/// <param name="OverridePattern">The tensor override that placed it, if one matched.</param>
/// <param name="Repacked">True when the CPU backend repacks it into a <c>CPU_REPACK</c> buffer.</param>
/// <param name="IsDuplicate">True for llama.cpp's duplicate of <c>token_embd</c> used as the output layer (tied embeddings).</param>
/// <param name="IsMatmul">True for matmul weights (2-D or 3-D, not the token embedding or a norm).</param>
public sealed record PlacedTensor(
    string Name,
    GgmlType Type,
    TensorRole Role,
    int? Layer,
    long Bytes,
    DeviceRef Device,
    string? OverridePattern,
    bool Repacked,
    bool IsDuplicate,
    bool IsMatmul);

/// <summary>Memory llama.cpp allocates on one device.</summary>
public sealed record DevicePlan
{
    /// <summary>The device.</summary>
    public DeviceRef Device { get; init; }
    /// <summary>Display name (<c>CPU</c> or the GPU's declared name).</summary>
    public string Name { get; init; } = "CPU";
    /// <summary>Repeating layers assigned to it (llama.cpp <c>dev_layer</c>).</summary>
    public int LayerCount { get; init; }
    /// <summary>True when llama.cpp's output layer (<c>dev_output</c>) is on it.</summary>
    public bool HoldsOutputLayer { get; init; }
    /// <summary>Weight bytes placed on it.</summary>
    public long WeightBytes { get; init; }
    /// <summary>Of <see cref="WeightBytes"/>, bytes repacked into <c>CPU_REPACK</c> buffers (CPU only).</summary>
    public long RepackedBytes { get; init; }
    /// <summary>KV cache bytes on it.</summary>
    public long KvCacheBytes { get; init; }
    /// <summary>Estimated compute buffer (<see cref="ComputeBufferEstimator"/>).</summary>
    public long ComputeBytes { get; init; }
    /// <summary>The logits/output buffer (host only).</summary>
    public long OutputBytes { get; init; }
    /// <summary>Memory it has: VRAM for a GPU, usable RAM for the CPU.</summary>
    public long CapacityBytes { get; init; }
    /// <summary>Kept free: <see cref="EvidenceThresholds.GpuReserveBytes"/> on a GPU; already subtracted from usable RAM on the CPU.</summary>
    public long ReserveBytes { get; init; }
    /// <summary>Weights + KV + compute + output.</summary>
    public long TotalBytes => WeightBytes + KvCacheBytes + ComputeBytes + OutputBytes;
    /// <summary>True when a GPU's total plus reserve stays within its VRAM (always true for the CPU; see <see cref="HostMemoryPlan"/>).</summary>
    public bool Fits => Device.IsCpu || TotalBytes + ReserveBytes <= CapacityBytes;
}

/// <summary>
/// How the host's RAM is used under the chosen load mode. With mmap, CPU weights live in the page cache
/// (file-backed, evictable) except repacked ones, which get an anonymous copy; without mmap, every CPU weight
/// is anonymous memory read once.
/// </summary>
public sealed record HostMemoryPlan
{
    /// <summary>The load mode this accounting is for.</summary>
    public bool UseMmap { get; init; }
    /// <summary>Installed RAM.</summary>
    public long TotalRamBytes { get; init; }
    /// <summary>Container/cgroup limit, if any.</summary>
    public long? MemoryLimitBytes { get; init; }
    /// <summary>RAM kept for the OS and other processes.</summary>
    public long ReserveBytes { get; init; }
    /// <summary>True when <see cref="ReserveBytes"/> is the planner's default, not declared.</summary>
    public bool ReserveIsDefault { get; init; }
    /// <summary>min(RAM − reserve, container limit, available RAM when detected).</summary>
    public long UsableBytes { get; init; }
    /// <summary>The host share: every weight byte placed on the CPU (incl. the token embedding).</summary>
    public long CpuWeightBytes { get; init; }
    /// <summary>Of the host share, bytes repacked into anonymous <c>CPU_REPACK</c> buffers.</summary>
    public long RepackedBytes { get; init; }
    /// <summary>KV cache held on the host.</summary>
    public long KvCacheBytes { get; init; }
    /// <summary>Compute buffer held on the host, as llama.cpp reserves (and logs) it.</summary>
    public long ComputeBytes { get; init; }
    /// <summary>
    /// Of <see cref="ComputeBytes"/>, the bytes a chat-shaped run makes resident: the reserve sizes the logits for every
    /// token of a ubatch, a prompt asks for one per sequence, and pages never written are never paged in
    /// (docs/evidence.md#the-compute-buffer-is-not-all-resident). An app that asks for every token's logits
    /// (perplexity, embeddings) touches all of <see cref="ComputeBytes"/>. On a CPU-only host without flash attention
    /// it also counts the CPU backend's work buffer, which llama.cpp does not log, so it can exceed
    /// <see cref="ComputeBytes"/>.
    /// </summary>
    public long ComputeResidentBytes { get; init; }
    /// <summary>Output (logits) buffer.</summary>
    public long OutputBytes { get; init; }
    /// <summary>Runtime overhead (<see cref="EvidenceThresholds.RuntimeOverheadBytes(ModelSummary)"/>).</summary>
    public long RuntimeOverheadBytes { get; init; }
    /// <summary>
    /// What must stay resident to run at full speed in either mode: CPU weights + KV + resident compute + output +
    /// overhead. Without mmap this is exactly the anonymous memory needed.
    /// </summary>
    public long FootprintBytes => CpuWeightBytes + KvCacheBytes + ComputeResidentBytes + OutputBytes + RuntimeOverheadBytes;
    /// <summary>Anonymous (non-evictable) memory under <see cref="UseMmap"/>.</summary>
    public long AnonymousBytes { get; init; }
    /// <summary>File-backed (page cache) memory that must stay cached to run at full speed under <see cref="UseMmap"/>.</summary>
    public long FileBackedBytes { get; init; }
    /// <summary>
    /// Peak RSS estimate without memory pressure: with mmap the file pages read at load (every tensor,
    /// including those copied to a GPU and the sources of repacked tensors) plus the anonymous memory.
    /// </summary>
    public long PeakRssBytes { get; init; }
    /// <summary>
    /// With mmap, the file range llama.cpp maps for the CPU (its "CPU_Mapped model buffer size"): from the first to the
    /// last CPU-resident, non-repacked tensor, padding and tensors in between included; 0 without mmap. Address space,
    /// not residency: pages of repacked or offloaded tensors inside it are read once and then evictable.
    /// </summary>
    public long MappedBytes { get; init; }
    /// <summary>Bytes mlock would lock (0 when mlock is off). Repacked weights are never locked (docs/evidence.md#llamasharp-030-behaviour).</summary>
    public long LockedBytes { get; init; }
    /// <summary>Usable RAM ÷ footprint: the x of the evidence's "RAM = x × model" sweep.</summary>
    public double FootprintRatio => FootprintBytes <= 0 ? double.PositiveInfinity : (double)UsableBytes / FootprintBytes;
    /// <summary>
    /// The anonymous memory a no-mmap run needs: the footprint minus the runtime's file-backed code pages
    /// (<see cref="EvidenceThresholds.RuntimeCodeBytes"/>, reclaimable), at least 0.
    /// </summary>
    public long NoMmapNeedBytes => System.Math.Max(0, FootprintBytes - System.Math.Min(RuntimeOverheadBytes, EvidenceThresholds.RuntimeCodeBytes));
    /// <summary>True when a no-mmap load fits: usable RAM ≥ <see cref="NoMmapNeedBytes"/> × <see cref="EvidenceThresholds.NoMmapFitRatio"/>.</summary>
    public bool NoMmapFits => UsableBytes >= NoMmapNeedBytes * EvidenceThresholds.NoMmapFitRatio;
    /// <summary>Share of the footprint that is repacked.</summary>
    public double RepackedShare => FootprintBytes <= 0 ? 0 : (double)RepackedBytes / FootprintBytes;
    /// <summary>
    /// The ratio mmap needs to run without thrashing: <see cref="EvidenceThresholds.MmapFullSpeedRatio"/>
    /// without repacked weights; with them 1 + 0.15 × repacked share / 0.94 (docs/evidence.md#ram-limit-sweep-small-models), at least 1.0.
    /// </summary>
    public double MmapSafeRatio => RepackedBytes <= 0
        ? EvidenceThresholds.MmapFullSpeedRatio
        : 1.0 + (EvidenceThresholds.RepackMmapSafeRatio - 1.0) * System.Math.Min(1.0, RepackedShare / EvidenceThresholds.RepackMeasuredShare);
}

/// <summary>Upper bound of generation speed from memory bandwidth (active bytes per token).</summary>
public sealed record RooflineEstimate
{
    /// <summary>Bytes read per generated token: dense, attention, norms, router, shared experts, used/total of routed experts, output.</summary>
    public long ActiveBytesPerToken { get; init; }
    /// <summary>Of those, bytes read from host memory.</summary>
    public long ActiveHostBytesPerToken { get; init; }
    /// <summary>Of those, bytes read from GPU memory.</summary>
    public long ActiveGpuBytesPerToken { get; init; }
    /// <summary>Host memory bandwidth (GB/s, decimal), when known.</summary>
    public double? MemoryBandwidthGBs { get; init; }
    /// <summary>
    /// Host-bound upper limit: bandwidth ÷ host active bytes; null when the bandwidth is unknown or nothing is
    /// read from the host. Measured generation reached 81–83 % (2 threads) and 50–55 % (16 threads) of it (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare, docs/evidence.md#ram-limit-sweep-at-scale).
    /// </summary>
    public double? UpperBoundTokensPerSecond { get; init; }
}

/// <summary>One row of the quantization fit table.</summary>
/// <param name="Name">Quantization name, e.g. <c>Q4_K_M</c>.</param>
/// <param name="BitsPerWeight">Average bits per weight.</param>
/// <param name="SizeBytes">Estimated weight bytes at that quantization.</param>
/// <param name="Fits">True when weights plus KV, compute and overhead fit usable RAM plus usable VRAM.</param>
public sealed record QuantizationFit(string Name, double BitsPerWeight, long SizeBytes, bool Fits);

/// <summary>The memory plan of one profile: placement, per-device bytes, host accounting, roofline and quantization fit.</summary>
public sealed record MemoryPlan
{
    /// <summary>The options the plan is for.</summary>
    public ResolvedLoadOptions Options { get; init; } = new();
    /// <summary>The CPU first, then each GPU in host order.</summary>
    public EquatableArray<DevicePlan> Devices { get; init; }
    /// <summary>Device of each repeating layer (llama.cpp <c>dev_layer</c>).</summary>
    public EquatableArray<DeviceRef> LayerDevices { get; init; }
    /// <summary>Device of the output layer (llama.cpp <c>dev_output</c>).</summary>
    public DeviceRef OutputDevice { get; init; }
    /// <summary>Repeating layers plus output offloaded, as llama.cpp logs "offloaded N/M layers to GPU".</summary>
    public int OffloadedLayerCount { get; init; }
    /// <summary>Every tensor with its device.</summary>
    public EquatableArray<PlacedTensor> Tensors { get; init; }
    /// <summary>Tensor overrides that were ignored, with the reason (invalid regex, unknown device, CPU_REPACK).</summary>
    public EquatableArray<IgnoredOverride> IgnoredOverrides { get; init; }
    /// <summary>Host RAM accounting under <see cref="ResolvedLoadOptions.UseMmap"/>.</summary>
    public HostMemoryPlan Host { get; init; } = new();
    /// <summary>Generation roofline.</summary>
    public RooflineEstimate Roofline { get; init; } = new();
    /// <summary>Sizes of the model at common quantizations and whether they fit.</summary>
    public EquatableArray<QuantizationFit> QuantizationFits { get; init; }
    /// <summary>KV cache bytes over all devices.</summary>
    public long KvCacheBytes { get; init; }
    /// <summary>The CPU's plan.</summary>
    public DevicePlan Cpu => Devices[0];
}

/// <summary>A tensor override the planner could not apply, and why.</summary>
/// <param name="Pattern">The regex.</param>
/// <param name="Device">The named buffer type.</param>
/// <param name="Reason">Why it is ignored.</param>
/// <param name="Index">Position in the resolved override list.</param>
public sealed record IgnoredOverride(string Pattern, string Device, string Reason, int Index);
