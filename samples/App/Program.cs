using System;
using System.Threading.Tasks;

namespace FlashMoe.Sample;

/// <summary>Entry point: dispatches the verbs. No arguments runs the main job (synthetic model end to end).</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var verb = args.Length > 0 ? args[0] : "demo";
        var rest = args.Length > 0 ? args[1..] : Array.Empty<string>();
        try
        {
            return verb switch
            {
                "synth" => SynthCommand.Run(rest),
                "inspect" => InspectCommand.Run(rest),
                "run" => await RunCommand.RunAsync(rest, demo: false),
                "demo" => await RunCommand.RunAsync(rest, demo: true),
                "-h" or "--help" or "help" => Usage(0),
                _ => Usage(2),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            return Usage(2);
        }
    }

    private static int Usage(int exitCode)
    {
        var writer = exitCode == 0 ? Console.Out : Console.Error;
        writer.WriteLine("""
            FlashMoe sample
              (no arguments)                      make a small synthetic MoE model, plan, load and generate
              run [--profile NAME] [--model PATH]  plan, load and generate with a named (or the best-fitting) profile (see run --help)
              synth <out.gguf> [options]           write a synthetic llama-architecture GGUF (see synth --help)
              inspect <file.gguf> [--json]         print the model summary read from the GGUF header
            """);
        return exitCode;
    }
}
