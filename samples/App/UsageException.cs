using System;

namespace FlashMoe.Sample;

/// <summary>Bad command-line arguments.</summary>
internal sealed class UsageException(string message) : Exception(message);
