using FlashMoe.Planning;
using Xunit;

namespace FlashMoe.Core.Tests;

/// <summary>The one byte-formatting helper every report and message uses.</summary>
public class UnitsFormatTests
{
    [Fact]
    public void Sizes_format_invariantly_in_their_unit()
    {
        Assert.Equal("12.5 GiB", Units.FormatGiB(25 * Units.GiB / 2));
        Assert.Equal("417.66 MiB", Units.FormatMiB((long)(417.66 * Units.MiB)));
        Assert.Equal("8 MiB", Units.FormatSize(8 * Units.MiB));                       // below 1 GiB: MiB
        Assert.Equal("1.0 GiB", Units.FormatSize(Units.GiB));                         // from 1 GiB: GiB
        Assert.Equal("-1.50 GiB", Units.FormatSize(-3 * Units.GiB / 2, "0.00", "0.00")); // by absolute value
        Assert.Equal(1.5, Units.ToGiB(3 * Units.GiB / 2));
    }
}
