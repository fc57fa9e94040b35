using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Runtime.Native;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime;

/// <summary>
/// A model failed to load. Unlike LLamaSharp's "Failed to load model", it carries llama.cpp's own reason taken
/// from the native log (e.g. <c>tensor 'blk.1.ffn_gate_exps.weight' data is not within the file bounds, model is
/// corrupted or incomplete</c>), the native error lines, and the FlashMoe advice that predicted the failure, if any.
/// </summary>
public sealed class FlashMoeLoadException : Exception
{
    private const string ErrorLoadingModel = "error loading model: ";

    /// <summary>Creates the exception.</summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="reason">llama.cpp's reason (or FlashMoe's, when llama.cpp was never reached).</param>
    /// <param name="nativeErrors">The native error lines of the load.</param>
    /// <param name="advice">The plan's advice; the message names its warnings and errors as the predictions.</param>
    /// <param name="innerException">What LLamaSharp threw.</param>
    public FlashMoeLoadException(
        string modelPath,
        string reason,
        IReadOnlyList<string>? nativeErrors = null,
        IReadOnlyList<FlashMoeDiagnostic>? advice = null,
        Exception? innerException = null)
        : base(BuildMessage(modelPath, reason, advice), innerException)
    {
        ModelPath = modelPath;
        Reason = reason;
        NativeErrors = nativeErrors ?? Array.Empty<string>();
        Advice = advice ?? Array.Empty<FlashMoeDiagnostic>();
    }

    /// <summary>The model file that failed to load.</summary>
    public string ModelPath { get; }

    /// <summary>llama.cpp's own reason, e.g. <c>tensor 'output.weight' has offset 263200, expected 263168</c>.</summary>
    public string Reason { get; }

    /// <summary>Every error line llama.cpp logged during the load, in order.</summary>
    public IReadOnlyList<string> NativeErrors { get; }

    /// <summary>
    /// The plan's advice (FM IDs) at load time, every severity; the message names only its warnings and errors as having
    /// predicted the failure. Empty when there was none.
    /// </summary>
    public IReadOnlyList<FlashMoeDiagnostic> Advice { get; }

    /// <summary>Builds the exception from the native lines captured during the failed load.</summary>
    internal static FlashMoeLoadException FromNativeLog(
        string modelPath, IReadOnlyList<NativeLogLine> lines, IReadOnlyList<FlashMoeDiagnostic> advice, Exception inner)
    {
        var errors = ErrorLines(lines);
        return new FlashMoeLoadException(modelPath, ExtractReason(errors), errors, advice, inner);
    }

    /// <summary>Error-level lines, plus lines that say "error"/"failed" at any level (older builds log some at info).</summary>
    internal static IReadOnlyList<string> ErrorLines(IEnumerable<NativeLogLine> lines) => lines
        .Where(l => l.Level >= LogLevel.Error
            || l.Text.IndexOf("error", StringComparison.OrdinalIgnoreCase) >= 0
            || l.Text.IndexOf("failed", StringComparison.OrdinalIgnoreCase) >= 0)
        .Where(l => !l.Text.StartsWith("llama_model_loader: - kv", StringComparison.Ordinal)) // metadata values may say "error"
        .Select(l => l.Text.Trim())
        .ToArray();

    /// <summary>
    /// The most specific reason among the error lines: the text after <c>error loading model: </c>, unless that
    /// only says the loader failed, in which case the specific lines logged before it (e.g. <c>gguf_init_from_reader:
    /// failed to read key-value pairs</c>).
    /// </summary>
    internal static string ExtractReason(IReadOnlyList<string> errorLines)
    {
        var specific = errorLines
            .Where(l => !IsGeneric(l))
            .ToList();
        var primary = specific.FirstOrDefault(l => l.Contains(ErrorLoadingModel, StringComparison.Ordinal));
        if (primary is not null)
        {
            return primary.Substring(primary.IndexOf(ErrorLoadingModel, StringComparison.Ordinal) + ErrorLoadingModel.Length).Trim();
        }
        if (specific.Count > 0) return string.Join("; ", specific);
        if (errorLines.Count > 0) return errorLines[0];
        return "llama.cpp logged no reason (see the native log at Trace/Debug level)";
    }

    private static bool IsGeneric(string line) =>
        line.Contains("llama_model_load_from_file_impl: failed to load model", StringComparison.Ordinal)
        || (line.Contains(ErrorLoadingModel, StringComparison.Ordinal) && line.Contains("failed to load model from", StringComparison.Ordinal));

    private static string BuildMessage(string modelPath, string reason, IReadOnlyList<FlashMoeDiagnostic>? advice)
    {
        var sb = new StringBuilder();
        sb.Append("llama.cpp could not load '").Append(modelPath).Append("': ").Append(reason);
        // Only warnings and errors predict a failure; info-level advice (e.g. FM1007, declared facts used) does not.
        var predictions = advice?.Where(a => a.Severity >= FlashMoeSeverity.Warning).ToList();
        if (predictions is { Count: > 0 })
        {
            sb.Append(" (predicted by ").Append(string.Join(", ", predictions.Select(a => a.Id))).Append(": ");
            sb.Append(string.Join(" | ", predictions.Select(a => a.Message))).Append(')');
        }
        return sb.ToString();
    }
}
