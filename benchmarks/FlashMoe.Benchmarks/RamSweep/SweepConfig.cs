using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// One configuration a run loads exactly: load mode, n_ubatch, flash attention, KV cache types and threads. Written
/// as a label of slash-separated parts, the load mode first, defaults left out:
/// <c>mmap</c>, <c>nommap/ub128/kv-q8_0</c>, <c>nommap/fa-off/t1</c>. Two configurations are the same run when
/// their labels are equal.
/// </summary>
/// <param name="Mmap">Memory-map the model file.</param>
/// <param name="UBatch">n_ubatch.</param>
/// <param name="FlashAttention">Flash attention on.</param>
/// <param name="TypeK">type_k.</param>
/// <param name="TypeV">type_v.</param>
/// <param name="Threads">Generation threads.</param>
/// <param name="BatchThreads">Prompt-processing threads.</param>
internal sealed record SweepConfig(bool Mmap, int UBatch, bool FlashAttention, KvCacheType TypeK, KvCacheType TypeV, int Threads, int BatchThreads)
{
    /// <summary>The ubatch a label leaves out (llama.cpp's default n_ubatch).</summary>
    public const int DefaultUBatch = 512;

    /// <summary>The KV cache types a run may force (K = V unless the label says <c>kv-K-V</c>).</summary>
    public static readonly KvCacheType[] KvTypes = { KvCacheType.F16, KvCacheType.Q8_0, KvCacheType.Q4_0 };

    public const string Grammar = """
        a configuration is PARTS joined by '/', the load mode first, then any of (defaults left out):
                                  ubN      n_ubatch N (default 512)
                                  fa-on | fa-off   flash attention (default on, as llama.cpp's auto on the CPU)
                                  kv-T     K and V cache type T: f16 (default), q8_0, q4_0; kv-K-V for different types
                                  tN       N generation and batch threads (default --threads); tN-bM for different ones
                                e.g. "mmap,nommap,nommap/ub128/kv-q8_0,nommap/fa-off"
        """;

    /// <summary>The label: the load mode, then only what differs from the defaults (<paramref name="defaultThreads"/> for threads).</summary>
    public string Label(int defaultThreads)
    {
        var parts = new List<string> { Mmap ? "mmap" : "nommap" };
        if (UBatch != DefaultUBatch) parts.Add(Invariant($"ub{UBatch}"));
        if (!FlashAttention) parts.Add("fa-off");
        if (TypeK != KvCacheType.F16 || TypeV != KvCacheType.F16) parts.Add(TypeK == TypeV ? "kv-" + KvName(TypeK) : "kv-" + KvName(TypeK) + "-" + KvName(TypeV));
        if (Threads != defaultThreads || BatchThreads != defaultThreads) parts.Add(Threads == BatchThreads ? Invariant($"t{Threads}") : Invariant($"t{Threads}-b{BatchThreads}"));
        return string.Join("/", parts);
    }

    /// <summary>The load mode alone with every other choice at its default.</summary>
    public static SweepConfig Mode(bool mmap, int threads) => new(mmap, DefaultUBatch, true, KvCacheType.F16, KvCacheType.F16, threads, threads);

    /// <summary>What the resolver picked, as a configuration a child can load exactly.</summary>
    public static SweepConfig FromResolved(ResolvedLoadOptions o) => new(o.UseMmap, o.UBatchSize, o.FlashAttention, o.TypeK, o.TypeV, o.Threads, o.BatchThreads);

    /// <summary>Parses a comma-separated list of labels (see <see cref="Grammar"/>), duplicates removed.</summary>
    public static IReadOnlyList<SweepConfig> ParseList(string text, int defaultThreads)
    {
        var list = new List<SweepConfig>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var config = Parse(item, defaultThreads);
            if (!list.Contains(config)) list.Add(config);
        }
        return list;
    }

    /// <summary>Parses one label (see <see cref="Grammar"/>); <see cref="UsageException"/> for anything else.</summary>
    public static SweepConfig Parse(string label, int defaultThreads)
    {
        var parts = label.Trim().ToLowerInvariant().Split('/', StringSplitOptions.TrimEntries);
        var mmap = parts[0] switch
        {
            "mmap" => true,
            "nommap" or "no-mmap" => false,
            _ => throw new UsageException($"ramsweep: a configuration starts with mmap or nommap, got '{label}'"),
        };
        var config = Mode(mmap, defaultThreads);
        foreach (var part in parts.Skip(1))
        {
            if (part.StartsWith("ub", StringComparison.Ordinal) && PositiveInt(part.Substring(2)) is { } ubatch)
            {
                config = config with { UBatch = ubatch };
            }
            else if (part is "fa-on" or "fa-off")
            {
                config = config with { FlashAttention = part == "fa-on" };
            }
            else if (part.StartsWith("kv-", StringComparison.Ordinal))
            {
                var types = part.Substring(3).Split('-');
                if (types.Length > 2 || ParseKv(types[0]) is not { } k || ParseKv(types[^1]) is not { } v)
                {
                    throw new UsageException($"ramsweep: '{part}' in '{label}': the KV cache types are f16, q8_0 and q4_0 (kv-T or kv-K-V)");
                }
                config = config with { TypeK = k, TypeV = v };
            }
            else if (part.StartsWith('t') && ParseThreads(part.Substring(1)) is { } threads)
            {
                config = config with { Threads = threads.Threads, BatchThreads = threads.Batch };
            }
            else
            {
                throw new UsageException($"ramsweep: unknown part '{part}' in the configuration '{label}' (see ramsweep --help)");
            }
        }
        return config;
    }

    /// <summary>A KV cache type as the labels and the child's <c>--kv</c> spell it.</summary>
    public static string KvName(KvCacheType type) => type.ToString().ToLowerInvariant();

    /// <summary>Parses f16, q8_0 or q4_0.</summary>
    public static KvCacheType? ParseKv(string text) => KvTypes.Where(t => KvName(t) == text.Trim().ToLowerInvariant()).Select(t => (KvCacheType?)t).FirstOrDefault();

    private static (int Threads, int Batch)? ParseThreads(string text)
    {
        var halves = text.Split("-b");
        if (halves.Length > 2 || PositiveInt(halves[0]) is not { } threads) return null;
        if (halves.Length == 1) return (threads, threads);
        return PositiveInt(halves[1]) is { } batch ? (threads, batch) : null;
    }

    private static int? PositiveInt(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
