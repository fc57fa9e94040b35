namespace FlashMoe.Gguf;

/// <summary>Limits and switches of <see cref="GgufReader"/>. The defaults suit every real model.</summary>
public sealed class GgufReadOptions
{
    /// <summary>The defaults.</summary>
    public static GgufReadOptions Default { get; } = new();

    /// <summary>
    /// Arrays with more elements than this are not materialised: the reader records their element type,
    /// count and file offset (<see cref="GgufArray.IsMaterialized"/> false) and skips them. Default 4096, far above
    /// any per-layer array and far below a tokenizer vocabulary.
    /// </summary>
    public int MaxMaterializedArrayElements { get; init; } = 4096;

    /// <summary>
    /// Most array elements materialised in one header, nested arrays included; arrays past this budget are left
    /// unmaterialised like large ones. Each element becomes an object of its own, so without a budget a header of many
    /// small arrays (a few bytes per element on disk) would cost tens of times its size in memory. Default 1,048,576,
    /// far above the per-layer arrays of any real model.
    /// </summary>
    public long MaxMaterializedElementsTotal { get; init; } = 1L << 20;

    /// <summary>
    /// Most metadata key/value pairs accepted (FM0110 beyond); each is kept in memory with its key. Default 65,536
    /// (real models have well under a hundred).
    /// </summary>
    public long MaxKeyValueCount { get; init; } = 1L << 16;

    /// <summary>
    /// String values longer than this many bytes are skipped and recorded as skipped; keys and tensor names
    /// longer than this are an error (FM0111). Default 1 MiB.
    /// </summary>
    public int MaxStringBytes { get; init; } = 1 << 20;

    /// <summary>Deepest nesting of arrays of arrays accepted (FM0110 beyond). Default 8.</summary>
    public int MaxArrayNesting { get; init; } = 8;

    /// <summary>
    /// Largest header accepted (FM0104 beyond). Bounds the work of skipping a huge array in a sparse file,
    /// whose holes read as zero-length strings. Default 256 MiB (real headers are a few MB).
    /// </summary>
    public long MaxHeaderBytes { get; init; } = 256L << 20;

    /// <summary>Reject keys, tensor names and string values that are not valid UTF-8 (FM0111). Default true.</summary>
    public bool ValidateUtf8 { get; init; } = true;

    /// <summary>
    /// Require tensor data packed in header order, each tensor padded to the alignment, as llama.cpp's loader
    /// does (FM0112). Default true.
    /// </summary>
    public bool RequirePackedTensorData { get; init; } = true;

    /// <summary>Size of the reader's own buffer in bytes. Default 64 KiB.</summary>
    public int BufferSize { get; init; } = 64 << 10;
}
