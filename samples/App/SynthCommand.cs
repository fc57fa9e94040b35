using System;

namespace FlashMoe.Sample;

/// <summary>The `synth` verb.</summary>
internal static class SynthCommand
{
    public static int Run(string[] args) => throw new NotImplementedException("TODO(issue): synth verb");
}
