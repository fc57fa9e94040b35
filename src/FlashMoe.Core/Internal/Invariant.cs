using System;
using System.Globalization;

namespace FlashMoe;

/// <summary>
/// Culture-invariant text for messages, reasons and files: a build on a German or Turkish machine must print the same
/// numbers as one in the US (and tests compare them). Byte sizes as GiB/MiB text are <see cref="Planning.Units"/>'s.
/// </summary>
internal static class Invariant
{
    /// <summary>An interpolated string formatted with the invariant culture.</summary>
    public static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A number in its shortest round-trip form (<c>R</c>), e.g. <c>0.5</c>.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>An integer, e.g. <c>4096</c>.</summary>
    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
