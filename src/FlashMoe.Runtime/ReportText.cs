using System.Globalization;

namespace FlashMoe.Runtime;

/// <summary>Small text helpers the runtime's reports share (sizes come from Core's <see cref="Planning.Units"/>).</summary>
internal static class ReportText
{
    /// <summary>A count, or <c>?</c> when unknown.</summary>
    public static string Count(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "?";

    /// <summary><c>yes</c>, <c>no</c> or <c>unknown</c>.</summary>
    public static string YesNo(bool? value) => value switch { true => "yes", false => "no", null => "unknown" };
}
