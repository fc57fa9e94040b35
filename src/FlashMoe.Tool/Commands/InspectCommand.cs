using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using FlashMoe.Gguf;
using FlashMoe.Planning;

namespace FlashMoe.Tool.Commands;

/// <summary>
/// <c>flashmoe inspect</c>: reads the GGUF header (never the tensor data) and prints the model summary, as text or as
/// one JSON object. A malformed file prints <c>path: error FM01xx: message (offset N)</c> on stderr and exits 3.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(ToolConsole console)
    {
        var model = new Argument<string>("model.gguf") { Description = "The GGUF file; only its header is read." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (one line) instead of text." };
        var tensors = new Option<bool>("--tensors") { Description = "Include every tensor (name, type, shape, offset, bytes, role, layer)." };
        var command = new Command("inspect", "Print the model summary read from a GGUF header: architecture, layers, experts, attention, tensor bytes by role and type.")
        {
            model, json, tensors,
        };
        command.SetAction(parse => Run(console, parse.GetValue(model)!, parse.GetValue(json), parse.GetValue(tensors)));
        return command;
    }

    /// <summary>The verb itself.</summary>
    public static int Run(ToolConsole console, string path, bool json, bool tensors)
    {
        var stopwatch = Stopwatch.StartNew();
        GgufFile file;
        ModelSummary summary;
        try
        {
            file = GgufReader.Read(path);
            summary = file.ToSummary();
        }
        catch (GgufFormatException e)
        {
            console.Error.WriteLine($"{path}: error {e.Id}: {e.Message} (offset {e.Offset.ToString(CultureInfo.InvariantCulture)})");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"{path}: error: cannot read the file: {e.Message}");
            return ExitCodes.IoError;
        }
        stopwatch.Stop();

        var report = new InspectReport(path, file, summary, stopwatch.Elapsed, tensors);
        if (json)
        {
            using var buffer = new MemoryStream();
            report.WriteJson(buffer);
            console.Out.Write(Encoding.UTF8.GetString(buffer.ToArray()));
        }
        else
        {
            report.WriteText(console.Out);
        }
        return ExitCodes.Ok;
    }
}

