using FlashMoe.Diagnostics;
using FlashMoe.Gguf;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>Reads a profile's <c>model</c> object: the GGUF path or declared size and the optional model facts.</summary>
internal static class ModelSectionReader
{
    /// <summary>The model as declared; every fact is optional, but <c>path</c> or <c>sizeGiB</c> is required.</summary>
    public static ModelSpec? Read(ProfileValueReader reader, JsonProperty member)
    {
        if (member.Value is not JsonObject obj)
        {
            reader.ReportType(member.Value, "model", "an object with \"path\" or \"sizeGiB\"");
            return null;
        }
        string? path = null;
        double? size = null, expertFraction = null;
        int? blockCount = null, expertCount = null, expertUsed = null;
        GgmlType? weightType = null;
        ModelArchitecture? architecture = null;
        var pathOrSizeRejected = false;
        foreach (var p in reader.Members(obj, "model", "'model'", ProfileSchema.Model))
        {
            var memberPath = "model." + p.Name;
            if (ProfileValueReader.IsNull(p)) continue; // every model fact is optional: null means "not declared"
            switch (p.Name)
            {
                case "path":
                    path = reader.ReadString(p.Value, memberPath, allowEmpty: false);
                    if (path is not null && FirstControlCharacter(path) is { } control)
                    {
                        // No file system names a file with U+0000, Windows none with U+0001–U+001F, and .NET
                        // Framework's Path methods throw on them: such a path only ever fails later, less clearly.
                        reader.ReportValue(p.Value, memberPath, $"a path cannot contain the control character U+{(int)control:X4}");
                        path = null;
                    }
                    pathOrSizeRejected |= path is null;
                    break;
                case "sizeGiB":
                    size = reader.ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, ProfileParser.MaxGiB, "GiB");
                    pathOrSizeRejected |= size is null;
                    break;
                // llama.cpp's own maxima (LLAMA_MAX_LAYERS, LLAMA_MAX_EXPERTS): a larger model does not load.
                case "blockCount": blockCount = reader.ReadInt(p.Value, memberPath, 1, ModelLimits.MaxLayers); break;
                case "expertCount": expertCount = reader.ReadInt(p.Value, memberPath, 0, ModelLimits.MaxExperts); break;
                case "expertUsedCount": expertUsed = reader.ReadInt(p.Value, memberPath, 1, ModelLimits.MaxExperts); break;
                case "expertFraction": expertFraction = reader.ReadNumber(p.Value, memberPath, 0, exclusiveMin: false, 1, string.Empty); break;
                case "weightType": weightType = reader.ReadEnum(p.Value, memberPath, ProfileSchema.WeightTypeNames); break;
                case "architecture": architecture = reader.ReadEnum(p.Value, memberPath, ProfileSchema.ArchitectureNames); break;
            }
        }
        if (path is null && size is null && !pathOrSizeRejected)
        {
            reader.Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                "\"model\" needs \"path\" (the GGUF file, relative to this file) or \"sizeGiB\" (its size, used when the file is not there at build time)");
        }
        return new ModelSpec(path, size, blockCount, expertCount, expertUsed, expertFraction, weightType, architecture);
    }

    /// <summary>The first character below U+0020 (C0 control) in <paramref name="text"/>, or null.</summary>
    private static char? FirstControlCharacter(string text)
    {
        foreach (var c in text)
        {
            if (c < ' ') return c;
        }
        return null;
    }
}
