using System;

namespace FlashMoe.Tool;

/// <summary>A command line the parser accepted but the verb cannot use (e.g. two mutually exclusive options): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>An input file is malformed (exit code 3) or cannot be read or written (exit code 4); the message is one line.</summary>
internal sealed class ToolInputException(string message, int exitCode) : Exception(message)
{
    /// <summary><see cref="ExitCodes.BadInput"/> or <see cref="ExitCodes.IoError"/>.</summary>
    public int ExitCode { get; } = exitCode;
}
