using System.Collections.Generic;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// What the child prints on stdout, one line each, prefixed by <see cref="Marker"/>: <c>phase NAME MS</c> as it
/// goes (so a run that is killed still tells where it died), <c>token N MS</c> per generated token, and finally
/// <c>result JSON</c>.
/// </summary>
internal static class ChildProtocol
{
    public const string Marker = "@@flashmoe ";
}

/// <summary>The child's measurements, serialised as the <c>result</c> line.</summary>
internal sealed record ChildResult
{
    public double LoadSeconds { get; init; }
    /// <summary>Time to first token: the prompt's decode plus the first sample.</summary>
    public double PromptSeconds { get; init; }
    public int PromptTokens { get; init; }
    public double PromptTokensPerSecond { get; init; }
    public int GeneratedTokens { get; init; }
    /// <summary>Context cells used at the end, and n_ctx.</summary>
    public int ContextUsed { get; init; }
    public int ContextSize { get; init; }
    public double TokensPerSecond { get; init; }
    public long PeakRssBytes { get; init; }
    public string? LlamaLoadMode { get; init; }
    public long? DetectedLimitBytes { get; init; }
    public List<string> Advice { get; init; } = new();
    public bool UsedMmap { get; init; }
    /// <summary>The plan's host buffers next to what llama.cpp logged (from <c>LoadedModel.CompareWithPlan</c>).</summary>
    public List<BufferFigure> Buffers { get; init; } = new();
    /// <summary>The plan's host footprint (weights + KV + compute + output + runtime overhead).</summary>
    public long PlannedFootprintBytes { get; init; }
    /// <summary>The runtime overhead the plan adds on top of llama.cpp's buffers.</summary>
    public long PlannedOverheadBytes { get; init; }
}

/// <summary>One host buffer: planned and actual bytes.</summary>
internal sealed record BufferFigure(string Kind, long PlannedBytes, long? ActualBytes);
