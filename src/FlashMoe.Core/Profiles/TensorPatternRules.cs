using System;
using System.Text.RegularExpressions;
using FlashMoe.Diagnostics;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>Whether a tensor-override pattern is one llama.cpp's <c>std::regex</c> compiles the way .NET reads it (FM0011).</summary>
internal static class TensorPatternRules
{
    /// <summary>
    /// llama.cpp compiles the pattern with <c>std::regex</c> (ECMAScript grammar). .NET's ECMAScript mode
    /// catches syntax errors; the scan below also rejects .NET-only constructs std::regex does not know,
    /// which .NET would accept.
    /// </summary>
    public static bool Check(ProfileValueReader reader, JsonNode value, string path, string pattern)
    {
        if (pattern.Length > ProfileParser.MaxPatternLength)
        {
            reader.ReportValue(value, path, "the pattern is longer than " + Invariant.Number(ProfileParser.MaxPatternLength) + " characters");
            return false;
        }
        var unsupported = FindUnsupportedRegexConstruct(pattern);
        if (unsupported is not null)
        {
            reader.Report(DiagnosticCatalog.InvalidTensorPattern, value.Span, path, JsonText.Shorten(pattern), unsupported);
            return false;
        }
        try
        {
            _ = new Regex(pattern, RegexOptions.ECMAScript, TimeSpan.FromSeconds(1));
            return true;
        }
        catch (ArgumentException e)
        {
            reader.Report(DiagnosticCatalog.InvalidTensorPattern, value.Span, path, JsonText.Shorten(pattern), e.Message.TrimEnd('.'));
            return false;
        }
    }

    private static string? FindUnsupportedRegexConstruct(string pattern)
    {
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var next = pattern[i + 1];
                if (next is 'p' or 'P' or 'A' or 'Z' or 'z' or 'G')
                {
                    return $"'\\{next}' is a .NET/PCRE escape that llama.cpp's std::regex (ECMAScript) does not support";
                }
                i++;
                continue;
            }
            if (inClass)
            {
                if (c == ']') inClass = false;
                continue;
            }
            if (c == '[')
            {
                inClass = true;
                if (i + 1 < pattern.Length && pattern[i + 1] == ']') i++; // "[]...]": a leading ']' is literal
                continue;
            }
            if (c == '(' && i + 2 < pattern.Length && pattern[i + 1] == '?' && pattern[i + 2] is not (':' or '=' or '!'))
            {
                return $"'(?{pattern[i + 2]}' is not supported by llama.cpp's std::regex (ECMAScript knows only (?: (?= and (?!)";
            }
        }
        return null;
    }
}
