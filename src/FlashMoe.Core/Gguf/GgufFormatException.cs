using System;
using FlashMoe.Diagnostics;

namespace FlashMoe.Gguf;

/// <summary>
/// A GGUF file is malformed. Carries the diagnostic ID (FM01xx, see docs/diagnostics.md) and the byte offset in
/// the file where the problem was found.
/// </summary>
public sealed class GgufFormatException : Exception
{
    /// <summary>Creates the exception from a catalogue descriptor and its message arguments.</summary>
    /// <param name="descriptor">One of the GGUF descriptors in <see cref="DiagnosticCatalog"/>.</param>
    /// <param name="offset">Byte offset in the file where the problem was found.</param>
    /// <param name="args">Arguments of the descriptor's message format.</param>
    public GgufFormatException(FlashMoeDiagnosticDescriptor descriptor, long offset, params object?[] args)
        : base(descriptor.Format(args))
    {
        Descriptor = descriptor;
        Offset = offset;
    }

    /// <summary>The diagnostic descriptor.</summary>
    public FlashMoeDiagnosticDescriptor Descriptor { get; }

    /// <summary>The diagnostic ID, e.g. <c>FM0103</c>.</summary>
    public string Id => Descriptor.Id;

    /// <summary>Byte offset in the file where the problem was found.</summary>
    public long Offset { get; }

    /// <summary>The error as a FlashMoe diagnostic (message includes the offset), for the build check and tools.</summary>
    public FlashMoeDiagnostic ToDiagnostic() => new(Descriptor, Message + " (offset " + Offset + ")", null);

    /// <summary>Compiler-style text: <c>error FM0103: message (offset N)</c>.</summary>
    public override string ToString() => ToDiagnostic().ToString();
}
