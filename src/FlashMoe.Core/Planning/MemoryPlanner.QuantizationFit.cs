using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

public static partial class MemoryPlanner
{
    /// <summary>
    /// Average bits per weight of the quantizations in the fit table. Plain types from the block table
    /// (<see cref="GgmlTypeTable"/>); K_M mixes as the base K type with a share one K level higher
    /// (<see cref="EvidenceThresholds.KmHigherShare"/>, <see cref="EvidenceThresholds.Q3KmHigherShare"/>).
    /// </summary>
    public static IReadOnlyList<(string Name, double BitsPerWeight)> QuantizationBitsPerWeight()
    {
        double Bpw(GgmlType t) => GgmlTypeTable.Get(t).BitsPerWeight;
        double Mix(GgmlType baseType, GgmlType higher, double share) => Bpw(baseType) * (1 - share) + Bpw(higher) * share;
        return new[]
        {
            ("IQ1_S", Bpw(GgmlType.IQ1_S)),
            ("IQ1_M", Bpw(GgmlType.IQ1_M)),
            ("IQ2_XXS", Bpw(GgmlType.IQ2_XXS)),
            ("Q2_K", Bpw(GgmlType.Q2_K)),
            ("Q3_K_M", Mix(GgmlType.Q3_K, GgmlType.Q4_K, EvidenceThresholds.Q3KmHigherShare)),
            ("Q4_K_M", Mix(GgmlType.Q4_K, GgmlType.Q6_K, EvidenceThresholds.KmHigherShare)),
            ("Q5_K_M", Mix(GgmlType.Q5_K, GgmlType.Q6_K, EvidenceThresholds.KmHigherShare)),
            ("Q6_K", Bpw(GgmlType.Q6_K)),
            ("Q8_0", Bpw(GgmlType.Q8_0)),
        };
    }

    /// <summary>The parameter count: from the header, else estimated from the bytes and the dominant type.</summary>
    public static long ParameterCount(ModelSummary model)
    {
        if (model.ParameterCount > 0) return model.ParameterCount;
        var type = TypeBytes.Dominant(model.BytesByType);
        var bytes = model.TensorBytes > 0 ? model.TensorBytes : model.FileSizeBytes;
        return bytes <= 0 ? 0 : (long)(bytes * 8.0 / GgmlTypeTable.Get(type).BitsPerWeight);
    }

    private static IReadOnlyList<QuantizationFit> QuantizationFitTable(ModelSummary model, MemoryPlan plan, HostFacts host)
    {
        var parameters = ParameterCount(model);
        var budget = plan.Host.UsableBytes;
        foreach (var gpu in plan.Devices.Skip(1)) budget += Math.Max(0, gpu.CapacityBytes - gpu.ReserveBytes);
        long nonWeights = plan.Host.RuntimeOverheadBytes;
        foreach (var d in plan.Devices) nonWeights += d.KvCacheBytes + (d.Device.IsCpu ? plan.Host.ComputeResidentBytes : d.ComputeBytes) + d.OutputBytes;
        var room = budget - nonWeights;

        var rows = new List<QuantizationFit>();
        foreach (var (name, bpw) in QuantizationBitsPerWeight())
        {
            var size = (long)Math.Ceiling(parameters * bpw / 8.0);
            rows.Add(new QuantizationFit(name, bpw, size, parameters > 0 && size <= room));
        }
        return rows;
    }
}
