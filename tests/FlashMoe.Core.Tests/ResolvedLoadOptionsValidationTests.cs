using System.Linq;
using FlashMoe.Planning;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>The rules hand-built resolved options must meet; the runtime turns the first broken one into its error.</summary>
public class ResolvedLoadOptionsValidationTests
{
    private static ResolvedLoadOptions Valid() => new()
    {
        GpuLayerCount = 7,
        TensorOverrides = EquatableArray.Create(new TensorOverride(@"\.ffn_(up|down|gate)_exps", "CPU")),
        Threads = 3,
        BatchThreads = 5,
        ContextSize = 8192,
        BatchSize = 1024,
        UBatchSize = 256,
        TensorSplits = EquatableArray.Create(3f, 1f),
    };

    [Fact]
    public void Valid_options_have_no_problem()
    {
        Assert.Empty(Valid().Validate());
        Assert.Empty((Valid() with { GpuLayerCount = 0, ContextSize = 0, TensorSplits = EquatableArray<float>.Empty }).Validate());
    }

    [Theory]
    [InlineData("Threads", 0)]
    [InlineData("BatchThreads", 0)]
    [InlineData("GpuLayerCount", -1)]
    [InlineData("ContextSize", -1)]
    [InlineData("BatchSize", 0)]
    [InlineData("UBatchSize", 0)]
    [InlineData("MainGpu", -1)]
    public void Each_out_of_range_count_is_one_problem(string field, int value)
    {
        var options = field switch
        {
            "Threads" => Valid() with { Threads = value },
            "BatchThreads" => Valid() with { BatchThreads = value },
            "GpuLayerCount" => Valid() with { GpuLayerCount = value },
            "ContextSize" => Valid() with { ContextSize = value },
            "BatchSize" => Valid() with { BatchSize = value },
            "UBatchSize" => Valid() with { UBatchSize = value },
            _ => Valid() with { MainGpu = value },
        };
        var problem = Assert.Single(options.Validate());
        Assert.StartsWith($"ResolvedLoadOptions.{field} = {value} is invalid: ", problem);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(-0.5f)]
    public void A_split_ratio_that_is_not_finite_and_non_negative_is_a_problem(float ratio)
    {
        var problem = Assert.Single((Valid() with { TensorSplits = EquatableArray.Create(1f, ratio) }).Validate());
        Assert.Contains("TensorSplits", problem);
        Assert.Contains("ratios must be finite and non-negative", problem);
    }

    [Fact]
    public void An_override_without_pattern_or_device_is_a_problem()
    {
        var options = Valid() with { TensorOverrides = EquatableArray.Create(new TensorOverride("", "CPU"), new TensorOverride("exps", "")) };
        var problems = options.Validate();
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Contains("pattern and device are required", p));
    }

    [Fact]
    public void Problems_come_in_field_order()
    {
        var problems = (Valid() with { Threads = 0, BatchSize = 0 }).Validate();
        Assert.Equal(new[] { "Threads", "BatchSize" }, problems.Select(p => p.Split(' ')[0].Split('.')[1]));
    }
}
