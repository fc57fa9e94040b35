using System;
using System.Globalization;
using FlashMoe.Planning;

namespace FlashMoe.Synthetic;

/// <summary>Byte sizes as people write them: <c>130GiB</c>, <c>130GB</c>, <c>512MiB</c>, <c>1.5 GiB</c>, <c>4096</c>.</summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Suffixes =
    {
        // Longest first, so "GiB" is not read as "B".
        ("TiB", 1L << 40), ("GiB", Units.GiB), ("MiB", Units.MiB), ("KiB", 1L << 10),
        ("TB", 1_000_000_000_000L), ("GB", 1_000_000_000L), ("MB", 1_000_000L), ("KB", 1_000L), ("kB", 1_000L),
        ("B", 1L),
    };

    /// <summary>Parses <paramref name="text"/>; binary suffixes (GiB) are powers of 2, decimal ones (GB) powers of 10.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text!.Trim();
        long factor = 1;
        foreach (var (suffix, f) in Suffixes)
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
            {
                s = s.Substring(0, s.Length - suffix.Length).TrimEnd();
                factor = f;
                break;
            }
        }
        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)) return false;
        decimal value;
        try
        {
            value = number * factor;
        }
        catch (OverflowException)
        {
            return false;
        }
        if (value < 1 || value > long.MaxValue) return false;
        bytes = (long)Math.Round(value);
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="FormatException"/>.</summary>
    public static long Parse(string text) =>
        TryParse(text, out var bytes) ? bytes : throw new FormatException($"'{text}' is not a size (e.g. 130GiB, 130GB, 512MiB, 512MB, 4096).");

    /// <summary>A readable size, e.g. <c>130.00 GiB</c>, <c>3.21 MiB</c>, <c>512 B</c>.</summary>
    public static string Format(long bytes)
    {
        if (bytes >= Units.GiB) return Units.FormatGiB(bytes, "0.00");
        if (bytes >= Units.MiB) return Units.FormatMiB(bytes, "0.00");
        if (bytes >= 1L << 10) return (bytes / (double)(1L << 10)).ToString("0.00", CultureInfo.InvariantCulture) + " KiB";
        return bytes.ToString(CultureInfo.InvariantCulture) + " B";
    }
}
