using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// Resolves a profile for a model and a host: replaces every <c>auto</c>, plans memory for the result and
/// evaluates the advice rules. THE entry point of the build check and the runtime; no rule lives elsewhere.
/// </summary>
public static class ProfileResolver
{
    /// <summary>Resolves <paramref name="profile"/> for the machine it declares (build-time check).</summary>
    public static ResolvedProfile Resolve(FlashMoeProfile profile, ModelSummary model) =>
        Resolve(profile, model, HostFacts.FromProfile(profile.Hardware));

    /// <summary>Resolves <paramref name="profile"/> for <paramref name="host"/> (declared or detected).</summary>
    public static ResolvedProfile Resolve(FlashMoeProfile profile, ModelSummary model, HostFacts host)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        if (model is null) throw new ArgumentNullException(nameof(model));
        if (host is null) throw new ArgumentNullException(nameof(host));

        var load = profile.Load;
        var decisions = new List<Decision>();
        // The runtime detects RAM, cores, CPU features and storage, but not GPUs (that needs a ggml backend loaded
        // before the plan exists). A detected host without GPUs therefore takes the profile's declared GPUs, so
        // offload is planned for the machine the profile names instead of silently falling back to CPU only.
        if (host.IsDetected && host.Gpus.Count == 0 && profile.Hardware.Gpus.Count > 0)
        {
            host = host with { Gpus = profile.Hardware.Gpus };
            decisions.Add(new Decision("hardware.gpus", string.Join(", ", profile.Hardware.Gpus.Select(g => g.Name)), "gpus.declared",
                "GPUs are not detected at run time; the profile's declared GPUs are used",
                profile.Hardware.Gpus.Select(g => new DecisionFigure(g.Name + " VRAM", g.VramGiB, "GiB")).ToEquatableArray()));
        }

        var threads = ResolveThreads(load.Threads, host, host.GenerationSpeeds, "load.threads", "generation", decisions);
        var batchThreads = ResolveThreads(load.BatchThreads, host, host.PromptSpeeds, "load.batchThreads", "prompt processing", decisions);
        var context = ResolveContext(load.ContextSize, model, decisions);
        // llama_context clamps n_batch to n_ctx and n_ubatch to n_batch (src/llama-context.cpp).
        var batch = Math.Max(1, Math.Min(context, load.BatchSize > 0 ? load.BatchSize : LoadDefaults.BatchSize));
        var flashAttentionChoice = ResolveFlashAttention(load);
        var flashAttention = flashAttentionChoice.Value;
        var preferredUBatch = PreferredUBatch(load.UBatchSize, batch, profile.Objective);
        var preferredKv = PreferredKvCache(load.KvCache, flashAttention, profile.Objective);

        var explicitOverrides = load.TensorOverrides.ToList();
        var overrides = explicitOverrides.Concat(LlamaPlacement.ExpertsOnCpuOverrides(load.ExpertsOnCpu)).ToEquatableArray();

        var baseOptions = new ResolvedLoadOptions
        {
            UseMmap = false,
            UseMlock = load.Mlock,
            TensorOverrides = overrides,
            Threads = threads,
            BatchThreads = batchThreads,
            ContextSize = context,
            BatchSize = batch,
            UBatchSize = preferredUBatch.Value,
            FlashAttention = flashAttention,
            TypeK = preferredKv.Value.K,
            TypeV = preferredKv.Value.V,
            Repack = load.Repack,
            KvOffload = load.KvOffload,
            SwaFull = load.SwaFull,
            MainGpu = 0,
            TensorSplits = ExplicitSplits(host.Gpus),
        };

