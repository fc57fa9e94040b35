using System;
using System.IO;
using System.Linq;
using FlashMoe.Planning;
using FlashMoe.Runtime.Native;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FlashMoe.Runtime.Tests.Native;

public class LlamaBufferReportTests
{
    private static string[] Captured(string name) =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Captured", name));

    private static long MiB(double value) => (long)Math.Round(value * Units.MiB);

    [Fact]
    public void Q8_mmap_load_maps_the_weights_and_reports_the_last_context()
    {
        var report = LlamaBufferReport.Parse(Captured("load-q8-mmap.log"));

        Assert.Equal("mmap", report.LoadMode);
        Assert.Equal(new[] { "CPU_Mapped" }, report.ModelBuffers.Keys);
        Assert.Equal(MiB(0.28), report.ModelBuffers["CPU_Mapped"]);
        Assert.Equal(0, report.RepackBytes);
        Assert.Equal(0, report.RepackedTensorCount);
        Assert.Equal(3, report.ContextCount); // the StatelessExecutor built three contexts; figures are the last one's
        Assert.Equal(MiB(0.12), report.KvBuffers["CPU"]);
        Assert.Equal(MiB(0.28), report.ComputeBuffers["CPU"]);
        Assert.Equal(0, report.OutputBuffers["CPU"]);
        Assert.Equal(MiB(0.06), report.KBytes);
        Assert.Equal(MiB(0.06), report.VBytes);
        Assert.Equal(("f16", "f16"), (report.KType, report.VType));
        Assert.Equal(256, report.KvCells);
        Assert.Equal("2", report.ModelInfo["n_layer"]);
        Assert.Equal("4", report.ModelInfo["n_expert"]);
        Assert.Equal("2", report.ModelInfo["n_expert_used"]);
        Assert.Equal("0.28 MiB (8.57 BPW)", report.ModelInfo["file size"]);
        Assert.Empty(report.Warnings);
        Assert.Null(report.OffloadedLayers);
    }

    [Fact]
    public void Q4_no_mmap_load_shows_the_repacked_weights()
    {
        var report = LlamaBufferReport.Parse(Captured("load-q4-nommap-repack.log"));

        Assert.Equal("none", report.LoadMode);
        Assert.Equal(MiB(0.03), report.ModelBuffers["CPU"]);
        Assert.Equal(MiB(0.12), report.ModelBuffers["CPU_REPACK"]);
        Assert.Equal(MiB(0.12), report.RepackBytes);
        Assert.Equal(MiB(0.15), report.ModelBytes);
        Assert.Equal(14, report.RepackedTensorCount); // 7 per layer: q, k, v, output, 3 expert tensors
        Assert.Equal(report.ModelBytes + report.KvBytes + report.ComputeBytes + report.OutputBytes, report.TotalBytes);
    }

    [Fact]
    public void Mlock_warning_is_joined_with_its_continuation_line()
    {
        var report = LlamaBufferReport.Parse(Captured("load-mlock-warning.log"));

        Assert.Equal("mlock", report.LoadMode);
        var warning = Assert.Single(report.Warnings);
        Assert.Equal(
            "warning: failed to mlock 28672-byte buffer (after previously locking 0 bytes): Cannot allocate memory " +
            "Try increasing RLIMIT_MEMLOCK ('ulimit -l' as root).",
            warning);
    }

