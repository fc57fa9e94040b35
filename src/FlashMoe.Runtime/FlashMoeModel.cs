using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Runtime.Native;
using LLama;
using LLama.Common;
using LLama.Exceptions;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime;

/// <summary>Loads models through LLamaSharp with exactly the resolved options, and reports what llama.cpp allocated.</summary>
public static class FlashMoeModel
{
    /// <summary>
    /// Loads <paramref name="modelPath"/> with <paramref name="options"/> (both overloads take the file first, then
    /// how to load it): installs the native log capture first,
    /// maps the options onto <see cref="ModelParams"/> (<see cref="ResolvedLoadOptionsExtensions.ToModelParams"/>),
    /// warns about options LLamaSharp cannot express, loads the weights and parses llama.cpp's buffer lines.
    /// </summary>
    /// <param name="modelPath">The GGUF file.</param>
    /// <param name="options">Concrete load options (from Core's resolver, or by hand).</param>
    /// <param name="progress">Load progress 0 → 1, as llama.cpp reports it.</param>
    /// <param name="logger">Receives the native log (Trace/Debug; warnings and errors at their level) and FlashMoe's notes.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <exception cref="FlashMoeLoadException">llama.cpp refused the file; carries its reason.</exception>
    public static Task<LoadedModel> LoadAsync(
        string modelPath,
        ResolvedLoadOptions options,
        IProgress<float>? progress = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default) =>
        LoadCoreAsync(modelPath, options, Array.Empty<FlashMoeDiagnostic>(), progress, logger, cancellationToken);

    /// <summary>
    /// Loads <paramref name="modelPath"/> with <paramref name="resolved"/>'s options (see the other overload) and
    /// keeps the plan: the advice (FM IDs) is logged to <paramref name="logger"/> before the load and attached to a
    /// <see cref="FlashMoeLoadException"/> if the load fails, and the result compares the plan's buffer estimates
    /// with what llama.cpp allocated (<see cref="LoadedModel.CompareWithPlan"/>).
    /// </summary>
    /// <param name="modelPath">The GGUF file (normally the one the plan read; a different file is logged as a warning).</param>
    /// <param name="resolved">The profile resolved for this host (<see cref="FlashMoeProfileExtensions.Resolve"/>).</param>
    /// <param name="progress">Load progress 0 → 1, as llama.cpp reports it.</param>
    /// <param name="logger">Receives the advice, the decisions (Debug), the native log and FlashMoe's notes. Nothing goes to the console.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <exception cref="FlashMoeLoadException">llama.cpp refused the file; carries its reason and the advice that predicted it.</exception>
#pragma warning disable RS0026 // two overloads with optional parameters: they differ in their second, required parameter's type
    public static async Task<LoadedModel> LoadAsync(
        string modelPath,
        ResolvedProfile resolved,
        IProgress<float>? progress = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        if (logger is not null)
        {
            foreach (var d in resolved.Decisions)
            {
                logger.LogDebug("Profile {Profile}: {Option} = {Value} [{RuleId}] {Reason}", resolved.Profile.Name, d.Option, d.Value, d.RuleId, d.Reason);
            }
            WarnIfPlannedForAnotherFile(resolved.Model, modelPath, logger);
        }
        var advice = resolved.Advice.Select(a => a.Diagnostic).ToArray();
        var model = await LoadCoreAsync(modelPath, resolved.Options, advice, progress, logger, cancellationToken).ConfigureAwait(false);
        model.Resolved = resolved;
        return model;
    }
#pragma warning restore RS0026

