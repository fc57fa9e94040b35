using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using FlashMoe.Gguf;
using FlashMoe.Synthetic;

namespace FlashMoe.Tool.Commands;

/// <summary><c>flashmoe synth</c>: writes a synthetic GGUF (llama, deepseek2, qwen3moe, gpt-oss) that llama.cpp loads and runs.</summary>
internal static class SynthCommand
{
    /// <summary>Files from this size up (dense data, not sparse) show a progress bar while written.</summary>
    private const long ProgressFromBytes = 256L << 20;

    public static Command Create(ToolConsole console)
    {
        var output = new Argument<string>("out.gguf") { Description = "The file to write (replaced if it exists)." };
        var options = new SynthOptions();
        var command = new Command("synth", "Write a synthetic GGUF (llama, deepseek2, qwen3moe or gpt-oss) with random weights that llama.cpp loads and runs: "
            + "tiny for tests, multi-GB for benchmarks, sparse for 100+ GiB headers that cost no disk.")
        {
            output,
        };
        options.AddTo(command);
        command.SetAction(parse => FlashMoeCli.Guard(console, "synth", () => Run(console, parse.GetValue(output)!, options.Read(parse))));
        return command;
    }

    /// <summary>The verb itself, for a parsed request.</summary>
    public static int Run(ToolConsole console, string path, SynthRequest request)
    {
        var spec = request.Spec;
        var stopwatch = Stopwatch.StartNew();
        if (request.TargetBytes is { } targetBytes)
        {
            try
            {
                spec = SyntheticModel.FitToSize(spec, targetBytes);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"cannot reach --target-size {ByteSize.Format(targetBytes)}: {FirstLine(e.Message)}");
            }
        }

        var fitSeconds = stopwatch.Elapsed.TotalSeconds;
        SyntheticModelLayout layout;
        try
        {
            var planned = SyntheticModel.Plan(spec);
            var progress = !spec.Sparse && planned.FileBytes >= ProgressFromBytes ? new ProgressBar(console, "writing", planned.TensorBytes) : null;
            layout = SyntheticModel.Write(spec, path, progress);
            progress?.Done();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolInputException($"cannot write '{path}': {e.Message}", ExitCodes.IoError);
        }
        catch (ArgumentException e)
        {
            // e.g. a tensor whose byte size overflows 64 bits, or a length the file system refuses
            throw new UsageException($"cannot write this model: {FirstLine(e.Message)}");
        }
        stopwatch.Stop();

        var o = console.Out;
        var fileBytes = new FileInfo(path).Length;
        var seconds = stopwatch.Elapsed.TotalSeconds - fitSeconds;
        var s = layout.Spec;
        o.WriteLine($"wrote {path}");
        o.WriteLine($"  preset     {request.PresetName}");
        o.WriteLine($"  arch       {SyntheticArchitectures.Name(s.Architecture)}" + ArchitectureDetail(s));
        o.WriteLine($"  shape      {s.Layers} layers, embd {s.EmbeddingLength}, heads {s.HeadCount}/{s.EffectiveKvHeadCount} (head dim {s.HeadDimension}), "
            + (s.IsMoe ? $"{s.ExpertCount} experts ({s.ExpertUsedCount} used) of ff {s.EffectiveExpertFeedForwardLength}" : $"dense ff {s.FeedForwardLength}")
            + $", vocab {layout.VocabSize}, ctx {s.ContextLength}");
        o.WriteLine("  types      " + TypeMix(layout) + $", norms F32 (general.file_type {layout.FileType})");
        o.WriteLine(Invariant($"  tensors    {layout.TensorCount}, {layout.ParameterCount:N0} parameters, {layout.TensorBytes:N0} tensor bytes"));
        o.WriteLine(Invariant($"  header     {layout.HeaderBytes:N0} B, {layout.MetadataCount} keys, data at {layout.DataOffset:N0}"));
        o.WriteLine(Invariant($"  size       {fileBytes:N0} B ({ByteSize.Format(fileBytes)})") + (s.Sparse ? ", sparse: tensor data left as holes" : ""));
        if (request.TargetBytes is { } t) o.WriteLine(Invariant($"  target     {ByteSize.Format(t)} ({t:N0} B): off by {(fileBytes - t) * 100.0 / t:+0.00;-0.00}%"));
        o.WriteLine(Invariant($"  seed       {s.Seed}"));
        var rate = s.Sparse ? "" : Invariant($" ({fileBytes / (double)(1L << 20) / Math.Max(seconds, 1e-9):0} MiB/s)");
        var fit = request.TargetBytes is null ? "" : Invariant($", + {fitSeconds:0.000} s to fit the target size");
        o.WriteLine(Invariant($"  time       {seconds:0.000} s to write{rate}{fit}"));
        return ExitCodes.Ok;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

#pragma warning disable CA1308 // Normalize strings to uppercase: lower case is the summary's spelling of enum names, not a comparison key.
    internal static string Lower(string name) => name.ToLowerInvariant();
#pragma warning restore CA1308

