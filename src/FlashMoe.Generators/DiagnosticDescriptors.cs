using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FlashMoe.Generators;

/// <summary>
/// Roslyn descriptors for Core's profile diagnostics. IDs, titles and severities come from
/// <see cref="DiagnosticCatalog"/> (the one catalogue); Core formats the message, so every Roslyn
/// descriptor's format is just <c>{0}</c>.
/// </summary>
internal static class DiagnosticDescriptors
{
    private static readonly Dictionary<string, DiagnosticDescriptor> ById = DiagnosticCatalog.All
        .Where(d => d.Category == "Profile")
        .ToDictionary(d => d.Id, Create);

    /// <summary>FM0099 as a Roslyn descriptor (the generator's own catch-all).</summary>
    public static DiagnosticDescriptor InternalError => Get(DiagnosticCatalog.ProfileInternalError);

    /// <summary>Every profile descriptor, by ID.</summary>
    public static IReadOnlyDictionary<string, DiagnosticDescriptor> All => ById;

    /// <summary>The Roslyn descriptor of a Core descriptor.</summary>
    public static DiagnosticDescriptor Get(FlashMoeDiagnosticDescriptor descriptor) =>
        ById.TryGetValue(descriptor.Id, out var known) ? known : Create(descriptor);

    /// <summary>
    /// A Roslyn diagnostic located in the JSON file: <see cref="Location.Create(string, TextSpan, LinePositionSpan)"/>
    /// with Core's 1-based line/column turned 0-based, so MSBuild prints <c>file(line,col): error FM000x</c>.
    /// </summary>
    public static Diagnostic ToRoslyn(FlashMoeDiagnostic diagnostic)
    {
        var location = Location.None;
        if (diagnostic.Location is { } at)
        {
            var start = new LinePosition(System.Math.Max(0, at.Line - 1), System.Math.Max(0, at.Column - 1));
            var end = new LinePosition(System.Math.Max(0, at.EndLine - 1), System.Math.Max(0, at.EndColumn - 1));
            location = Location.Create(at.Path, new TextSpan(System.Math.Max(0, at.Offset), System.Math.Max(0, at.Length)), new LinePositionSpan(start, end < start ? start : end));
        }
        return Diagnostic.Create(Get(diagnostic.Descriptor), location, diagnostic.Message);
    }

    private static DiagnosticDescriptor Create(FlashMoeDiagnosticDescriptor descriptor) => new(
        descriptor.Id,
        descriptor.Title,
        "{0}",
        "FlashMoe." + descriptor.Category,
        descriptor.Severity switch
        {
            FlashMoeSeverity.Error => DiagnosticSeverity.Error,
            FlashMoeSeverity.Warning => DiagnosticSeverity.Warning,
            _ => DiagnosticSeverity.Info,
        },
        isEnabledByDefault: true,
        helpLinkUri: descriptor.HelpLink);
}
