using System;
using System.IO;
using FlashMoe.Synthetic;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

[Collection(LlamaNativeCollection.Name)]
public sealed class ArchitectureLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-arch-tests-" + Guid.NewGuid().ToString("N"));

    public ArchitectureLoadTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LlamaRun.Result Run(SyntheticModelSpec spec, string name, int tokens = 8)
    {
        var path = Path.Combine(_dir, name + ".gguf");
        SyntheticModel.Write(spec, path);
        return LlamaRun.LoadAndGenerate(path, tokens);
    }

    [Fact]
    public void Deepseek_r1_tiny_loads_and_generates_with_mla_dense_lead_and_shared_expert()
    {
        var spec = SyntheticPresets.DeepseekR1Tiny;
        var run = Run(spec, "deepseek-r1-tiny");

        Assert.Equal(8, run.Generated);
        Assert.Contains("arch                  = deepseek2", run.Log.Replace("arch             =", "arch                  ="));
    }

    [Fact]
    public void Qwen3_30b_a3b_tiny_loads_and_generates()
    {
        var run = Run(SyntheticPresets.Qwen3_30B_A3BTiny, "qwen3-tiny");
        Assert.Equal(8, run.Generated);
    }

    [Fact]
    public void Gpt_oss_20b_tiny_loads_and_generates()
    {
        var run = Run(SyntheticPresets.GptOss20BTiny, "gpt-oss-tiny");
        Assert.Equal(8, run.Generated);
    }
}
