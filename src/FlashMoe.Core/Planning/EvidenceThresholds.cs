using System;
using System.Collections.Generic;
using FlashMoe.Gguf;
using FlashMoe.Profiles;
using System.Collections.ObjectModel;

namespace FlashMoe.Planning;

/// <summary>
/// Every threshold the memory plan and the advice rules decide with, in one place. Each constant cites
/// the section of <c>docs/evidence.md</c> or the llama.cpp source it rests on. Change a figure
/// here only after re-measuring with the project's benchmark.
/// </summary>
public static class EvidenceThresholds
{
    // ---- no-mmap -------------------------------------------------------------------------------

    /// <summary>
    /// Process memory beyond llama.cpp's own buffers (weights, KV cache, compute, output) that a no-mmap run holds at
    /// its peak with the context full, apart from the vocabulary: the .NET runtime and its code (≈ 29 MiB resident at
    /// start), LLamaSharp's and llama.cpp's native code paged in (≈ 10 MiB), llama.cpp's tensor metadata, graph and
    /// scheduler, the sampler, the GC heap of the app's own work, and allocator slack. Calibrated against VmHWM at
    /// full context (docs/measurements.md#runtime-overhead-calibrated-at-full-context).
    /// </summary>
    public const long RuntimeOverheadBaseBytes = 57 * Units.MiB;

    /// <summary>
    /// llama.cpp's vocabulary per token (token text, score and attributes, the text → id map, the token → piece
    /// cache): measured between a 412-token and a 32 000-token vocabulary
    /// (docs/measurements.md#runtime-overhead-calibrated-at-full-context).
    /// </summary>
    public const long RuntimeOverheadBytesPerVocabToken = 256;

    /// <summary>
    /// Of the runtime overhead, the file-backed code pages (the .NET runtime's and llama.cpp's libraries: 37–40 MiB of
    /// RssFile measured at full context). Like every file page they are reclaimable, and in a container they are charged
    /// to whoever read them first, so a no-mmap load needs the rest of the footprint as anonymous memory: measured at
    /// full context, no-mmap ran with a limit 26 MiB below its peak RSS and was OOM-killed 47 MiB below it
    /// (docs/measurements.md#runtime-overhead-calibrated-at-full-context). 32 MiB keeps a margin to the kill.
    /// </summary>
    public const long RuntimeCodeBytes = 32 * Units.MiB;

    /// <summary>
    /// The runtime overhead the plan adds for <paramref name="model"/>: <see cref="RuntimeOverheadBaseBytes"/> +
    /// <see cref="RuntimeOverheadBytesPerVocabToken"/> × vocabulary size. With it the plan's host footprint matched the
    /// no-mmap peak RSS at full context within ±3 % or 64 MiB (evidence.md's "≈ 80–100 MiB above the file" counted
    /// the KV cache and compute buffer too).
    /// </summary>
    public static long RuntimeOverheadBytes(ModelSummary model)
    {
        // The header's vocabulary size is a u32 at most; the product stays far below long.MaxValue.
        var vocab = model is null ? 0 : Math.Max(0, Math.Min(model.VocabSize, ModelLimits.MaxUInt32));
        return RuntimeOverheadBaseBytes + RuntimeOverheadBytesPerVocabToken * vocab;
    }

    /// <summary>
    /// no-mmap fits when usable RAM ≥ this × the host footprint (CPU weights + CPU KV + CPU compute +
    /// output + <see cref="RuntimeOverheadBytes(ModelSummary)"/>). docs/evidence.md#ram-limit-sweep-small-models: full speed at 1.02 × the file, OOM-killed
    /// during load at 1.0 ×; the 2 % between them is the overhead already counted in the footprint.
    /// </summary>
    public const double NoMmapFitRatio = 1.0;

    /// <summary>
    /// no-mmap was OOM-killed during load at this RAM limit × the file: docs/evidence.md#ram-limit-sweep-small-models (4.0/4.9 GB at 1.0 ×), docs/evidence.md#ram-limit-sweep-at-scale (40 GB at
    /// 0.95 ×, full speed at 1.0 × with its larger headroom).
    /// </summary>
    public const double NoMmapMeasuredOomRatio = 1.0;

    /// <summary>no-mmap ran at full speed from this RAM limit × the file: docs/evidence.md#ram-limit-sweep-small-models (22.7 tok/s at 1.02 ×), docs/evidence.md#the-rules-of-thumb-revisited.</summary>
    public const double NoMmapMeasuredFullSpeedRatio = 1.02;

