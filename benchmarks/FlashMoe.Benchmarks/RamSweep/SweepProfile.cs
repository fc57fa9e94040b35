using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>
/// The profiles both sides of the sweep use: <see cref="Auto"/> is what an app ships (every choice the sweep judges
/// left to the resolver) and gives the parent its picks; <see cref="Forced"/> makes a child load exactly one
/// configuration, so that runs differ only by that configuration and the RAM limit.
/// </summary>
internal static class SweepProfile
{
    // Only what the sweep holds fixed is set here: ubatch, the KV cache type and flash attention stay at
    // LoadOptions.Default, so the picks follow whatever the resolver decides for them ("auto" or a fixed default).
    public static FlashMoeProfile Auto(string modelPath, int contextSize, long totalRamBytes, Objective objective) =>
        Create(modelPath, totalRamBytes, objective, LoadOptions.Default with
        {
            Mmap = AutoSwitch.Auto,
            Threads = ThreadCount.Physical,
            BatchThreads = ThreadCount.Physical,
            ContextSize = contextSize,
            BatchSize = 512,
        });

    /// <summary>The profile that resolves to exactly <paramref name="config"/>.</summary>
    public static FlashMoeProfile Forced(string modelPath, SweepConfig config, int contextSize, long totalRamBytes) =>
        Create(modelPath, totalRamBytes, Objective.Throughput, LoadOptions.Default with
        {
            Mmap = config.Mmap ? AutoSwitch.On : AutoSwitch.Off,
            Threads = ThreadCount.Fixed(config.Threads),
            BatchThreads = ThreadCount.Fixed(config.BatchThreads),
            ContextSize = contextSize,
            BatchSize = 512,
            UBatchSize = config.UBatch,
            FlashAttention = config.FlashAttention ? AutoSwitch.On : AutoSwitch.Off,
            KvCache = new KvCacheSpec(config.TypeK, config.TypeV),
        });

    private static FlashMoeProfile Create(string modelPath, long totalRamBytes, Objective objective, LoadOptions load) => new(
        "RamSweep",
        new HardwareSpec(totalRamBytes / (double)Units.GiB, null, CpuSpec.Unknown, EquatableArray<GpuSpec>.Empty, StorageKind.Unknown),
        new ModelSpec(modelPath, null),
        load,
        objective);
}