    [Fact]
    public void Overrides_and_bf16_kv_cache()
    {
        var lines = Captured("load-override-bf16-kv.log");
        var report = LlamaBufferReport.Parse(lines);

        Assert.Equal(6, report.OverriddenTensorCount); // 3 expert tensors × 2 layers
        Assert.Equal(("bf16", "bf16"), (report.KType, report.VType));
        // The mmap-with-overrides warning does not say "warning": only its level marks it.
        Assert.Empty(report.Warnings);
        var leveled = LlamaBufferReport.Parse(lines.Select(l => new NativeLogLine(
            l.StartsWith("llama_model_loader: tensor overrides", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Debug, l)));
        Assert.Equal(
            "llama_model_loader: tensor overrides to CPU are used with mmap enabled - consider using --no-mmap for better performance",
            Assert.Single(leveled.Warnings));
    }

    [Fact]
    public void Gpu_lines_as_printed_by_cuda_and_vulkan_builds()
    {
        // Quoted from llama.cpp issue reports (formats of src/llama-model.cpp / llama-context.cpp / llama-kv-cache.cpp).
        var report = LlamaBufferReport.Parse(new[]
        {
            "load_tensors: offloading 48 repeating layers to GPU",
            "load_tensors: offloaded 49/49 layers to GPU",
            "load_tensors:        CUDA0 model buffer size =  6378.40 MiB",
            "load_tensors:   CPU_Mapped model buffer size =   417.66 MiB",
            "llama_context: constructing llama_context",
            "llama_context:  CUDA_Host  output buffer size =     0.49 MiB",
            "llama_kv_cache:      CUDA0 KV buffer size =  1536.00 MiB",
            "llama_kv_cache: size = 1536.00 MiB (  8192 cells,  48 layers,  1/1 seqs), K (f16):  768.00 MiB, V (f16):  768.00 MiB",
            "sched_reserve:      CUDA0 compute buffer size =   126.77 MiB",
            "sched_reserve:  CUDA_Host compute buffer size =    78.77 MiB",
        });

        Assert.Equal((49, 49), report.OffloadedLayers);
        Assert.Equal(MiB(6378.40), report.ModelBuffers["CUDA0"]);
        Assert.Equal(MiB(417.66), report.ModelBuffers["CPU_Mapped"]);
        Assert.Equal(MiB(1536), report.KvBuffers["CUDA0"]);
        Assert.Equal(MiB(126.77) + MiB(78.77), report.ComputeBytes);
        Assert.Equal(MiB(0.49), report.OutputBuffers["CUDA_Host"]);
        Assert.Equal(8192, report.KvCells);
    }

    [Fact]
    public void Split_files_and_two_kv_caches_are_summed()
    {
        var report = LlamaBufferReport.Parse(new[]
        {
            "load_tensors:   CPU_Mapped model buffer size = 47000.00 MiB",
            "load_tensors:   CPU_Mapped model buffer size =  1000.50 MiB",
            "llama_kv_cache:        CPU KV buffer size =    10.00 MiB",
            "llama_kv_cache: size =   10.00 MiB (  4096 cells,   6 layers,  1/1 seqs), K (q8_0):    5.00 MiB, V (q8_0):    5.00 MiB",
            "llama_kv_cache:        CPU KV buffer size =    30.00 MiB",
            "llama_kv_cache: size =   30.00 MiB (  4096 cells,  18 layers,  1/1 seqs), K (q8_0):   15.00 MiB, V (q8_0):   15.00 MiB",
        });
        Assert.Equal(MiB(48000.50), report.ModelBuffers["CPU_Mapped"]);
        Assert.Equal(MiB(40), report.KvBytes);
        Assert.Equal(MiB(20), report.KBytes);
        Assert.Equal("q8_0", report.KType);
    }

    [Fact]
    public void Expectation_lines_of_a_context_teardown_are_not_counted_twice()
    {
        var report = LlamaBufferReport.Parse(new[]
        {
            "sched_reserve:        CPU compute buffer size =     0.28 MiB",
            "~llama_context:        CPU compute buffer size is   0.2830 MiB, matches expectation of   0.2830 MiB",
        });
        Assert.Equal(MiB(0.28), report.ComputeBytes);
    }

    [Fact]
    public void Unrelated_or_malformed_lines_give_an_empty_report()
    {
        var report = LlamaBufferReport.Parse(new[]
        {
            "", "hello", "load_tensors: CPU model buffer size = lots MiB", "load_tensors: CPU model buffer size = 1e999 MiB",
            "llama_kv_cache: size = ??", null!,
        });
        Assert.False(report.HasBuffers);
        Assert.Equal(0, report.TotalBytes);
        Assert.False(LlamaBufferReport.Empty.HasBuffers);
    }

    [Fact]
    public void WithContext_keeps_the_weights_and_takes_the_context_figures()
    {
        var load = LlamaBufferReport.Parse(new[] { "load_tensors:   CPU_Mapped model buffer size =     1.00 MiB" });
        var context = LlamaBufferReport.Parse(new[]
        {
            "llama_context: constructing llama_context",
            "llama_kv_cache:        CPU KV buffer size =     2.00 MiB",
            "sched_reserve:        CPU compute buffer size =     3.00 MiB",
        });
        var merged = load.WithContext(context);
        Assert.Equal(MiB(1), merged.ModelBytes);
        Assert.Equal(MiB(2), merged.KvBytes);
        Assert.Equal(MiB(3), merged.ComputeBytes);
        Assert.Equal(1, merged.ContextCount);
        Assert.Contains("model   CPU_Mapped      1.00 MiB", merged.Describe());
        Assert.Contains("total                   6.00 MiB", merged.Describe());
    }
}
