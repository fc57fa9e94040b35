using System.Collections.Generic;
using System.Globalization;

namespace FlashMoe.Profiles;

/// <summary>
/// C# identifier rules for profile names and the generated namespace. Profile names become static
/// properties of the generated <c>FlashMoeProfiles</c> class, so they must be identifiers that compile there.
/// </summary>
public static class CSharpNames
{
    private static readonly HashSet<string> Keywords = new(System.StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    // Names a profile cannot take inside the generated static class: the class's own name (CS0542), its
    // All property, and object's members (a static property named Equals hides object.Equals: CS0108).
    private static readonly HashSet<string> ReservedMembers = new(System.StringComparer.Ordinal)
    {
        "FlashMoeProfiles", "All", "Equals", "GetHashCode", "GetType", "ToString", "ReferenceEquals",
        "MemberwiseClone", "Finalize",
    };

    /// <summary>True for a C# reserved keyword (contextual keywords such as <c>var</c> are valid names).</summary>
    public static bool IsKeyword(string name) => Keywords.Contains(name);

    /// <summary>
    /// True when <paramref name="name"/> is a plain C# identifier: a letter or underscore followed by letters,
    /// digits, connectors or combining marks, and not a keyword. Formatting characters (which C# allows but
    /// ignores when comparing names) are rejected so that two different JSON names never become one C# name.
    /// </summary>
    public static bool IsValidIdentifier(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 512 || IsKeyword(name)) return false;
        for (var i = 0; i < name.Length; i++)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(name[i]);
            var isLetter = name[i] == '_' || category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
                or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.LetterNumber;
            if (i == 0)
            {
                if (!isLetter) return false;
                continue;
            }
            var isPart = isLetter || category is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
            if (!isPart) return false;
        }
        return true;
    }

    /// <summary>
    /// Why <paramref name="name"/> cannot be a profile name, or null when it can. The text completes the
    /// sentence "Profile name 'x' …".
    /// </summary>
    public static string? WhyNotProfileName(string name)
    {
        if (name.Length == 0) return "is empty; use a C# identifier such as 'Workstation'";
        if (IsKeyword(name)) return "is a C# keyword; choose another name (e.g. '" + char.ToUpperInvariant(name[0]) + name.Substring(1) + "')";
        if (!IsValidIdentifier(name)) return "is not a valid C# identifier (letters, digits and '_', not starting with a digit)";
        if (ReservedMembers.Contains(name)) return "is reserved: the generated FlashMoeProfiles class already has a member with that name";
        return null;
    }

    /// <summary>True when <paramref name="name"/> is a dotted C# namespace (<c>My.App</c>), optionally <c>global::</c>-free.</summary>
    public static bool IsValidNamespace(string name)
    {
        if (string.IsNullOrEmpty(name)) return false;
        foreach (var part in name.Split('.'))
        {
            if (!IsValidIdentifier(part)) return false;
        }
        return true;
    }
}
