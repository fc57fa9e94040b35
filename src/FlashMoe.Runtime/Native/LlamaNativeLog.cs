using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
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
/// llama.cpp has ONE log callback per process, so lines are routed to the load that caused them: a capture is an
/// <see cref="AsyncLocal{T}"/> scope, which flows into the thread-pool task LLamaSharp runs the native load on, and
/// llama.cpp logs a load's lines (buffer sizes, load mode, repacking) from the thread that calls it, so the callback
/// — running on that thread — sees the scope of its own load. This keeps concurrent loads concurrent; a lock around
/// the native section would also separate the lines but would serialise loads that mostly wait on the disk.
/// Fragments are assembled per thread for the same reason. Lines from threads llama.cpp starts itself (only its
/// optional tensor validation logs from worker threads; the loading thread then names the failing tensor) belong to
/// no capture: they reach only <see cref="Recent"/> and the installed logger.
/// </remarks>
public static class LlamaNativeLog
{
    /// <summary>How many recent lines <see cref="Recent"/> keeps.</summary>
    public const int RecentCapacity = 2048;

    private static readonly object Gate = new();
    private static readonly Queue<NativeLogLine> RecentLines = new();
    private static readonly AsyncLocal<NativeLogCapture?> CurrentCapture = new();

    // The unfinished line of the calling thread: a message and its continuations come from one thread.
    [ThreadStatic] private static StringBuilder? t_pending;
    [ThreadStatic] private static LogLevel t_pendingLevel;
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

    /// <summary>
    /// Starts recording the lines logged by this asynchronous flow (and the tasks it starts) until the capture is
    /// disposed; lines also go to <paramref name="logger"/>. A capture begun inside another replaces it until disposed.
    /// </summary>
    internal static NativeLogCapture BeginCapture(ILogger? logger = null)
    {
        var capture = new NativeLogCapture(logger, CurrentCapture.Value);
        CurrentCapture.Value = capture;
        return capture;
    }

    internal static void EndCapture(NativeLogCapture capture)
    {
        if (ReferenceEquals(CurrentCapture.Value, capture)) CurrentCapture.Value = capture.Outer;
    }

    /// <summary>The callback body; internal so tests can feed fragments without native code.</summary>
    internal static void OnNativeLog(LLamaLogLevel level, string? message)
    {
        List<(NativeLogLine Line, ILogger Target)>? forwards = null;
        var pending = t_pending ??= new StringBuilder();
        var capture = CurrentCapture.Value;
        var text = message ?? string.Empty;
        if (level != LLamaLogLevel.Continue)
        {
            // A new message: whatever was pending without its newline is a complete line now.
            if (pending.Length > 0) Emit(pending, capture, ref forwards);
            t_pendingLevel = Map(level);
        }
        var start = 0;
        int newline;
        while ((newline = text.IndexOf('\n', start)) >= 0)
        {
            pending.Append(text, start, newline - start);
            Emit(pending, capture, ref forwards);
            start = newline + 1;
        }
        if (start < text.Length) pending.Append(text, start, text.Length - start);

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

    /// <summary>Clears the ring buffer and the calling thread's pending fragment (tests).</summary>
    internal static void ResetForTests()
    {
        lock (Gate) RecentLines.Clear();
        t_pending?.Clear();
    }

    private static void Emit(StringBuilder pending, NativeLogCapture? capture, ref List<(NativeLogLine, ILogger)>? forwards)
    {
        var text = pending.ToString().TrimEnd('\r');
        pending.Clear();
        if (text.Length == 0) return;
        var line = new NativeLogLine(t_pendingLevel, text);

        ILogger? installed;
        lock (Gate)
        {
            RecentLines.Enqueue(line);
            while (RecentLines.Count > RecentCapacity) RecentLines.Dequeue();
            installed = _logger;
        }

        forwards ??= new List<(NativeLogLine, ILogger)>();
        if (installed is not null) forwards.Add((line, installed));
        if (capture is null) return;
        capture.Add(line);
        if (capture.Logger is not null && !ReferenceEquals(capture.Logger, installed)) forwards.Add((line, capture.Logger));
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

/// <summary>The native lines one flow logged while a capture was open (one model load, one context creation).</summary>
internal sealed class NativeLogCapture : IDisposable
{
    /// <summary>
    /// A bound on what one capture holds (a large MoE load logs a few thousand lines). Warnings and errors are
    /// kept beyond it: they carry the reason a load failed.
    /// </summary>
    internal const int MaxLines = 50_000;

    private readonly List<NativeLogLine> _lines = new();

    internal NativeLogCapture(ILogger? logger, NativeLogCapture? outer)
    {
        Logger = logger;
        Outer = outer;
    }

    internal ILogger? Logger { get; }

    /// <summary>The capture this one replaced in its flow; current again once this one is disposed.</summary>
    internal NativeLogCapture? Outer { get; }

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
