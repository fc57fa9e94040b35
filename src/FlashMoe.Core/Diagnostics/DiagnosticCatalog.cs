using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace FlashMoe.Diagnostics;

/// <summary>
/// The one catalogue of FlashMoe diagnostic IDs. Ranges:
/// FM0001–FM0099 profile (generator), FM0100–FM0199 GGUF format errors, FM0301–FM0399 build check (MSBuild task),
/// FM1001–FM1999 memory/mmap/offload advice (build check and runtime),
/// FM2001–FM2999 host-only advice (runtime).
/// Each ID has a section in docs/diagnostics.md and a test that triggers it.
/// The class is partial: each area declares its descriptors in its own file.
/// </summary>
public static partial class DiagnosticCatalog
{
    private static IReadOnlyList<FlashMoeDiagnosticDescriptor>? _all;

    /// <summary>Every descriptor in the catalogue, ordered by ID.</summary>
    public static IReadOnlyList<FlashMoeDiagnosticDescriptor> All => _all ??= typeof(DiagnosticCatalog)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(FlashMoeDiagnosticDescriptor))
        .Select(f => (FlashMoeDiagnosticDescriptor)f.GetValue(null)!)
        .OrderBy(d => d.Id, System.StringComparer.Ordinal)
        .ToArray();

    /// <summary>Finds a descriptor by ID, or null.</summary>
    public static FlashMoeDiagnosticDescriptor? Find(string id) => All.FirstOrDefault(d => d.Id == id);
}
