using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using LLama.Common;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime;

/// <summary>
/// Resolves profiles on the machine the app runs on. A thin adapter: the model comes from the GGUF header (or the
/// profile's declared facts), the host from <see cref="HostInfo"/>, and every decision and every advice rule
/// (FM1xxx plan rules and FM2xxx host rules) from Core's <see cref="ProfileResolver"/>.
/// </summary>
public static class FlashMoeProfileExtensions
{
    /// <summary>
    /// Resolves every <c>auto</c> of <paramref name="profile"/> for <paramref name="host"/>: the concrete options,
    /// each decision with its rule ID and reason, the memory plan and the advice that applies on this host.
    /// </summary>
    /// <param name="profile">The profile (e.g. a generated <c>FlashMoeProfiles</c> property).</param>
    /// <param name="host">The detected (<see cref="HostInfo.Detect"/>) or hand-made host.</param>
    /// <param name="model">
    /// The model's summary. When null, the header of the profile's <c>model.path</c> is read if that file exists
    /// (see <see cref="FindModelFile"/> for how a relative path is resolved), else the summary is built from the
    /// profile's declared facts (<see cref="DeclaredModel.FromSpec"/>; FM1007 then lists what was assumed).
    /// </param>
    /// <param name="baseDirectory">Directory a relative <c>model.path</c> is relative to; see <see cref="FindModelFile"/>.</param>
    /// <exception cref="GgufFormatException">The profile's model file exists but is not a valid GGUF (FM01xx).</exception>
    public static ResolvedProfile Resolve(this FlashMoeProfile profile, HostInfo host, ModelSummary? model = null, string? baseDirectory = null)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        if (host is null) throw new ArgumentNullException(nameof(host));
        model ??= ReadModel(profile, baseDirectory);
        return ProfileResolver.Resolve(profile, model, host.ToHostFacts());
    }

    /// <summary>
    /// The model summary the profile describes: the header of its model file when <see cref="FindModelFile"/>
    /// finds it (only the header is read), else its declared facts.
    /// </summary>
    /// <exception cref="GgufFormatException">The file exists but is not a valid GGUF (FM01xx).</exception>
    public static ModelSummary ReadModel(this FlashMoeProfile profile, string? baseDirectory = null)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        var path = profile.FindModelFile(baseDirectory);
        return path is null ? DeclaredModel.FromSpec(profile.Model) : GgufReader.ReadSummary(path);
    }

    /// <summary>
    /// The existing file the profile's <c>model.path</c> names, or null (no path, or no such file). A leading
    /// <c>~/</c> is the user's home directory. An absolute path is taken as is. A relative path is looked up in
    /// <paramref name="baseDirectory"/> when given (only there); otherwise first in
    /// <see cref="AppContext.BaseDirectory"/> (where the app's files are deployed), then in the current directory.
    /// The build check resolves the same path relative to the <c>flashmoe.json</c> file instead: copy the model
    /// next to the app, or pass the directory that holds it.
    /// </summary>
    public static string? FindModelFile(this FlashMoeProfile profile, string? baseDirectory = null)
    {
        if (profile is null) throw new ArgumentNullException(nameof(profile));
        foreach (var candidate in ModelPathCandidates(profile.Model.Path, baseDirectory))
        {
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Where a <c>model.path</c> may be, in lookup order (see <see cref="FindModelFile"/>).</summary>
    internal static IEnumerable<string> ModelPathCandidates(string? path, string? baseDirectory)
    {
        // Core's ModelLocator forms the paths (home expansion, separators, guards) for the build check too; the
        // runtime only chooses the base directories: the given one, else where the app is deployed, then the
        // current directory.
        var bases = string.IsNullOrEmpty(baseDirectory)
            ? new[] { AppContext.BaseDirectory, Environment.CurrentDirectory }
            : new[] { baseDirectory! };
        return bases.SelectMany(directory => ModelLocator.Candidates(path, directory)).Select(Path.GetFullPath).Distinct().ToList();
    }
}

/// <summary>Applies a <see cref="ResolvedProfile"/> to LLamaSharp.</summary>
public static class ResolvedProfileExtensions
{
    /// <summary>
    /// The <see cref="ModelParams"/> for <paramref name="modelPath"/> with exactly the resolved options (see
    /// <see cref="ResolvedLoadOptionsExtensions.ToModelParams"/>). Options LLamaSharp 0.30 cannot express are not
    /// dropped silently: they are logged as warnings to <paramref name="logger"/>, listed by
    /// <see cref="GetUnsupported"/>, shown in the <see cref="PlanReport"/> and kept on the <see cref="LoadedModel"/>.
    /// </summary>
    /// <param name="resolved">The resolved profile.</param>
    /// <param name="modelPath">The GGUF file.</param>
    /// <param name="logger">Receives one warning per option that cannot be applied.</param>
    public static ModelParams ToModelParams(this ResolvedProfile resolved, string modelPath, ILogger? logger = null)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        var parameters = resolved.Options.ToModelParams(modelPath);
        if (logger is not null)
        {
            foreach (var note in resolved.GetUnsupported()) logger.LogWarning("Not applied by LLamaSharp 0.30: {Note}", note);
        }
        return parameters;
    }

    /// <summary>The resolved options LLamaSharp 0.30's <see cref="ModelParams"/> cannot express, each with what happens instead.</summary>
    public static IReadOnlyList<string> GetUnsupported(this ResolvedProfile resolved)
    {
        if (resolved is null) throw new ArgumentNullException(nameof(resolved));
        return resolved.Options.GetUnsupported();
    }

    /// <summary>The printable plan: host facts, decisions with rule IDs and reasons, options, memory plan and advice (<see cref="PlanReport.Render"/>).</summary>
    /// <param name="resolved">The resolved profile.</param>
    /// <param name="host">The detected host, for its full description; null describes <see cref="ResolvedProfile.Host"/>.</param>
    public static string DescribePlan(this ResolvedProfile resolved, HostInfo? host = null) => PlanReport.Render(resolved, host);
}