    /// <summary>
    /// Warm (page-cached) load of the 40 GB model, mmap vs no-mmap, in seconds: docs/evidence.md#ram-limit-sweep-at-scale "mmap warm load 0.04–0.5 s vs
    /// no-mmap 25–30 s" (same generation speed when everything fits, docs/evidence.md#ram-limit-sweep-at-scale).
    /// </summary>
    public const double MmapWarmLoadSecondsMin = 0.04, MmapWarmLoadSecondsMax = 0.5, NoMmapLoadSecondsMin = 25, NoMmapLoadSecondsMax = 30;

    // ---- mmap without repack -------------------------------------------------------------------

    /// <summary>
    /// mmap without repacked types runs at full speed only while usable RAM covers the host footprint: ratio ≥ 1.0.
    /// The 4.9 GB model kept its speed down to 0.95 × (docs/evidence.md#ram-limit-sweep-small-models: 18.0 tok/s), but the 40 GB model ran at full speed only
    /// at ≥ 1.0 × (docs/evidence.md#ram-limit-sweep-at-scale: 34–43 tok/s) and ≈ 7 × slower at 0.95 × (docs/evidence.md#ram-limit-sweep-at-scale: 5.6 tok/s); docs/evidence.md#the-rules-of-thumb-revisited "past ≈ 0.95 × it is
    /// 7–13 × slower". Below this ratio FM1003 fires and gives both curves.
    /// </summary>
    public const double MmapFullSpeedRatio = 1.0;

    /// <summary>The small model measured behind <see cref="MmapSlowdownCurve"/>: 4.9 GB Q8_0 MoE, 2 threads (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare, docs/evidence.md#ram-limit-sweep-small-models).</summary>
    public const double MmapSmallModelGB = 4.9;

    /// <summary>The large model measured behind <see cref="MmapLargeModelSlowdownCurve"/>: 40.2 GB Q8_0 MoE, 16 threads (docs/evidence.md#ram-limit-sweep-at-scale).</summary>
    public const double MmapLargeModelGB = 40.2;

    /// <summary>
    /// Generation slowdown of mmap (no repack) on the 4.9 GB model against the ratio of RAM to model, as (ratio,
    /// fraction of speed lost) points from docs/evidence.md#ram-limit-sweep-small-models relative to the 1.5 × run (21.4 tok/s): no loss down to 0.95 × (18.0),
    /// 0.9 × → 8.2 (−62 %, issue: −60 %), 0.85 × → 5.7 (−73 %), 0.7 × → 1.94 (−91 %). Linear interpolation between
    /// points; below the last point the loss is at least 91 %. The 40 GB run is far less forgiving:
    /// <see cref="MmapLargeModelSlowdownCurve"/>.
    /// </summary>
    public static readonly IReadOnlyList<(double Ratio, double Loss)> MmapSlowdownCurve = new ReadOnlyCollection<(double, double)>(new[]
    {
        (0.95, 0.0),
        (0.90, 0.60),
        (0.85, 0.73),
        (0.70, 0.91),
    });

    /// <summary>
    /// Full generation speed of the 40 GB model with mmap at 1.0–1.2 × (docs/evidence.md#ram-limit-sweep-at-scale: 34–43 tok/s; the midpoint, 38.5), the
    /// reference of <see cref="MmapLargeModelSlowdownCurve"/>.
    /// </summary>
    public const double MmapLargeModelFullTokensPerSecond = 38.5;

    /// <summary>
    /// Generation slowdown of mmap (no repack) on the 40 GB model, as (ratio, fraction of speed lost) points from the
    /// measured tok/s (docs/evidence.md#ram-limit-sweep-at-scale) against <see cref="MmapLargeModelFullTokensPerSecond"/>: full speed at 1.0 ×; 0.95 × →
    /// 5.6 tok/s (≈ 7 × slower), 0.9 × → 5.2–6.1 (midpoint 5.65), 0.85 × → 5.1, 0.8 × → 3.9, 0.75 × → 2.9 (≈ 13 × slower).
    /// Linear between points; below the last point at least that slow.
    /// </summary>
    public static readonly IReadOnlyList<(double Ratio, double Loss)> MmapLargeModelSlowdownCurve = new ReadOnlyCollection<(double, double)>(new[]
    {
        (1.00, 0.0),
        (0.95, LossAt(5.6)),
        (0.90, LossAt(5.65)),
        (0.85, LossAt(5.1)),
        (0.80, LossAt(3.9)),
        (0.75, LossAt(2.9)),
    });

