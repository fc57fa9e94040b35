namespace FlashMoe.Diagnostics;

// Build check (FM0301–FM0399): what the MSBuild task (FlashMoe.Tasks.FlashMoeCheckProfiles) itself can run into
// around the rules: files it cannot read or write, a FlashMoeProfile that names no profile, a bug. The advice it
// reports is FM1xxx and the GGUF errors FM01xx; profile-file diagnostics (FM00xx) are the generator's, never repeated.
public static partial class DiagnosticCatalog
{
    private const string BuildCheckCategory = "BuildCheck";

    /// <summary>FM0301: a profile file listed for the build check cannot be read.</summary>
    public static readonly FlashMoeDiagnosticDescriptor ProfileFileUnreadable = new(
        "FM0301",
        "Profile file cannot be read",
        "The build check cannot read the profile file '{0}': {1}. Its profiles were not checked",
        FlashMoeSeverity.Error,
        BuildCheckCategory);

    /// <summary>FM0302: <c>FlashMoeProfile</c> names a profile that no profile file declares.</summary>
    public static readonly FlashMoeDiagnosticDescriptor SelectedProfileNotFound = new(
        "FM0302",
        "Selected profile not found",
        "FlashMoeProfile names '{0}', but no profile file declares it{1}; known profiles: {2}. Nothing was checked for it",
        FlashMoeSeverity.Warning,
        BuildCheckCategory);

    /// <summary>FM0303: the model file exists but cannot be opened or read (not a format error).</summary>
    public static readonly FlashMoeDiagnosticDescriptor ModelFileUnreadable = new(
        "FM0303",
        "Model file cannot be read",
        "The model file '{0}' exists but cannot be read: {1}. The profile was not checked",
        FlashMoeSeverity.Error,
        BuildCheckCategory);

    /// <summary>FM0304: the plan file (<c>flashmoe.plan.json</c>) or a plan picture (<c>flashmoe.plan.&lt;Profile&gt;.svg</c>) cannot be written.</summary>
    public static readonly FlashMoeDiagnosticDescriptor PlanFileNotWritten = new(
        "FM0304",
        "Plan file cannot be written",
        "The build check cannot write its plan file '{0}': {1}. The advice above is complete; tools that read the plan will not see it",
        FlashMoeSeverity.Warning,
        BuildCheckCategory);

    /// <summary>FM0399: an unexpected failure inside the build check (a bug): reported instead of crashing the build.</summary>
    public static readonly FlashMoeDiagnosticDescriptor BuildCheckInternalError = new(
        "FM0399",
        "Build check failed unexpectedly",
        "The FlashMoe build check failed unexpectedly: {0}. Please report it with the profile file attached; set FlashMoeCheck=false to build without the check meanwhile",
        FlashMoeSeverity.Error,
        BuildCheckCategory);
}
