using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

/// <summary>
/// Tests that touch llama.cpp or the process-wide native log run one at a time: the log is global, and
/// parallel loads would interleave their lines.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeCollection
{
    public const string Name = "Native (llama.cpp)";
}
