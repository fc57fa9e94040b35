using FlashMoe.Gguf;
using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>The planner's per-buffer accuracy contract, stated once in Core (PlanAccuracy).</summary>
public class PlanAccuracyContractTests
{
    [Fact]
    public void The_contract_reads_as_the_docs_state_it() => Assert.Equal("±3 % or 64 MiB", PlanAccuracy.ToleranceText);

    [Theory]
    [InlineData(1000 * Units.MiB, 1064 * Units.MiB, true)]  // 64 MiB off
    [InlineData(1000 * Units.MiB, 1065 * Units.MiB, false)] // 65 MiB and 6.5 %
    [InlineData(4000 * Units.MiB, 4120 * Units.MiB, true)]  // 3 % of the larger
    [InlineData(4120 * Units.MiB, 4000 * Units.MiB, true)]  // plan high by 3 % of itself
    [InlineData(4000 * Units.MiB, 4125 * Units.MiB, false)]
    public void Within_3_percent_of_the_larger_or_64_MiB(long planned, long actual, bool within) =>
        Assert.Equal(within, PlanAccuracy.IsWithinTolerance(planned, actual));
}