    private static string ArchitectureDetail(SyntheticModelSpec s) => s.Architecture switch
    {
        SyntheticArchitecture.Deepseek2 => (s.LegacyMla ? ": legacy unsplit MLA" : ": MLA") + $" q_lora {s.EffectiveQLoraRank}, kv_lora {s.KvLoraRank}, rope/nope/v {s.RopeHeadLength}/{s.NopeHeadLength}/{s.ValueHeadLength}, "
            + $"{s.EffectiveLeadingDenseLayers} dense blocks of ff {s.FeedForwardLength}, {s.SharedExpertCount} shared expert(s), {Lower(s.ExpertGating.ToString())} routing",
        SyntheticArchitecture.GptOss => $": sliding window {s.SlidingWindow} on {s.SlidingWindowPattern - 1} of every {s.SlidingWindowPattern} blocks, attention sinks",
        SyntheticArchitecture.Qwen3Moe => ": q/k norms",
        _ => "",
    };

    // "recipe q4_k_m: Q4_K 120, Q6_K 30" or "Q8_0 14, Q4_0 6": tensors per weight type, most first.
    private static string TypeMix(SyntheticModelLayout layout)
    {
        var counts = System.Linq.Enumerable.ToList(System.Linq.Enumerable.OrderByDescending(
            System.Linq.Enumerable.GroupBy(layout.Tensors, t => t.Type), g => System.Linq.Enumerable.Count(g)));
        var mix = string.Join(", ", System.Linq.Enumerable.Select(counts, g => $"{g.Key} {System.Linq.Enumerable.Count(g)}"));
        return (layout.Spec.Recipe is { } recipe ? $"recipe {SyntheticRecipes.Name(recipe)}: " : "") + mix + " tensors";
    }

    // ArgumentException appends " (Parameter 'x')" and ArgumentOutOfRangeException the value on a new line: CLI users need neither.
    internal static string FirstLine(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message.Split('\n')[0].Trim(), @"\s*\(Parameter '[^']*'\)$", "");
}

/// <summary>What <c>synth</c> is asked to write: the model shape, the preset it started from, the size to fit.</summary>
/// <param name="Spec">The shape (preset plus flags), validated.</param>
/// <param name="PresetName">The preset the shape started from.</param>
/// <param name="TargetBytes"><c>--target-size</c>: the file size the layer count is chosen for, if given.</param>
internal sealed record SynthRequest(SyntheticModelSpec Spec, string PresetName, long? TargetBytes);

