using System;

namespace FlashMoe.Sample;

/// <summary>The `inspect` verb.</summary>
internal static class InspectCommand
{
    public static int Run(string[] args) => throw new NotImplementedException("TODO(issue): inspect verb");
}
