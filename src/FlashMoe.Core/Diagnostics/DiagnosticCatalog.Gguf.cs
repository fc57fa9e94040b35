namespace FlashMoe.Diagnostics;

// GGUF format errors (FM0101–FM0199), raised by FlashMoe.Gguf.GgufReader as GgufFormatException.
// Each is an error: a file that fails these checks is one llama.cpp refuses too (or would crash on).
public static partial class DiagnosticCatalog
{
    /// <summary>FM0101: the file does not start with the GGUF magic <c>GGUF</c>.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufBadMagic = new(
        "FM0101",
        "Not a GGUF file",
        "The file does not start with the GGUF magic 'GGUF' (found {0})",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0102: the GGUF version is not 2 or 3.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufUnsupportedVersion = new(
        "FM0102",
        "Unsupported GGUF version",
        "GGUF version {0} is not supported (only versions 2 and 3 are){1}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0103: the file ends inside the header.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufTruncated = new(
        "FM0103",
        "Truncated GGUF header",
        "The file ends inside the GGUF header: {0} needs {1} byte(s) but only {2} remain",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0104: a count or length is larger than what the rest of the file (or the header limit) can hold.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufCountExceedsFile = new(
        "FM0104",
        "Count or length larger than the file",
        "{0} is {1}, which needs at least {2} byte(s) but only {3} remain {4}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0105: a tensor's data lies (partly) past the end of the file.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufTensorDataOutOfBounds = new(
        "FM0105",
        "Tensor data past the end of the file",
        "Tensor '{0}' ({1} byte(s) at data offset {2}) ends past the end of the file: the data section holds {3} byte(s)",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0106: a tensor has a ggml type id that is not in the type table.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufUnknownGgmlType = new(
        "FM0106",
        "Unknown ggml tensor type",
        "Tensor '{0}' has unknown ggml type id {1}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0107: <c>general.alignment</c> is invalid, or a tensor offset is not a multiple of it.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufBadAlignment = new(
        "FM0107",
        "Invalid alignment or misaligned tensor",
        "{0}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0108: a metadata key or a tensor name occurs twice.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufDuplicateName = new(
        "FM0108",
        "Duplicate metadata key or tensor name",
        "Duplicate {0} '{1}'",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0109: a tensor's shape is invalid (too many dimensions, a dimension ≤ 0, overflow, row length not a multiple of the block).</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufInvalidTensorShape = new(
        "FM0109",
        "Invalid tensor shape",
        "Tensor '{0}': {1}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0110: a metadata value is invalid (unknown value type, arrays nested too deep, a hyper-parameter out of range).</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufInvalidMetadataValue = new(
        "FM0110",
        "Invalid metadata value",
        "Metadata '{0}': {1}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0111: a key, tensor name or string value is not valid UTF-8, or a name is too long.</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufInvalidString = new(
        "FM0111",
        "Invalid string or name",
        "{0}",
        FlashMoeSeverity.Error,
        "Gguf");

    /// <summary>FM0112: tensor data is not packed in header order the way llama.cpp requires (gap or overlap).</summary>
    public static readonly FlashMoeDiagnosticDescriptor GgufTensorLayout = new(
        "FM0112",
        "Tensor data not laid out as llama.cpp expects",
        "Tensor '{0}' has data offset {1}, expected {2} (llama.cpp requires tensors packed in header order, each padded to the alignment {3})",
        FlashMoeSeverity.Error,
        "Gguf");
}
