using System.IO;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using FlashMoe.Runtime.Tests.Fixtures;
using FlashMoe.Runtime.Tests.Native;
using Xunit;

namespace FlashMoe.Runtime.Tests;

/// <summary>Runtime's selection adapters: the CPU backend offers no GPU device, and each profile's own model file is looked up.</summary>
[Collection(NativeCollection.Name)]
public sealed class ProfileSelectionTests : IClassFixture<SyntheticModels>
{
    private readonly SyntheticModels _models;

    public ProfileSelectionTests(SyntheticModels models) => _models = models;

    private static FlashMoeProfile Named(string name, string? modelPath, params GpuSpec[] gpus) => new(
        name,
        new HardwareSpec(16, null, CpuSpec.Unknown, gpus.ToEquatableArray(), StorageKind.Unknown),
        new ModelSpec(modelPath, null),
        LoadOptions.Default with { ContextSize = 256 });

    [Fact]
    public void The_cpu_backend_offers_no_gpu_so_a_gpu_profile_is_rejected()
    {
        Assert.Equal(0, ProfileSelectionExtensions.CountGpuDevices());
        var gpu = Named("Gpu", _models.Q8, new GpuSpec("Arc A770", 16, GpuBackend.Vulkan));
        var cpu = Named("Cpu", _models.Q8);

        var selection = new[] { gpu, cpu }.SelectFor(HostInfo.Detect(_models.Q8), GgufReader.ReadSummary(_models.Q8));

        Assert.Same(cpu, selection.Profile);
        Assert.Equal("select.gpu-missing", selection.Candidates.Single(c => c.Profile.Name == "Gpu").Rejection!.RuleId);
    }

    [Fact]
    public void Select_for_this_host_reads_each_profiles_own_model_and_rejects_a_missing_one()
    {
        var directory = Path.GetDirectoryName(_models.Q8)!;
        var present = Named("Present", Path.GetFileName(_models.Q8));
        var missing = Named("Missing", "no-such-model.gguf");

        var selection = new[] { missing, present }.SelectForThisHost(directory);

        Assert.Same(present, selection.Profile);
        Assert.Equal(GgufReader.ReadSummary(_models.Q8).TensorBytes, selection.Selected!.Model.TensorBytes);
        var rejected = selection.Candidates.Single(c => c.Profile.Name == "Missing");
        Assert.Equal("select.model-missing", rejected.Rejection!.RuleId);
        Assert.Contains("no-such-model.gguf", rejected.Reason);
    }
}
