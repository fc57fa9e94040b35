using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace FlashMoe.Tasks;

/// <summary>
/// The build-time memory check behind the <c>FlashMoeCheckProfiles</c> target (build/FlashMoe.targets).
/// This file fixes the contract the package's targets call; the check itself is issue 4's.
/// </summary>
public sealed class FlashMoeCheckProfiles : Task
{
    /// <summary>The profile files (<c>flashmoe.json</c>, <c>*.flashmoe.json</c>) from <c>AdditionalFiles</c>.</summary>
    [Required]
    public ITaskItem[] ProfileFiles { get; set; } = System.Array.Empty<ITaskItem>();

    /// <summary>The profile to check (<c>$(FlashMoeProfile)</c>); empty checks every profile.</summary>
    public string? ProfileName { get; set; }

    /// <summary>Where relative model paths are also looked up (<c>$(FlashMoeModelRoot)</c>).</summary>
    public string? ModelRoot { get; set; }

    /// <summary>The project directory (<c>$(MSBuildProjectDirectory)</c>).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>Where the plan per profile is written (<c>$(IntermediateOutputPath)flashmoe.plan.json</c>).</summary>
    public string? PlanOutputPath { get; set; }

    /// <inheritdoc />
    public override bool Execute()
    {
        // TODO(issue 4): body — read the GGUF headers, plan each profile, log the FM1xxx advice, write the plan.
        Log.LogMessage(MessageImportance.Low, "FlashMoeCheckProfiles: {0} profile file(s); the check is not implemented yet (issue 4).", ProfileFiles.Length);
        return true;
    }
}
