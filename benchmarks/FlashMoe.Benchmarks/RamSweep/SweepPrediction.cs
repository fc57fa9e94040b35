using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime;

namespace FlashMoe.Benchmarks.RamSweep;

/// <summary>One objective's pick for a limit: the configuration the resolver chose and the rules that chose it.</summary>
/// <param name="Config">The resolved choices as a configuration.</param>
/// <param name="Rules">The rule per resolved choice, e.g. <c>load.mmap=mmap.fits-ram</c>.</param>
internal sealed record SweepPick(SweepConfig Config, string Rules);

/// <summary>What FlashMoe's plan says about one RAM limit: the profiles resolved for the detected host with that limit.</summary>
/// <param name="FootprintRatio">Usable RAM ÷ host footprint of the default no-mmap configuration (the plan's own "× model").</param>
/// <param name="FootprintBytes">Weights + KV + compute + output + overhead on the host.</param>
/// <param name="RepackedBytes">Bytes the plan expects to be repacked.</param>
/// <param name="Picks">What the shipped profile (choices left to the resolver) resolves to under each objective.</param>
internal sealed record SweepPrediction(double FootprintRatio, long FootprintBytes, long RepackedBytes, IReadOnlyDictionary<Objective, SweepPick> Picks)
{
    /// <summary>The objectives judged, in report order.</summary>
    public static readonly Objective[] Objectives = { Objective.Throughput, Objective.Latency, Objective.Memory };

    /// <summary>Decisions a pick does not list: fixed by the sweep or not judged by it.</summary>
    private static readonly string[] UnjudgedChoices = { "load.contextSize", "load.gpuLayers", "hardware.gpus" };

    private readonly Dictionary<SweepConfig, IReadOnlyList<string>> _advice = new();
    private HostInfo _host = null!;
    private ModelSummary _model = null!;
    private string _modelPath = "";
    private int _contextSize;

    public static SweepPrediction For(HostInfo detected, ModelSummary model, string modelPath, long limitBytes, int threads, int contextSize)
    {
        // As HostInfo.Detect reports it inside the group: a cgroup v1 limit, folded into the available RAM by ToHostFacts.
        var host = detected with { CgroupV1LimitBytes = limitBytes, CgroupV2LimitBytes = null };
        var baseline = SweepProfile.Forced(modelPath, SweepConfig.Mode(false, threads), contextSize, detected.TotalRamBytes ?? 0).Resolve(host, model);
        var picks = Objectives.ToDictionary(o => o, o =>
        {
            var resolved = SweepProfile.Auto(modelPath, contextSize, detected.TotalRamBytes ?? 0, o).Resolve(host, model);
            // Every decision the resolver records for a judged choice, whatever its key (new "auto" choices included).
            var rules = resolved.Decisions.Where(d => !UnjudgedChoices.Contains(d.Option)).Select(d => d.Option.Replace("load.", "", System.StringComparison.Ordinal) + "=" + d.RuleId);
            return new SweepPick(SweepConfig.FromResolved(resolved.Options), string.Join(" ", rules));
        });
        return new SweepPrediction(baseline.Plan.Host.FootprintRatio, baseline.Plan.Host.FootprintBytes, baseline.Plan.Host.RepackedBytes, picks)
        {
            _host = host,
            _model = model,
            _modelPath = modelPath,
            _contextSize = contextSize,
        };
    }

    /// <summary>The advice IDs the plan raises for <paramref name="config"/> forced at this limit (what its child should raise too).</summary>
    public IReadOnlyList<string> AdviceFor(SweepConfig config)
    {
        if (!_advice.TryGetValue(config, out var ids))
        {
            var resolved = SweepProfile.Forced(_modelPath, config, _contextSize, _host.TotalRamBytes ?? 0).Resolve(_host, _model);
            ids = resolved.Advice.Select(a => a.Id).ToList();
            _advice[config] = ids;
        }
        return ids;
    }

    /// <summary>The objectives whose pick is <paramref name="config"/>.</summary>
    public IEnumerable<Objective> PickedBy(SweepConfig config) => Objectives.Where(o => Picks[o].Config == config);
}
