namespace FlashMoe.Generators;

/// <summary>Names of the tracked pipeline steps, so tests can assert what was cached and what re-ran.</summary>
internal static class TrackingNames
{
    /// <summary>Path and text of each profile file.</summary>
    public const string ProfileText = "FlashMoe.ProfileText";
    /// <summary>Each file parsed into a <see cref="FlashMoe.Profiles.ProfileDocument"/>.</summary>
    public const string ProfileDocument = "FlashMoe.ProfileDocument";
    /// <summary>The namespace for the generated class (MSBuild properties).</summary>
    public const string Namespace = "FlashMoe.Namespace";
    /// <summary>All documents plus the namespace: the whole generation model.</summary>
    public const string Model = "FlashMoe.Model";
    /// <summary>What the source output needs (no locations, so moving text around does not regenerate).</summary>
    public const string SourceModel = "FlashMoe.SourceModel";
    /// <summary>What the diagnostics output needs.</summary>
    public const string Diagnostics = "FlashMoe.Diagnostics";
}
