using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FlashMoe.Runtime.Native;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

/// <summary>Collects what it is given.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, EventId Event, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries) Entries.Add((logLevel, eventId, formatter(state, exception)));
    }
}

[Collection(NativeCollection.Name)]
public class LlamaNativeLogTests
{
    // Starts each test without fragments left pending by earlier native output.
    public LlamaNativeLogTests() => LlamaNativeLog.ResetForTests();

    [Fact]
    public void Install_is_idempotent()
    {
        LlamaNativeLog.Install();
        LlamaNativeLog.Install();
        Assert.True(LlamaNativeLog.IsInstalled);
    }

    [Fact]
    public void Fragments_and_continuations_become_whole_lines_with_mapped_levels()
    {
        using var capture = LlamaNativeLog.BeginCapture();
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, "load_tensors: loading model tensors");
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Continue, ", this can take a while...\n");
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Warning, "warning: failed to mlock 24576-byte buffer\nTry increasing RLIMIT_MEMLOCK ('ulimit -l' as root).\n");
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Debug, "no newline");
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Error, "llama_model_load: error loading model: x\r\n");

        Assert.Equal(
            new[]
            {
                new NativeLogLine(LogLevel.Debug, "load_tensors: loading model tensors, this can take a while..."),
                new NativeLogLine(LogLevel.Warning, "warning: failed to mlock 24576-byte buffer"),
                new NativeLogLine(LogLevel.Warning, "Try increasing RLIMIT_MEMLOCK ('ulimit -l' as root)."),
                new NativeLogLine(LogLevel.Trace, "no newline"),
                new NativeLogLine(LogLevel.Error, "llama_model_load: error loading model: x"),
            },
            capture.Lines);
    }

    [Fact]
    public void Lines_reach_the_capture_logger_and_the_ring_buffer()
    {
        var logger = new ListLogger();
        using (var capture = LlamaNativeLog.BeginCapture(logger))
        {
            LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, "marker line for the ring buffer test\n");
        }
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, "after the capture\n");

        var entry = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Debug, "llama.cpp: marker line for the ring buffer test"), (entry.Level, entry.Message));
        Assert.Contains(LlamaNativeLog.Recent, l => l.Text == "marker line for the ring buffer test");
    }

    [Fact]
    public void The_ring_buffer_is_bounded()
    {
        for (var i = 0; i < LlamaNativeLog.RecentCapacity + 100; i++)
        {
            LlamaNativeLog.OnNativeLog(LLamaLogLevel.Debug, "line " + i + "\n");
        }
        var recent = LlamaNativeLog.Recent;
        Assert.Equal(LlamaNativeLog.RecentCapacity, recent.Count);
        Assert.Equal("line " + (LlamaNativeLog.RecentCapacity + 99), recent[recent.Count - 1].Text);
    }

    [Fact]
    public void A_throwing_logger_does_not_unwind_into_native_code()
    {
        using var capture = LlamaNativeLog.BeginCapture(new ThrowingLogger());
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Error, "boom\n");
        Assert.Equal("boom", Assert.Single(capture.Lines).Text);
    }

    [Fact]
    public void A_capture_keeps_warnings_beyond_its_bound()
    {
        using var capture = LlamaNativeLog.BeginCapture();
        for (var i = 0; i < NativeLogCapture.MaxLines + 10; i++) LlamaNativeLog.OnNativeLog(LLamaLogLevel.Debug, "x\n");
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Error, "the reason\n");
        Assert.True(capture.Truncated);
        Assert.Equal(NativeLogCapture.MaxLines + 1, capture.Lines.Count);
        Assert.Equal("the reason", capture.Lines.Last().Text);
    }

    [Fact]
    public async Task Concurrent_flows_each_capture_only_their_own_lines_even_interleaved()
    {
        // Two flows log in strict alternation (each waits for the other between lines), with fragments split
        // across calls, so a shared capture or a shared pending fragment would mix them.
        using var turn = new Barrier(2);
        async Task<IReadOnlyList<NativeLogLine>> Flow(string name)
        {
            await Task.Yield();
            using var capture = LlamaNativeLog.BeginCapture();
            return await Task.Run(() =>
            {
                for (var i = 0; i < 20; i++)
                {
                    LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, name + " part");
                    turn.SignalAndWait(TimeSpan.FromSeconds(30));
                    LlamaNativeLog.OnNativeLog(LLamaLogLevel.Continue, " " + i + "\n");
                    turn.SignalAndWait(TimeSpan.FromSeconds(30));
                }
                return capture.Lines;
            });
        }

        var lines = await Task.WhenAll(Flow("a"), Flow("b"));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => "a part " + i), lines[0].Select(l => l.Text));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "b part " + i), lines[1].Select(l => l.Text));
    }

    [Fact]
    public void A_nested_capture_replaces_the_outer_one_until_disposed()
    {
        using var outer = LlamaNativeLog.BeginCapture();
        using (var inner = LlamaNativeLog.BeginCapture())
        {
            LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, "inner\n");
            Assert.Equal("inner", Assert.Single(inner.Lines).Text);
        }
        LlamaNativeLog.OnNativeLog(LLamaLogLevel.Info, "outer\n");
        Assert.Equal("outer", Assert.Single(outer.Lines).Text);
    }

    private sealed class ThrowingLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new InvalidOperationException("logger failure");
    }
}
