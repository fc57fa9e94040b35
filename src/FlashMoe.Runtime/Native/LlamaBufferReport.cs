using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using FlashMoe.Planning;

namespace FlashMoe.Runtime.Native;

/// <summary>
/// What llama.cpp actually allocated, parsed from its log. Sizes are printed with two decimals in MiB, so each
/// figure is exact to ±0.005 MiB. Buffer names are llama.cpp's (<c>CPU</c>, <c>CPU_Mapped</c>, <c>CPU_REPACK</c>,
/// <c>Vulkan0</c>, <c>CUDA_Host</c>, …). Context figures (KV, compute, output) are those of the LAST context the
/// log shows being constructed.
/// </summary>
public sealed record LlamaBufferReport
{
    /// <summary>An empty report (nothing recognised).</summary>
    public static LlamaBufferReport Empty { get; } = new();

    /// <summary>Model weight buffers by buffer type (<c>load_tensors: CPU_Mapped model buffer size = … MiB</c>).</summary>
    public IReadOnlyDictionary<string, long> ModelBuffers { get; init; } = new Dictionary<string, long>();

    /// <summary>KV cache buffers by buffer type (<c>llama_kv_cache: CPU KV buffer size = … MiB</c>).</summary>
    public IReadOnlyDictionary<string, long> KvBuffers { get; init; } = new Dictionary<string, long>();

    /// <summary>Compute (scratch) buffers by buffer type (<c>sched_reserve: CPU compute buffer size = … MiB</c>).</summary>
    public IReadOnlyDictionary<string, long> ComputeBuffers { get; init; } = new Dictionary<string, long>();

    /// <summary>Output (logits) buffers by buffer type (<c>llama_context: CPU  output buffer size = … MiB</c>).</summary>
    public IReadOnlyDictionary<string, long> OutputBuffers { get; init; } = new Dictionary<string, long>();

    /// <summary>K cache bytes from the KV summary line (<c>K (f16): … MiB</c>), summed over KV caches.</summary>
    public long? KBytes { get; init; }

    /// <summary>V cache bytes from the KV summary line.</summary>
    public long? VBytes { get; init; }

    /// <summary>K cache element type as llama.cpp names it (<c>f16</c>, <c>q8_0</c>, …).</summary>
    public string? KType { get; init; }

    /// <summary>V cache element type.</summary>
    public string? VType { get; init; }

    /// <summary>KV cells (the context size of the KV cache).</summary>
    public int? KvCells { get; init; }

    /// <summary>The load mode llama.cpp reports (<c>mmap</c>, <c>none</c>, <c>mlock</c>, <c>mmap+mlock</c>, …).</summary>
    public string? LoadMode { get; init; }

    /// <summary>Tensors repacked for the CPU (<c>repack: repack tensor … with q4_0_8x8</c>; debug-level lines).</summary>
    public int RepackedTensorCount { get; init; }

    /// <summary>Tensors whose buffer type a tensor override changed (debug-level lines).</summary>
    public int OverriddenTensorCount { get; init; }

    /// <summary>Layers offloaded to the GPU and the offloadable total (<c>offloaded 49/49 layers to GPU</c>).</summary>
    public (int Offloaded, int Total)? OffloadedLayers { get; init; }

    /// <summary>How many contexts the log shows being constructed.</summary>
    public int ContextCount { get; init; }

    /// <summary>Model facts llama.cpp prints (<c>print_info: n_layer = 2</c> → <c>n_layer</c> = <c>2</c>).</summary>
    public IReadOnlyDictionary<string, string> ModelInfo { get; init; } = new Dictionary<string, string>();

    /// <summary>Warnings llama.cpp logged (e.g. <c>warning: failed to mlock …</c>), continuation lines joined.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>All model weight buffers.</summary>
    public long ModelBytes => ModelBuffers.Values.Sum();

    /// <summary>Repacked weights (<c>CPU_REPACK</c>), which never share pages with the file.</summary>
    public long RepackBytes => ModelBuffers.TryGetValue("CPU_REPACK", out var b) ? b : 0;

    /// <summary>All KV buffers.</summary>
    public long KvBytes => KvBuffers.Values.Sum();

    /// <summary>All compute buffers.</summary>
    public long ComputeBytes => ComputeBuffers.Values.Sum();

    /// <summary>All output buffers.</summary>
    public long OutputBytes => OutputBuffers.Values.Sum();

    /// <summary>Everything llama.cpp allocated for the weights and the last context.</summary>
    public long TotalBytes => ModelBytes + KvBytes + ComputeBytes + OutputBytes;

    /// <summary>Whether any buffer line was recognised.</summary>
    public bool HasBuffers => ModelBuffers.Count + KvBuffers.Count + ComputeBuffers.Count + OutputBuffers.Count > 0;

