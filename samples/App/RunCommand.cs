using System;
using System.Threading.Tasks;

namespace FlashMoe.Sample;

/// <summary>The main job (`demo`, no arguments) and the `run` verb.</summary>
internal static class RunCommand
{
    public static Task<int> RunAsync(string[] args, bool demo) => throw new NotImplementedException("TODO(issue 5): run verb");
}
