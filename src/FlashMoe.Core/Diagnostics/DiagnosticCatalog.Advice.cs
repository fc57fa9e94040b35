namespace FlashMoe.Diagnostics;

// Memory, mmap and offload advice (FM1001–FM1999). Raised only by FlashMoe.Planning.AdviceRules; every message
// carries its figures (GiB with one decimal, ratios) and the measured reason. Evidence: docs/diagnostics.md#advice-fm1xxx.
public static partial class DiagnosticCatalog
{
    /// <summary>FM1001: mmap is off and the host's anonymous need exceeds usable RAM: the load will be killed.</summary>
    public static readonly FlashMoeDiagnosticDescriptor NoMmapDoesNotFit = new(
        "FM1001",
        "No-mmap load does not fit in RAM",
        "mmap is off, so the host needs {0:F1} GiB of anonymous memory (CPU weights {1:F1} + KV {2:F1} + compute/output {3:F1} + overhead {4:F1} GiB) but only {5:F1} GiB is usable ({6}); ratio {7:F2} × < 1.0 ×. The load will be killed (measured: no-mmap OOM-killed during load at 1.0 × the file, full speed at 1.02 ×). Fix: {8}",
        FlashMoeSeverity.Error,
        "Advice");

    /// <summary>FM1002: mmap is on where no-mmap fits and is faster or leaner.</summary>
    public static readonly FlashMoeDiagnosticDescriptor MmapWhereNoMmapIsBetter = new(
        "FM1002",
        "mmap is on where no-mmap fits and is faster",
        "mmap is on, but no-mmap fits ({0:F1} GiB needed, {1:F1} GiB usable, {2:F2} ×) and is better here: {3}. Set load.mmap to false.",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1003: even with mmap the host share exceeds usable RAM.</summary>
    public static readonly FlashMoeDiagnosticDescriptor HostShareExceedsRam = new(
        "FM1003",
        "Host share exceeds usable RAM even with mmap",
        "The host share does not fit even with mmap: {0:F1} GiB must stay resident (CPU weights {1:F1} GiB) but {2:F1} GiB is usable ({3:F2} ×, {4:F1} GiB short). {5} Quantizations that would fit: {6}.",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1004: a GPU is overcommitted.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GpuOvercommitted = new(
        "FM1004",
        "GPU memory overcommitted",
        "{0} ({1:F1} GiB) is overcommitted: weights {2:F1} + KV {3:F1} + compute {4:F1} + reserve {5:F1} = {6:F1} GiB with gpuLayers {7}; loading will fail to allocate. The largest gpuLayers that fits is {8} as configured{9}.",
        FlashMoeSeverity.Error,
        "Advice");

    /// <summary>FM1005: mlock where it cannot hold or where it does nothing.</summary>
    public static readonly FlashMoeDiagnosticDescriptor MlockIneffective = new(
        "FM1005",
        "mlock cannot hold or does nothing",
        "mlock is on but {0}",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1006: a GPU is declared but unused while weights would fit it, or gpuLayers is set with no GPU.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GpuUnused = new(
        "FM1006",
        "GPU and gpuLayers disagree",
        "{0}",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1007: the model file is absent; the check used declared facts.</summary>
    public static readonly FlashMoeDiagnosticDescriptor DeclaredFactsUsed = new(
        "FM1007",
        "Model file not found; declared facts used",
        "The model file '{0}' is not there, so the check used the declared facts ({1:F1} GiB, {2} layers, {3}). Assumed: {4}.",
        FlashMoeSeverity.Info,
        "Advice");

    /// <summary>FM1008: mmap with repacked types in the thrash zone.</summary>
    public static readonly FlashMoeDiagnosticDescriptor RepackMmapThrash = new(
        "FM1008",
        "mmap with repacked weights will thrash",
        "mmap with {0:F1} GiB of repacked {1} weights needs ≈ {2:F2} × the host footprint ({3:F1} GiB: file pages plus the repacked copy) but {4:F1} GiB is usable ({5:F2} ×): it will thrash (measured {6:F1} vs {7:F0} tok/s with no-mmap at 1.0–1.1 ×). {8}",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1009: a quantized V cache without flash attention.</summary>
    public static readonly FlashMoeDiagnosticDescriptor QuantizedVCacheNeedsFlashAttention = new(
        "FM1009",
        "Quantized V cache needs flash attention",
        "The V cache is {0} but flash attention is off: llama.cpp needs flash attention for a quantized V cache, so the context will fail to initialize. Set load.flashAttention to true or \"auto\", or use an f16 V cache (KV {1:F1} GiB at {0}).",
        FlashMoeSeverity.Warning,
        "Advice");

    /// <summary>FM1010: a tensor override that cannot apply.</summary>
    public static readonly FlashMoeDiagnosticDescriptor TensorOverrideIgnored = new(
        "FM1010",
        "Tensor override ignored",
        "Tensor override '{0}' → '{1}' is ignored: {2}. The plan places those tensors by their layer.",
        FlashMoeSeverity.Warning,
        "Advice");
}
