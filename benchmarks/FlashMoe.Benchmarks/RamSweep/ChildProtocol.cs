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
    public double PromptSeconds { get; init; }
    public int PromptTokens { get; init; }
    public int GeneratedTokens { get; init; }
    public double TokensPerSecond { get; init; }
    public long PeakRssBytes { get; init; }
    public string? LlamaLoadMode { get; init; }
    public long? DetectedLimitBytes { get; init; }
    public List<string> Advice { get; init; } = new();
    public bool UsedMmap { get; init; }
}
