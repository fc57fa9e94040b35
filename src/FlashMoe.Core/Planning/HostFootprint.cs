using System;
using System.Collections.Generic;

namespace FlashMoe.Planning;

/// <summary>
/// The host side of a plan: what the CPU device's bytes cost in RAM under mmap or not (anonymous, file-backed,
/// peak RSS, locked) and the size of the file mapping llama.cpp reports.
/// </summary>
internal static class HostFootprint
{
    /// <summary>
    /// Whether mmap could hold, from a no-mmap plan of the same options, what it cannot page out: the mmap branch of
    /// <see cref="Account"/> (repacked copies + KV + compute + output + overhead), less the runtime's reclaimable code
    /// pages as in <see cref="HostMemoryPlan.NoMmapNeedBytes"/>.
    /// </summary>
    public static bool MmapAnonymousFits(HostMemoryPlan noMmap) =>
        noMmap.UsableBytes >= noMmap.NoMmapNeedBytes - Math.Max(0, noMmap.CpuWeightBytes - noMmap.RepackedBytes);

    /// <summary>The RAM the CPU device's weights, KV cache and buffers cost on the host, under mmap or not.</summary>
    /// <param name="options">The load options.</param>
    /// <param name="cpu">The CPU device's plan.</param>
    /// <param name="computeResident">Of the CPU's compute buffer, the bytes a run makes resident.</param>
    /// <param name="fileTensorBytes">Every tensor's bytes in the file.</param>
    /// <param name="overhead">The runtime overhead.</param>
    /// <param name="usable">Usable RAM.</param>
    /// <param name="reserve">RAM kept for the rest of the system.</param>
    /// <param name="reserveIsDefault">The reserve is the planner's default.</param>
    /// <param name="host">The host.</param>
    public static HostMemoryPlan Account(ResolvedLoadOptions options, DevicePlan cpu, long computeResident, long fileTensorBytes, long overhead,
        long usable, long reserve, bool reserveIsDefault, HostFacts host)
    {
        var nonWeights = cpu.KvCacheBytes + computeResident + cpu.OutputBytes + overhead;
        long anonymous, fileBacked, peak;
        if (options.UseMmap)
        {
            // mmap: CPU weights are served from the page cache; repacked ones get an anonymous copy while their file
            // pages, read once to repack, stay mapped but evictable. Every tensor is read through the mapping at load
            // (also those copied to a GPU), so without memory pressure the peak RSS counts the whole file (docs/evidence.md#ram-limit-sweep-small-models: 1.95×).
            anonymous = cpu.RepackedBytes + nonWeights;
            fileBacked = cpu.WeightBytes - cpu.RepackedBytes;
            peak = anonymous + Math.Max(fileBacked, fileTensorBytes);
        }
        else
        {
            // no-mmap: every CPU weight is read once into anonymous (or pinned host) buffers; repacked tensors are
            // read straight into the repack buffer (docs/evidence.md#mmap-and-no-mmap-with-ram-to-spare: 3915 MiB for a 4.0 GB file).
            anonymous = cpu.WeightBytes + nonWeights;
            fileBacked = 0;
            peak = anonymous;
        }

        return new HostMemoryPlan
        {
            UseMmap = options.UseMmap,
            TotalRamBytes = host.TotalRamBytes,
            MemoryLimitBytes = host.MemoryLimitBytes,
            ReserveBytes = reserve,
            ReserveIsDefault = reserveIsDefault,
            UsableBytes = usable,
            CpuWeightBytes = cpu.WeightBytes,
            RepackedBytes = cpu.RepackedBytes,
            KvCacheBytes = cpu.KvCacheBytes,
            ComputeBytes = cpu.ComputeBytes,
            ComputeResidentBytes = computeResident,
            OutputBytes = cpu.OutputBytes,
            RuntimeOverheadBytes = overhead,
            AnonymousBytes = anonymous,
            FileBackedBytes = fileBacked,
            PeakRssBytes = peak,
            // llama.cpp mlocks the mapped CPU weights (mmap) or the CPU buffers (no-mmap); repacked weights never (docs/evidence.md#llamasharp-030-behaviour).
            LockedBytes = options.UseMlock ? cpu.WeightBytes - cpu.RepackedBytes : 0,
        };
    }

    /// <summary>
    /// The CPU_Mapped buffer llama.cpp reports with mmap: it maps the file range from the first to the last CPU-resident
    /// tensor it serves from the mapping (<c>llama_model_loader::get_mapping_range</c>: min offset … max offset + size of
    /// the tensors in the CPU buffer type's context), so alignment padding and any tensor in between — repacked or on a
    /// GPU — are inside it. Declared models have no offsets: their CPU-resident bytes stand in.
    /// </summary>
    public static long MappedSpanBytes(PreparedModel prepared, List<PlacedTensor> placed)
    {
        long first = long.MaxValue, last = long.MinValue, sum = 0;
        var hasOffsets = prepared.Model.Tensors.Count > 0;
        for (var i = 0; i < prepared.Tensors.Count; i++)
        {
            var p = placed[i];
            if (!p.Device.IsCpu || p.Repacked) continue;
            var t = prepared.Tensors[i];
            sum += t.Bytes;
            first = Math.Min(first, t.Offset);
            last = Math.Max(last, t.Offset + t.Bytes);
        }
        if (sum == 0) return 0;
        // Real offsets never overlap, so the span is at least the sum; hand-built summaries without offsets fall back to it.
        return hasOffsets ? Math.Max(last - first, sum) : sum;
    }
}
