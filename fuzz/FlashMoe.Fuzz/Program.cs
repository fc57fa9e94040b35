using System;
using System.IO;
using System.Linq;
using SharpFuzz;

namespace FlashMoe.Fuzz;

/// <summary>
/// <c>gguf</c> / <c>profile</c>: run one target under AFL++ (input on stdin, driven by SharpFuzz).
/// <c>seeds &lt;dir&gt; &lt;repo&gt;</c>: write the seed corpora. <c>replay &lt;target&gt; &lt;file-or-dir&gt;</c>: run inputs
/// without AFL (reproduces a finding; exit code 1 when one crashes).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "gguf" when args.Length == 1:
                Fuzzer.OutOfProcess.Run(FuzzTargets.GgufHeader);
                return 0;
            case "profile" when args.Length == 1:
                Fuzzer.OutOfProcess.Run(FuzzTargets.Profile);
                return 0;
            case "seeds" when args.Length == 3:
                SeedCorpus.Write(args[1], args[2]);
                return 0;
            case "replay" when args.Length == 3 && FuzzTargets.TryGet(args[1], out var target):
                return Replay(target, args[2]);
            default:
                Console.Error.WriteLine("usage: FlashMoe.Fuzz gguf | profile | seeds <out-dir> <repo-root> | replay gguf|profile <file-or-dir>");
                return 2;
        }
    }

    private static int Replay(Action<Stream> target, string path)
    {
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path).Where(f => !Path.GetFileName(f).Equals("README.txt", StringComparison.Ordinal)).OrderBy(f => f, StringComparer.Ordinal).ToArray()
            : new[] { path };
        var crashed = 0;
        foreach (var file in files)
        {
            try
            {
                using var stream = File.OpenRead(file);
                target(stream);
            }
#pragma warning disable CA1031 // a replay reports every crash, whatever its type
            catch (Exception e)
#pragma warning restore CA1031
            {
                crashed++;
                Console.WriteLine($"{file}: {e}");
            }
        }
        Console.WriteLine($"{files.Length} inputs, {crashed} crashed");
        return crashed == 0 ? 0 : 1;
    }
}
