namespace FlashMoe.Diagnostics;

/// <summary>
/// Where the project lives, for links that must work outside a clone (IDE help links of the diagnostics).
/// The build's RepositoryUrl / PackageProjectUrl (Directory.Build.props) carry the same text; a Core test keeps
/// the two equal, so a move of the repository is one edit there and one here, caught if either is forgotten.
/// </summary>
internal static class ProjectRepository
{
    /// <summary>The repository's web address, without a trailing slash.</summary>
    public const string Url = "https://github.com/flashmoe/flashmoe";

    /// <summary>The diagnostics reference on the default branch; each ID's section is its lower-case anchor.</summary>
    public const string DiagnosticsPage = Url + "/blob/main/docs/diagnostics.md";
}
