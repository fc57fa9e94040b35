using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

/// <summary>
/// Tests that touch llama.cpp or the process-wide native log run one at a time: the ring buffer of recent lines
/// is global, and parallel loads are only tested where a test means to (its timing would otherwise depend on others).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeCollection
{
    public const string Name = "Native (llama.cpp)";
}