/// <summary>Formats a <see cref="ModelSummary"/> for the `inspect` verb.</summary>
internal sealed class InspectReport(string path, GgufFile file, ModelSummary summary, TimeSpan elapsed, bool includeTensors)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public void WriteText(TextWriter output)
    {
        var s = summary;
        output.WriteLine($"model        {s.Name ?? "(unnamed)"}  [{s.Architecture}, GGUF v{s.GgufVersion}{(s.FileType is { } ft ? $", file type {ft}" : "")}]");
        output.WriteLine($"file         {path}");
        output.WriteLine($"size         {Size(s.FileSizeBytes)} ({Count(s.FileSizeBytes)} bytes)");
        output.WriteLine($"header       {Size(s.HeaderBytes)}; data at offset {Count(s.DataOffset)}; alignment {s.Alignment}");
        output.WriteLine($"layers       {s.BlockCount}{(s.LeadingDenseBlockCount > 0 ? $" ({s.LeadingDenseBlockCount} leading dense)" : "")}");
        output.WriteLine($"embedding    {s.EmbeddingLength}; feed-forward {s.FeedForwardLength}; context {Count(s.ContextLength)}");
        output.WriteLine($"attention    {PerLayer(s.HeadCountPerLayer)} heads, {PerLayer(s.HeadCountKvPerLayer)} KV heads; key {s.KeyLength}, value {s.ValueLength}"
            + (s.KvLoraRank is { } kv ? $"; MLA kv_lora {kv}, q_lora {(s.QLoraRank is { } q ? q.ToString(Invariant) : "-")}" : "")
            + (s.RopeDimensionCount is { } rope ? $"; rope dims {rope}" : ""));
        output.WriteLine(s.IsMoe
            ? $"experts      {s.ExpertCount} routed, {s.ExpertUsedCount} used per token, {s.ExpertSharedCount} shared; expert feed-forward {s.ExpertFeedForwardLength}"
            : "experts      none (dense)");
        output.WriteLine($"vocab        {Count(s.VocabSize)} tokens");
        output.WriteLine($"tensors      {Count(s.TensorCount)} tensors, {Parameters(s.ParameterCount)} parameters, {Size(s.TensorBytes)}");
        WriteBreakdown(output, "by role", s.BytesByRole.Where(kv => kv.Value > 0).Select(kv => (RoleName(kv.Key), kv.Value)));
        WriteBreakdown(output, "by type", s.BytesByType.Select(kv => (kv.Key.ToString(), kv.Value)));
        if (includeTensors)
        {
            output.WriteLine("tensor list");
            foreach (var t in s.Tensors)
            {
                output.WriteLine($"  {t.Name,-40} {t.Type,-8} [{string.Join(", ", t.Dimensions)}] {Size(t.Bytes),12}  {RoleName(t.Role)}");
            }
        }
        output.WriteLine($"read         {Count(file.BytesRead)} bytes of the file in {elapsed.TotalMilliseconds.ToString("0.0", Invariant)} ms");
    }

    public void WriteJson(Stream output)
    {
        var s = summary;
        // One compact line: one JSON object per run, ready for jq or a log line.
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("file", path);
        w.WriteString("architecture", s.Architecture);
        if (s.Name is null) w.WriteNull("name"); else w.WriteString("name", s.Name);
        w.WriteNumber("ggufVersion", s.GgufVersion);
        w.WriteNumber("fileSizeBytes", s.FileSizeBytes);
        w.WriteNumber("headerBytes", s.HeaderBytes);
        w.WriteNumber("dataOffset", s.DataOffset);
        w.WriteNumber("alignment", s.Alignment);
        w.WriteNumber("blockCount", s.BlockCount);
        w.WriteNumber("embeddingLength", s.EmbeddingLength);
        w.WriteNumber("feedForwardLength", s.FeedForwardLength);
        w.WriteNumber("headCount", s.HeadCount);
        w.WriteNumber("headCountKv", s.HeadCountKv);
        WriteArray(w, "headCountPerLayer", s.HeadCountPerLayer.Select(v => (long)v));
        WriteArray(w, "headCountKvPerLayer", s.HeadCountKvPerLayer.Select(v => (long)v));
        w.WriteNumber("keyLength", s.KeyLength);
        w.WriteNumber("valueLength", s.ValueLength);
        WriteOptional(w, "kvLoraRank", s.KvLoraRank);
        WriteOptional(w, "qLoraRank", s.QLoraRank);
        WriteOptional(w, "ropeDimensionCount", s.RopeDimensionCount);
        w.WriteNumber("contextLength", s.ContextLength);
        w.WriteNumber("vocabSize", s.VocabSize);
        w.WriteBoolean("isMoe", s.IsMoe);
        w.WriteNumber("expertCount", s.ExpertCount);
        w.WriteNumber("expertUsedCount", s.ExpertUsedCount);
        w.WriteNumber("expertSharedCount", s.ExpertSharedCount);
        w.WriteNumber("expertFeedForwardLength", s.ExpertFeedForwardLength);
        w.WriteNumber("leadingDenseBlockCount", s.LeadingDenseBlockCount);
        WriteOptional(w, "fileType", s.FileType);
        w.WriteNumber("tensorCount", s.TensorCount);
        w.WriteNumber("parameterCount", s.ParameterCount);
        w.WriteNumber("tensorBytes", s.TensorBytes);
        w.WriteStartObject("bytesByRole");
        foreach (var (role, bytes) in s.BytesByRole.OrderBy(kv => kv.Key)) w.WriteNumber(JsonNamingPolicy.CamelCase.ConvertName(role.ToString()), bytes);
        w.WriteEndObject();
        w.WriteStartObject("bytesByType");
        foreach (var (type, bytes) in s.BytesByType.OrderBy(kv => kv.Key)) w.WriteNumber(type.ToString(), bytes);
        w.WriteEndObject();
        WriteArray(w, "bytesByLayer", s.BytesByLayer);
        if (includeTensors)
        {
            w.WriteStartArray("tensors");
            foreach (var t in s.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("type", t.Type.ToString());
                WriteArray(w, "dimensions", t.Dimensions);
                w.WriteNumber("offset", t.Offset);
                w.WriteNumber("bytes", t.Bytes);
                w.WriteString("role", JsonNamingPolicy.CamelCase.ConvertName(t.Role.ToString()));
                WriteOptional(w, "layer", t.Layer);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteNumber("bytesRead", file.BytesRead);
        w.WriteNumber("elapsedMilliseconds", Math.Round(elapsed.TotalMilliseconds, 2));
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
        output.Flush();
    }

    private void WriteBreakdown(TextWriter output, string title, IEnumerable<(string Name, long Bytes)> rows)
    {
        var label = title.PadRight(13);
        foreach (var (name, bytes) in rows.OrderByDescending(r => r.Bytes))
        {
            var share = summary.TensorBytes > 0 ? 100.0 * bytes / summary.TensorBytes : 0;
            output.WriteLine($"{label}{name,-18}{Gib(bytes),12} GiB {share,6:0.0} %");
            label = new string(' ', 13);
        }
    }

    private static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<long> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static string RoleName(TensorRole role) => role switch
    {
        TensorRole.TokenEmbedding => "token embedding",
        TensorRole.Output => "output",
        TensorRole.Attention => "attention",
        TensorRole.DenseFfn => "dense FFN",
        TensorRole.ExpertFfn => "expert FFN",
        TensorRole.SharedExpertFfn => "shared expert FFN",
        TensorRole.ExpertRouter => "expert router",
        TensorRole.Norm => "norms",
        _ => "other",
    };

    private static string PerLayer(IReadOnlyList<int> values)
    {
        if (values.Count == 0) return "?";
        var min = values.Min();
        var max = values.Max();
        return min == max ? min.ToString(Invariant) : $"{min}-{max} (per layer)";
    }

    private static string Count(long value) => value.ToString("N0", Invariant);

    private static string Gib(long bytes) => Units.ToGiB(bytes).ToString("0.000", Invariant);

    private static string Size(long bytes) => bytes switch
    {
        >= Units.GiB => Units.FormatGiB(bytes, "0.00"),
        >= Units.MiB => Units.FormatMiB(bytes, "0.00"),
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.0", Invariant) + " KiB",
        _ => bytes.ToString(Invariant) + " B",
    };

    private static string Parameters(long count) => count switch
    {
        >= 1_000_000_000 => (count / 1e9).ToString("0.00", Invariant) + " B",
        >= 1_000_000 => (count / 1e6).ToString("0.00", Invariant) + " M",
        _ => Count(count),
    };
}
