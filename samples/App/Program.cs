using System;
using System.Threading.Tasks;

namespace FlashMoe.Sample;

/// <summary>
/// Entry point. No arguments runs the main job (synthetic model end to end); `run` does the same with a named
/// profile and a real model. Inspecting, planning, checking and writing synthetic models are the `flashmoe` tool's
/// verbs (src/FlashMoe.Tool): this sample keeps only what shows how an app uses the library.
/// </summary>
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
            The flashmoe tool (src/FlashMoe.Tool) inspects, plans, checks, tunes and writes synthetic models.
            """);
        return exitCode;
    }
}
