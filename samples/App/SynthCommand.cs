using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Sample;

/// <summary>The `synth` verb: writes a synthetic llama-architecture GGUF.</summary>
internal static class SynthCommand
{
    private const string Help = """
        synth <out.gguf> [options]     write a synthetic llama-architecture GGUF that llama.cpp loads and runs

          --preset NAME          tiny-dense | tiny-moe (default) | big-moe
          --layers N             block count
          --embd N               embedding length
          --ff N                 dense FFN width (and expert width unless --expert-ff)
          --expert-ff N          expert FFN width
          --heads N              attention heads          --kv-heads N   KV heads (GQA)
          --experts N            expert count (0 = dense) --experts-used N   experts per token
          --quant T              f32 | f16 | q8_0 | q4_0: embedding, output, attention, dense FFN
          --expert-quant T       f32 | f16 | q8_0 | q4_0: expert tensors (default: --quant)
          --vocab N              vocabulary size (generated pieces fill it; e.g. 129280 for a realistic header)
          --ctx N                llama.context_length
          --target-size SIZE     choose the layer count (and width if needed) so the file is ≈ SIZE
                                 (130GiB, 130GB, 512MiB, 512MB, or bytes)
          --sparse               leave tensor data as file holes: a header-faithful file that costs no disk
          --seed N               seed of the random weights (same seed → identical file)
          --name TEXT            general.name
          --alignment N          write general.alignment = N (power of two)
          -h, --help             this text
        """;

    public static int Run(string[] args)
    {
        if (args.Any(a => a is "-h" or "--help"))
        {
            Console.WriteLine(Help);
            return 0;
        }

        var (path, spec, presetName, target) = Parse(args);
        var stopwatch = Stopwatch.StartNew();
        if (target is { } targetBytes)
        {
            try
            {
                spec = SyntheticModel.FitToSize(spec, targetBytes);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"synth: cannot reach --target-size {ByteSize.Format(targetBytes)}: {FirstLine(e.Message)}");
            }
        }

