using System;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>
/// THE SEED CASE (docs/evidence.md#the-seed-case): 128 GiB RAM, one 16 GiB Arc A770 (Vulkan), a ≈ 130 GB DeepSeek-R1
/// IQ1_S-class MoE with experts on CPU and every other layer on the GPU. llama.cpp's default mmap ran at 1.5 tok/s,
/// --no-mmap at 2.4 tok/s; no-mmap only fits because the GPU took its share.
/// </summary>
public class AdviceSeedCaseTests
{
    private static readonly Lazy<ModelSummary> Seed = new(SeedDeepSeekR1);

    private static FlashMoeProfile SeedProfile(AutoSwitch mmap, GpuLayers? gpuLayers = null) => Profile(
        128,
        o => o with
        {
            Mmap = mmap,
            GpuLayers = gpuLayers ?? GpuLayers.All,
            ExpertsOnCpu = ExpertsOnCpu.All,
            ContextSize = 4096,
            UBatchSize = 512,
        },
        gpus: new[] { Gpu("Arc A770", 16) },
        physical: 6,
        logical: 12,
        avx2: true,
        storage: StorageKind.Nvme);

    [Fact]
    public void The_fixture_is_the_seed_model_class()
    {
        var model = Seed.Value;
        Assert.InRange(model.FileSizeBytes / (double)Units.GB, 125, 135);   // "~130 GB" decimal
        Assert.InRange(Gib(model.FileSizeBytes), 118, 126);                   // ≈ 121 GiB class
        Assert.Equal(61, model.BlockCount);
        Assert.Equal(256, model.ExpertCount);
        Assert.Equal(8, model.ExpertUsedCount);
        Assert.Equal(3, model.LeadingDenseBlockCount);
        Assert.True(KvCacheEstimator.IsMla(model));
    }

    [Fact]
    public void Mmap_true_gives_FM1002_and_not_FM1001()
    {
        var r = ProfileResolver.Resolve(SeedProfile(AutoSwitch.On), Seed.Value);

        Assert.DoesNotContain(r.Advice, a => a.Id == "FM1001");
        var advice = Assert.Single(r.Advice, a => a.Id == "FM1002");
        Assert.Equal(FlashMoeSeverity.Warning, advice.Diagnostic.Severity);
        Assert.Contains("pinned host buffers", advice.Diagnostic.Message);
        Assert.Contains("1.5 → 2.4 tok/s", advice.Diagnostic.Message);
        Assert.False(r.HasErrors);
    }

    [Fact]
    public void Mmap_false_gives_neither_FM1001_nor_FM1002()
    {
        var r = ProfileResolver.Resolve(SeedProfile(AutoSwitch.Off), Seed.Value);

        Assert.DoesNotContain(r.Advice, a => a.Id is "FM1001" or "FM1002");
        Assert.False(r.HasErrors);
        Assert.False(r.Options.UseMmap);
    }

    [Fact]
    public void The_host_share_after_offload_is_what_must_fit()
    {
        var r = ProfileResolver.Resolve(SeedProfile(AutoSwitch.Off), Seed.Value);
        var h = r.Plan.Host;
        var experts = Seed.Value.Tensors.Where(t => t.Role == TensorRole.ExpertFfn).Sum(t => t.Bytes);
        var embedding = Seed.Value.Tensors.Single(t => t.Role == TensorRole.TokenEmbedding).Bytes;

        Assert.Equal(experts + embedding, h.CpuWeightBytes);                 // the GPU holds everything else
        Assert.True(h.CpuWeightBytes < Seed.Value.FileSizeBytes);
        Assert.True(Seed.Value.FileSizeBytes > h.UsableBytes * 0.97);          // the whole file would barely or not fit…
        Assert.True(h.NoMmapFits);                                             // …but the host share does
        Assert.Equal(128 * Units.GiB - (long)(128 * Units.GiB * 0.03), h.UsableBytes);
        Assert.Equal(0, h.RepackedBytes);                                      // beside a GPU: pinned host buffers, no repack
        Assert.True(r.Plan.Devices[1].Fits);
        Assert.Equal(62, r.Plan.OffloadedLayerCount);
        Assert.Equal(4096L * 61 * 1152, r.Plan.Devices[1].KvCacheBytes);       // MLA latent cache on the GPU
    }

    [Fact]
    public void Auto_resolves_to_no_mmap_for_the_pinned_buffers()
    {
        var r = ProfileResolver.Resolve(SeedProfile(AutoSwitch.Auto, GpuLayers.Auto), Seed.Value);

        Assert.False(r.Options.UseMmap);
        Assert.Equal("mmap.pinned-host-buffers", r.DecisionFor("load.mmap")!.RuleId);
        Assert.Equal(62, r.Options.GpuLayerCount); // with experts on CPU, every layer and the output fit 16 GiB
        Assert.Equal(6, r.Options.Threads);        // threads = physical cores
        Assert.Empty(r.Advice);
    }
}