        var prepared = new PreparedModel(model, overrides, host.Gpus.Count);
        // The host footprint does not depend on the load mode, so one no-mmap plan decides mmap "auto". When the
        // objective's ubatch and KV cache leave it short of RAM, what "auto" left open shrinks until it fits.
        var fitted = FitBatchAndCache(load, profile.Objective, preferredUBatch, preferredKv, flashAttentionChoice, prepared, baseOptions, host);
        decisions.AddRange(fitted.Decisions);
        baseOptions = fitted.Options;
        var noMmapPlan = fitted.NoMmapPlan;
        var useMmap = ResolveMmap(load.Mmap, profile.Objective, noMmapPlan, host, decisions);
        var options = baseOptions with { UseMmap = useMmap };
        var plan = useMmap ? MemoryPlanner.Plan(prepared, options, host) : noMmapPlan;

        var context2 = new AdviceContext(profile, model, host, options, plan, noMmapPlan, explicitOverrides.Count,
            () => LargestFittingGpuLayers(prepared, baseOptions, host),
            () => LargestFittingGpuLayers(new PreparedModel(model, explicitOverrides.Concat(LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.All)).ToList(), host.Gpus.Count), baseOptions, host));

        return new ResolvedProfile
        {
            Profile = profile,
            Model = model,
            Host = host,
            Options = options,
            Decisions = decisions.ToEquatableArray(),
            Plan = plan,
            // Host-only rules (FM2xxx) are about the machine the app runs on: only for detected facts (the build
            // check plans for a declared machine, where a what-if limit is the point, not news).
            Advice = AdviceRules.Evaluate(context2)
                .Concat(host.IsDetected ? HostAdvice.EvaluateForProfile(host, options, model) : Enumerable.Empty<Advice>())
                .OrderBy(a => a.Id, StringComparer.Ordinal)
                .ToEquatableArray(),
        };
    }

    /// <summary>
    /// The largest n_gpu_layers (0 … block count + 1) for which every GPU's weights + KV + compute + reserve stay
    /// within its VRAM; 0 without GPUs.
    /// </summary>
    /// <remarks>
    /// Found by bisection: about log2(block count) plans instead of one per layer (a 61-layer model planned
    /// 62 times cost tens of milliseconds per profile in every build). Bisection needs "fits" to hold for every n
    /// below a fitting one: raising n only moves layers (their weights, KV and the output layer) from the CPU onto
    /// the GPUs and never takes anything off a GPU, so each GPU's footprint grows with n.
    /// <see cref="LargestFittingGpuLayersByScan"/> is the plain scan the tests hold this against.
    /// </remarks>
    internal static int LargestFittingGpuLayers(PreparedModel prepared, ResolvedLoadOptions options, HostFacts host)
    {
        if (host.Gpus.Count == 0) return 0;
        var max = Math.Max(0, prepared.Model.BlockCount) + 1;
        if (FitsOnGpus(prepared, options, host, max)) return max;
        int fitting = 0, notFitting = max; // invariant: fitting < answer + 1 <= notFitting (0 counts as fitting)
        while (notFitting - fitting > 1)
        {
            var middle = fitting + (notFitting - fitting) / 2;
            if (FitsOnGpus(prepared, options, host, middle)) fitting = middle;
            else notFitting = middle;
        }
        return fitting;
    }

    /// <summary>The largest fitting n_gpu_layers by trying every value from the top (the reference for the bisection).</summary>
    internal static int LargestFittingGpuLayersByScan(PreparedModel prepared, ResolvedLoadOptions options, HostFacts host)
    {
        if (host.Gpus.Count == 0) return 0;
        for (var n = Math.Max(0, prepared.Model.BlockCount) + 1; n > 0; n--)
        {
            if (FitsOnGpus(prepared, options, host, n)) return n;
        }
        return 0;
    }

    private static bool FitsOnGpus(PreparedModel prepared, ResolvedLoadOptions options, HostFacts host, int gpuLayers) =>
        MemoryPlanner.Plan(prepared, options with { GpuLayerCount = gpuLayers, UseMmap = false }, host).Devices.All(d => d.Fits);

    private static int ResolveThreads(ThreadCount requested, HostFacts host, EquatableArray<ThreadSpeed> measured, string option, string work, List<Decision> decisions)
    {
        // "physical" is the prior; a speed curve measured on this host (1 … logical threads) overrides it only where
        // another count was clearly faster (Tuning.ChooseThreads).
        if (requested.Kind == ThreadCountKind.Physical && measured.Count > 0)
        {
            var curve = new Dictionary<int, double>();
            foreach (var point in measured) curve[point.Threads] = point.TokensPerSecond;
            var physical = host.PhysicalCores is > 0 ? host.PhysicalCores : host.LogicalCores is > 1 ? host.LogicalCores / 2 : host.LogicalCores;
            var chosen = Tuning.ChooseThreads(curve, physical);
            var figures = measured.OrderBy(p => p.Threads).Select(p => new DecisionFigure(Invariant.Text($"{work} with {p.Threads} thread(s)"), Math.Round(p.TokensPerSecond, 2), "tok/s"))
                .Concat(new[] { new DecisionFigure("physical cores", host.PhysicalCores ?? 0, "cores") }).ToEquatableArray<DecisionFigure>();
            decisions.Add(new Decision(option, chosen.ToString(CultureInfo.InvariantCulture), "threads.measured",
                chosen == physical
                    ? Invariant.Text($"measured {work} speed: physical cores ({chosen}) within {Tuning.EqualSpeedShare:P0} of the fastest count")
                    : Invariant.Text($"measured {work} speed: {chosen} thread(s) was more than {1 - Tuning.EqualSpeedShare:P0} faster than one per physical core"),
                figures));
            return chosen;
        }
        switch (requested.Kind)
        {
            case ThreadCountKind.Fixed:
                return Math.Max(1, requested.Count);
            case ThreadCountKind.Logical:
                if (host.LogicalCores is > 0) return Record(host.LogicalCores.Value, "threads.logical", "one thread per logical core");
                if (host.PhysicalCores is > 0) return Record(host.PhysicalCores.Value, "threads.logical-fallback-physical", "logical cores unknown: one per physical core");
                return Record(EvidenceThresholds.FallbackThreads, "threads.fallback", "no core counts known: a conservative default");
            default:
                // docs/evidence.md#the-seed-case: threads = physical cores (generation is memory-bound; SMT siblings add contention, not bandwidth).
                if (host.PhysicalCores is > 0) return Record(host.PhysicalCores.Value, "threads.physical", "one thread per physical core (generation is memory-bound; SMT siblings add no bandwidth)");
                if (host.LogicalCores is > 1) return Record(host.LogicalCores.Value / 2, "threads.physical-from-logical", "physical cores unknown: half the logical cores (2-way SMT assumed)");
                if (host.LogicalCores is 1) return Record(1, "threads.physical-from-logical", "a single logical core");
                return Record(EvidenceThresholds.FallbackThreads, "threads.fallback", "no core counts known: a conservative default");
        }

        int Record(int value, string rule, string reason)
        {
            decisions.Add(new Decision(option, value.ToString(CultureInfo.InvariantCulture), rule, reason,
                EquatableArray.Create(
                    new DecisionFigure("physical cores", host.PhysicalCores ?? 0, "cores"),
                    new DecisionFigure("logical cores", host.LogicalCores ?? 0, "cores"))));
            return value;
        }
    }

    private static int ResolveContext(int requested, ModelSummary model, List<Decision> decisions)
    {
        if (requested > 0) return requested;
        // llama.cpp: n_ctx 0 means the model's training context.
        var value = model.ContextLength is > 0 and <= int.MaxValue ? (int)model.ContextLength : LoadDefaults.AssumedTrainingContext;
        decisions.Add(new Decision("load.contextSize", value.ToString(CultureInfo.InvariantCulture), "context.model-default",
            "no context size given: llama.cpp uses the model's training context", EquatableArray<DecisionFigure>.Empty));
        return value;
    }

    private static Chosen<bool> ResolveFlashAttention(LoadOptions load)
    {
        switch (load.FlashAttention)
        {
            case AutoSwitch.On: return new Chosen<bool>(true, null);
            case AutoSwitch.Off: return new Chosen<bool>(false, null);
            default:
                // llama.cpp's LLAMA_FLASH_ATTN_TYPE_AUTO enables flash attention when every device supports it
                // (CPU, CUDA, Vulkan and Metal do); a quantized V cache requires it (docs/evidence.md#kv-cache-size).
                // On a CPU-only host the fit below may turn it off for generation speed.
                return new Chosen<bool>(true, new Decision("load.flashAttention", "true", "flash-attention.auto",
                    "llama.cpp's auto turns flash attention on where the backends support it (CPU, CUDA, Vulkan, Metal); it shrinks the compute buffer and allows a quantized V cache",
                    EquatableArray<DecisionFigure>.Empty));
        }
    }

    /// <summary>A value with the decision that chose it (null when the profile wrote the value).</summary>
    private readonly struct Chosen<T>
    {
        public Chosen(T value, Decision? decision)
        {
            Value = value;
            Decision = decision;
        }

        public T Value { get; }
        public Decision? Decision { get; }
    }

    private sealed class FitStep
    {
        public FitStep(int ubatch, KvCacheSpec kv, bool flashAttention, bool flashAttentionOffTrial = false)
        {
            UBatch = ubatch;
            Kv = kv;
            FlashAttention = flashAttention;
            FlashAttentionOffTrial = flashAttentionOffTrial;
        }

        public int UBatch { get; }
        public KvCacheSpec Kv { get; }
        public bool FlashAttention { get; }
        /// <summary>The CPU-only first try without flash attention (kept only when it fits).</summary>
        public bool FlashAttentionOffTrial { get; }
    }

    private sealed class FittedOptions
    {
        public FittedOptions(ResolvedLoadOptions options, MemoryPlan noMmapPlan, List<Decision> decisions)
        {
            Options = options;
            NoMmapPlan = noMmapPlan;
            Decisions = decisions;
        }

        public ResolvedLoadOptions Options { get; }
        public MemoryPlan NoMmapPlan { get; }
        public List<Decision> Decisions { get; }
    }

    private static Chosen<int> PreferredUBatch(int requested, int batch, Objective objective)
    {
        // llama_context clamps n_ubatch to n_batch (src/llama-context.cpp).
        if (requested != LoadOptions.AutoUBatchSize) return new Chosen<int>(Math.Max(1, Math.Min(batch, requested)), null);
        var figures = EquatableArray.Create(new DecisionFigure("batch", batch, "tokens"));
        if (objective == Objective.Memory)
        {
            var small = Math.Max(1, Math.Min(batch, EvidenceThresholds.MemoryObjectiveUBatchSize));
            return new Chosen<int>(small, new Decision("load.ubatchSize", small.ToString(CultureInfo.InvariantCulture), "ubatch.memory-objective", Invariant.Text(
                $"objective memory: the compute buffer is sized for one physical batch, so {small} instead of {LoadDefaults.UBatchSize} tokens shrinks it about {LoadDefaults.UBatchSize / (double)small:0.#} ×, at some prompt speed (docs/evidence.md#the-memory-objective)"),
                figures));
        }
        var value = Math.Max(1, Math.Min(batch, LoadDefaults.UBatchSize));
        return new Chosen<int>(value, new Decision("load.ubatchSize", value.ToString(CultureInfo.InvariantCulture), "ubatch.default",
            Invariant.Text($"objective {Invariant.Lower(objective)}: llama.cpp's physical batch of {LoadDefaults.UBatchSize} tokens (capped by the batch), where prompt processing runs at full speed"),
            figures));
    }

    private static Chosen<KvCacheSpec> PreferredKvCache(KvCacheSpec? requested, bool flashAttention, Objective objective)
    {
        if (requested is not null) return new Chosen<KvCacheSpec>(requested, null);
        if (objective != Objective.Memory)
        {
            return new Chosen<KvCacheSpec>(KvCacheSpec.Default, new Decision("load.kvCache", "f16/f16", "kv-cache.default",
                Invariant.Text($"objective {Invariant.Lower(objective)}: llama.cpp's f16 cache, exact and the fastest to read"), EquatableArray<DecisionFigure>.Empty));
        }
        var spec = SmallKvCache(flashAttention);
        return new Chosen<KvCacheSpec>(spec, new Decision("load.kvCache", KvText(spec), "kv-cache.memory-objective",
            flashAttention
                ? "objective memory: a q8_0 cache takes 34 bytes per 32 values instead of 64 (f16), close to half, and stays near-lossless (docs/evidence.md#the-memory-objective)"
                : "objective memory: a q8_0 K cache (34 bytes per 32 values instead of 64); V stays f16 because a quantized V cache needs flash attention, which is off (docs/evidence.md#the-memory-objective)",
            EquatableArray<DecisionFigure>.Empty));
    }

    /// <summary>The smaller cache: q8_0 K, and q8_0 V where flash attention allows a quantized V cache.</summary>
    private static KvCacheSpec SmallKvCache(bool flashAttention)
    {
        var small = EvidenceThresholds.MemoryObjectiveKvCacheType;
        return new KvCacheSpec(small, flashAttention ? small : LoadDefaults.CacheType);
    }

    private static string KvText(KvCacheSpec spec) => Invariant.Lower(spec.K) + "/" + Invariant.Lower(spec.V);

    /// <summary>
    /// Resolves gpuLayers and plans without mmap for the objective's ubatch and KV cache; when that plan leaves the host
    /// short (no-mmap does not fit) and the profile left ubatch or the KV cache to "auto", tries smaller ones in turn —
    /// ubatch halved down to <see cref="EvidenceThresholds.MemoryObjectiveUBatchSize"/>, then a q8_0 cache — and keeps
    /// the first that fits, else the smallest (under the latency objective: the objective's own setting while mmap can
    /// still hold the rest). Generation speed does not depend on the ubatch, and under memory pressure
    /// every MiB of compute buffer or cache is taken from the page cache the weights need: a load whose anonymous memory
    /// nearly fills the limit is OOM-killed where a smaller one runs (docs/evidence.md#the-memory-objective).
    /// </summary>
    private static FittedOptions FitBatchAndCache(LoadOptions load, Objective objective, Chosen<int> preferredUBatch, Chosen<KvCacheSpec> preferredKv,
        Chosen<bool> flashAttentionChoice, PreparedModel prepared, ResolvedLoadOptions baseOptions, HostFacts host)
    {
        var flashAttention = flashAttentionChoice.Value;
        // A class, not a value tuple: a framework list over a value type is JIT-compiled on every cold build check.
        var steps = new List<FitStep>();
        // On a CPU-only host, generation at a full 2048-token context ran 30 % faster without flash attention, at the
        // price of a larger compute buffer and a slower first token: tried first for throughput, kept only when it fits
        // (docs/evidence.md#flash-attention-on-the-cpu).
        var tryOff = load.FlashAttention == AutoSwitch.Auto && objective == Objective.Throughput && host.Gpus.Count == 0
            && !KvCacheEstimator.IsQuantized(preferredKv.Value.V);
        if (tryOff) steps.Add(new FitStep(preferredUBatch.Value, preferredKv.Value, false, flashAttentionOffTrial: true));
        steps.Add(new FitStep(preferredUBatch.Value, preferredKv.Value, flashAttention));
        if (load.UBatchSize == LoadOptions.AutoUBatchSize)
        {
            for (var u = preferredUBatch.Value / 2; u >= EvidenceThresholds.MemoryObjectiveUBatchSize; u /= 2) steps.Add(new FitStep(u, preferredKv.Value, flashAttention));
        }
        var smallKv = SmallKvCache(flashAttention);
        if (load.KvCache is null && !preferredKv.Value.Equals(smallKv)) steps.Add(new FitStep(steps[steps.Count - 1].UBatch, smallKv, flashAttention));

        FittedOptions? fitted = null;
        MemoryPlan? first = null;
        var offTried = false;
        foreach (var step in steps)
        {
            var ubatch = step.UBatch;
            var kv = step.Kv;
            var scratch = new List<Decision>();
            var options = baseOptions with { UBatchSize = ubatch, TypeK = kv.K, TypeV = kv.V, FlashAttention = step.FlashAttention };
            options = options with { GpuLayerCount = ResolveGpuLayers(load.GpuLayers, prepared, options, host, scratch) };
            var plan = MemoryPlanner.Plan(prepared, options, host);
            if (step.FlashAttentionOffTrial)
            {
                offTried = true;
                if (plan.Host.NoMmapFits)
                {
                    fitted = new FittedOptions(options, plan, scratch);
                    break;
                }
                continue;
            }
            first ??= plan;
            fitted = new FittedOptions(options, plan, scratch);
            if (plan.Host.NoMmapFits) break;
            // Latency keeps its setting while mmap can still run it: a smaller ubatch and a q8_0 cache slow the prompt
            // (measured 345 → 216 tok/s), which costs more time to first token than the page-cache misses they spare.
            if (objective == Objective.Latency && HostFootprint.MmapAnonymousFits(plan.Host)) break;
        }

        var chosen = fitted!;
        var decisions = new List<Decision>();
        if (offTried && !chosen.Options.FlashAttention)
        {
            decisions.Add(new Decision("load.flashAttention", "false", "flash-attention.cpu-off",
                Invariant.Text($"CPU only and the footprint fits without it ({chosen.NoMmapPlan.Host.FootprintRatio:F2} ×): objective throughput, and generation at a full context ran faster without flash attention on the CPU (docs/evidence.md#flash-attention-on-the-cpu)"),
                EquatableArray.Create(new DecisionFigure("footprint without flash attention", Math.Round(Units.ToGiB(chosen.NoMmapPlan.Host.FootprintBytes), 3), "GiB"))));
        }
        else if (offTried)
        {
            decisions.Add(new Decision("load.flashAttention", "true", "flash-attention.fit",
                "CPU only, where generation runs faster without flash attention, but its larger compute buffer does not fit: on, as llama.cpp's auto (docs/evidence.md#flash-attention-on-the-cpu)",
                EquatableArray<DecisionFigure>.Empty));
        }
        else if (flashAttentionChoice.Decision is { } faDecision)
        {
            decisions.Add(faDecision);
        }
        var shrunk = chosen.Options.UBatchSize != preferredUBatch.Value || chosen.Options.TypeK != preferredKv.Value.K || chosen.Options.TypeV != preferredKv.Value.V;
        var figures = shrunk
            ? EquatableArray.Create(
                new DecisionFigure(Invariant.Text($"footprint at ubatch {preferredUBatch.Value}, KV {KvText(preferredKv.Value)}"), Math.Round(Units.ToGiB(first!.Host.FootprintBytes), 3), "GiB"),
                new DecisionFigure("footprint as chosen", Math.Round(Units.ToGiB(chosen.NoMmapPlan.Host.FootprintBytes), 3), "GiB"),
                new DecisionFigure("usable RAM", Math.Round(Units.ToGiB(chosen.NoMmapPlan.Host.UsableBytes), 3), "GiB"))
            : EquatableArray<DecisionFigure>.Empty;
        var fits = chosen.NoMmapPlan.Host.NoMmapFits;
        var why = !shrunk ? string.Empty : fits
            ? Invariant.Text($"at ubatch {preferredUBatch.Value} with a {KvText(preferredKv.Value)} cache the host footprint does not fit ({first!.Host.FootprintRatio:F2} ×); this is the largest setting with which it does ({chosen.NoMmapPlan.Host.FootprintRatio:F2} ×), so no-mmap can run and mmap keeps the weights' pages (generation speed does not depend on the ubatch)")
            : Invariant.Text($"the host footprint does not fit RAM even at the smallest setting ({chosen.NoMmapPlan.Host.FootprintRatio:F2} ×): the smallest compute buffer and cache leave the most page cache for the weights (a load whose anonymous memory nearly fills the limit is killed)");

        if (chosen.Options.UBatchSize != preferredUBatch.Value)
        {
            decisions.Add(new Decision("load.ubatchSize", chosen.Options.UBatchSize.ToString(CultureInfo.InvariantCulture), "ubatch.fit", why + " (docs/evidence.md#the-memory-objective)", figures));
        }
        else if (preferredUBatch.Decision is { } ubatchDecision)
        {
            decisions.Add(ubatchDecision);
        }
        var chosenKv = new KvCacheSpec(chosen.Options.TypeK, chosen.Options.TypeV);
        if (!chosenKv.Equals(preferredKv.Value))
        {
            decisions.Add(new Decision("load.kvCache", KvText(chosenKv), "kv-cache.fit", why + " (docs/evidence.md#the-memory-objective)", figures));
        }
        else if (preferredKv.Decision is { } kvDecision)
        {
            decisions.Add(kvDecision);
        }
        decisions.AddRange(chosen.Decisions);
        return new FittedOptions(chosen.Options, chosen.NoMmapPlan, decisions);
    }

    private static EquatableArray<float> ExplicitSplits(IReadOnlyList<GpuSpec> gpus)
    {
        // tensor_split is all-or-nothing in llama.cpp: given ratios replace the memory-proportional default.
        if (!gpus.Any(g => g.SplitRatio is > 0)) return EquatableArray<float>.Empty;
        return gpus.Select(g => (float)(g.SplitRatio is > 0 ? g.SplitRatio.Value : 0)).ToEquatableArray();
    }

    private static int ResolveGpuLayers(GpuLayers requested, PreparedModel prepared, ResolvedLoadOptions options, HostFacts host, List<Decision> decisions)
    {
        var all = Math.Max(0, prepared.Model.BlockCount) + 1;
        switch (requested.Kind)
        {
            case GpuLayersKind.All:
                return all;
            case GpuLayersKind.Count:
                return Math.Max(0, requested.Count);
        }

        if (host.Gpus.Count == 0)
        {
            decisions.Add(new Decision("load.gpuLayers", "0", "gpu-layers.no-gpu", "no GPU declared or detected: every layer stays on the CPU",
                EquatableArray<DecisionFigure>.Empty));
            return 0;
        }

        var fit = LargestFittingGpuLayers(prepared, options, host);
        var figures = new List<DecisionFigure> { new("layers incl. output", all, "layers") };
        for (var i = 0; i < host.Gpus.Count; i++)
        {
            figures.Add(new DecisionFigure(host.Gpus[i].Name + " VRAM", host.Gpus[i].VramGiB, "GiB"));
        }
        figures.Add(new DecisionFigure("reserve per GPU", Units.ToGiB(EvidenceThresholds.GpuReserveBytes), "GiB"));
        decisions.Add(new Decision("load.gpuLayers", fit.ToString(CultureInfo.InvariantCulture), "gpu-layers.most-that-fit",
            fit == all
                ? "every repeating layer and the output layer fit the GPU(s) with weights, KV cache, compute buffer and reserve"
                : Invariant.Text($"the most layers (of {all}, output first as llama.cpp offloads it) whose weights, KV cache, compute buffer and reserve fit every GPU"),
            figures.ToEquatableArray()));
        return fit;
    }

    private static bool ResolveMmap(AutoSwitch requested, Objective objective, MemoryPlan noMmapPlan, HostFacts host, List<Decision> decisions)
    {
        if (requested == AutoSwitch.On) return true;
        if (requested == AutoSwitch.Off) return false;

        var h = noMmapPlan.Host;
        var figures = EquatableArray.Create(
            new DecisionFigure("host footprint", Units.ToGiB(h.FootprintBytes), "GiB"),
            new DecisionFigure("usable RAM", Units.ToGiB(h.UsableBytes), "GiB"),
            new DecisionFigure("ratio", Math.Round(h.FootprintRatio, 3), "×"),
            new DecisionFigure("repacked", Units.ToGiB(h.RepackedBytes), "GiB"));
        var facts = AdviceRules.MmapFacts(noMmapPlan, host);

        bool Decide(bool value, string rule, string reason)
        {
            decisions.Add(new Decision("load.mmap", value ? "true" : "false", rule, reason, figures));
            return value;
        }

        if (!h.NoMmapFits)
        {
            return Decide(true, "mmap.no-mmap-does-not-fit", Invariant.Text(
                $"no-mmap needs {Units.ToGiB(h.FootprintBytes):F1} GiB of anonymous memory but {Units.ToGiB(h.UsableBytes):F1} GiB is usable ({h.FootprintRatio:F2} ×): only mmap keeps the model runnable (measured: no-mmap OOM-killed at {EvidenceThresholds.NoMmapMeasuredOomRatio:F1} ×, full speed at {EvidenceThresholds.NoMmapMeasuredFullSpeedRatio:F2} ×)"));
        }
        if (facts.HostWeightsBesideGpu > 0)
        {
            return Decide(false, "mmap.pinned-host-buffers", Invariant.Text(
                $"{Units.ToGiB(facts.HostWeightsBesideGpu):F1} GiB of layer weights stay on the CPU beside a GPU: without mmap they live in pinned host buffers (seed: {EvidenceThresholds.SeedMmapTokensPerSecond:F1} → {EvidenceThresholds.SeedNoMmapTokensPerSecond:F1} tok/s; llama.cpp PR 20978: prompt {EvidenceThresholds.Pr20978MmapPromptTokensPerSecond:F0} → {EvidenceThresholds.Pr20978NoMmapPromptTokensPerSecond:F0} t/s), and no-mmap fits ({h.FootprintRatio:F2} ×)"));
        }
        if (h.RepackedBytes > 0)
        {
            var mmapSafe = h.MmapSafeRatio;
            if (objective == Objective.Latency && h.FootprintRatio >= mmapSafe)
            {
                return Decide(true, "mmap.latency-repack-fits", Invariant.Text(
                    $"objective latency: mmap loads faster (measured {EvidenceThresholds.RepackMmapLoadSeconds:F1} vs {EvidenceThresholds.RepackNoMmapLoadSeconds:F1} s) and RAM covers the file pages plus the {Units.ToGiB(h.RepackedBytes):F1} GiB repacked copy ({h.FootprintRatio:F2} × ≥ {mmapSafe:F2} ×), at twice the RSS"));
            }
            return Decide(false, "mmap.repacked-weights", Invariant.Text(
                $"{Units.ToGiB(h.RepackedBytes):F1} GiB of CPU weights are repacked: mmap would keep the file pages plus the repacked copy (measured peak RSS {EvidenceThresholds.RepackMmapPeakRssMiB / 1024:F1} vs {EvidenceThresholds.RepackNoMmapPeakRssMiB / 1024:F1} GiB, thrash below ≈ {EvidenceThresholds.RepackMmapSafeRatio:F2} ×) at the same speed; no-mmap fits ({h.FootprintRatio:F2} ×)"));
        }
        if (host.Storage is StorageKind.Hdd or StorageKind.Network)
        {
            return Decide(false, "mmap.slow-storage", Invariant.Text(
                $"the model is on {Invariant.Lower(host.Storage)} storage: page-cache misses under mmap re-read it slowly; no-mmap reads it once and fits ({h.FootprintRatio:F2} ×)"));
        }
        return Decide(true, "mmap.fits-fast-load", Invariant.Text(
            $"everything fits ({h.FootprintRatio:F2} ×) and nothing is repacked: both modes generate at the same speed, and mmap (re)loads far faster (measured {EvidenceThresholds.MmapWarmLoadSecondsMin:0.##}–{EvidenceThresholds.MmapWarmLoadSecondsMax:0.##} s vs {EvidenceThresholds.NoMmapLoadSecondsMin:F0}–{EvidenceThresholds.NoMmapLoadSecondsMax:F0} s for {EvidenceThresholds.MmapLargeModelGB:F0} GB)"));
    }
}