        var fitSeconds = stopwatch.Elapsed.TotalSeconds;
        SyntheticModelLayout layout;
        try
        {
            var planned = SyntheticModel.Plan(spec);
            var progress = !spec.Sparse && planned.FileBytes >= 256L << 20 ? new ConsoleProgress(planned.TensorBytes) : null;
            layout = SyntheticModel.Write(spec, path, progress);
            progress?.Done();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"synth: cannot write '{path}': {e.Message}");
            return 1;
        }
        catch (ArgumentException e)
        {
            // e.g. a tensor whose byte size overflows 64 bits, or a length the file system refuses
            throw new UsageException($"synth: cannot write this model: {FirstLine(e.Message)}");
        }
        stopwatch.Stop();

        var fileBytes = new FileInfo(path).Length;
        var seconds = stopwatch.Elapsed.TotalSeconds - fitSeconds;
        var s = layout.Spec;
        Console.WriteLine($"wrote {path}");
        Console.WriteLine($"  preset     {presetName}");
        Console.WriteLine($"  shape      {s.Layers} layers, embd {s.EmbeddingLength}, heads {s.HeadCount}/{s.KvHeadCount} (head dim {s.HeadDimension}), "
            + (s.IsMoe ? $"{s.ExpertCount} experts ({s.ExpertUsedCount} used) of ff {s.EffectiveExpertFeedForwardLength}" : $"dense ff {s.FeedForwardLength}")
            + $", vocab {layout.VocabSize}, ctx {s.ContextLength}");
        Console.WriteLine($"  types      {s.WeightType}" + (s.IsMoe ? $", experts {s.EffectiveExpertWeightType}" : "") + $", norms F32 (general.file_type {layout.FileType})");
        Console.WriteLine($"  tensors    {layout.TensorCount}, {layout.ParameterCount:N0} parameters, {layout.TensorBytes:N0} tensor bytes");
        Console.WriteLine($"  header     {layout.HeaderBytes:N0} B, {layout.MetadataCount} keys, data at {layout.DataOffset:N0}");
        Console.WriteLine($"  size       {fileBytes:N0} B ({ByteSize.Format(fileBytes)})" + (s.Sparse ? ", sparse: tensor data left as holes" : ""));
        if (target is { } t) Console.WriteLine($"  target     {ByteSize.Format(t)} ({t:N0} B): off by {(fileBytes - t) * 100.0 / t:+0.00;-0.00}%");
        Console.WriteLine($"  seed       {s.Seed}");
        var rate = s.Sparse ? "" : string.Create(CultureInfo.InvariantCulture, $" ({fileBytes / (double)(1L << 20) / Math.Max(seconds, 1e-9):0} MiB/s)");
        var fit = target is null ? "" : string.Create(CultureInfo.InvariantCulture, $", + {fitSeconds:0.000} s to fit the target size");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  time       {seconds:0.000} s to write{rate}{fit}"));
        return 0;
    }

    private static (string Path, SyntheticModelSpec Spec, string Preset, long? Target) Parse(string[] args)
    {
        string? path = null, presetName = null;
        int? layers = null, embd = null, ff = null, expertFf = null, heads = null, kvHeads = null, experts = null, used = null, vocab = null, ctx = null, alignment = null;
        GgmlType? quant = null, expertQuant = null;
        long? target = null;
        ulong? seed = null;
        string? name = null;
        var sparse = false;

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"synth: {arg} needs a value.");
            int Int() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"synth: {arg} needs a non-negative integer, got '{args[i]}'.");
            switch (arg)
            {
                case "--preset":
                    presetName = Value();
                    if (!SyntheticPresets.TryGet(presetName, out _)) throw new UsageException($"synth: unknown preset '{presetName}' (known: {string.Join(", ", SyntheticPresets.Names)}).");
                    break;
                case "--layers": layers = Int(); break;
                case "--embd": embd = Int(); break;
                case "--ff": ff = Int(); break;
                case "--expert-ff": expertFf = Int(); break;
                case "--heads": heads = Int(); break;
                case "--kv-heads": kvHeads = Int(); break;
                case "--experts": experts = Int(); break;
                case "--experts-used": used = Int(); break;
                case "--vocab": vocab = Int(); break;
                case "--ctx": ctx = Int(); break;
                case "--alignment": alignment = Int(); break;
                case "--quant": quant = ParseType(arg, Value()); break;
                case "--expert-quant": expertQuant = ParseType(arg, Value()); break;
                case "--target-size":
                    var text = Value();
                    target = ByteSize.TryParse(text, out var bytes) ? bytes : throw new UsageException($"synth: --target-size needs a size like 130GiB, 130GB, 512MiB or 512MB, got '{text}'.");
                    break;
                case "--sparse": sparse = true; break;
                case "--seed":
                    var seedText = Value();
                    seed = ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var sv) ? sv : throw new UsageException($"synth: --seed needs a non-negative integer, got '{seedText}'.");
                    break;
                case "--name": name = Value(); break;
                default:
                    if (arg.StartsWith("-", StringComparison.Ordinal)) throw new UsageException($"synth: unknown option '{arg}' (see synth --help).");
                    if (path is not null) throw new UsageException($"synth: one output path only (got '{path}' and '{arg}').");
                    path = arg;
                    break;
            }
        }
        if (path is null) throw new UsageException("synth: missing <out.gguf> (see synth --help).");
        if (target is not null && layers is not null) throw new UsageException("synth: --target-size chooses the layer count; drop --layers or --target-size.");

        presetName ??= "tiny-moe";
        var spec = SyntheticPresets.Get(presetName);
        if (layers is { } l) spec = spec with { Layers = l };
        if (embd is { } e) spec = spec with { EmbeddingLength = e };
        if (ff is { } f) spec = spec with { FeedForwardLength = f, ExpertFeedForwardLength = expertFf ?? f };
        if (expertFf is { } ef) spec = spec with { ExpertFeedForwardLength = ef };
        if (heads is { } h) spec = spec with { HeadCount = h };
        if (kvHeads is { } kh) spec = spec with { KvHeadCount = kh };
        if (experts is { } x) spec = spec with { ExpertCount = x, ExpertUsedCount = x == 0 ? 0 : used ?? Math.Min(spec.ExpertUsedCount == 0 ? 2 : spec.ExpertUsedCount, x) };
        if (used is { } u) spec = spec with { ExpertUsedCount = u };
        if (vocab is { } v) spec = spec with { VocabSize = v };
        if (ctx is { } c) spec = spec with { ContextLength = c };
        if (alignment is { } a) spec = spec with { Alignment = a };
        if (quant is { } q) spec = spec with { WeightType = q, ExpertWeightType = expertQuant ?? q };
        if (expertQuant is { } eq) spec = spec with { ExpertWeightType = eq };
        if (seed is { } sd) spec = spec with { Seed = sd };
        if (name is not null) spec = spec with { Name = name };
        spec = spec with { Sparse = sparse };

        var problems = spec.Validate();
        if (problems.Count > 0) throw new UsageException("synth: invalid model shape:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", problems));
        return (path, spec, presetName, target);
    }

    private static GgmlType ParseType(string option, string text) => text.ToUpperInvariant() switch
    {
        "F32" => GgmlType.F32,
        "F16" => GgmlType.F16,
        "Q8_0" => GgmlType.Q8_0,
        "Q4_0" => GgmlType.Q4_0,
        _ => throw new UsageException($"synth: {option} must be f32, f16, q8_0 or q4_0, got '{text}'."),
    };

    // ArgumentException appends " (Parameter 'x')" and ArgumentOutOfRangeException the value on a new line: CLI users need neither.
    private static string FirstLine(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message.Split('\n')[0].Trim(), @"\s*\(Parameter '[^']*'\)$", "");

    /// <summary>Prints the share of tensor bytes written, every 5 %, to stderr (synchronously, unlike Progress&lt;T&gt;).</summary>
    private sealed class ConsoleProgress(long total) : IProgress<long>
    {
        private int _lastPercent = -5;

        public void Report(long value)
        {
            var percent = (int)(value * 100 / Math.Max(total, 1));
            if (percent / 5 == _lastPercent / 5) return;
            _lastPercent = percent;
            Console.Error.Write($"\r  writing… {percent,3}%");
        }

        public void Done() => Console.Error.WriteLine();
    }
}
