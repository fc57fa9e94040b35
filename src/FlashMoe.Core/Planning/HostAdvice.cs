using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;

namespace FlashMoe.Planning;

/// <summary>
/// Host-only advice (FM2xxx): rules that need facts only the machine the app runs on can tell — transparent
/// huge pages, glibc tunables, container limits, lock limits. Pure: the runtime detects the facts, this decides.
/// Figures and their sources: docs/evidence.md (see docs/diagnostics.md "Host advice").
/// </summary>
public static class HostAdvice
{
    /// <summary>
    /// Evaluates the host-only rules for loading with <paramref name="options"/> on <paramref name="host"/>.
    /// </summary>
    /// <param name="host">Facts about the machine (normally detected by the runtime).</param>
    /// <param name="options">The concrete load options.</param>
    /// <param name="model">The model, if known (its size sharpens FM2001 and FM2003).</param>
    /// <returns>The advice that applies, ordered by ID; empty when the host raises no concern.</returns>
    public static IReadOnlyList<FlashMoeDiagnostic> Evaluate(HostFacts host, ResolvedLoadOptions options, ModelSummary? model = null)
    {
        if (host is null) throw new ArgumentNullException(nameof(host));
        if (options is null) throw new ArgumentNullException(nameof(options));

        var modelBytes = ModelBytes(model);
        var advice = new List<FlashMoeDiagnostic>();

        // FM2001: anonymous memory is faulted in 4 KiB pages unless malloc asks for THP (madvise mode only
        // grants huge pages to regions that ask); glibc.malloc.hugetlb=1 makes malloc ask.
        if (!options.UseMmap
            && IsLinux(host)
            && string.Equals(host.TransparentHugePages, "madvise", StringComparison.Ordinal)
            && host.MallocHugePages != true
            && (modelBytes is null || modelBytes >= EvidenceThresholds.HugePageAdviceMinModelBytes))
        {
            advice.Add(FlashMoeDiagnostic.Create(
                DiagnosticCatalog.FM2001NoMmapWithoutHugePages, null,
                modelBytes is { } b ? Units.FormatSize(b) : "size unknown"));
        }

        // FM2002: only a limit clearly below the RAM changes the story; a limit near the RAM is the RAM.
        if (host.MemoryLimitBytes is { } limit && host.TotalRamBytes > 0
            && limit <= host.TotalRamBytes * EvidenceThresholds.ContainerLimitFarBelowRatio)
        {
            advice.Add(FlashMoeDiagnostic.Create(
                DiagnosticCatalog.FM2002ContainerLimitDecides, null,
                limit / (double)Units.GiB, limit / (double)host.TotalRamBytes, host.TotalRamBytes / (double)Units.GiB));
        }

        // FM2003: without CAP_IPC_LOCK, mlock succeeds only within RLIMIT_MEMLOCK; llama.cpp then warns and
        // continues unlocked (docs/evidence.md#llamasharp-030-behaviour: `ulimit -l` 8192 KB → "failed to mlock ... Cannot allocate memory").
        if (options.UseMlock
            && host.HasLockCapability != true
            && host.LockedMemoryLimitBytes is { } lockLimit && lockLimit != long.MaxValue)
        {
            var toLock = modelBytes ?? (host.TotalRamBytes > 0 ? host.TotalRamBytes : (long?)null);
            if (toLock is { } needed && lockLimit < needed)
            {
                advice.Add(FlashMoeDiagnostic.Create(
                    DiagnosticCatalog.FM2003MlockBeyondLimit, null,
                    Units.FormatSize(lockLimit),
                    modelBytes is { } m ? Units.FormatSize(m) + " of model weights" : "installed RAM"));
            }
        }

        return advice;
    }

    /// <summary>
    /// The host-only advice as <see cref="Advice"/>, each pointing at the profile property it is about (FM2001
    /// <c>load.mmap</c>, FM2002 <c>hardware.ramGiB</c>, FM2003 <c>load.mlock</c>). Used by
    /// <see cref="ProfileResolver"/>, so a resolved profile carries the FM1xxx and FM2xxx advice together.
    /// </summary>
    internal static IEnumerable<Advice> EvaluateForProfile(HostFacts host, ResolvedLoadOptions options, ModelSummary model)
    {
        // A declared model's size is a declaration, not a file: the FM2001/FM2003 size checks still apply to it.
        foreach (var diagnostic in Evaluate(host, options, model))
        {
            yield return new Advice(diagnostic, PropertyPathOf(diagnostic.Id));
        }
    }

    private static string PropertyPathOf(string id) => id switch
    {
        "FM2001" => "load.mmap",
        "FM2002" => "hardware.ramGiB",
        "FM2003" => "load.mlock",
        _ => "hardware",
    };

    private static long? ModelBytes(ModelSummary? model)
    {
        if (model is null) return null;
        if (model.TensorBytes > 0) return model.TensorBytes;
        return model.FileSizeBytes > 0 ? model.FileSizeBytes : null;
    }

    private static bool IsLinux(HostFacts host) =>
        string.Equals(host.OperatingSystem, "linux", StringComparison.OrdinalIgnoreCase);
}