    // llama.cpp format strings (src/llama-model.cpp, llama-kv-cache.cpp, llama-context.cpp):
    //   "%s: %12s model buffer size = %8.2f MiB"   "%s: %10s KV buffer size = %8.2f MiB"
    //   "%s: %10s compute buffer size = %8.2f MiB" "%s: %10s  output buffer size = %8.2f MiB"
    private static readonly Regex BufferLine = new(
        @"^\s*[\w~]+:\s+(?<name>\S+)\s+(?<kind>model|KV|compute|output) buffer size =\s*(?<mib>\d+(?:\.\d+)?) MiB\s*$",
        RegexOptions.CultureInvariant);

    // "llama_kv_cache: size =    0.12 MiB (   256 cells,   2 layers,  1/1 seqs), K (f16):    0.06 MiB, V (f16):    0.06 MiB"
    private static readonly Regex KvSummaryLine = new(
        @"size =\s*\d+(?:\.\d+)? MiB \(\s*(?<cells>\d+) cells,.*\), K \((?<kt>\w+)\):\s*(?<k>\d+(?:\.\d+)?) MiB, V \((?<vt>\w+)\):\s*(?<v>\d+(?:\.\d+)?) MiB",
        RegexOptions.CultureInvariant);

    private static readonly Regex LoadModeLine = new(@"loading model tensors.*\(load_mode = (?<mode>[\w+]+)\)", RegexOptions.CultureInvariant);
    private static readonly Regex OffloadedLine = new(@"offloaded (?<n>\d+)/(?<total>\d+) layers to GPU", RegexOptions.CultureInvariant);
    private static readonly Regex PrintInfoLine = new(@"^print_info: (?<key>[^=]+?)\s*=\s*(?<value>.*?)\s*$", RegexOptions.CultureInvariant);
    private static readonly Regex FunctionPrefix = new(@"^[\w~]+: ", RegexOptions.CultureInvariant);

    /// <summary>Parses llama.cpp log lines (any order, unrelated lines ignored). Never throws on odd input.</summary>
    public static LlamaBufferReport Parse(IEnumerable<string> lines) =>
        ParseCore((lines ?? throw new ArgumentNullException(nameof(lines))).Select(l => (l, (Microsoft.Extensions.Logging.LogLevel?)null)));

    /// <summary>Parses captured native lines; their level also marks warnings whose text does not say so.</summary>
    public static LlamaBufferReport Parse(IEnumerable<NativeLogLine> lines) =>
        ParseCore((lines ?? throw new ArgumentNullException(nameof(lines))).Select(l => (l.Text, (Microsoft.Extensions.Logging.LogLevel?)l.Level)));

