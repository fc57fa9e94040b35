using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime;

/// <summary>Writes FlashMoe diagnostics to an <see cref="ILogger"/> with their FM IDs (the runtime prints nothing itself).</summary>
public static class DiagnosticLogging
{
    /// <summary>
    /// Logs <paramref name="diagnostic"/> at its severity (Info → Information); the event id is the number of its
    /// FM ID (FM2001 → 2001) and its name the ID, so log filters can select or silence single IDs.
    /// </summary>
    public static void LogFlashMoeDiagnostic(this ILogger logger, FlashMoeDiagnostic diagnostic)
    {
        if (logger is null) throw new ArgumentNullException(nameof(logger));
        if (diagnostic is null) throw new ArgumentNullException(nameof(diagnostic));
        var level = diagnostic.Severity switch
        {
            FlashMoeSeverity.Error => LogLevel.Error,
            FlashMoeSeverity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        var number = int.TryParse(diagnostic.Id.TrimStart('F', 'M'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        logger.Log(level, new EventId(number, diagnostic.Id), "{DiagnosticId}: {DiagnosticMessage}", diagnostic.Id, diagnostic.Message);
    }

    /// <summary>Logs each diagnostic (see <see cref="LogFlashMoeDiagnostic"/>).</summary>
    public static void LogFlashMoeDiagnostics(this ILogger logger, IEnumerable<FlashMoeDiagnostic> diagnostics)
    {
        if (diagnostics is null) throw new ArgumentNullException(nameof(diagnostics));
        foreach (var diagnostic in diagnostics) logger.LogFlashMoeDiagnostic(diagnostic);
    }
}