    private static double LossAt(double tokensPerSecond) => 1 - tokensPerSecond / MmapLargeModelFullTokensPerSecond;

    // ---- mmap with repacked weights ------------------------------------------------------------

    /// <summary>
    /// mmap with repacked types needs this ratio of usable RAM to host footprint when (nearly) all CPU
    /// weights are repacked. docs/evidence.md#ram-limit-sweep-small-models: Q4_0 repack + mmap 25.4 tok/s at 1.15 ×, 1.52 at 1.05 ×, 1.43 at 1.1 ×,
    /// 1.42 at 1.0 × while no-mmap ran at 24.2–24.1 (docs/evidence.md#ram-limit-sweep-small-models); docs/evidence.md#the-rules-of-thumb-revisited "thrashes below ≈ 1.15 ×".
    /// </summary>
    public const double RepackMmapSafeRatio = 1.15;

    /// <summary>
    /// Share of the file that was repacked in the run behind <see cref="RepackMmapSafeRatio"/>:
    /// docs/evidence.md#ram-limit-sweep-small-models "a ≈ 0.94× anonymous repacked copy". The extra headroom mmap+repack needs is scaled by the
    /// repacked share of a model: required = 1 + (1.15 − 1) × repackedShare / 0.94.
    /// </summary>
    public const double RepackMeasuredShare = 0.94;

    /// <summary>
    /// Below this ratio mmap with repacked types livelocks or is killed. docs/evidence.md#ram-limit-sweep-small-models "livelock" at 0.95 ×,
    /// OOM at 0.85 ×; docs/evidence.md#the-rules-of-thumb-revisited "livelocks below 1.0 ×".
    /// </summary>
    public const double RepackMmapLivelockRatio = 1.0;

    /// <summary>The RAM limits × the file where mmap + repack was measured to livelock (0.95 ×) and be OOM-killed (0.85 ×), docs/evidence.md#ram-limit-sweep-small-models.</summary>
    public const double RepackMmapMeasuredLivelockRatio = 0.95, RepackMmapMeasuredOomRatio = 0.85;

    /// <summary>Warm load of the 4.0 GB Q4_0 model with repack, mmap vs no-mmap, in seconds (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare: 3.1 vs 6.6 s).</summary>
    public const double RepackMmapLoadSeconds = 3.1, RepackNoMmapLoadSeconds = 6.6;

    /// <summary>
    /// When at least this share of the host weights is repacked, mlock holds next to nothing (repacked weights are never
    /// locked, docs/evidence.md#llamasharp-030-behaviour) and FM1005 calls it useless rather than partial. A judgement, not a measured figure: what is
    /// left to lock is under 5 % of the host share.
    /// </summary>
    public const double MlockUselessRepackedShare = 0.95;

    /// <summary>Measured thrash figures quoted in FM1008 (docs/evidence.md#ram-limit-sweep-small-models at 1.0–1.1 ×).</summary>
    public const double RepackThrashTokensPerSecond = 1.4;

    /// <summary>No-mmap speed at the same RAM limit (docs/evidence.md#ram-limit-sweep-small-models, 1.0–1.1 × column: 24.1–24.2).</summary>
    public const double RepackNoMmapTokensPerSecond = 24.0;

    /// <summary>Peak RSS with mmap + repack vs no-mmap (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare: 7429 vs 3915 MiB).</summary>
    public const double RepackMmapPeakRssMiB = 7429, RepackNoMmapPeakRssMiB = 3915;

    // ---- beside a GPU --------------------------------------------------------------------------

    /// <summary>The seed case: mmap 1.5 tok/s vs no-mmap 2.4 tok/s with experts on CPU beside an Arc A770 (docs/evidence.md#the-seed-case).</summary>
    public const double SeedMmapTokensPerSecond = 1.5, SeedNoMmapTokensPerSecond = 2.4;

    /// <summary>llama.cpp PR 20978: prompt 298 t/s with mmap vs 544 t/s without, CPU overrides beside a GPU (docs/evidence.md#pinned-host-buffers-beside-a-gpu).</summary>
    public const double Pr20978MmapPromptTokensPerSecond = 298, Pr20978NoMmapPromptTokensPerSecond = 544;

    /// <summary>
    /// VRAM left free on every GPU: llama.cpp's own default margin for fitting (<c>common/common.h</c>,
    /// <c>fit_params_target</c> = 1024 MiB per device). Not a measured figure: it is llama.cpp's
    /// choice, taken as is until measured on a real GPU.
    /// </summary>
    public const long GpuReserveBytes = 1024 * Units.MiB;

