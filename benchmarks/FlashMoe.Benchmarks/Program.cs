using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using BenchmarkDotNet.Running;
using FlashMoe.Benchmarks.RamSweep;

namespace FlashMoe.Benchmarks;

/// <summary>Entry point: <c>micro</c> (BenchmarkDotNet), <c>ramsweep</c> (RAM-limit sweep) and the sweep's hidden child verb.</summary>
internal static class Program
{
    private const string Usage = """
        FlashMoe benchmarks (run with: dotnet run -c Release --project benchmarks/FlashMoe.Benchmarks -- VERB ...)

          micro [BenchmarkDotNet options]
              GGUF header read (sparse 130 GiB DeepSeek-class header), profile parse, seed profile resolve.
              e.g.  micro --filter '*' --job short        (a few minutes; BenchmarkDotNet's --help lists the rest)

          ramsweep [--model PATH | --size 2GiB --quant q8_0[,q4_0] | --size 1GiB --preset qwen3-30b-a3b [--recipe q4_k_m]
                    | --scenarios 6 --seed 1] [--ratios 1.5,1.15,1.05,1.02,1.0,0.95,0.9,0.85]
                   [--configs mmap,nommap,nommap/ub128/kv-q8_0] [--tokens 32] [--repeats 1] [--threads 2] [--ctx 2048]
                   [--timeout 120] [--model-dir /tmp/flashmoe-bench] [--stop-after-timeout] [--plan-only] [--out FILE.md]
              Loads and generates through the product path (resolve → ToModelParams → FlashMoeModel.LoadAsync →
              generate) in a child process inside a fresh cgroup v1 memory group limited to ratio × the file size,
              with the model evicted from the page cache first; prints a markdown table (and writes it to --out)
              next to what FlashMoe's plan predicted for that limit, and judges each objective's resolved choices
              (always run too) against the best configuration that finished. Needs root and a writable cgroup v1 memory
              controller; skips with a message otherwise. See ramsweep --help.
        """;

    private static async Task<int> Main(string[] args)
    {
        var verb = args.Length > 0 ? args[0] : "help";
        var rest = args.Length > 0 ? args[1..] : Array.Empty<string>();
        try
        {
            switch (verb)
            {
                case "micro":
                    EnsureProjectIsFindable();
                    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest);
                    return 0;
                case "ramsweep":
                    return await RamSweepCommand.RunAsync(rest);
                case RamSweepChild.Verb:
                    return await RamSweepChild.RunAsync(rest);
                case "help" or "-h" or "--help":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown verb '{verb}'");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary>
    /// BenchmarkDotNet builds its out-of-process runner from this project and searches for the .csproj below the
    /// current directory; run from elsewhere, move to the project (its BenchmarkDotNet.Artifacts then land there).
    /// </summary>
    private static void EnsureProjectIsFindable()
    {
        var projectDirectory = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "FlashMoe.Benchmarks.ProjectDirectory")?.Value;
        if (string.IsNullOrEmpty(projectDirectory) || !Directory.Exists(projectDirectory)) return;
        var current = Path.GetFullPath(Environment.CurrentDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var project = Path.GetFullPath(projectDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (project.StartsWith(current, StringComparison.Ordinal)) return;
        Console.Error.WriteLine($"(running from {projectDirectory}: BenchmarkDotNet looks for the project below the current directory)");
        Environment.CurrentDirectory = projectDirectory;
    }
}

/// <summary>A command-line mistake: printed without a stack trace, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
