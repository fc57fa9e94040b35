using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using FlashMoe.Diagnostics;
using FlashMoe.Profiles;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace FlashMoe.Generators;

public sealed partial class FlashMoeProfileGenerator
{
    /// <summary>
    /// The pipeline's pure steps: file filter, text read, parse (delegated to Core's <see cref="ProfileParser"/>),
    /// namespace option, and the cross-file model. Every step catches unexpected exceptions and turns them into
    /// FM0099, so a bug never takes the compiler down; cancellation is let through.
    /// </summary>
    internal static class Parser
    {
        /// <summary>True for <c>flashmoe.json</c> and <c>*.flashmoe.json</c> (any case), in any folder.</summary>
        public static bool IsProfileFile(string path)
        {
            var fileName = FileName(path);
            return fileName.Equals("flashmoe.json", StringComparison.OrdinalIgnoreCase)
                || fileName.EndsWith(".flashmoe.json", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>The file's text, or the reason it could not be read.</summary>
        public static ProfileFileText ReadText(AdditionalText file, CancellationToken cancellationToken)
        {
            try
            {
                var text = file.GetText(cancellationToken);
                return text is null
                    ? new ProfileFileText(file.Path, null, "the file could not be read")
                    : new ProfileFileText(file.Path, text.ToString(), null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new ProfileFileText(file.Path, null, e.GetType().Name + ": " + e.Message);
            }
        }

        /// <summary>Parses one file with Core's parser.</summary>
        public static ProfileDocument ParseDocument(ProfileFileText file, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (file.Text is null) return Failed(file.Path, file.ReadError ?? "the file could not be read");
                return ProfileParser.Parse(file.Path, file.Text);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Failed(file.Path, e.GetType().Name + ": " + e.Message);
            }
        }

        /// <summary><c>FlashMoeNamespace</c>, else <c>RootNamespace</c>, else <see cref="FallbackNamespace"/>.</summary>
        public static NamespaceOption ReadNamespace(AnalyzerConfigOptions options)
        {
            if (options.TryGetValue(NamespaceProperty, out var flashMoeNamespace) && !string.IsNullOrWhiteSpace(flashMoeNamespace))
            {
                var name = flashMoeNamespace.Trim();
                return new NamespaceOption(name, "FlashMoeNamespace property", CSharpNames.IsValidNamespace(name));
            }
            if (options.TryGetValue(RootNamespaceProperty, out var rootNamespace) && !string.IsNullOrWhiteSpace(rootNamespace))
            {
                var name = rootNamespace.Trim();
                return new NamespaceOption(name, "RootNamespace property", CSharpNames.IsValidNamespace(name));
            }
            return new NamespaceOption(FallbackNamespace, "default namespace", true);
        }

        /// <summary>
        /// Joins the documents (ordered by path, so the output is deterministic whatever order the files come in),
        /// reports profile names declared in more than one file (FM0004) and an invalid namespace (FM0013).
        /// </summary>
        public static GenerationModel BuildModel(ImmutableArray<ProfileDocument> documents, NamespaceOption namespaceOption, CancellationToken cancellationToken)
        {
            try
            {
                var diagnostics = new List<FlashMoeDiagnostic>();
                var entries = new List<ProfileSourceEntry>();
                // Core's rule (the command-line check reports the same): a name an earlier file declares is FM0004.
                // Both walk the files in the same ordinal path order, so the duplicates come in the order met here.
                var duplicates = ProfileParser.DuplicateNames(documents);
                var nextDuplicate = 0;
                foreach (var document in documents.OrderBy(d => d.Path, StringComparer.Ordinal))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    diagnostics.AddRange(document.Diagnostics);
                    foreach (var parsed in document.Profiles)
                    {
                        if (nextDuplicate < duplicates.Count && ReferenceEquals(duplicates[nextDuplicate].Key, parsed))
                        {
                            diagnostics.Add(duplicates[nextDuplicate++].Value);
                            continue;
                        }
                        entries.Add(new ProfileSourceEntry(parsed.Profile, FileName(document.Path)));
                    }
                }
                if (!namespaceOption.IsValid)
                {
                    diagnostics.Add(FlashMoeDiagnostic.Create(DiagnosticCatalog.InvalidGeneratedNamespace, null, namespaceOption.Source, namespaceOption.Name));
                    return new GenerationModel(null, diagnostics.ToEquatableArray());
                }
                // No profile file, no class: a project that references FlashMoe without profiles gets nothing generated.
                var source = documents.IsDefaultOrEmpty ? null : new SourceModel(namespaceOption.Name, entries.ToEquatableArray());
                return new GenerationModel(source, diagnostics.ToEquatableArray());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new GenerationModel(null, EquatableArray.Create(
                    FlashMoeDiagnostic.Create(DiagnosticCatalog.ProfileInternalError, null, e.GetType().Name + ": " + e.Message)));
            }
        }

        /// <summary>The last path segment, for either separator (no System.IO: analyzers must not touch the file system).</summary>
        public static string FileName(string path)
        {
            var cut = path.LastIndexOfAny(new[] { '/', '\\' });
            return cut < 0 ? path : path.Substring(cut + 1);
        }

        private static ProfileDocument Failed(string path, string reason) => new(
            path,
            EquatableArray<ParsedProfile>.Empty,
            EquatableArray.Create(FlashMoeDiagnostic.Create(DiagnosticCatalog.ProfileInternalError, new SourceLocation(path, 1, 1, 1, 1, 0, 0), reason)));
    }
}