    /// <summary>A plan made from declared facts or for another file is only as good as that: say so.</summary>
    private static void WarnIfPlannedForAnotherFile(ModelSummary planned, string modelPath, ILogger logger)
    {
        if (planned.IsDeclared)
        {
            logger.LogInformation("The plan for {ModelPath} rests on declared model facts, not its header", modelPath);
            return;
        }
        try
        {
            var length = new FileInfo(modelPath).Length;
            if (length != planned.FileSizeBytes)
            {
                logger.LogWarning("The plan was made for a {PlannedBytes}-byte model, but {ModelPath} has {ActualBytes} bytes: the estimates do not describe this file",
                    planned.FileSizeBytes, modelPath, length);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // The load reports a missing or unreadable file with llama.cpp's reason.
        }
    }

    /// <summary>
    /// The load itself. <paramref name="advice"/> is the plan's advice: logged before the load and attached to a
    /// <see cref="FlashMoeLoadException"/> (the resolved-profile overload passes it).
    /// </summary>
    internal static async Task<LoadedModel> LoadCoreAsync(
        string modelPath,
        ResolvedLoadOptions options,
        IReadOnlyList<FlashMoeDiagnostic> advice,
        IProgress<float>? progress,
        ILogger? logger,
        CancellationToken cancellationToken)
    {
        if (options is null) throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(modelPath)) throw new ArgumentException("A model path is required.", nameof(modelPath));
        LlamaNativeLog.Install();

        if (!File.Exists(modelPath))
        {
            throw new FlashMoeLoadException(modelPath, "the model file does not exist", advice: advice,
                innerException: new FileNotFoundException("Model file not found.", modelPath));
        }

        logger?.LogFlashMoeDiagnostics(advice);
        var parameters = options.ToModelParams(modelPath);
        var unsupported = options.GetUnsupported().Concat(DroppedOverrides(options)).ToArray();
        foreach (var note in unsupported) logger?.LogWarning("Not applied by LLamaSharp 0.30: {Note}", note);

        // The capture is this load's own (an async-local scope that flows into LLamaSharp's loading task): loads
        // running in parallel each see only their lines.
        IReadOnlyList<NativeLogLine> lines;
        var stopwatch = Stopwatch.StartNew();
        LLamaWeights weights;
        using (var capture = LlamaNativeLog.BeginCapture(logger))
        {
            try
            {
                weights = await LLamaWeights.LoadFromFileAsync(parameters, cancellationToken, progress).ConfigureAwait(false);
            }
            catch (LoadWeightsFailedException e)
            {
                var failure = FlashMoeLoadException.FromNativeLog(modelPath, capture.Lines, advice, e);
                logger?.LogError(e, "Loading {ModelPath} failed: {Reason}", modelPath, failure.Reason);
                throw failure;
            }
            stopwatch.Stop();
            lines = capture.Lines;
        }

        try
        {
            var buffers = LlamaBufferReport.Parse(lines);
            logger?.LogInformation(
                "Loaded {ModelPath} in {Seconds:0.00} s (load mode {LoadMode}): weights {ModelMiB:0.00} MiB, repacked {RepackMiB:0.00} MiB",
                modelPath, stopwatch.Elapsed.TotalSeconds, buffers.LoadMode ?? "?", buffers.ModelBytes / (double)Units.MiB,
                buffers.RepackBytes / (double)Units.MiB);
            foreach (var warning in buffers.Warnings) logger?.LogWarning("llama.cpp warned: {Warning}", warning);
            return new LoadedModel(modelPath, weights, parameters, options, unsupported, buffers, stopwatch.Elapsed, lines, logger);
        }
        catch
        {
            // Nothing owns the weights yet (a throwing logger, …): free them before the exception leaves.
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Overrides LLamaSharp will silently drop: it only accepts the default buffer type of a present device
    /// (<c>CPU</c>, <c>Vulkan0</c>, …). CPU_REPACK is reported by <see cref="ResolvedLoadOptionsExtensions.GetUnsupported"/>.
    /// </summary>
    private static IEnumerable<string> DroppedOverrides(ResolvedLoadOptions options)
    {
        if (options.TensorOverrides.Count == 0) yield break;
        var available = BufferTypeNames();
        foreach (var o in options.TensorOverrides)
        {
            if (available.Contains(o.Device) || LlamaPlacement.IsDroppedByLlamaSharp(o.Device)) continue;
            yield return string.Format(CultureInfo.InvariantCulture,
                "tensor override '{0}' → {1}: no such buffer type in this backend (available: {2}); LLamaSharp drops it and the tensors stay where llama.cpp places them.",
                o.Pattern, o.Device, string.Join(", ", available.OrderBy(n => n, StringComparer.Ordinal)));
        }
    }

    /// <summary>The default buffer type name of every device the loaded backend offers (what LLamaSharp matches overrides against).</summary>
    internal static HashSet<string> BufferTypeNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var count = (ulong)NativeApi.ggml_backend_dev_count();
        for (ulong i = 0; i < count; i++)
        {
            var device = NativeApi.ggml_backend_dev_get(new UIntPtr(i));
            if (device == IntPtr.Zero) continue;
            var bufferType = NativeApi.ggml_backend_dev_buffer_type(device);
            if (bufferType == IntPtr.Zero) continue;
            var name = Marshal.PtrToStringUTF8(NativeApi.ggml_backend_buft_name(bufferType));
            if (!string.IsNullOrEmpty(name)) names.Add(name);
        }
        return names;
    }
}

/// <summary>A loaded model: the LLamaSharp weights, the parameters used, and what llama.cpp actually allocated.</summary>
public sealed class LoadedModel : IDisposable
{
    private readonly ILogger? _logger;
    private readonly object _gate = new();
    private LlamaBufferReport _buffers;
    private ResolvedProfile? _resolved;

