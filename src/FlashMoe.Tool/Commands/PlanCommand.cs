using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;

namespace FlashMoe.Tool.Commands;

/// <summary>
/// <c>flashmoe plan</c>: resolves a profile (from a file, or from load options given as flags) for a model and a host
/// and prints what Core and Runtime produce: the decisions with their rule IDs, the memory plan and the advice
/// (<see cref="PlanReport"/>), or the <c>flashmoe.plan.json</c> form, and the plan picture (<see cref="PlanSvg"/>).
/// </summary>
internal static class PlanCommand
{
    private const string FlagsProfileName = "CommandLine";

    public static Command Create(ToolConsole console)
    {
        var model = new Argument<string?>("model.gguf")
        {
            Description = "The GGUF file (only its header is read). Optional with --profile: the profile's model.path, else its declared facts.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var profile = new Option<string?>("--profile")
        {
            Description = "The profile: FILE:NAME, NAME (in ./flashmoe.json or ./*.flashmoe.json), or a FILE holding one profile. Without it, the load options below describe the profile.",
            HelpName = "FILE:NAME",
        };
        var host = new Option<string?>("--host")
        {
            Description = "Plan for the 'detected' machine (this one) or the 'declared' hardware. Default: declared with --profile or --ram-gib, else detected.",
            HelpName = "detected|declared",
        };
        host.AcceptOnlyFromAmong("detected", "declared");
        var json = new Option<bool>("--json") { Description = "Print the plan as flashmoe.plan.json does (one profile) instead of text." };
        var svg = new Option<string?>("--svg") { Description = "Also write the plan picture (one bar per device) to this SVG file.", HelpName = "out.svg" };
        var flags = new LoadFlags();

        var command = new Command("plan", "Resolve a profile for a model and a host: every 'auto' decision with its rule ID and reason, the memory plan per device, and the advice (FM IDs).")
        {
            model, profile, host, json, svg,
        };
        flags.AddTo(command);
        command.SetAction(parse => FlashMoeCli.Guard(console, "plan", () => Run(console, new PlanRequest(
            parse.GetValue(model), parse.GetValue(profile), parse.GetValue(host), parse.GetValue(json), parse.GetValue(svg), flags.Read(parse)))));
        return command;
    }

    /// <summary>The verb itself.</summary>
    public static int Run(ToolConsole console, PlanRequest request)
    {
        if (request.ProfileReference is not null && request.Flags.Count > 0)
        {
            throw new UsageException($"--profile and load options ({string.Join(", ", request.Flags.Keys)}) do not mix: edit the profile, or drop --profile.");
        }
        if (request.ProfileReference is null && request.ModelPath is null)
        {
            throw new UsageException("name a model.gguf, or a profile with --profile FILE:NAME.");
        }
        if (request.ModelPath is not null && !File.Exists(request.ModelPath))
        {
            throw new ToolInputException($"no such model file '{request.ModelPath}'.", ExitCodes.IoError);
        }

        var (parsed, profileFile) = request.ProfileReference is { } reference
            ? ProfileFiles.Find(reference, console)
            : (ProfileFromFlags(request), Path.Combine(Directory.GetCurrentDirectory(), "(command line)"));

        var declared = request.Host is "declared" || (request.Host is null && (request.ProfileReference is not null || request.Flags.ContainsKey("--ram-gib")));
        var modelPath = request.ModelPath is null ? null : Path.GetFullPath(request.ModelPath);
        var detected = declared ? null : HostInfo.Detect(modelPath ?? ModelFileOf(parsed, profileFile));

        var diagnostics = new List<CheckDiagnostic>();
        var lookup = new ModelLookup(null, Directory.GetCurrentDirectory(), modelPath);
        var entry = ProfileCheck.CheckProfile(parsed, profileFile, lookup, detected?.ToHostFacts(), diagnostics.Add);
        if (entry.Resolved is not { } resolved)
        {
            foreach (var d in diagnostics) console.Error.WriteLine(d.ToCanonicalString());
            var fileProblem = entry.Advice.Any(a => a.Diagnostic.Descriptor == DiagnosticCatalog.ModelFileUnreadable);
            throw new ToolInputException($"profile '{parsed.Profile.Name}' was not planned: its model cannot be used (above).",
                fileProblem ? ExitCodes.IoError : ExitCodes.BadInput);
        }

        if (request.Json) console.Out.Write(PlanFile.ToJson(new[] { entry }));
        else WriteText(console, resolved, detected);

        if (request.SvgPath is { } svgPath)
        {
            try
            {
                var directory = Path.GetDirectoryName(Path.GetFullPath(svgPath));
                if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
                File.WriteAllText(svgPath, PlanSvg.Render(resolved), new UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new ToolInputException($"cannot write '{svgPath}': {e.Message}", ExitCodes.IoError);
            }
            if (!request.Json) console.Out.WriteLine("\npicture written to " + svgPath);
        }
        return resolved.HasErrors ? ExitCodes.ErrorsFound : ExitCodes.Ok;
    }

    private static void WriteText(ToolConsole console, ResolvedProfile resolved, HostInfo? detected)
    {
        foreach (var line in PlanReport.Render(resolved, detected).Split('\n'))
        {
            // Colour only marks what to look at: section titles and the severity of each piece of advice.
            var style = line.Length > 0 && !char.IsWhiteSpace(line[0]) ? ConsoleStyle.Heading
                : line.Contains(" error (", StringComparison.Ordinal) ? ConsoleStyle.Error
                : line.Contains(" warning (", StringComparison.Ordinal) ? ConsoleStyle.Warning
                : ConsoleStyle.None;
            console.Out.WriteLine(console.Style(line, style));
        }
    }

    private static string? ModelFileOf(ParsedProfile parsed, string profileFile) =>
        ModelLocator.Find(ModelLocator.Candidates(parsed.Profile.Model.Path, Path.GetDirectoryName(profileFile) ?? Directory.GetCurrentDirectory()));

    /// <summary>A profile made of the load flags: written as profile JSON and parsed by Core, so every check of the file format applies.</summary>
    private static ParsedProfile ProfileFromFlags(PlanRequest request)
    {
        var flags = request.Flags;
        var hardware = new JsonObject
        {
            ["ramGiB"] = flags.TryGetValue("--ram-gib", out var ram) ? Value(ram) : DetectedRamGiB(),
        };
        if (flags.TryGetValue("--gpu", out var gpus)) hardware["gpus"] = new JsonArray(gpus.Split('\n').Select(Gpu).ToArray<JsonNode?>());
        var load = new JsonObject();
        foreach (var (flag, property) in LoadFlags.Properties)
        {
            if (flags.TryGetValue(flag, out var value)) load[property] = Value(value);
        }
        if (flags.TryGetValue("--kv-cache", out var kv)) load["kvCache"] = kv == "auto" ? JsonValue.Create(kv) : new JsonObject { ["k"] = kv, ["v"] = kv };
        var profile = new JsonObject
        {
            ["hardware"] = hardware,
            ["model"] = new JsonObject { ["path"] = Path.GetFullPath(request.ModelPath!) },
            ["load"] = load,
        };
        if (flags.TryGetValue("--objective", out var objective)) profile["objective"] = objective;
        var text = new JsonObject { ["profiles"] = new JsonObject { [FlagsProfileName] = profile } }.ToJsonString();

        var document = ProfileParser.Parse("(command line)", text);
        var errors = document.Diagnostics.Where(d => d.Severity == FlashMoeSeverity.Error).ToList();
        if (errors.Count > 0) throw new UsageException(string.Join("; ", errors.Select(d => d.Id + ": " + d.Message)));
        return document.Profiles.Single();

        static JsonNode Gpu(string spec)
        {
            // NAME:VRAM_GIB[:BACKEND], e.g. "Arc A770:16:vulkan".
            var parts = spec.Split(':');
            if (parts.Length is < 2 or > 3) throw new UsageException($"--gpu needs NAME:VRAM_GIB[:BACKEND], got '{spec}'.");
            var gpu = new JsonObject { ["name"] = parts[0], ["vramGiB"] = Value(parts[1]) };
            if (parts.Length == 3) gpu["backend"] = parts[2];
            return gpu;
        }
    }

    private static JsonNode? Value(string text)
    {
        if (text is "true" or "on") return true;
        if (text is "false" or "off") return false;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return Math.Floor(number) == number && Math.Abs(number) < int.MaxValue ? JsonValue.Create((int)number) : JsonValue.Create(number);
        }
        return text;
    }

    private static double DetectedRamGiB() =>
        HostInfo.Detect().TotalRamBytes is { } bytes && bytes > 0 ? Math.Round(bytes / (double)Units.GiB, 2) : 1;
}

/// <summary>What <c>plan</c> is asked for.</summary>
/// <param name="ModelPath">The GGUF file, if given.</param>
/// <param name="ProfileReference"><c>--profile</c>, if given.</param>
/// <param name="Host"><c>--host</c>: detected, declared or null (the default for the other options).</param>
/// <param name="Json">Print the plan file's JSON.</param>
/// <param name="SvgPath">Where to write the picture, if asked.</param>
/// <param name="Flags">The load options given as flags (flag → value; repeated flags joined by new lines).</param>
internal sealed record PlanRequest(string? ModelPath, string? ProfileReference, string? Host, bool Json, string? SvgPath, IReadOnlyDictionary<string, string> Flags);

/// <summary>The load options <c>plan</c> takes as flags, each the profile property of the same meaning.</summary>
internal sealed class LoadFlags
{
    /// <summary>Flag → <c>load</c> property; the value is written as JSON (true/false/numbers as such, other text as a string).</summary>
    public static readonly (string Flag, string Property)[] Properties =
    {
        ("--mmap", "mmap"), ("--mlock", "mlock"), ("--gpu-layers", "gpuLayers"), ("--experts-on-cpu", "expertsOnCpu"),
        ("--threads", "threads"), ("--batch-threads", "batchThreads"), ("--context", "contextSize"), ("--batch", "batchSize"),
        ("--ubatch", "ubatchSize"), ("--flash-attention", "flashAttention"), ("--repack", "repack"), ("--kv-offload", "kvOffload"),
    };

