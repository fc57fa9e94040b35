using System;
using System.Collections.Generic;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

public static partial class MemoryPlanner
{
    /// <summary>
    /// Active bytes per generated token: every weight read for one token (attention, dense FFN, norms, router, shared
    /// experts, the output layer) plus used/total of each routed-expert tensor; the token embedding contributes one
    /// row and is left out. Host-side bytes bound the speed by the host's bandwidth.
    /// </summary>
    public static RooflineEstimate EstimateRoofline(ModelSummary model, IEnumerable<PlacedTensor> placed, double? bandwidthGBs)
    {
        double host = 0, gpu = 0;
        var used = model.ExpertCount > 0 ? (double)Math.Min(model.ExpertUsedCount, model.ExpertCount) / model.ExpertCount : 1.0;
        foreach (var p in placed)
        {
            if (p.Role == TensorRole.TokenEmbedding) continue;
            var active = p.Role == TensorRole.ExpertFfn ? p.Bytes * used : p.Bytes;
            if (p.Device.IsCpu) host += active; else gpu += active;
        }
        var hostBytes = (long)Math.Round(host);
        double? bound = null;
        if (bandwidthGBs is { } bw && bw > 0 && hostBytes > 0) bound = bw * Units.GB / hostBytes;
        return new RooflineEstimate
        {
            ActiveBytesPerToken = hostBytes + (long)Math.Round(gpu),
            ActiveHostBytesPerToken = hostBytes,
            ActiveGpuBytesPerToken = (long)Math.Round(gpu),
            MemoryBandwidthGBs = bandwidthGBs,
            UpperBoundTokensPerSecond = bound,
        };
    }
}
