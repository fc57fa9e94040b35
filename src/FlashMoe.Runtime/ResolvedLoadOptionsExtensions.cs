using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using LLama.Abstractions;
using LLama.Common;
using FlashMoe.Runtime.Native;
using LLama.Native;

namespace FlashMoe.Runtime;

/// <summary>
/// Maps Core's <see cref="ResolvedLoadOptions"/> 1:1 onto LLamaSharp 0.30's <see cref="ModelParams"/>. Every field
/// the options govern is set explicitly — LLamaSharp's defaults differ from llama.cpp's (LoadMode None = no mmap,
/// GpuLayerCount 20) — and what ModelParams cannot express is reported by <see cref="GetUnsupported"/>.
/// </summary>
public static class ResolvedLoadOptionsExtensions
{
    /// <summary>The CPU repack buffer type's name (<see cref="LlamaPlacement.CpuRepackBufferType"/>); LLamaSharp drops overrides naming it.</summary>
    public const string CpuRepackBufferType = LlamaPlacement.CpuRepackBufferType;

    /// <summary>
    /// Builds the <see cref="ModelParams"/> for <paramref name="modelPath"/>: LoadMode, GpuLayerCount,
    /// TensorBufferOverrides, Threads, BatchThreads, ContextSize, BatchSize, UBatchSize, TypeK, TypeV,
    /// FlashAttention, NoKqvOffload, MainGpu, SplitMode and TensorSplits. Changes no FlashMoe state; note that
    /// LLamaSharp loads llama.cpp when a <see cref="ModelParams"/> is constructed, so call
    /// <see cref="LlamaNativeLog.Install"/> first if the library-loading lines should be captured.
    /// </summary>
    /// <exception cref="ArgumentException">The options break a rule of <see cref="ResolvedLoadOptions.Validate"/> (threads &lt; 1, negative sizes, …).</exception>
    public static ModelParams ToModelParams(this ResolvedLoadOptions options, string modelPath)
    {
        if (options is null) throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(modelPath)) throw new ArgumentException("A model path is required.", nameof(modelPath));
        // The rules live in Core; the first broken one is the error.
        if (options.Validate() is { Count: > 0 } problems) throw new ArgumentException(problems[0], nameof(options));

        // Constructing ModelParams loads llama.cpp (TensorSplitsCollection asks it for llama_max_devices); that is
        // LLamaSharp's doing. FlashMoe's own process-wide state (the native log callback) is left alone here:
        // FlashMoeModel.LoadAsync installs it before calling this.
        var maxDevices = new TensorSplitsCollection().Length;
        if (options.TensorSplits.Count > maxDevices)
        {
            throw new ArgumentException(string.Format(CultureInfo.InvariantCulture,
                "ResolvedLoadOptions.TensorSplits has {0} entries; this llama.cpp build supports at most {1} devices.",
                options.TensorSplits.Count, maxDevices), nameof(options));
        }

        return new ModelParams(modelPath)
        {
            LoadMode = ToLoadMode(options.UseMmap, options.UseMlock),
            GpuLayerCount = options.GpuLayerCount,
            TensorBufferOverrides = options.TensorOverrides
                .Select(o => new TensorBufferOverride(o.Pattern, o.Device))
                .ToList(),
            Threads = options.Threads,
            BatchThreads = options.BatchThreads,
            ContextSize = (uint)options.ContextSize,
            BatchSize = (uint)options.BatchSize,
            UBatchSize = (uint)options.UBatchSize,
            TypeK = ToGgmlType(options.TypeK),
            TypeV = ToGgmlType(options.TypeV),
            FlashAttention = options.FlashAttention,
            NoKqvOffload = !options.KvOffload,
            SwaFull = options.SwaFull,
            MainGpu = options.MainGpu,
            SplitMode = ToSplitMode(options),
            TensorSplits = new TensorSplitsCollection(options.TensorSplits.ToArray()),
        };
    }

    /// <summary>
    /// The options LLamaSharp 0.30's <see cref="ModelParams"/> cannot express; each entry says what llama.cpp will do
    /// instead. Empty when the mapping is exact.
    /// </summary>
    public static IReadOnlyList<string> GetUnsupported(this ResolvedLoadOptions options)
    {
        if (options is null) throw new ArgumentNullException(nameof(options));
        var notes = new List<string>();
        if (!options.Repack)
        {
            notes.Add("repack=false: LLamaSharp 0.30 cannot turn CPU weight repacking off (llama.cpp's use_extra_bufts is " +
                      "only reachable through the native LLamaModelParams); Q4_0-class weights will still be repacked into CPU_REPACK buffers.");
        }
        foreach (var o in options.TensorOverrides.Where(o => LlamaPlacement.IsDroppedByLlamaSharp(o.Device)))
        {
            notes.Add($"tensor override '{o.Pattern}' → {o.Device}: LLamaSharp 0.30 drops overrides naming {CpuRepackBufferType} " +
                      "(only a device's default buffer type is accepted); override to CPU instead, which llama.cpp repacks where it can.");
        }
        return notes;
    }

    /// <summary>LLamaSharp's load mode for the mmap/mlock pair (never its default by accident).</summary>
    public static LLamaLoadMode ToLoadMode(bool useMmap, bool useMlock) => (useMmap, useMlock) switch
    {
        (true, true) => LLamaLoadMode.MemoryMapAndLock,
        (true, false) => LLamaLoadMode.MemoryMap,
        (false, true) => LLamaLoadMode.MemoryLock,
        (false, false) => LLamaLoadMode.None,
    };

    /// <summary>
    /// ggml's type id for a KV cache type. LLamaSharp 0.30's <see cref="GGMLType"/> enum lacks some of ggml's names
    /// (BF16 = 30, IQ4_NL = 20) but passes the value through to llama.cpp unchanged, so the id is cast from
    /// Core's <see cref="GgmlType"/>, which is numbered exactly like ggml.h.
    /// </summary>
    public static GGMLType ToGgmlType(KvCacheType type) => (GGMLType)(int)KvCacheEstimator.ToGgml(type);

    /// <summary>
    /// llama.cpp's default (Layer: layers spread over all GPUs) unless one GPU other than the first is chosen
    /// without a split, where None keeps everything on <see cref="ResolvedLoadOptions.MainGpu"/>.
    /// </summary>
    private static GPUSplitMode ToSplitMode(ResolvedLoadOptions options) =>
        options.MainGpu > 0 && options.TensorSplits.Count == 0 ? GPUSplitMode.None : GPUSplitMode.Layer;
}