/// <summary>
/// The options of <c>synth</c> and THE one mapping from them to <see cref="SyntheticModelSpec"/>
/// (<see cref="ToRequest"/>): a new shape flag is an option here and one line there.
/// </summary>
internal sealed class SynthOptions
{
    private readonly Option<string?> _preset = new("--preset") { Description = "Starting shape: " + FlashMoeCli.OneOf(System.Linq.Enumerable.ToArray(SyntheticPresets.Names)) + " (default tiny-moe).", HelpName = "NAME" };
    private readonly Option<int?> _layers = FlashMoeCli.CountOption("--layers", "Block count.");
    private readonly Option<int?> _embd = FlashMoeCli.CountOption("--embd", "Embedding length.");
    private readonly Option<int?> _ff = FlashMoeCli.CountOption("--ff", "Dense FFN width (and the expert width unless --expert-ff).");
    private readonly Option<int?> _expertFf = FlashMoeCli.CountOption("--expert-ff", "Expert FFN width.");
    private readonly Option<int?> _heads = FlashMoeCli.CountOption("--heads", "Attention heads.");
    private readonly Option<int?> _kvHeads = FlashMoeCli.CountOption("--kv-heads", "KV heads (GQA).");
    private readonly Option<int?> _experts = FlashMoeCli.CountOption("--experts", "Expert count (0 = dense).");
    private readonly Option<int?> _expertsUsed = FlashMoeCli.CountOption("--experts-used", "Experts per token.");
    private readonly Option<string?> _arch = new("--arch")
    {
        Description = "Architecture: " + FlashMoeCli.OneOf(System.Linq.Enumerable.ToArray(SyntheticArchitectures.Names))
            + ". Alone it starts from that architecture's tiny preset; with --preset it turns that shape into this architecture.",
        HelpName = "ARCH",
    };
    private readonly Option<string?> _recipe = new("--recipe")
    {
        Description = "Per-tensor type mix of released files: " + FlashMoeCli.OneOf(System.Linq.Enumerable.ToArray(SyntheticRecipes.Names))
            + " (the real presets default to q4_k_m, gpt-oss to mxfp4). --quant/--expert-quant replace it with uniform types.",
        HelpName = "NAME",
    };
    private readonly Option<GgmlType?> _quant = TypeOption("--quant", "Type of the embedding, output, attention, dense and shared FFN: " + string.Join(", ", SyntheticWeightTypes.Names) + ".");
    private readonly Option<GgmlType?> _expertQuant = TypeOption("--expert-quant", "Type of the routed expert tensors (default: --quant); same names.");
    private readonly Option<int?> _vocab = FlashMoeCli.CountOption("--vocab", "Vocabulary size (generated pieces fill it; e.g. 129280 for a realistic header).");
    private readonly Option<int?> _ctx = FlashMoeCli.CountOption("--ctx", "llama.context_length.");
    private readonly Option<long?> _targetSize = new("--target-size")
    {
        Description = "Choose the layer count (and width if needed) so the file is about SIZE: 130GiB, 130GB, 512MiB, 512MB, or bytes.",
        HelpName = "SIZE",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (ByteSize.TryParse(text, out var bytes)) return bytes;
            result.AddError($"--target-size needs a size like 130GiB, 130GB, 512MiB or 512MB, got '{text}'.");
            return null;
        },
    };
    private readonly Option<bool> _legacyMla = new("--legacy-mla")
    {
        Description = "deepseek2: write MLA as files converted before llama.cpp's MLA support (one attn_kv_b; llama.cpp then caches every head's K and V).",
    };
    private readonly Option<bool> _sparse = new("--sparse") { Description = "Leave tensor data as file holes: a header-faithful file that costs no disk." };
    private readonly Option<ulong?> _seed = new("--seed")
    {
        Description = "Seed of the random weights (same seed, identical file).",
        HelpName = "N",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)) return seed;
            result.AddError($"--seed needs a non-negative integer, got '{text}'.");
            return null;
        },
    };
    private readonly Option<string?> _name = new("--name") { Description = "general.name.", HelpName = "TEXT" };
    private readonly Option<int?> _alignment = FlashMoeCli.CountOption("--alignment", "Write general.alignment = N (a power of two).");

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _preset, _arch, _recipe, _layers, _embd, _ff, _expertFf, _heads, _kvHeads, _experts, _expertsUsed, _quant, _expertQuant,
                     _vocab, _ctx, _targetSize, _legacyMla, _sparse, _seed, _name, _alignment })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The request for a parsed command line (<see cref="UsageException"/> for a combination that cannot work).</summary>
    public SynthRequest Read(ParseResult parse) => ToRequest(
        parse.GetValue(_preset), parse.GetValue(_arch), parse.GetValue(_recipe), parse.GetValue(_layers), parse.GetValue(_embd), parse.GetValue(_ff), parse.GetValue(_expertFf),
        parse.GetValue(_heads), parse.GetValue(_kvHeads), parse.GetValue(_experts), parse.GetValue(_expertsUsed),
        parse.GetValue(_quant), parse.GetValue(_expertQuant), parse.GetValue(_vocab), parse.GetValue(_ctx),
        parse.GetValue(_targetSize), parse.GetValue(_legacyMla), parse.GetValue(_sparse), parse.GetValue(_seed), parse.GetValue(_name), parse.GetValue(_alignment));

    private static SynthRequest ToRequest(
        string? presetName, string? archName, string? recipeName, int? layers, int? embd, int? ff, int? expertFf, int? heads, int? kvHeads, int? experts, int? used,
        GgmlType? quant, GgmlType? expertQuant, int? vocab, int? ctx, long? target, bool legacyMla, bool sparse, ulong? seed, string? name, int? alignment)
    {
        if (target is not null && layers is not null) throw new UsageException("--target-size chooses the layer count; drop --layers or --target-size.");

        SyntheticArchitecture? arch = null;
        if (archName is not null)
        {
            if (!SyntheticArchitectures.TryParse(archName, out var parsedArch)) throw new UsageException($"unknown architecture '{archName}' (known: {string.Join(", ", SyntheticArchitectures.Names)}).");
            arch = parsedArch;
        }
        SyntheticRecipe? recipe = null;
        if (recipeName is not null)
        {
            if (!SyntheticRecipes.TryParse(recipeName, out var parsedRecipe)) throw new UsageException($"unknown recipe '{recipeName}' (known: {string.Join(", ", SyntheticRecipes.Names)}).");
            if (quant is not null || expertQuant is not null) throw new UsageException("--recipe chooses every tensor's type; drop --quant/--expert-quant or --recipe.");
            recipe = parsedRecipe;
        }

        presetName ??= arch is { } a0 ? SyntheticPresets.DefaultFor(a0) : "tiny-moe";
        if (!SyntheticPresets.TryGet(presetName, out _))
        {
            throw new UsageException($"unknown preset '{presetName}' (known: {string.Join(", ", SyntheticPresets.Names)}).");
        }
        var spec = SyntheticPresets.Get(presetName);
        if (arch is { } ar) spec = spec.WithArchitecture(ar);
        if (recipe is { } rc) spec = spec with { Recipe = rc };
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
        // Uniform types replace a preset's recipe.
        if (quant is { } q) spec = spec with { Recipe = null, WeightType = q, ExpertWeightType = expertQuant ?? q };
        if (expertQuant is { } eq) spec = spec with { Recipe = null, ExpertWeightType = eq };
        if (seed is { } sd) spec = spec with { Seed = sd };
        if (name is not null) spec = spec with { Name = name };
        if (legacyMla)
        {
            if (spec.Architecture != SyntheticArchitecture.Deepseek2) throw new UsageException("--legacy-mla applies to deepseek2 only.");
            spec = spec with { LegacyMla = true };
        }
        spec = spec with { Sparse = sparse };

        var problems = spec.Validate();
        if (problems.Count > 0) throw new UsageException("invalid model shape: " + string.Join("; ", problems));
        return new SynthRequest(spec, presetName, target);
    }

    private static Option<GgmlType?> TypeOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "TYPE",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (SyntheticWeightTypes.TryParse(text, out var type)) return type;
            result.AddError($"{name} must be one of {string.Join(", ", SyntheticWeightTypes.Names)}, got '{text}'.");
            return null;
        },
    };
}
