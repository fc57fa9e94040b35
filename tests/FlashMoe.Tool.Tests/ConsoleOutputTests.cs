using System.IO;
using System.Linq;
using Xunit;

namespace FlashMoe.Tool.Tests;

/// <summary>Colour only on a terminal without NO_COLOR; progress redrawn on a terminal, a line per quarter in a log.</summary>
public sealed class ConsoleOutputTests
{
    [Theory]
    [InlineData(null, "xterm-256color", true)]
    [InlineData("", "xterm", true)]
    [InlineData("1", "xterm", false)]
    [InlineData(null, "dumb", false)]
    public void No_color_and_a_dumb_terminal_turn_colour_off(string? noColor, string? term, bool expected) =>
        Assert.Equal(expected, ToolConsole.ColourAllowed(noColor, term));

    [Fact]
    public void Output_that_is_not_a_terminal_gets_no_escape_sequences()
    {
        var console = new ToolConsole(new StringWriter(), new StringWriter(), outputIsTerminal: false);
        Assert.Equal("warning", console.Style("warning", ConsoleStyle.Warning));
    }

    [Fact]
    public void In_a_log_the_progress_bar_prints_a_line_per_quarter()
    {
        var stderr = new StringWriter();
        var bar = new ProgressBar(new ToolConsole(new StringWriter(), stderr, errorIsTerminal: false), "writing", 1000);

        for (var done = 0; done <= 1000; done += 10) bar.Report(done);
        bar.Done();

        Assert.Equal(new[] { "writing   0%", "writing  25%", "writing  50%", "writing  75%", "writing 100%" },
            stderr.ToString().Split('\n', System.StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')));
    }

    [Fact]
    public void On_a_terminal_the_progress_bar_redraws_one_line()
    {
        var stderr = new StringWriter();
        var bar = new ProgressBar(new ToolConsole(new StringWriter(), stderr, errorIsTerminal: true), "writing", 100);

        bar.Report(50);
        bar.Done();

        var text = stderr.ToString();
        Assert.Contains("\rwriting [###############...............]  50%", text);
        Assert.EndsWith("\rwriting [##############################] 100%" + System.Environment.NewLine, text);
    }
}
