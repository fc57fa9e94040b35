using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Runtime;

/// <summary>
/// Picks the shipped profile that fits the machine the app runs on. A thin adapter: the host comes from
/// <see cref="HostInfo"/> (plus the GPU devices the loaded ggml backend offers), the models from the GGUF headers, and
/// every rejection and the order of preference from Core's <see cref="ProfileSelector"/>.
/// </summary>
public static class ProfileSelectionExtensions
{
    /// <summary>
    /// Selects among <paramref name="profiles"/> (e.g. the generated <c>FlashMoeProfiles.All</c>) for
    /// <paramref name="host"/>, all running <paramref name="model"/>.
    /// </summary>
    /// <param name="profiles">The candidate profiles.</param>
    /// <param name="host">The detected host (<see cref="HostInfo.Detect"/>).</param>
    /// <param name="model">The model the app loads.</param>
    /// <param name="gpuDeviceCount">GPU devices present; null probes the loaded ggml backend (<see cref="CountGpuDevices"/>).</param>
    public static ProfileSelection SelectFor(this IEnumerable<FlashMoeProfile> profiles, HostInfo host, ModelSummary model, int? gpuDeviceCount = null)
    {
        if (host is null) throw new ArgumentNullException(nameof(host));
        return profiles.SelectFor(host.ToHostFacts() with { GpuDeviceCount = gpuDeviceCount ?? CountGpuDevices() }, model);
    }

    /// <summary>
    /// Selects among <paramref name="profiles"/> on this machine, each with its own model file
    /// (<see cref="FlashMoeProfileExtensions.FindModelFile"/>; a profile whose file is not found is rejected as
    /// <c>select.model-missing</c>). The host is detected once, for the first model file found.
    /// </summary>
    /// <param name="profiles">The candidate profiles.</param>
    /// <param name="baseDirectory">Directory relative <c>model.path</c> values are relative to; see <see cref="FlashMoeProfileExtensions.FindModelFile"/>.</param>
    /// <exception cref="GgufFormatException">A profile's model file exists but is not a valid GGUF (FM01xx).</exception>
    public static ProfileSelection SelectForThisHost(this IEnumerable<FlashMoeProfile> profiles, string? baseDirectory = null)
    {
        if (profiles is null) throw new ArgumentNullException(nameof(profiles));
        var list = profiles.ToList();
        var files = new Dictionary<FlashMoeProfile, string?>();
        foreach (var profile in list) files[profile] = profile.FindModelFile(baseDirectory);
        var host = HostInfo.Detect(files.Values.FirstOrDefault(f => f is not null));
        var facts = host.ToHostFacts() with { GpuDeviceCount = CountGpuDevices() };
        var summaries = new Dictionary<string, ModelSummary>(StringComparer.Ordinal);
        return list.SelectFor(facts, profile =>
        {
            if (files[profile] is not { } path) return null;
            if (!summaries.TryGetValue(path, out var summary)) summaries[path] = summary = GgufReader.ReadSummary(path);
            return summary;
        });
    }

    /// <summary>
    /// GPU devices the loaded ggml backend offers (every device whose buffer type is not the CPU's: <c>Vulkan0</c>,
    /// <c>CUDA0</c>, …); null when the native library cannot be asked. With LLamaSharp.Backend.Cpu this is 0.
    /// </summary>
    public static int? CountGpuDevices()
    {
        try
        {
            return FlashMoeModel.BufferTypeNames().Count(name => !name.StartsWith("CPU", StringComparison.Ordinal));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or LLama.Exceptions.RuntimeError)
        {
            return null;
        }
    }
}
