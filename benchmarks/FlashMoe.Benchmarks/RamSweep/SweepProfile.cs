using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The one profile both sides of the sweep use: the child loads with it, the parent resolves it with the limit to
/// predict. Only the load mode varies; everything else is fixed so that runs differ only by RAM.
/// </summary>
internal static class SweepProfile
{
    public static FlashMoeProfile Create(string modelPath, AutoSwitch mmap, int threads, int contextSize, long totalRamBytes, Objective objective = Objective.Throughput) => new(
        "RamSweep",
        new HardwareSpec(totalRamBytes / (double)Units.GiB, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
        new ModelSpec(modelPath, null),
        LoadOptions.Default with
        {
            Mmap = mmap,
            Threads = ThreadCount.Fixed(threads),
            BatchThreads = ThreadCount.Fixed(threads),
            ContextSize = contextSize,
            BatchSize = 512,
            UBatchSize = 512,
        },
        objective);

    public static AutoSwitch ModeSwitch(SweepMode mode) => mode == SweepMode.Mmap ? AutoSwitch.On : AutoSwitch.Off;
}

/// <summary>The load mode a run forces.</summary>
internal enum SweepMode
{
    Mmap,
    NoMmap,
}
