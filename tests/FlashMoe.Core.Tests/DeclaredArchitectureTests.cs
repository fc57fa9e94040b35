using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;
using static FlashMoe.Core.Tests.PlanningTestModels;

namespace FlashMoe.Core.Tests;

/// <summary>
/// <c>model.architecture</c> in declared facts: the parser reads it, the summary takes every undeclared fact from the
/// architecture's reference model, and the plan replays that architecture's graph.
/// </summary>
public class DeclaredArchitectureTests
{
    private static ProfileDocument Parse(string architecture) => ProfileParser.Parse("/p/flashmoe.json",
        "{ \"profiles\": { \"p\": { \"hardware\": { \"ramGiB\": 128 }, \"model\": { \"sizeGiB\": 121, \"architecture\": " + architecture + " } } } }");

    [Theory]
    [InlineData("\"deepseek2\"", ModelArchitecture.DeepSeek2)]
    [InlineData("\"qwen3moe\"", ModelArchitecture.Qwen3Moe)]
    [InlineData("\"gpt-oss\"", ModelArchitecture.GptOss)]
    [InlineData("\"llama\"", ModelArchitecture.Llama)]
    [InlineData("null", null)]
    public void Parser_reads_the_architecture(string json, ModelArchitecture? expected)
    {
        var parsed = Parse(json);
        Assert.Empty(parsed.Diagnostics);
        Assert.Equal(expected, parsed.Profiles.Single().Profile.Model.Architecture);
    }

    [Fact]
    public void Parser_rejects_an_unknown_architecture_with_a_located_error()
    {
        var parsed = Parse("\"mixtral\"");
        var error = Assert.Single(parsed.Diagnostics);
        Assert.Contains("model.architecture", error.Message);
        Assert.Contains("deepseek2", error.Message);
    }

    [Fact]
    public void Deepseek2_declared_facts_take_deepseek_r1_shape_and_plan_the_latent_cache()
    {
        var model = DeclaredModel.FromSpec(new ModelSpec(null, 121, Architecture: ModelArchitecture.DeepSeek2));
        Assert.Equal(ModelArchitectures.DeepSeek2, model.Architecture);
        Assert.Equal(61, model.BlockCount);
        Assert.Equal(7168, model.EmbeddingLength);
        Assert.Equal(256, model.ExpertCount);
        Assert.Equal(8, model.ExpertUsedCount);
        Assert.Equal(1, model.ExpertSharedCount);
        Assert.Equal(3, model.LeadingDenseBlockCount);
        Assert.True(KvCacheEstimator.IsMla(model));
        Assert.DoesNotContain(model.Assumptions, a => a.Contains("llama") || a.Contains("4096 embd"));
        Assert.Contains(model.Assumptions, a => a.Contains("DeepSeek-R1"));

        // One latent row of kv_lora 512 + RoPE 64 per layer and cell, f16: 61 × 576 × 2 bytes per token.
        var options = new ResolvedLoadOptions { ContextSize = 8192, BatchSize = 512, UBatchSize = 512 };
        var plan = MemoryPlanner.Plan(options, model, HostFacts.FromProfile(Profile(128).Hardware));
        Assert.Equal(8192L * 61 * 576 * 2, plan.KvCacheBytes);
        // The llama-3-8B guess it replaces: 32 layers × 8 KV heads × 128 × (K + V) × 2 bytes per token.
        var guess = MemoryPlanner.Plan(options, DeclaredModel.FromSpec(new ModelSpec(null, 121, ExpertCount: 256)), HostFacts.FromProfile(Profile(128).Hardware));
        Assert.Equal(8192L * 32 * 8 * 128 * 2 * 2, guess.KvCacheBytes);
    }

    [Fact]
    public void Gpt_oss_declared_facts_plan_the_sliding_window_cache()
    {
        var model = DeclaredModel.FromSpec(new ModelSpec(null, 12, Architecture: ModelArchitecture.GptOss));
        Assert.Equal(24, model.BlockCount);
        Assert.Equal(128, model.SlidingWindow);
        var options = new ResolvedLoadOptions { ContextSize = 32768, BatchSize = 512, UBatchSize = 512, SwaFull = false };
        var plan = MemoryPlanner.Plan(options, model, HostFacts.FromProfile(Profile(64).Hardware));
        // 12 full layers × 32 768 cells + 12 window layers × pad(128 + 512, 256) = 768 cells; 8 KV heads × 64 × (K + V) × 2 bytes.
        Assert.Equal((12L * 32768 + 12L * 768) * 8 * 64 * 2 * 2, plan.KvCacheBytes);
    }

    [Fact]
    public void Load_swa_full_false_reaches_the_plan_as_a_window_sized_cache()
    {
        const string Json = "{ \"profiles\": { \"p\": { \"hardware\": { \"ramGiB\": 64 }, \"model\": { \"sizeGiB\": 12, \"architecture\": \"gpt-oss\" }, " +
            "\"load\": { \"contextSize\": 32768, \"ubatchSize\": 512, \"swaFull\": false } } } }";
        var parsed = ProfileParser.Parse("/p/flashmoe.json", Json);
        Assert.Empty(parsed.Diagnostics);
        var profile = parsed.Profiles.Single().Profile;
        Assert.False(profile.Load.SwaFull);

        var windowed = ProfileResolver.Resolve(profile, DeclaredModel.FromSpec(profile.Model));
        Assert.False(windowed.Options.SwaFull);
        var full = ProfileResolver.Resolve(profile with { Load = profile.Load with { SwaFull = true } }, DeclaredModel.FromSpec(profile.Model));
        Assert.True(full.Options.SwaFull);
        // 12 sliding layers keep 768 cells instead of 32 768: 8 KV heads × 64 × (K + V) × 2 bytes per cell.
        Assert.Equal(12L * (32768 - 768) * 8 * 64 * 2 * 2, full.Plan.KvCacheBytes - windowed.Plan.KvCacheBytes);
    }

    [Fact]
    public void Declared_facts_override_the_reference_model()
    {
        var model = DeclaredModel.FromSpec(new ModelSpec(null, 130, BlockCount: 94, ExpertUsedCount: 4, WeightType: GgmlType.Q8_0,
            Architecture: ModelArchitecture.Qwen3Moe));
        Assert.Equal(94, model.BlockCount);
        Assert.Equal(128, model.ExpertCount); // from Qwen3-30B-A3B
        Assert.Equal(4, model.ExpertUsedCount);
        Assert.Equal(GgmlType.Q8_0, model.BytesByType.Keys.Single());
        Assert.Contains(model.Assumptions, a => a.Contains("128 routed experts"));
    }

    [Fact]
    public void Without_an_architecture_the_model_stays_a_dense_llama_shape()
    {
        var model = DeclaredModel.FromSpec(new ModelSpec(null, 8));
        Assert.Equal(0, model.ExpertCount);
        Assert.Equal(DeclaredModel.AssumedBlockCount, model.BlockCount);
        Assert.Contains(model.Assumptions, a => a.Contains("dense model"));
    }
}
