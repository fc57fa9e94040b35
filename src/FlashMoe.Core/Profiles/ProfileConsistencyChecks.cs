using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;

namespace FlashMoe.Profiles;

/// <summary>
/// The checks across fields of one profile, run after its sections are read: values that contradict each other
/// (FM0010), batch sizes (FM0006), a quantized V cache without flash attention (FM0007), threads beyond the declared
/// cores (FM0008). Only values the user wrote are reported, at the place they were written.
/// </summary>
internal static class ProfileConsistencyChecks
{
    public static void CheckHardware(ProfileValueReader reader, HardwareSpec hardware)
    {
        if (hardware.ReserveGiB is { } reserve && reserve >= hardware.RamGiB)
        {
            reader.Report(DiagnosticCatalog.ContradictoryValues, reader.At("hardware.reserveGiB"),
                $"hardware.reserveGiB ({Invariant.Number(reserve)} GiB) must be smaller than hardware.ramGiB ({Invariant.Number(hardware.RamGiB)} GiB): nothing would be left for the model");
        }
        if (hardware.Cpu is { PhysicalCores: { } physical, LogicalCores: { } logical } && physical > logical)
        {
            reader.Report(DiagnosticCatalog.ContradictoryValues, reader.At("hardware.cpu.physicalCores"),
                $"hardware.cpu.physicalCores ({Invariant.Number(physical)}) cannot exceed hardware.cpu.logicalCores ({Invariant.Number(logical)}): every physical core is at least one logical core");
        }
        var withRatio = hardware.Gpus.Count(g => g.SplitRatio is not null);
        if (withRatio > 0 && withRatio < hardware.Gpus.Count)
        {
            var index = 0;
            for (; index < hardware.Gpus.Count; index++)
            {
                if (hardware.Gpus[index].SplitRatio is null) break;
            }
            var at = reader.Find("hardware.gpus[" + Invariant.Number(index) + "]") ?? reader.At("hardware.gpus");
            reader.Report(DiagnosticCatalog.ContradictoryValues, ProfileValueReader.FirstChar(at),
                $"splitRatio is given for {Invariant.Number(withRatio)} of {Invariant.Number(hardware.Gpus.Count)} GPUs; give it for every GPU (llama.cpp's tensor_split needs one share per device) or for none (split by VRAM)");
        }
    }

    public static void CheckModel(ProfileValueReader reader, ModelSpec model)
    {
        if (model.ExpertUsedCount is { } used && model.ExpertCount is { } experts && used > experts)
        {
            reader.Report(DiagnosticCatalog.ContradictoryValues, reader.At("model.expertUsedCount"),
                $"model.expertUsedCount ({Invariant.Number(used)}) cannot exceed model.expertCount ({Invariant.Number(experts)})");
        }
        if (model.ExpertCount == 0 && model.ExpertFraction is > 0)
        {
            reader.Report(DiagnosticCatalog.ContradictoryValues, reader.At("model.expertFraction"),
                $"model.expertFraction is {Invariant.Number(model.ExpertFraction.Value)} but model.expertCount is 0 (a dense model has no expert weights)");
        }
    }

    public static void CheckLoad(ProfileValueReader reader, LoadOptions load, HardwareSpec? hardware)
    {
        // FM0006. Only a value the user wrote is reported: a default that meets a small written value is
        // clamped by llama.cpp the way the user expects (n_batch = min(n_batch, n_ctx), n_ubatch = min(n_ubatch, n_batch)).
        if (load.UBatchSize > load.BatchSize && reader.Find("load.ubatchSize") is { } ubatchSpan)
        {
            reader.Report(DiagnosticCatalog.InconsistentBatch, ubatchSpan,
                $"ubatchSize {Invariant.Number(load.UBatchSize)} is larger than batchSize {Invariant.Number(load.BatchSize)}: the physical batch cannot exceed the logical batch (llama.cpp would silently use n_ubatch = n_batch). Lower ubatchSize or raise batchSize");
        }
        if (load.BatchSize > load.ContextSize && reader.Find("load.batchSize") is { } batchSpan)
        {
            reader.Report(DiagnosticCatalog.InconsistentBatch, batchSpan,
                $"batchSize {Invariant.Number(load.BatchSize)} is larger than contextSize {Invariant.Number(load.ContextSize)}: llama.cpp caps n_batch at n_ctx for causal models, so the larger batch is never used. Set batchSize to at most contextSize");
        }

        // FM0007
        if (load.KvCache is { } kvCache && ProfileSchema.IsQuantized(kvCache.V) && load.FlashAttention == AutoSwitch.Off)
        {
            var at = reader.Find("load.kvCache.v") ?? reader.Find("load.flashAttention");
            if (at is { } span)
            {
                reader.Report(DiagnosticCatalog.QuantizedVCacheWithoutFlashAttention, span,
                    ProfileSchema.KvCacheTypeNames.First(n => n.Value == kvCache.V).Key);
            }
        }

        // FM0008 (needs declared cores)
        var cpu = hardware?.Cpu;
        if (cpu is null) return;
        if (reader.Find("load.threads") is { } threadsSpan)
        {
            if (load.Threads.Kind == ThreadCountKind.Fixed)
            {
                var n = load.Threads.Count;
                if (cpu.LogicalCores is { } logical && n > logical)
                {
                    reader.Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                        $"threads is {Invariant.Number(n)} but the target declares {Invariant.Number(logical)} logical cores: the extra threads only compete for cores. Use \"physical\" or at most {Invariant.Number(cpu.PhysicalCores ?? logical)}");
                }
                else if (cpu.PhysicalCores is { } physical && n > physical)
                {
                    reader.Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                        $"threads is {Invariant.Number(n)}, more than the {Invariant.Number(physical)} physical cores: llama.cpp generation runs best with one thread per physical core (SMT siblings share the core's vector units). Use \"physical\"");
                }
            }
            else if (load.Threads.Kind == ThreadCountKind.Logical && cpu is { PhysicalCores: { } physical, LogicalCores: { } logical } && logical > physical)
            {
                reader.Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                    $"threads is \"logical\" ({Invariant.Number(logical)} threads on {Invariant.Number(physical)} physical cores): llama.cpp generation runs best with one thread per physical core. Use \"physical\"");
            }
        }
        if (load.BatchThreads.Kind == ThreadCountKind.Fixed && cpu.LogicalCores is { } logicalCores
            && load.BatchThreads.Count > logicalCores && reader.Find("load.batchThreads") is { } batchThreadsSpan)
        {
            reader.Report(DiagnosticCatalog.ThreadsExceedCores, batchThreadsSpan,
                $"batchThreads is {Invariant.Number(load.BatchThreads.Count)} but the target declares {Invariant.Number(logicalCores)} logical cores: the extra threads only compete for cores. Use \"logical\", \"physical\" or at most {Invariant.Number(logicalCores)}");
        }
    }
}