    private readonly List<Option<string?>> _single = new();
    private readonly Option<string[]> _gpu = new("--gpu")
    {
        Description = "A GPU of the declared hardware: NAME:VRAM_GIB[:BACKEND] (repeat for several).",
        HelpName = "NAME:GIB[:BACKEND]",
        AllowMultipleArgumentsPerToken = false,
    };

    public LoadFlags()
    {
        var descriptions = new Dictionary<string, (string Help, string Name)>
        {
            ["--mmap"] = ("load.mmap: true, false or auto.", "auto|true|false"),
            ["--mlock"] = ("load.mlock: true or false.", "true|false"),
            ["--gpu-layers"] = ("load.gpuLayers: a count, all or auto.", "N|all|auto"),
            ["--experts-on-cpu"] = ("load.expertsOnCpu: true, false, or the first N layers.", "true|false|N"),
            ["--threads"] = ("load.threads: a count, physical or logical.", "N|physical|logical"),
            ["--batch-threads"] = ("load.batchThreads: a count, physical or logical.", "N|physical|logical"),
            ["--context"] = ("load.contextSize (0 = the model's).", "N"),
            ["--batch"] = ("load.batchSize.", "N"),
            ["--ubatch"] = ("load.ubatchSize: a token count or auto.", "N"),
            ["--flash-attention"] = ("load.flashAttention: true, false or auto.", "auto|true|false"),
            ["--repack"] = ("load.repack: true or false.", "true|false"),
            ["--kv-offload"] = ("load.kvOffload: true or false.", "true|false"),
            ["--kv-cache"] = ("load.kvCache k and v: f16, q8_0, q4_0, … (see the profile format), or auto.", "TYPE"),
            ["--ram-gib"] = ("hardware.ramGiB of the declared hardware (default: this machine's RAM).", "GIB"),
            ["--objective"] = ("objective: throughput, latency or memory.", "NAME"),
        };
        foreach (var (flag, (help, name)) in descriptions)
        {
            _single.Add(new Option<string?>(flag) { Description = help, HelpName = name });
        }
    }

    public void AddTo(Command command)
    {
        foreach (var option in _single) command.Options.Add(option);
        command.Options.Add(_gpu);
    }

    /// <summary>The flags given, flag → value (several <c>--gpu</c> joined by new lines).</summary>
    public IReadOnlyDictionary<string, string> Read(ParseResult parse)
    {
        var given = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in _single)
        {
            if (parse.GetValue(option) is { } value) given[option.Name] = value;
        }
        if (parse.GetValue(_gpu) is { Length: > 0 } gpus) given[_gpu.Name] = string.Join("\n", gpus);
        return given;
    }
}
