namespace FlashMoe.Diagnostics;

// Profile-file diagnostics (FM0001–FM0099), reported by ProfileParser (and through it by the source generator).
// They are about the file alone: nothing here needs the model file. Fit, mmap and offload advice is FM1xxx
// (the build check), so no advice is ever reported twice. docs/diagnostics.md has a section per ID.
public static partial class DiagnosticCatalog
{
    private const string ProfileCategory = "Profile";

    /// <summary>FM0001: the profile file is not valid JSON (located at the first bad token).</summary>
    public static readonly FlashMoeDiagnosticDescriptor InvalidJson = new(
        "FM0001", "The profile file is not valid JSON", "{0}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0002: a property name the profile format does not know (the closest known name is suggested).</summary>
    public static readonly FlashMoeDiagnosticDescriptor UnknownProperty = new(
        "FM0002", "Unknown profile property", "Unknown property '{0}' in {1}{2}; it is ignored", FlashMoeSeverity.Warning, ProfileCategory);

    /// <summary>FM0003: a value of the wrong type or out of range.</summary>
    public static readonly FlashMoeDiagnosticDescriptor InvalidValue = new(
        "FM0003", "Invalid profile value", "'{0}': {1}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0004: a profile name that is not a valid or not a unique C# identifier.</summary>
    public static readonly FlashMoeDiagnosticDescriptor InvalidProfileName = new(
        "FM0004", "Invalid or duplicate profile name", "Profile name '{0}' {1}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0005: a required value is missing.</summary>
    public static readonly FlashMoeDiagnosticDescriptor MissingValue = new(
        "FM0005", "Required profile value missing", "{0}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0006: batch sizes that contradict each other or the context size.</summary>
    public static readonly FlashMoeDiagnosticDescriptor InconsistentBatch = new(
        "FM0006", "Inconsistent batch settings", "{0}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0007: a quantized V cache with flash attention switched off.</summary>
    public static readonly FlashMoeDiagnosticDescriptor QuantizedVCacheWithoutFlashAttention = new(
        "FM0007", "Quantized V cache needs flash attention",
        "The V cache type '{0}' is quantized, but flashAttention is false; llama.cpp refuses to create the context (a quantized V cache requires flash attention). Set flashAttention to true or \"auto\", or use f16 for v",
        FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0008: more threads than the declared cores.</summary>
    public static readonly FlashMoeDiagnosticDescriptor ThreadsExceedCores = new(
        "FM0008", "More threads than cores", "{0}", FlashMoeSeverity.Warning, ProfileCategory);

    /// <summary>FM0009: the same property twice in one object.</summary>
    public static readonly FlashMoeDiagnosticDescriptor DuplicateProperty = new(
        "FM0009", "Duplicate profile property", "Property '{0}' is written twice in {1} (first at line {2}); remove one", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0010: a tensor-override pattern that is not a valid regular expression.</summary>
    public static readonly FlashMoeDiagnosticDescriptor InvalidTensorPattern = new(
        "FM0010", "Invalid tensor override pattern",
        "'{0}': the pattern \"{1}\" is not a valid regular expression: {2}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0011: declared values that contradict each other (cores, reserve vs RAM, experts, GPU split ratios).</summary>
    public static readonly FlashMoeDiagnosticDescriptor ContradictoryValues = new(
        "FM0011", "Contradictory profile values", "{0}", FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0012: a tensor override whose device LLamaSharp drops without a word.</summary>
    public static readonly FlashMoeDiagnosticDescriptor IgnoredOverrideDevice = new(
        "FM0012", "Tensor override device is ignored",
        "'{0}': device \"{1}\" is silently dropped by LLamaSharp 0.30, so this override has no effect; use \"CPU\" (llama.cpp then repacks where it can)",
        FlashMoeSeverity.Warning, ProfileCategory);

    /// <summary>FM0013: the namespace for the generated class (FlashMoeNamespace / RootNamespace) is not a valid C# namespace.</summary>
    public static readonly FlashMoeDiagnosticDescriptor InvalidGeneratedNamespace = new(
        "FM0013", "Invalid namespace for generated profiles",
        "The {0} '{1}' is not a valid C# namespace; no profiles are generated. Set <FlashMoeNamespace> to a dotted C# name",
        FlashMoeSeverity.Error, ProfileCategory);

    /// <summary>FM0099: an unexpected failure while reading a profile file (a bug or an unreadable file).</summary>
    public static readonly FlashMoeDiagnosticDescriptor ProfileInternalError = new(
        "FM0099", "Profile file could not be processed",
        "FlashMoe could not process this profile file: {0}. Please report it with the file attached",
        FlashMoeSeverity.Error, ProfileCategory);
}
