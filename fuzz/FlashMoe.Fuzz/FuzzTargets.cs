using System;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Text;
using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Fuzz;

/// <summary>
/// The fuzz targets. A "crash" is any exception other than the documented, coded outcome of bad input:
/// <see cref="GgufFormatException"/> (FM01xx) for a header, profile diagnostics for a profile file — except FM0099,
/// which is the parser's own bug guard and therefore counts as a crash here.
/// </summary>
internal static class FuzzTargets
{
    internal static bool TryGet(string name, [NotNullWhen(true)] out Action<Stream>? target)
    {
        target = name switch
        {
            "gguf" => GgufHeader,
            "profile" => Profile,
            _ => null,
        };
        return target is not null;
    }

    /// <summary>Reads the input as a GGUF file (header and tensor infos) and builds the model summary the planner uses.</summary>
    internal static void GgufHeader(Stream input)
    {
        // A seekable copy: files are seekable, and the reader's length checks are part of what is fuzzed.
        using var file = new MemoryStream();
        input.CopyTo(file);
        file.Position = 0;
        try
        {
            GgufReader.Read(file, file.Length).ToSummary();
        }
        catch (GgufFormatException)
        {
            // The documented answer to a malformed header.
        }
    }

    /// <summary>Parses the input as a flashmoe.json file.</summary>
    internal static void Profile(Stream input)
    {
        using var reader = new StreamReader(input, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false));
        var document = ProfileParser.Parse("flashmoe.json", reader.ReadToEnd());
        var internalError = document.Diagnostics.FirstOrDefault(d => d.Id == DiagnosticCatalog.ProfileInternalError.Id);
        if (internalError is not null) throw new InvalidOperationException("The profile parser hit its bug guard: " + internalError.Message);
    }
}