    private static LlamaBufferReport ParseCore(IEnumerable<(string Text, Microsoft.Extensions.Logging.LogLevel? Level)> lines)
    {

        var model = new Dictionary<string, long>(StringComparer.Ordinal);
        var kv = new Dictionary<string, long>(StringComparer.Ordinal);
        var compute = new Dictionary<string, long>(StringComparer.Ordinal);
        var output = new Dictionary<string, long>(StringComparer.Ordinal);
        var info = new Dictionary<string, string>(StringComparer.Ordinal);
        var warnings = new List<string>();
        long? kBytes = null, vBytes = null;
        string? kType = null, vType = null, loadMode = null;
        int? cells = null;
        (int, int)? offloaded = null;
        int repacked = 0, overridden = 0, contexts = 0;
        var lastWasWarning = false;

        foreach (var (raw, level) in lines)
        {
            if (raw is null) continue;
            var line = raw.TrimEnd('\r', '\n');
            if (line.Length == 0) continue;

            // A message's continuation line belongs to the warning before it: no "function: " prefix and, when
            // levels are known, the same level; without levels, a sentence ("Try increasing RLIMIT_MEMLOCK …"),
            // unlike the lower-case debug lines ("tensor … buffer type overridden …") that may follow a warning.
            if (lastWasWarning && !FunctionPrefix.IsMatch(line)
                && (level is { } lineLevel ? lineLevel == Microsoft.Extensions.Logging.LogLevel.Warning : char.IsUpper(line[0]))
                && !line.StartsWith("warning", StringComparison.OrdinalIgnoreCase))
            {
                warnings[warnings.Count - 1] += " " + line.Trim();
                continue;
            }
            lastWasWarning = false;

            if (line.Contains("constructing llama_context", StringComparison.Ordinal))
            {
                // Context figures describe the newest context only.
                contexts++;
                kv.Clear();
                compute.Clear();
                output.Clear();
                kBytes = vBytes = null;
                kType = vType = null;
                cells = null;
                continue;
            }

            var buffer = BufferLine.Match(line);
            if (buffer.Success)
            {
                var target = buffer.Groups["kind"].Value switch
                {
                    "model" => model,
                    "KV" => kv,
                    "compute" => compute,
                    _ => output,
                };
                var name = buffer.Groups["name"].Value;
                if (TryMiB(buffer.Groups["mib"].Value, out var bytes))
                {
                    target[name] = (target.TryGetValue(name, out var prior) ? prior : 0) + bytes;
                }
                continue;
            }

            var summary = KvSummaryLine.Match(line);
            if (summary.Success)
            {
                // ISWA models print one summary per cache: sum them.
                if (TryMiB(summary.Groups["k"].Value, out var k)) kBytes = (kBytes ?? 0) + k;
                if (TryMiB(summary.Groups["v"].Value, out var v)) vBytes = (vBytes ?? 0) + v;
                kType = summary.Groups["kt"].Value;
                vType = summary.Groups["vt"].Value;
                if (int.TryParse(summary.Groups["cells"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var c)) cells = c;
                continue;
            }

            if (line.StartsWith("repack: repack tensor ", StringComparison.Ordinal))
            {
                repacked++;
                continue;
            }
            if (line.StartsWith("tensor ", StringComparison.Ordinal) && line.Contains(" buffer type overridden to ", StringComparison.Ordinal))
            {
                overridden++;
                continue;
            }

            var mode = LoadModeLine.Match(line);
            if (mode.Success)
            {
                loadMode = mode.Groups["mode"].Value;
                continue;
            }

            var off = OffloadedLine.Match(line);
            if (off.Success
                && int.TryParse(off.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                && int.TryParse(off.Groups["total"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var total))
            {
                offloaded = (n, total);
                continue;
            }

            var printInfo = PrintInfoLine.Match(line);
            if (printInfo.Success)
            {
                info[printInfo.Groups["key"].Value] = printInfo.Groups["value"].Value;
                continue;
            }

            var isWarning = level is { } l
                ? l == Microsoft.Extensions.Logging.LogLevel.Warning
                : line.IndexOf("warning", StringComparison.OrdinalIgnoreCase) >= 0 && !line.StartsWith("llama_model_loader: - kv", StringComparison.Ordinal);
            if (isWarning)
            {
                warnings.Add(line.Trim());
                lastWasWarning = true;
            }
        }

        return new LlamaBufferReport
        {
            ModelBuffers = model,
            KvBuffers = kv,
            ComputeBuffers = compute,
            OutputBuffers = output,
            KBytes = kBytes,
            VBytes = vBytes,
            KType = kType,
            VType = vType,
            KvCells = cells,
            LoadMode = loadMode,
            RepackedTensorCount = repacked,
            OverriddenTensorCount = overridden,
            OffloadedLayers = offloaded,
            ContextCount = contexts,
            ModelInfo = info,
            Warnings = warnings,
        };
    }

    /// <summary>
    /// This report's model figures with <paramref name="context"/>'s context figures (KV, compute, output): the
    /// weights come from the load, the rest from the newest context creation.
    /// </summary>
    public LlamaBufferReport WithContext(LlamaBufferReport context)
    {
        if (context is null) throw new ArgumentNullException(nameof(context));
        return this with
        {
            KvBuffers = context.KvBuffers,
            ComputeBuffers = context.ComputeBuffers,
            OutputBuffers = context.OutputBuffers,
            KBytes = context.KBytes,
            VBytes = context.VBytes,
            KType = context.KType,
            VType = context.VType,
            KvCells = context.KvCells,
            ContextCount = ContextCount + context.ContextCount,
            Warnings = Warnings.Concat(context.Warnings).ToArray(),
        };
    }

    /// <summary>A multi-line summary, one buffer per line, in MiB.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        void Group(string title, IReadOnlyDictionary<string, long> buffers)
        {
            foreach (var pair in buffers.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                sb.Append(title.PadRight(8)).Append(pair.Key.PadRight(12)).Append(MiB(pair.Value).PadLeft(12)).Append('\n');
            }
        }
        Group("model", ModelBuffers);
        Group("KV", KvBuffers);
        Group("compute", ComputeBuffers);
        Group("output", OutputBuffers);
        sb.Append("total".PadRight(20)).Append(MiB(TotalBytes).PadLeft(12)).Append('\n');
        if (LoadMode is not null) sb.Append("load mode ").Append(LoadMode).Append('\n');
        if (RepackedTensorCount > 0) sb.Append("repacked tensors ").Append(RepackedTensorCount.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var warning in Warnings) sb.Append("warning ").Append(warning).Append('\n');
        return sb.ToString();
    }

    private static string MiB(long bytes) => Units.FormatMiB(bytes);

    private static bool TryMiB(string text, out long bytes)
    {
        bytes = 0;
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var mib) || mib < 0 || mib > 1e12) return false;
        bytes = (long)Math.Round(mib * Units.MiB);
        return true;
    }
}
