using System;
using System.Globalization;

namespace FlashMoe.Tool;

/// <summary>
/// A progress bar on stderr for long work (writing a multi-GB model). On a terminal it redraws one line in place;
/// otherwise (a CI log) it prints a line at each quarter, so logs stay short. Reports arrive synchronously on the
/// writing thread (unlike <see cref="Progress{T}"/>, which would post them out of order).
/// </summary>
internal sealed class ProgressBar(ToolConsole console, string label, long total) : IProgress<long>
{
    private const int Width = 30;
    private readonly object _gate = new();
    private int _lastPercent = -1;

    public void Report(long value)
    {
        var percent = (int)Math.Clamp(value * 100 / Math.Max(total, 1), 0, 100);
        lock (_gate)
        {
            if (percent == _lastPercent) return;
            if (!console.ErrorIsTerminal)
            {
                if (percent / 25 == Math.Max(_lastPercent, 0) / 25 && _lastPercent >= 0) return;
                _lastPercent = percent;
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label} {percent,3}%"));
                return;
            }
            _lastPercent = percent;
            var filled = percent * Width / 100;
            console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {percent,3}%"));
        }
    }

    /// <summary>Ends the bar (completes it to 100 % and ends the line on a terminal).</summary>
    public void Done()
    {
        lock (_gate)
        {
            if (_lastPercent < 100) Report(total);
            if (console.ErrorIsTerminal) console.Error.WriteLine();
        }
    }
}
