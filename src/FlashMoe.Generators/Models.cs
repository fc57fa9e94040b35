using FlashMoe.Diagnostics;
using FlashMoe.Profiles;

namespace FlashMoe.Generators;

// Pipeline models. Every one has value equality (records, strings, EquatableArray, Core's equatable profile
// types) and holds no ISymbol, Compilation or SyntaxNode, so the incremental driver can cache each step.

/// <summary>A profile file's path and text; <paramref name="ReadError"/> is set when the text could not be read.</summary>
internal sealed record ProfileFileText(string Path, string? Text, string? ReadError);

/// <summary>The namespace of the generated class and where it came from (for the FM0013 message).</summary>
internal sealed record NamespaceOption(string Name, string Source, bool IsValid);

/// <summary>One profile to emit, with the name of the file that declares it (for the XML docs).</summary>
internal sealed record ProfileSourceEntry(FlashMoeProfile Profile, string FileName);

/// <summary>Everything the emitter needs.</summary>
internal sealed record SourceModel(string Namespace, EquatableArray<ProfileSourceEntry> Profiles);

/// <summary>The whole result of the parse step: source to emit (null: emit nothing) and diagnostics to report.</summary>
internal sealed record GenerationModel(SourceModel? Source, EquatableArray<FlashMoeDiagnostic> Diagnostics);
