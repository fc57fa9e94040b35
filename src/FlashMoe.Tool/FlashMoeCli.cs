using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using FlashMoe.Tool.Commands;

namespace FlashMoe.Tool;

/// <summary>
/// The <c>flashmoe</c> command line: the verbs, their help, and the mapping of every outcome to a stable exit code
/// (<see cref="ExitCodes"/>). Parse errors and failures are one line on stderr; results go to stdout.
/// </summary>
internal static class FlashMoeCli
{
    private const string Description = """
        FlashMoe: get the memory decisions of GGUF models (mmap, GPU offload, experts on CPU, threads, KV cache) right
        before they ship. Reads GGUF headers only, never the tensor data.
        """;

    /// <summary>Runs the command line <paramref name="args"/> and returns the exit code.</summary>
    public static int Run(string[] args, ToolConsole console)
    {
        // A plain command named "flashmoe" rather than RootCommand, whose name is the host executable's (the test
        // host's when the tests run the verbs in-process): help and usage then always say "flashmoe".
        var root = new Command("flashmoe", Description)
        {
            new HelpOption(),
            new VersionOption(),
            // One line per verb. A verb is registered here only once it works: the help lists nothing unfinished.
            InspectCommand.Create(console),
            PlanCommand.Create(console),
            CheckCommand.Create(console),
            SynthCommand.Create(console),
            TuneCommand.Create(console),
        };

        foreach (var help in root.Options.OfType<HelpOption>())
        {
            help.Action = new HelpWithExitCodes((SynchronousCommandLineAction)help.Action!);
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per problem, then where to look: the full help would bury the problem in a CI log.
            var verb = parse.CommandResult.Command == root ? null : parse.CommandResult.Command.Name;
            if (verb is null && parse.UnmatchedTokens.Count > 0)
            {
                // The library also says "Required command was not provided": the unknown word is the one problem.
                console.WriteError(null, $"unknown verb '{parse.UnmatchedTokens[0]}' (verbs: {string.Join(", ", root.Subcommands.Select(c => c.Name))}).");
            }
            else
            {
                foreach (var error in parse.Errors) console.WriteError(verb, error.Message);
            }
            console.Error.WriteLine(verb is null ? "Run 'flashmoe --help' for the verbs." : $"Run 'flashmoe {verb} --help' for its options.");
            return ExitCodes.Usage;
        }
        return parse.Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>
    /// Runs a verb's body and maps its failures to exit codes: <see cref="UsageException"/> → 2,
    /// <see cref="ToolInputException"/> → its code, an I/O failure → 4. Anything else is a bug and propagates.
    /// </summary>
    public static int Guard(ToolConsole console, string verb, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            console.WriteError(verb, e.Message);
            console.Error.WriteLine($"Run 'flashmoe {verb} --help' for its options.");
            return ExitCodes.Usage;
        }
        catch (ToolInputException e)
        {
            console.WriteError(verb, e.Message);
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.WriteError(verb, e.Message);
            return ExitCodes.IoError;
        }
    }

    /// <summary>An option taking a non-negative integer, written without sign or separators (as <c>int.Parse</c> with <see cref="NumberStyles.None"/>).</summary>
    public static Option<int?> CountOption(string name, string description, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return value;
            result.AddError($"{name} needs a non-negative integer, got '{text}'.");
            return null;
        },
    };

    /// <summary>The library's help, followed by the exit codes (of the verb asked about, or the whole table).</summary>
    private sealed class HelpWithExitCodes(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            help.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            var verb = parseResult.CommandResult.Command;
            output.WriteLine(parseResult.CommandResult.Parent is null ? ExitCodes.Table : "Exit codes:\n" + ExitCodes.ForVerb(verb.Name));
            return ExitCodes.Ok;
        }
    }

    /// <summary>Names joined for a message: <c>a, b or c</c>.</summary>
    public static string OneOf(params string[] names) =>
        names.Length <= 1 ? string.Concat(names) : string.Join(", ", names.Take(names.Length - 1)) + " or " + names[^1];
}