    // ---- default OS reserve ---------------------------------------------------------------------

    /// <summary>Share of installed RAM kept for the OS and other processes when the profile declares no reserve.</summary>
    public const double DefaultReserveShare = 0.03;

    /// <summary>Lower bound of the default reserve (a headless Linux box with systemd, sshd, page tables).</summary>
    public const long DefaultReserveMinBytes = 1 * Units.GiB;

    /// <summary>
    /// Upper bound of the default reserve. docs/evidence.md#the-rules-of-thumb-revisited: the seed ran a 121 GiB model on 128 GiB because the
    /// host share after offload fit; with 4 GiB kept back a 128 GiB box still plans ≈ 124 GiB for the model.
    /// </summary>
    public const long DefaultReserveMaxBytes = 4 * Units.GiB;

    /// <summary>
    /// The default OS reserve: 3 % of RAM, at least 1 GiB, at most 4 GiB. On 128 GiB that is 3.84 GiB
    /// (usable 124.2 GiB: a 120+ GiB host share still plans as fitting); on 16 GiB it is 1 GiB; on 24 GiB 1 GiB.
    /// </summary>
    public static long DefaultReserveBytes(long totalRamBytes)
    {
        var share = (long)(totalRamBytes * DefaultReserveShare);
        if (share < DefaultReserveMinBytes) return DefaultReserveMinBytes;
        return share > DefaultReserveMaxBytes ? DefaultReserveMaxBytes : share;
    }

    // ---- quantization fit ----------------------------------------------------------------------

    /// <summary>
    /// Share of a K_M quantization's weights stored one K level higher. llama.cpp <c>src/llama-quant.cpp</c>
    /// (<c>llama_tensor_get_type</c>, <c>use_more_bits</c>) gives <c>attn_v</c> and every other
    /// <c>ffn_down</c> the higher type in Q4_K_M/Q5_K_M: ≈ 1/6 of a llama-shaped model's weights.
    /// </summary>
    public const double KmHigherShare = 1.0 / 6.0;

    /// <summary>
    /// Q3_K_M additionally raises <c>attn_output</c> and all of <c>ffn_down</c> to Q4_K (llama-quant.cpp):
    /// ≈ 1/3 of the weights at Q4_K.
    /// </summary>
    public const double Q3KmHigherShare = 1.0 / 3.0;

    // ---- host-only advice (FM2xxx) ----------------------------------------------------------------

    /// <summary>
    /// FM2001 (huge pages for no-mmap) only from this model size: a no-mmap load without huge pages faults ≈ 2.2 s
    /// per GB (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare: 9.0 s for the 4.0 GB model; docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare: 2.2 s with huge pages), so below 1 GiB the gain is
    /// a second or two and the advice would be noise.
    /// </summary>
    public const long HugePageAdviceMinModelBytes = Units.GiB;

    /// <summary>
    /// FM2002: a container limit at or below this share of the installed RAM is "far below" it and decides the plan. A
    /// judgement, not a measured figure: the sweeps (docs/evidence.md#ram-limit-sweep-small-models, cgroup limits) show what matters is the limit the process runs under;
    /// a limit within a quarter of the RAM plans much like the RAM itself once the reserve is taken off.
    /// </summary>
    public const double ContainerLimitFarBelowRatio = 0.75;

    // ---- CPU facts -----------------------------------------------------------------------------

    /// <summary>Thread count used when the host declares no core counts at all.</summary>
    public const int FallbackThreads = 4;

    // ---- memory objective ----------------------------------------------------------------------

    /// <summary>
    /// n_ubatch that <c>"auto"</c> resolves to under the memory objective: the compute buffer is sized for one physical
    /// batch (its activations and, on the output device, ubatch × vocabulary logits), so a quarter of llama.cpp's 512
    /// shrinks it about fourfold, while the CPU's batched matrix kernels keep most of their prompt speed down to this size
    /// (docs/evidence.md#the-memory-objective).
    /// </summary>
    public const int MemoryObjectiveUBatchSize = 128;

    /// <summary>
    /// The KV cache type <c>"auto"</c> resolves to under the memory objective: q8_0 holds the cache in 34 bytes per 32
    /// values instead of 64 (f16), and is the quantized cache llama.cpp's own users treat as near-lossless; a 4-bit cache
    /// is smaller still but costs accuracy, which a memory objective does not ask for (docs/evidence.md#the-memory-objective).
    /// </summary>
    public const KvCacheType MemoryObjectiveKvCacheType = KvCacheType.Q8_0;
}
