using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>
/// Placement against hand-computed llama.cpp placement (src/llama-model.cpp load_tensors at the commit
/// LLamaSharp 0.30 binds: i_gpu_start = max(n_layer + 1 − ngl, 0), output layer offloaded first).
/// </summary>
public class PlanningPlacementTests
{
    private static readonly DeviceRef Cpu = DeviceRef.Cpu;
    private static readonly DeviceRef G0 = DeviceRef.Gpu(0);
    private static readonly DeviceRef G1 = DeviceRef.Gpu(1);

    private static MemoryPlan PlanFor(ModelSummary model, int gpuLayers, GpuSpec[] gpus, params TensorOverride[] overrides)
    {
        var host = HostFacts.FromProfile(Profile(64, gpus: gpus).Hardware);
        var options = new ResolvedLoadOptions
        {
            GpuLayerCount = gpuLayers,
            ContextSize = 512,
            BatchSize = 512,
            UBatchSize = 512,
            Threads = 4,
            BatchThreads = 4,
            TensorOverrides = overrides.ToEquatableArray(),
        };
        return MemoryPlanner.Plan(options, model, host);
    }

    private static DeviceRef DeviceOf(MemoryPlan plan, string tensor) => plan.Tensors.Single(t => t.Name == tensor).Device;

    [Theory]
    // ngl: expected devices of layers 0..3 and the output layer ("C" = CPU, "G" = GPU0).
    [InlineData(0, "CCCC", 'C')]
    [InlineData(1, "CCCC", 'G')] // the output layer goes first (PR 18148)
    [InlineData(2, "CCCG", 'G')]
    [InlineData(4, "CGGG", 'G')] // ngl = n_layer leaves block 0 on the CPU
    [InlineData(5, "GGGG", 'G')]
    [InlineData(99, "GGGG", 'G')]
    public void Single_gpu_offloads_output_first_then_the_last_layers(int ngl, string layers, char output)
    {
        var plan = PlanFor(Dense(4, GgmlType.Q8_0), ngl, new[] { Gpu("A770", 16) });

        var expected = layers.Select(c => c == 'G' ? G0 : Cpu).ToArray();
        Assert.Equal(expected, plan.LayerDevices.ToArray());
        Assert.Equal(output == 'G' ? G0 : Cpu, plan.OutputDevice);
        Assert.Equal(Cpu, DeviceOf(plan, "token_embd.weight")); // dev_input is always the CPU
        Assert.Equal(plan.OutputDevice, DeviceOf(plan, "output.weight"));
        Assert.Equal(plan.OutputDevice, DeviceOf(plan, "output_norm.weight"));
        Assert.Equal(layers.Count(c => c == 'G') + (output == 'G' ? 1 : 0), plan.OffloadedLayerCount);
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], DeviceOf(plan, $"blk.{i}.ffn_down.weight"));
    }

    [Fact]
    public void Without_a_gpu_every_layer_stays_on_the_cpu_whatever_ngl_says()
    {
        var plan = PlanFor(Dense(4, GgmlType.Q8_0), 5, System.Array.Empty<GpuSpec>());

        Assert.All(plan.LayerDevices, d => Assert.True(d.IsCpu));
        Assert.True(plan.OutputDevice.IsCpu);
        Assert.Equal(0, plan.OffloadedLayerCount);
        Assert.Equal(plan.Tensors.Sum(t => t.Bytes), plan.Cpu.WeightBytes);
    }

    [Fact]
    public void Gpu_weights_are_the_bytes_of_the_offloaded_layers_and_output()
    {
        var model = Dense(4, GgmlType.Q8_0);
        var plan = PlanFor(model, 3, new[] { Gpu("A770", 16) });

        // ngl 3 on 4 layers: output + layers 2, 3.
        var expectedGpu = model.Tensors.Where(t => t.Layer is 2 or 3 || t.Role == TensorRole.Output).Sum(t => t.Bytes);
        Assert.Equal(expectedGpu, plan.Devices[1].WeightBytes);
        Assert.Equal(model.TensorBytes - expectedGpu, plan.Cpu.WeightBytes);
        Assert.Equal(2, plan.Devices[1].LayerCount);
        Assert.True(plan.Devices[1].HoldsOutputLayer);
    }

    [Fact]
    public void Explicit_override_wins_over_the_layer_and_the_first_match_wins()
    {
        var model = Dense(4, GgmlType.Q8_0);
        var plan = PlanFor(model, 5, new[] { Gpu("a", 16), Gpu("b", 16) },
            new TensorOverride(@"blk\.3\.ffn_(up|gate)", "CPU"),
            new TensorOverride(@"ffn_up", "Vulkan0"),
            new TensorOverride(@"attn_q", "Vulkan1"));

        Assert.Equal(Cpu, DeviceOf(plan, "blk.3.ffn_up.weight"));    // first match
        Assert.Equal(Cpu, DeviceOf(plan, "blk.3.ffn_gate.weight"));
        Assert.Equal(G0, DeviceOf(plan, "blk.2.ffn_up.weight"));     // second pattern (regex_search, unanchored)
        Assert.Equal(G1, DeviceOf(plan, "blk.0.attn_q.weight"));     // layer 0 would be GPU0 by split
        Assert.Equal(@"blk\.3\.ffn_(up|gate)", plan.Tensors.Single(t => t.Name == "blk.3.ffn_up.weight").OverridePattern);
        Assert.Null(plan.Tensors.Single(t => t.Name == "blk.3.ffn_down.weight").OverridePattern);
    }

    [Fact]
    public void Experts_on_cpu_all_keeps_every_routed_expert_on_the_cpu_and_the_rest_on_the_gpu()
    {
        var model = Moe(4, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var overrides = LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.All).ToArray();
        var plan = PlanFor(model, 5, new[] { Gpu("A770", 16) }, overrides);

        Assert.All(plan.Tensors.Where(t => t.Role == TensorRole.ExpertFfn), t => Assert.Equal(Cpu, t.Device));
        Assert.All(plan.Tensors.Where(t => t.Role is TensorRole.Attention or TensorRole.ExpertRouter or TensorRole.Norm), t => Assert.Equal(G0, t.Device));
        var experts = model.Tensors.Where(t => t.Role == TensorRole.ExpertFfn).Sum(t => t.Bytes);
        var embedding = model.Tensors.Single(t => t.Role == TensorRole.TokenEmbedding).Bytes;
        Assert.Equal(experts + embedding, plan.Cpu.WeightBytes);
    }

    [Fact]
    public void Experts_on_cpu_first_n_matches_only_those_blocks_like_n_cpu_moe()
    {
        var model = Moe(12, 8, 2, GgmlType.Q4_0, GgmlType.Q8_0);
        var overrides = LlamaPlacement.ExpertsOnCpuOverrides(ExpertsOnCpu.FirstLayers(2)).ToArray();
        var plan = PlanFor(model, 13, new[] { Gpu("A770", 16) }, overrides);

        Assert.Equal(@"blk\.0\.ffn_(up|down|gate|gate_up)_(ch|)exps", overrides[0].Pattern);
        for (var layer = 0; layer < 12; layer++)
        {
            var expected = layer < 2 ? Cpu : G0; // blk\.1\. must not catch blk.11
            Assert.Equal(expected, DeviceOf(plan, $"blk.{layer}.ffn_up_exps.weight"));
            Assert.Equal(expected, DeviceOf(plan, $"blk.{layer}.ffn_down_exps.weight"));
            Assert.Equal(G0, DeviceOf(plan, $"blk.{layer}.ffn_gate_inp.weight"));
        }
    }

    [Fact]
    public void Two_gpus_split_layers_in_proportion_to_vram()
    {
        // 8 layers, ngl 9: act = 9, splits = [8/32, 1] = [0.25, 1]; layer il → GPU0 while il/9 < 0.25 (il ≤ 2).
        var plan = PlanFor(Dense(8, GgmlType.Q8_0), 9, new[] { Gpu("small", 8), Gpu("big", 24) });

        Assert.Equal(new[] { G0, G0, G0, G1, G1, G1, G1, G1 }, plan.LayerDevices.ToArray());
        Assert.Equal(G1, plan.OutputDevice); // 8/9 ≥ 0.25
        Assert.Equal(3, plan.Devices[1].LayerCount);
        Assert.Equal(5, plan.Devices[2].LayerCount);
    }

    [Fact]
    public void Two_gpus_split_by_explicit_ratios_and_partial_offload()
    {
        // Explicit 3:1 → splits [0.75, 1]: il/9 < 0.75 → il ≤ 6 on GPU0.
        var ratios = PlanFor(Dense(8, GgmlType.Q8_0), 9, new[] { Gpu("a", 8, 3), Gpu("b", 24, 1) });
        // The resolver turns SplitRatio into TensorSplits; here the planner is called directly, so pass them.
        var host = HostFacts.FromProfile(Profile(64, gpus: new[] { Gpu("a", 8), Gpu("b", 24) }).Hardware);
        var explicitPlan = MemoryPlanner.Plan(new ResolvedLoadOptions
        {
            GpuLayerCount = 9, ContextSize = 512, BatchSize = 512, UBatchSize = 512,
            TensorSplits = new[] { 3f, 1f }.ToEquatableArray(),
        }, Dense(8, GgmlType.Q8_0), host);

        Assert.Equal(new[] { G0, G0, G0, G0, G0, G0, G0, G1 }, explicitPlan.LayerDevices.ToArray());
        Assert.Equal(G1, explicitPlan.OutputDevice);
        Assert.Equal(new[] { G0, G0, G0, G1, G1, G1, G1, G1 }, ratios.LayerDevices.ToArray()); // no TensorSplits: by VRAM

        // Partial: ngl 4 on 8 layers → i_gpu_start 5, act 4: il 5 → 0/4 → GPU0; 6 → 0.25 (not < 0.25) → GPU1; 7, output → GPU1.
        var partial = PlanFor(Dense(8, GgmlType.Q8_0), 4, new[] { Gpu("small", 8), Gpu("big", 24) });
        Assert.Equal(new[] { Cpu, Cpu, Cpu, Cpu, Cpu, G0, G1, G1 }, partial.LayerDevices.ToArray());
        Assert.Equal(G1, partial.OutputDevice);
    }

    [Fact]
    public void Resolver_uses_declared_split_ratios()
    {
        var profile = Profile(64, o => o with { GpuLayers = GpuLayers.All }, gpus: new[] { Gpu("a", 8, 3), Gpu("b", 24, 1) });
        var resolved = ProfileResolver.Resolve(profile, Dense(8, GgmlType.Q8_0));

        Assert.Equal(new[] { 3f, 1f }, resolved.Options.TensorSplits.ToArray());
        Assert.Equal(7, resolved.Plan.Devices[1].LayerCount);
    }

    [Fact]
    public void Tied_embeddings_duplicate_token_embd_onto_the_output_device()
    {
        var model = Dense(4, GgmlType.Q8_0, tiedOutput: true);
        var embedding = model.Tensors.Single(t => t.Name == "token_embd.weight").Bytes;

        var offloaded = PlanFor(model, 1, new[] { Gpu("A770", 16) });
        var duplicate = offloaded.Tensors.Single(t => t.IsDuplicate);
        Assert.Equal("output.weight", duplicate.Name);
        Assert.Equal(G0, duplicate.Device);
        Assert.Equal(embedding + model.Tensors.Single(t => t.Name == "output_norm.weight").Bytes, offloaded.Devices[1].WeightBytes);
        Assert.Equal(Cpu, DeviceOf(offloaded, "token_embd.weight"));
    }

    [Fact]
    public void Cpu_repack_and_gpu_overrides_that_cannot_apply_are_reported_not_applied()
    {
        var plan = PlanFor(Dense(4, GgmlType.Q8_0), 5, new[] { Gpu("A770", 16) },
            new TensorOverride("ffn_up", "CPU_REPACK"),
            new TensorOverride("ffn_gate", "Vulkan3"),
            new TensorOverride("ffn_(down", "CPU"));

        Assert.Equal(3, plan.IgnoredOverrides.Count);
        Assert.All(plan.Tensors.Where(t => t.Layer is not null), t => Assert.Equal(G0, t.Device));
        Assert.Contains("CPU_REPACK", plan.IgnoredOverrides[0].Reason);
        Assert.Contains("Vulkan3", plan.IgnoredOverrides[1].Reason);
        Assert.Contains("regex", plan.IgnoredOverrides[2].Reason);
    }

    // Nested quantifiers over the whole name, then a character no tensor name has: exponential backtracking on every
    // name, far beyond LlamaPlacement.RegexTimeout.
    private const string Catastrophic = @"^(([\w.]+)+)+!";

    [Fact]
    public void A_catastrophic_pattern_is_ignored_after_its_first_timeout()
    {
        var model = Dense(64, GgmlType.Q8_0); // 579 tensors: a timeout per tensor would take minutes
        var plan = PlanFor(model, 65, new[] { Gpu("A770", 16) },
            new TensorOverride(Catastrophic, "CPU"),
            new TensorOverride("ffn_up", "CPU"));

        var ignored = Assert.Single(plan.IgnoredOverrides);
        Assert.Equal(0, ignored.Index);
        Assert.Equal(Catastrophic, ignored.Pattern);
        Assert.Contains("'token_embd.weight' took longer than 250 ms", ignored.Reason); // dropped at the first tensor
        Assert.All(plan.Tensors.Where(t => t.Name.Contains("ffn_up")), t => Assert.Equal(Cpu, t.Device)); // the next override still applies
        Assert.All(plan.Tensors.Where(t => t.Layer is not null && !t.Name.Contains("ffn_up")), t => Assert.Equal(G0, t.Device));
    }

    [Fact]
    public void Tensors_matched_before_the_timeout_are_placed_as_if_the_override_never_was()
    {
        // The first branch matches token_embd (tensor 0) at once; every other name reaches the catastrophic branch.
        var plan = PlanFor(Dense(4, GgmlType.Q8_0), 5, new[] { Gpu("A770", 16) }, new TensorOverride("token_embd|" + Catastrophic, "Vulkan0"));

        var ignored = Assert.Single(plan.IgnoredOverrides);
        Assert.Contains("'blk.0.attn_norm.weight' took longer than", ignored.Reason);
        var embedding = plan.Tensors.Single(t => t.Name == "token_embd.weight");
        Assert.Equal(Cpu, embedding.Device); // dev_input, not the dropped override's Vulkan0
        Assert.Null(embedding.OverridePattern);
    }

    [Fact]
    public void A_timed_out_override_is_FM1010_with_the_reason()
    {
        var profile = Profile(64, o => o with { TensorOverrides = new[] { new TensorOverride(Catastrophic, "CPU") }.ToEquatableArray() });
        var advice = Assert.Single(ProfileResolver.Resolve(profile, Dense(4, GgmlType.Q8_0)).Advice, a => a.Id == "FM1010");
        Assert.Equal("load.tensorOverrides[0]", advice.PropertyPath);
        Assert.Contains("took longer than 250 ms", advice.Diagnostic.Message);
    }

    [Fact]
    public void Host_buffer_names_mean_the_cpu()
    {
        var plan = PlanFor(Dense(4, GgmlType.Q8_0), 5, new[] { Gpu("A770", 16) }, new TensorOverride("ffn_up", "Vulkan_Host"));
        Assert.Equal(Cpu, DeviceOf(plan, "blk.0.ffn_up.weight"));
        Assert.Empty(plan.IgnoredOverrides);
    }
}
