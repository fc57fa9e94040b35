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

    /// <summary>A 64-bit integer, e.g. <c>1073741824</c>.</summary>
    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The lower-case spelling of a name (enum values in messages and files, JSON literals, document anchors).
    /// Never a comparison key: those are compared ordinal-ignore-case or upper-cased.
    /// </summary>
#pragma warning disable CA1308 // Normalize strings to uppercase: lower case is the product's spelling of these names, not a normalization.
    public static string Lower(string name) => name.ToLowerInvariant();
#pragma warning restore CA1308

    /// <summary>The lower-case spelling of an enum value's name, e.g. <c>ssd</c>.</summary>
    public static string Lower<T>(T value) where T : struct, Enum => Lower(value.ToString());
}