    internal LoadedModel(
        string modelPath,
        LLamaWeights weights,
        ModelParams parameters,
        ResolvedLoadOptions options,
        IReadOnlyList<string> unsupported,
        LlamaBufferReport buffers,
        TimeSpan loadTime,
        IReadOnlyList<NativeLogLine> loadLog,
        ILogger? logger)
    {
        ModelPath = modelPath;
        Weights = weights;
        Parameters = parameters;
        Options = options;
        Unsupported = unsupported;
        _buffers = buffers;
        LoadTime = loadTime;
        LoadLog = loadLog;
        _logger = logger;
    }

    /// <summary>The model file.</summary>
    public string ModelPath { get; }

    /// <summary>The LLamaSharp weights (owned: disposed with this object).</summary>
    public LLamaWeights Weights { get; }

    /// <summary>The exact parameters handed to LLamaSharp (also the context parameters).</summary>
    public ModelParams Parameters { get; }

    /// <summary>The options the parameters were built from.</summary>
    public ResolvedLoadOptions Options { get; }

    /// <summary>Options LLamaSharp 0.30 could not apply, each with what happens instead.</summary>
    public IReadOnlyList<string> Unsupported { get; }

    /// <summary>
    /// What llama.cpp allocated: the weights from the load, and the KV / compute / output buffers of the newest
    /// context made by <see cref="CreateContext"/> (none before the first).
    /// </summary>
    public LlamaBufferReport Buffers
    {
        get
        {
            lock (_gate) return _buffers;
        }
    }

    /// <summary>The resolved profile the model was loaded with; null when loaded from bare options.</summary>
    public ResolvedProfile? Resolved
    {
        get
        {
            lock (_gate) return _resolved;
        }
        internal set
        {
            lock (_gate) _resolved = value;
        }
    }

    /// <summary>
    /// The plan's buffer estimates next to what llama.cpp allocated (<see cref="Buffers"/>): the weights after the
    /// load, KV / compute / output after <see cref="CreateContext"/>. Null when loaded without a resolved profile.
    /// </summary>
    public BufferComparison? CompareWithPlan()
    {
        var resolved = Resolved;
        return resolved is null ? null : BufferComparison.Compare(resolved, Buffers);
    }

    /// <summary>
    /// The printable plan report with the estimated vs actual buffers (<see cref="PlanReport.Render"/>); the options
    /// alone when loaded without a resolved profile.
    /// </summary>
    /// <param name="host">The detected host, for its full description.</param>
    public string DescribePlan(HostInfo? host = null)
    {
        var resolved = Resolved;
        if (resolved is null) return "Loaded from bare options (no plan):\n" + Buffers.Describe();
        return PlanReport.Render(resolved, host, BufferComparison.Compare(resolved, Buffers));
    }

    /// <summary>Wall-clock time of the weight load.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>The native log lines of the load.</summary>
    public IReadOnlyList<NativeLogLine> LoadLog { get; }

    /// <summary>Creates an inference context with <see cref="Parameters"/> and records its KV, compute and output buffers in <see cref="Buffers"/>.</summary>
    public LLamaContext CreateContext()
    {
        LLamaContext context;
        IReadOnlyList<NativeLogLine> lines;
        using (var capture = LlamaNativeLog.BeginCapture(_logger))
        {
            context = Weights.CreateContext(Parameters, _logger);
            lines = capture.Lines;
        }
        try
        {
            var report = LlamaBufferReport.Parse(lines);
            lock (_gate) _buffers = _buffers.WithContext(report);
            return context;
        }
        catch
        {
            // The caller never receives the context: free it.
            context.Dispose();
            throw;
        }
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => Weights.Dispose();
}
