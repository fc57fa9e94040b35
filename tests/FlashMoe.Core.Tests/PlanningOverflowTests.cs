using System;
using System.Linq;
using FlashMoe.Core.Tests.Gguf;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>
/// Values each within its own limit can still multiply past 64 bits (a u32 width times 2^31 tokens): the estimates
/// saturate at <see cref="ComputeBufferEstimator.SaturatedBytes"/> and plan as "does not fit" instead of throwing
/// OverflowException out of the resolver (which the build check could only report as a bug).
/// </summary>
public class PlanningOverflowTests
{
    /// <summary>A 4-layer GGUF whose chosen widths are at what llama.cpp reads (u32; 512 experts).</summary>
    private static ModelSummary AtLimits(string which)
    {
        var all = which == "all";
        var b = new GgufBytes()
            .Add("general.architecture", Val.Str("llama"))
            .Add("llama.block_count", Val.U32(4))
            .Add("llama.embedding_length", Val.U32(which is "embd" || all ? uint.MaxValue : 4096))
            .Add("llama.attention.head_count", Val.U32(which is "heads" || all ? int.MaxValue : 32u))
            .Add("llama.attention.key_length", Val.U32(which is "heads" || all ? int.MaxValue : 128u))
            .Add("llama.context_length", Val.U32(which is "ctx" || all ? uint.MaxValue : 4096))
            .Add("llama.feed_forward_length", Val.U32(which is "ff" || all ? uint.MaxValue : 4096))
            .Add("llama.vocab_size", Val.U32(which is "vocab" || all ? uint.MaxValue : 4096));
        if (which is "moe" || all)
        {
            b.Add("llama.expert_count", Val.U32(ModelLimits.MaxExperts)).Add("llama.expert_used_count", Val.U32(ModelLimits.MaxExperts))
             .Add("llama.expert_feed_forward_length", Val.U32(uint.MaxValue)).Add("llama.expert_shared_count", Val.U32(int.MaxValue));
        }
        return GgufReaderTests.Read(b.Build()).ToSummary();
    }

    [Theory]
    [InlineData("embd")]
    [InlineData("heads")]
    [InlineData("moe")]
    [InlineData("all")]
    public void A_model_with_u32_sized_widths_plans_as_not_fitting_instead_of_throwing(string which)
    {
        var model = AtLimits(which);

        var cpuOnly = ProfileResolver.Resolve(Profile(64), model);
        var withGpu = ProfileResolver.Resolve(Profile(64, gpus: new[] { Gpu("A770", 16) }), model);

        Assert.False(cpuOnly.Plan.Host.NoMmapFits);
        Assert.InRange(cpuOnly.Plan.Cpu.TotalBytes, 64L << 30, 4 * ComputeBufferEstimator.SaturatedBytes);
        Assert.All(withGpu.Plan.Devices, d => Assert.InRange(d.TotalBytes, 0, 4 * ComputeBufferEstimator.SaturatedBytes));
        Assert.False(withGpu.Plan.Devices[1].Fits && withGpu.Plan.Host.NoMmapFits);
    }

    [Fact]
    public void A_context_and_ubatch_of_2_pow_31_tokens_saturate_the_compute_buffer()
    {
        // Every value is within the profile format's range (1 … int.MaxValue); the KQ scores alone are 2^69 bytes.
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var profile = Profile(64, o => o with { ContextSize = int.MaxValue, BatchSize = int.MaxValue, UBatchSize = int.MaxValue, FlashAttention = AutoSwitch.Off });

        var resolved = ProfileResolver.Resolve(profile, model);

        Assert.Equal(ComputeBufferEstimator.SaturatedBytes, resolved.Plan.Cpu.ComputeBytes);
        Assert.False(resolved.Plan.Host.NoMmapFits);
        Assert.Contains(resolved.Advice, a => a.Id == "FM1003"); // the host share does not fit even with mmap
    }

    [Fact]
    public void Saturation_leaves_ordinary_estimates_untouched()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var bytes = ComputeBufferEstimator.WholeGraphBytes(model, 512, 512, 4096, false);
        Assert.InRange(bytes, 1, ComputeBufferEstimator.SaturatedBytes / 1_000_000);
        Assert.Equal(KvCacheEstimator.LayerBytes(model, 4096, KvCacheType.F16, KvCacheType.F16).Sum(),
            KvCacheEstimator.TotalBytes(model, 4096, KvCacheType.F16, KvCacheType.F16));
        Assert.Equal(4096L * 4 * 64 * 2 * 2, KvCacheEstimator.LayerBytes(model, 4096, KvCacheType.F16, KvCacheType.F16)[0]); // cells × kv heads × head dim × (K+V) × f16
    }
}
