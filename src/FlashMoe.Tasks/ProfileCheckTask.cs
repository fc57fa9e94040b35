using System;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;
using Task = Microsoft.Build.Utilities.Task;

namespace FlashMoe.Tasks;

/// <summary>The parameters both check tasks take (build/FlashMoe.targets passes the same values to each).</summary>
public abstract class ProfileCheckTask : Task
{
    /// <summary>The profile files (<c>flashmoe.json</c>, <c>*.flashmoe.json</c>) from <c>AdditionalFiles</c>.</summary>
    [Required]
    public ITaskItem[] ProfileFiles { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The profile to check (<c>$(FlashMoeProfile)</c>; several may be separated by <c>;</c>); empty checks every profile.</summary>
    public string? ProfileName { get; set; }

    /// <summary>Where relative model paths are also looked up (<c>$(FlashMoeModelRoot)</c>; relative to <see cref="ProjectDirectory"/>).</summary>
    public string? ModelRoot { get; set; }

    /// <summary>The project directory (<c>$(MSBuildProjectDirectory)</c>).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>Where the plan per profile is written (<c>$(IntermediateOutputPath)flashmoe.plan.json</c>); empty writes none.</summary>
    public string? PlanOutputPath { get; set; }

    /// <summary>
    /// Where the result of the last check is kept (<c>$(IntermediateOutputPath)flashmoe.check.cache</c>); empty keeps
    /// none. With unchanged inputs the next build logs the same diagnostics from it without checking again.
    /// </summary>
    public string? CachePath { get; set; }

    /// <summary>The parameters as one comparable value.</summary>
    internal CheckParameters Parameters() => new(
        (ProfileFiles ?? Array.Empty<ITaskItem>()).Where(i => i is not null).Select(i => i.ItemSpec).ToEquatableArray(),
        ProfileName, ModelRoot,
        string.IsNullOrWhiteSpace(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory!,
        PlanOutputPath, CachePath);

    /// <summary>The key a started check is registered under with MSBuild for the rest of the build.</summary>
    internal static string StartedCheckKey(string token) => "FlashMoe.Tasks.StartedCheck:" + token;
}
