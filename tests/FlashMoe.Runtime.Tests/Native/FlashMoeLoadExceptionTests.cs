using System;
using System.IO;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Runtime.Native;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

public class FlashMoeLoadExceptionTests
{
    private static NativeLogLine[] Captured(string name) => File
        .ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Captured", name))
        .Select(l => new NativeLogLine(LogLevel.Error, l))
        .ToArray();

    [Fact]
    public void Reason_is_the_text_after_error_loading_model()
    {
        var errors = FlashMoeLoadException.ErrorLines(Captured("fail-truncated.log"));
        Assert.Equal(
            "tensor 'blk.1.ffn_gate_exps.weight' data is not within the file bounds, model is corrupted or incomplete",
            FlashMoeLoadException.ExtractReason(errors));
    }

    [Fact]
    public void A_generic_loader_failure_defers_to_the_specific_line_before_it()
    {
        var errors = FlashMoeLoadException.ErrorLines(Captured("fail-header.log"));
        Assert.Equal("gguf_init_from_reader: failed to read key-value pairs", FlashMoeLoadException.ExtractReason(errors));
    }

    [Fact]
    public void Error_words_at_lower_levels_count_but_metadata_dumps_do_not()
    {
        var lines = new[]
        {
            new NativeLogLine(LogLevel.Debug, "llama_model_loader: - kv   1:   general.name str = error-prone"),
            new NativeLogLine(LogLevel.Debug, "print_info: n_layer = 2"),
            new NativeLogLine(LogLevel.Debug, "llama_model_load: error loading model: error loading model hyperparameters: invalid n_rot: 32, expected 64"),
        };
        var errors = FlashMoeLoadException.ErrorLines(lines);
        Assert.Single(errors);
        Assert.Equal("error loading model hyperparameters: invalid n_rot: 32, expected 64", FlashMoeLoadException.ExtractReason(errors));
    }

    [Fact]
    public void No_native_reason_says_so()
    {
        Assert.Contains("logged no reason", FlashMoeLoadException.ExtractReason(Array.Empty<string>()));
    }

    [Fact]
    public void Message_names_the_advice_that_predicted_the_failure()
    {
        var advice = FlashMoeDiagnostic.Create(DiagnosticCatalog.FM2003MlockBeyondLimit, null, "8 MiB", "2.0 GiB of model weights");
        var error = new FlashMoeLoadException("/m.gguf", "out of memory", advice: new[] { advice });
        Assert.StartsWith("llama.cpp could not load '/m.gguf': out of memory (predicted by FM2003: mlock is requested", error.Message);
        Assert.Same(advice, Assert.Single(error.Advice));
    }

    [Fact]
    public void Info_level_advice_is_not_named_as_a_prediction()
    {
        var info = FlashMoeDiagnostic.Create(DiagnosticCatalog.DeclaredFactsUsed, null, "m.gguf", 2.0, 4, "dense", "nothing");
        var warning = FlashMoeDiagnostic.Create(DiagnosticCatalog.FM2003MlockBeyondLimit, null, "8 MiB", "2.0 GiB of model weights");

        var onlyInfo = new FlashMoeLoadException("/m.gguf", "out of memory", advice: new[] { info });
        Assert.Equal("llama.cpp could not load '/m.gguf': out of memory", onlyInfo.Message);
        Assert.Same(info, Assert.Single(onlyInfo.Advice));

        var both = new FlashMoeLoadException("/m.gguf", "out of memory", advice: new[] { info, warning });
        Assert.Contains("(predicted by FM2003: ", both.Message);
        Assert.DoesNotContain("FM1007", both.Message);
        Assert.DoesNotContain("declared facts", both.Message);
        Assert.Equal(2, both.Advice.Count);
    }
}
