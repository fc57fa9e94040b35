using System.IO;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Core.Tests.Gguf;

/// <summary>
/// Hyper-parameters are checked against what llama.cpp loads (<see cref="ModelLimits"/>) when the summary is built, so
/// an absurd value is FM0110 at its offset rather than a loop, a table or an overflow sized by it further on.
/// </summary>
public sealed class GgufHyperParameterLimitTests
{
    private static GgufFile Read(byte[] bytes, GgufReadOptions? options = null) => GgufReaderTests.Read(bytes, options);

    private static GgufBytes Llama() => new GgufBytes().Add("general.architecture", Val.Str("llama"));

    public static TheoryData<string, Val, string> PastLlamaCppLimits() => new()
    {
        { "llama.block_count", Val.U32(ModelLimits.MaxLayers + 1), "LLAMA_MAX_LAYERS" },
        { "llama.expert_count", Val.U32(ModelLimits.MaxExperts + 1), "LLAMA_MAX_EXPERTS" },
        { "llama.embedding_length", Val.U64((ulong)uint.MaxValue + 1), "u32" },
        { "llama.embedding_length", Val.U64(1UL << 40), "u32" },
        { "llama.context_length", Val.U64((ulong)uint.MaxValue + 1), "u32" },
        { "llama.feed_forward_length", Val.U64(1UL << 40), "u32" },
        { "llama.feed_forward_length", Val.Arr(GgufValueType.UInt64, Val.U64(1UL << 40)), "u32" },
        { "llama.vocab_size", Val.U64(1UL << 40), "u32" },
        { "llama.expert_feed_forward_length", Val.I64(long.MaxValue), "u32" },
    };

    [Theory]
    [MemberData(nameof(PastLlamaCppLimits))]
    public void FM0110_a_hyper_parameter_past_what_llama_cpp_loads(string key, Val value, string limit)
    {
        var builder = Llama().Add("llama.attention.head_count", Val.U32(8)).Add(key, value);
        var file = Read(builder.Build()); // the header itself is well-formed

        var error = Assert.Throws<GgufFormatException>(() => file.ToSummary());

        Assert.Equal("FM0110", error.Id);
        Assert.Contains(key, error.Message);
        Assert.Contains(limit, error.Message);
    }

    [Fact]
    public void FM0110_more_experts_used_than_the_model_has()
    {
        var tooMany = Read(Llama().Add("llama.expert_count", Val.U32(8)).Add("llama.expert_used_count", Val.U32(9)).Build());
        var withoutExperts = Read(Llama().Add("llama.expert_used_count", Val.U32(2)).Build());

        foreach (var file in new[] { tooMany, withoutExperts })
        {
            var error = Assert.Throws<GgufFormatException>(() => file.ToSummary());
            Assert.Equal("FM0110", error.Id);
            Assert.Contains("llama.expert_used_count", error.Message);
            Assert.Contains("no more than llama.expert_count", error.Message);
        }
    }

    [Fact]
    public void Hyper_parameters_at_llama_cpp_limits_stay_clean()
    {
        var file = Read(Llama()
            .Add("llama.block_count", Val.U32(ModelLimits.MaxLayers))
            .Add("llama.expert_count", Val.U32(ModelLimits.MaxExperts))
            .Add("llama.expert_used_count", Val.U32(ModelLimits.MaxExperts))
            .Add("llama.embedding_length", Val.U32(uint.MaxValue))
            .Add("llama.context_length", Val.U64(uint.MaxValue)) // any integer type, as long as the value fits a u32
            .Add("llama.vocab_size", Val.U32(uint.MaxValue))
            .Build());

        var summary = file.ToSummary();

        Assert.Equal((ModelLimits.MaxLayers, ModelLimits.MaxExperts, ModelLimits.MaxExperts), (summary.BlockCount, summary.ExpertCount, summary.ExpertUsedCount));
        Assert.Equal((long)uint.MaxValue, summary.EmbeddingLength);
        Assert.Equal((long)uint.MaxValue, summary.ContextLength);
    }

    [Fact]
    public void A_huge_embedding_length_is_FM0110_at_read_time_not_an_overflow_in_the_planner()
    {
        // Before the u32 check this header was summarised and the compute estimate threw OverflowException.
        var builder = GgufBytes.SmallMoe();
        var bytes = builder.Build();
        var file = Read(Replace(bytes, builder, "llama.embedding_length", Val.U64(1UL << 40)));

        var error = Assert.Throws<GgufFormatException>(() => file.ToSummary());

        Assert.Equal("FM0110", error.Id);
        var clean = Read(bytes).ToSummary();
        var resolved = ProfileResolver.Resolve(PlanningTestModels.Profile(ramGiB: 16), clean);
        Assert.True(resolved.Plan.Devices[0].ComputeBytes > 0);
    }

    /// <summary><paramref name="bytes"/> with the u32 value of <paramref name="key"/> swapped for <paramref name="value"/>.</summary>
    private static byte[] Replace(byte[] bytes, GgufBytes builder, string key, Val value)
    {
        using var rebuilt = new MemoryStream();
        var typeOffset = (int)builder.ValueTypeOffsets[key];
        rebuilt.Write(bytes, 0, typeOffset);
        using (var w = new BinaryWriter(rebuilt, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write((uint)value.Type);
            value.WritePayload(w);
        }
        rebuilt.Write(bytes, typeOffset + 8, bytes.Length - typeOffset - 8); // type tag (4) + u32 (4)
        return rebuilt.ToArray();
    }
}
