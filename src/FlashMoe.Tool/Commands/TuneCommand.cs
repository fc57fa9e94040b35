using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;

namespace FlashMoe.Tool.Commands;

/// <summary>
/// <c>flashmoe tune</c>: measures a profile's candidate configurations on this machine within a time budget
/// (<see cref="FlashMoeTuner"/>) and writes the winner as <c>&lt;name&gt;.tuned.flashmoe.json</c> beside the profile file,
/// where the generator and the build check pick it up like any other profile. Ctrl+C stops after the current decode
/// call; what was measured so far still decides and is written.
/// </summary>
internal static class TuneCommand
{
    public static Command Create(ToolConsole console)
    {
        var model = new Argument<string?>("model.gguf")
        {
            Description = "The GGUF file to measure with (default: the profile's model.path, relative to the profile file).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var profile = new Option<string>("--profile")
        {
            Description = "The profile to tune: FILE:NAME, NAME (in ./flashmoe.json or ./*.flashmoe.json), or a FILE holding one profile.",
            HelpName = "FILE:NAME",
            Required = true,
        };
        var budget = new Option<int>("--budget")
        {
            Description = "Time budget in seconds; no new measurement starts when it would end past it.",
            DefaultValueFactory = _ => 120,
        };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt tokens per measurement.", DefaultValueFactory = _ => 256 };
        var tokens = new Option<int>("--tokens") { Description = "Generated tokens per measurement.", DefaultValueFactory = _ => 32 };
        var output = new Option<string?>("--out") { Description = "Directory for <name>.tuned.flashmoe.json (default: the profile file's directory).", HelpName = "DIR" };

        var command = new Command("tune", "Measure a profile's candidate configurations on this machine (mmap, flash attention, ubatch, KV cache under the memory objective, 1…logical threads for generation and prompt separately) within a time budget, never one the plan says would be OOM-killed, and write the winner as <name>.tuned.flashmoe.json.")
        {
            model, profile, budget, promptTokens, tokens, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await RunAsync(console, parse.GetValue(model), parse.GetValue(profile)!, parse.GetValue(budget), parse.GetValue(promptTokens),
                    parse.GetValue(tokens), parse.GetValue(output), cancellationToken);
            }
            catch (UsageException e)
            {
                console.WriteError("tune", e.Message);
                console.Error.WriteLine("Run 'flashmoe tune --help' for its options.");
                return ExitCodes.Usage;
            }
            catch (ToolInputException e)
            {
                console.WriteError("tune", e.Message);
                return e.ExitCode;
            }
            catch (GgufFormatException e)
            {
                console.WriteError("tune", $"error {e.Id}: {e.Message}");
                return ExitCodes.BadInput;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                console.WriteError("tune", e.Message);
                return ExitCodes.IoError;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(ToolConsole console, string? modelArgument, string profileReference, int budgetSeconds, int promptTokens,
        int tokens, string? outputDirectory, CancellationToken cancellationToken)
    {
        if (budgetSeconds <= 0) throw new UsageException("--budget needs a positive number of seconds.");
        if (promptTokens <= 0 || tokens <= 0) throw new UsageException("--prompt-tokens and --tokens need positive numbers.");
        var (parsed, profileFile) = ProfileFiles.Find(profileReference, console);
        var profileDirectory = Path.GetDirectoryName(profileFile) ?? Directory.GetCurrentDirectory();
        var modelPath = modelArgument is not null
            ? Path.GetFullPath(modelArgument)
            : ModelLocator.Find(ModelLocator.Candidates(parsed.Profile.Model.Path, profileDirectory))
              ?? throw new UsageException($"profile {parsed.Profile.Name}'s model '{parsed.Profile.Model.Path}' was not found: name the model.gguf.");
        if (!File.Exists(modelPath)) throw new ToolInputException($"no such model file '{modelPath}'.", ExitCodes.IoError);

        var options = new TuneOptions
        {
            Budget = TimeSpan.FromSeconds(budgetSeconds),
            PromptTokens = promptTokens,
            GeneratedTokens = tokens,
            OutputDirectory = outputDirectory ?? profileDirectory,
        };
        console.Error.WriteLine($"tuning {parsed.Profile.Name} ({SynthCommand.Lower(parsed.Profile.Objective.ToString())}) with {modelPath}, budget {budgetSeconds} s (Ctrl+C stops and keeps what was measured)");
        var bar = new TuneProgressBar(console);
        var result = await FlashMoeTuner.TuneAsync(parsed.Profile, modelPath, options, bar, cancellationToken);
        bar.Done();

        foreach (var excluded in result.Excluded) console.Out.WriteLine($"not run   {excluded.Label}: {excluded.Excluded!.RuleId}: {excluded.Excluded.Reason}");
        foreach (var m in result.Measurements)
        {
            console.Out.WriteLine(m.Succeeded
                ? string.Create(CultureInfo.InvariantCulture,
                    $"measured  {m.Candidate.Label}: gen {m.GenerationTokensPerSecond:0.0} tok/s, prompt {m.PromptTokensPerSecond:0.0} tok/s, TTFT {m.TimeToFirstTokenSeconds:0.00} s, load {m.LoadSeconds:0.00} s, peak {(m.PeakRssBytes is { } p ? (p / (double)Units.MiB).ToString("0", CultureInfo.InvariantCulture) + " MiB" : "?")}")
                : $"failed    {m.Candidate.Label}: {m.Failure}");
        }
        if (result.BudgetExhausted) console.Out.WriteLine("the budget ended the tuning before every candidate was measured");
        if (result.Tuned is null)
        {
            console.WriteError("tune", "nothing could be measured: no profile written.");
            return result.Cancelled ? ExitCodes.Cancelled : ExitCodes.ErrorsFound;
        }
        console.Out.WriteLine();
        console.Out.WriteLine(result.Tuned.Description);
        if (result.WrittenPath is { } written) console.Out.WriteLine($"written: {written} (profile {result.Tuned.Name})");
        return result.Cancelled ? ExitCodes.Cancelled : ExitCodes.Ok;
    }

    /// <summary>The tuner's progress on stderr: budget used, measurements done, what runs now (a line per step off a terminal).</summary>
    private sealed class TuneProgressBar(ToolConsole console) : IProgress<TuneProgress>
    {
        private const int Width = 30;
        private readonly object _gate = new();
        private string _last = "";

        public void Report(TuneProgress value)
        {
            lock (_gate)
            {
                var filled = (int)(value.BudgetFraction * Width);
                var text = string.Create(CultureInfo.InvariantCulture,
                    $"[{new string('#', filled)}{new string('.', Width - filled)}] {value.Elapsed.TotalSeconds,4:0}/{value.Budget.TotalSeconds:0} s  {value.Completed}/{value.Planned}  {value.Current}");
                if (!console.ErrorIsTerminal)
                {
                    var step = $"{value.Completed}/{value.Planned} {value.Current}";
                    if (step == _last) return;
                    _last = step;
                    console.Error.WriteLine(text);
                    return;
                }
                console.Error.Write("\r" + (text.Length > 110 ? text.Substring(0, 110) : text.PadRight(110)));
            }
        }

        public void Done()
        {
            lock (_gate)
            {
                if (console.ErrorIsTerminal) console.Error.WriteLine();
            }
        }
    }
}
