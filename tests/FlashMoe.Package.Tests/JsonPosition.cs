using System;

namespace FlashMoe.Package.Tests;

/// <summary>1-based line/column of a token in a JSON text, the way MSBuild prints file(line,col).</summary>
public static class JsonPosition
{
    /// <summary>
    /// The position of <paramref name="token"/> at or after the first occurrence of <paramref name="anchor"/>
    /// (e.g. anchor <c>"mmap": true</c>, token <c>true</c>). Both must occur: the test's own JSON is wrong otherwise.
    /// </summary>
    public static (int Line, int Column) Of(string json, string anchor, string token)
    {
        var anchorIndex = json.IndexOf(anchor, StringComparison.Ordinal);
        if (anchorIndex < 0) throw new ArgumentException($"anchor {anchor} not in the JSON");
        var index = json.IndexOf(token, anchorIndex, StringComparison.Ordinal);
        if (index < 0) throw new ArgumentException($"token {token} not after {anchor}");
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index; i++)
        {
            if (json[i] == '\n') { line++; lineStart = i + 1; }
        }
        return (line, index - lineStart + 1);
    }
}
