using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>What FlashMoe's plan says about one RAM limit: the same profile resolved for the detected host with that limit.</summary>
/// <param name="FootprintRatio">Usable RAM ÷ host footprint (the plan's own "× model").</param>
/// <param name="FootprintBytes">Weights + KV + compute + output + overhead on the host.</param>
/// <param name="RepackedBytes">Bytes the plan expects to be repacked.</param>
/// <param name="AdviceByMode">Advice IDs raised with mmap forced on / off.</param>
/// <param name="AutoUsesMmap">What <c>mmap: "auto"</c> resolves to.</param>
/// <param name="AutoRule">The rule that decided it.</param>
/// <param name="AutoByObjective">What <c>mmap: "auto"</c> resolves to under each objective, with the rule.</param>
internal sealed record SweepPrediction(
    double FootprintRatio,
    long FootprintBytes,
    long RepackedBytes,
    IReadOnlyDictionary<SweepMode, IReadOnlyList<string>> AdviceByMode,
    bool AutoUsesMmap,
    string AutoRule,
    IReadOnlyDictionary<Objective, (bool UseMmap, string Rule)> AutoByObjective)
{
    /// <summary>The advice IDs the memory rules raise (FM1001 no-mmap OOM, FM1003 mmap short, FM1008 repack thrash, FM1002 mmap where no-mmap is better).</summary>
    public static readonly string[] MemoryAdviceIds = { "FM1001", "FM1002", "FM1003", "FM1008" };

    public static SweepPrediction For(HostInfo detected, ModelSummary model, string modelPath, long limitBytes, int threads, int contextSize)
    {
        // As HostInfo.Detect reports it inside the group: a cgroup v1 limit, folded into the available RAM by ToHostFacts.
        var host = detected with { CgroupV1LimitBytes = limitBytes, CgroupV2LimitBytes = null };
        ResolvedProfile Resolve(AutoSwitch mmap, Objective objective = Objective.Throughput) =>
            SweepProfile.Create(modelPath, mmap, threads, contextSize, detected.TotalRamBytes ?? 0, objective).Resolve(host, model);

        var mmapOn = Resolve(AutoSwitch.On);
        var mmapOff = Resolve(AutoSwitch.Off);
        var auto = Resolve(AutoSwitch.Auto);
        var decision = auto.DecisionFor("load.mmap");
        return new SweepPrediction(
            mmapOff.Plan.Host.FootprintRatio,
            mmapOff.Plan.Host.FootprintBytes,
            mmapOff.Plan.Host.RepackedBytes,
            new Dictionary<SweepMode, IReadOnlyList<string>>
            {
                [SweepMode.Mmap] = mmapOn.Advice.Select(a => a.Id).ToList(),
                [SweepMode.NoMmap] = mmapOff.Advice.Select(a => a.Id).ToList(),
            },
            auto.Options.UseMmap,
            decision?.RuleId ?? "?",
            new[] { Objective.Throughput, Objective.Latency, Objective.Memory }.ToDictionary(o => o, o =>
            {
                var resolved = Resolve(AutoSwitch.Auto, o);
                return (resolved.Options.UseMmap, resolved.DecisionFor("load.mmap")?.RuleId ?? "?");
            }));
    }
}
