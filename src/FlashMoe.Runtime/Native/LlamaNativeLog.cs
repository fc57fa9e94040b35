using System;
using System.Collections.Generic;
using System.Text;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace FlashMoe.Runtime.Native;

/// <summary>One complete line of llama.cpp's (or LLamaSharp's native loader's) log.</summary>
/// <param name="Level">Severity, mapped onto <see cref="LogLevel"/> (see <see cref="LlamaNativeLog"/>).</param>
/// <param name="Text">The line without its newline, e.g. <c>load_tensors:   CPU_Mapped model buffer size =     0.28 MiB</c>.</param>
public readonly record struct NativeLogLine(LogLevel Level, string Text)
{
    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// Captures llama.cpp's native log. <see cref="Install"/> registers ONE callback with LLamaSharp before its first
/// native call (<c>NativeLibraryConfig.All.WithLogCallback</c>; afterwards <c>NativeLogConfig.llama_log_set</c>),
/// assembles fragments into lines, keeps the most recent lines in a bounded ring buffer, and forwards them to
/// an <see cref="ILogger"/> if one is given. Nothing is written to the console.
/// </summary>
/// <remarks>
/// Levels are mapped one step down on purpose: llama.cpp's "info" output is a ≈ 200-line dump per load
/// (metadata keys, hyper-parameters), which belongs at <see cref="LogLevel.Debug"/>; llama.cpp's debug output
/// goes to <see cref="LogLevel.Trace"/>; warnings and errors keep their level.
/// The log is process-wide: lines from loads running in parallel interleave.
/// </remarks>
public static class LlamaNativeLog
{
    /// <summary>How many recent lines <see cref="Recent"/> keeps.</summary>
    public const int RecentCapacity = 2048;

    private static readonly object Gate = new();
    private static readonly Queue<NativeLogLine> RecentLines = new();
    private static readonly List<NativeLogCapture> Captures = new();
    private static readonly StringBuilder Pending = new();
    private static LogLevel _pendingLevel = LogLevel.Debug;
    private static ILogger? _logger;
    private static bool _installed;

    // Held in a static field: native code keeps calling the marshalled delegate, so it must never be collected.
    private static NativeLogConfig.LLamaLogCallback? _callback;

    /// <summary>Whether the callback has been registered with LLamaSharp.</summary>
    public static bool IsInstalled
    {
        get
        {
            lock (Gate) return _installed;
        }
    }

    /// <summary>
    /// Registers the native log callback (once; later calls only change the forwarding target). Call it before
    /// anything else touches LLamaSharp so even the library-loading lines are captured; FlashMoe's own entry
    /// points call it for you. Thread-safe.
    /// </summary>
    /// <param name="logger">Where to forward every native line; null keeps the current target (none at first).</param>
    public static void Install(ILogger? logger = null)
    {
        lock (Gate)
        {
            if (logger is not null) _logger = logger;
            if (_installed) return;
            _callback = OnNativeLog;
            if (NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                NativeLogConfig.llama_log_set(_callback);
            }
            else
            {
                try
                {
                    NativeLibraryConfig.All.WithLogCallback(_callback);
                }
                catch (InvalidOperationException)
                {
                    // Another thread loaded the library between the check and the call: set it directly.
                    NativeLogConfig.llama_log_set(_callback);
                }
            }
            _installed = true;
        }
    }

    /// <summary>A snapshot of the most recent lines (at most <see cref="RecentCapacity"/>), oldest first.</summary>
    public static IReadOnlyList<NativeLogLine> Recent
    {
        get
        {
            lock (Gate) return RecentLines.ToArray();
        }
    }

    /// <summary>Starts recording every line until the capture is disposed; lines also go to <paramref name="logger"/>.</summary>
    internal static NativeLogCapture BeginCapture(ILogger? logger = null)
    {
        var capture = new NativeLogCapture(logger);
        lock (Gate) Captures.Add(capture);
        return capture;
    }

    internal static void EndCapture(NativeLogCapture capture)
    {
        lock (Gate) Captures.Remove(capture);
    }

    /// <summary>The callback body; internal so tests can feed fragments without native code.</summary>
    internal static void OnNativeLog(LLamaLogLevel level, string? message)
    {
        List<(NativeLogLine Line, ILogger Target)>? forwards = null;
        lock (Gate)
        {
            var text = message ?? string.Empty;
            if (level != LLamaLogLevel.Continue)
            {
                // A new message: whatever was pending without its newline is a complete line now.
                if (Pending.Length > 0) Emit(ref forwards);
                _pendingLevel = Map(level);
            }
            var start = 0;
            int newline;
            while ((newline = text.IndexOf('\n', start)) >= 0)
            {
                Pending.Append(text, start, newline - start);
                Emit(ref forwards);
                start = newline + 1;
            }
            if (start < text.Length) Pending.Append(text, start, text.Length - start);
        }

        if (forwards is null) return;
        foreach (var (line, target) in forwards)
        {
            try
            {
                target.Log(line.Level, "llama.cpp: {NativeLine}", line.Text);
            }
#pragma warning disable CA1031 // a throwing logger must never unwind into native code
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>Clears the ring buffer and any pending fragment (tests).</summary>
    internal static void ResetForTests()
    {
        lock (Gate)
        {
            RecentLines.Clear();
            Pending.Clear();
        }
    }

    private static void Emit(ref List<(NativeLogLine, ILogger)>? forwards)
    {
        var text = Pending.ToString().TrimEnd('\r');
        Pending.Clear();
        if (text.Length == 0) return;
        var line = new NativeLogLine(_pendingLevel, text);

        RecentLines.Enqueue(line);
        while (RecentLines.Count > RecentCapacity) RecentLines.Dequeue();

        forwards ??= new List<(NativeLogLine, ILogger)>();
        if (_logger is not null) forwards.Add((line, _logger));
        foreach (var capture in Captures)
        {
            capture.Add(line);
            if (capture.Logger is not null && !ReferenceEquals(capture.Logger, _logger)) forwards.Add((line, capture.Logger));
        }
    }

    private static LogLevel Map(LLamaLogLevel level) => level switch
    {
        LLamaLogLevel.Error => LogLevel.Error,
        LLamaLogLevel.Warning => LogLevel.Warning,
        LLamaLogLevel.Info => LogLevel.Debug,
        LLamaLogLevel.Debug => LogLevel.Trace,
        _ => LogLevel.Debug,
    };
}

/// <summary>The native lines logged while a capture is open (one model load, one context creation).</summary>
internal sealed class NativeLogCapture : IDisposable
{
    /// <summary>
    /// A bound on what one capture holds (a large MoE load logs a few thousand lines). Warnings and errors are
    /// kept beyond it: they carry the reason a load failed.
    /// </summary>
    internal const int MaxLines = 50_000;

    private readonly List<NativeLogLine> _lines = new();

    internal NativeLogCapture(ILogger? logger) => Logger = logger;

    internal ILogger? Logger { get; }

    /// <summary>Whether lines below Warning were dropped after <see cref="MaxLines"/>.</summary>
    internal bool Truncated { get; private set; }

    /// <summary>A snapshot of the captured lines.</summary>
    internal IReadOnlyList<NativeLogLine> Lines
    {
        get
        {
            lock (_lines) return _lines.ToArray();
        }
    }

    internal void Add(NativeLogLine line)
    {
        lock (_lines)
        {
            if (_lines.Count >= MaxLines && line.Level < LogLevel.Warning)
            {
                Truncated = true;
                return;
            }
            _lines.Add(line);
        }
    }

    public void Dispose() => LlamaNativeLog.EndCapture(this);
}
