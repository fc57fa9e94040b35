namespace FlashMoe.Diagnostics;

// Host-only advice (FM2001–FM2999): facts only the machine the app runs on can tell (transparent huge
// pages, container limits, lock limits). The rules live in FlashMoe.Planning.HostAdvice.
public static partial class DiagnosticCatalog
{
    private const string HostCategory = "Host";

    /// <summary>FM2001: a no-mmap load on Linux with THP in <c>madvise</c> mode, without glibc's huge-page tunable.</summary>
    public static readonly FlashMoeDiagnosticDescriptor FM2001NoMmapWithoutHugePages = new(
        "FM2001",
        "No-mmap load could use huge pages",
        "The model ({0}) is read into anonymous memory (mmap off) and transparent huge pages are in 'madvise' mode, " +
        "so the load is bound by 4 KiB page faults; run the process with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 " +
        "to back it with huge pages (measured with LLamaSharp 0.30: a 4 GB no-mmap load went from 9.0 s to 2.2 s)",
        FlashMoeSeverity.Info,
        HostCategory);

    /// <summary>FM2002: the container (cgroup) memory limit is far below the machine's RAM and decides the plan.</summary>
    public static readonly FlashMoeDiagnosticDescriptor FM2002ContainerLimitDecides = new(
        "FM2002",
        "The container memory limit, not the machine's RAM, decides",
        "The process runs under a memory limit of {0:0.0} GiB (cgroup), {1:0%} of the machine's {2:0.0} GiB RAM: " +
        "every memory decision is planned against the limit, and a load beyond it is killed by the container's OOM killer",
        FlashMoeSeverity.Info,
        HostCategory);

    /// <summary>FM2003: mlock requested, but the process may not lock that much memory.</summary>
    public static readonly FlashMoeDiagnosticDescriptor FM2003MlockBeyondLimit = new(
        "FM2003",
        "mlock requested beyond the locked-memory limit",
        "mlock is requested but the process may lock only {0} (RLIMIT_MEMLOCK, 'ulimit -l') without CAP_IPC_LOCK, " +
        "less than the {1} to lock: llama.cpp warns 'failed to mlock' and continues with the model unlocked; " +
        "raise the limit (ulimit -l unlimited, LimitMEMLOCK=infinity, --ulimit memlock=-1) or turn mlock off",
        FlashMoeSeverity.Warning,
        HostCategory);
}
