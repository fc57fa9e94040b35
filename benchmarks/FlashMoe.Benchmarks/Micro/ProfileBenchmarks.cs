using System.Linq;
using BenchmarkDotNet.Attributes;
using FlashMoe.Gguf;
using FlashMoe.Planning;
using FlashMoe.Profiles;

namespace FlashMoe.Benchmarks.Micro;

/// <summary>
/// Parsing a realistic <c>flashmoe.json</c> (the sample's: two profiles, comments) and resolving the seed profile
/// (ArcWorkstation: 128 GiB, Arc A770 16 GiB, 121 GiB model, mmap forced on) — the work the source generator, the
/// build check and the runtime repeat per profile.
/// </summary>
[MemoryDiagnoser]
public class ProfileBenchmarks
{
    private string _json = null!;
    private string _modelPath = null!;
    private FlashMoeProfile _seed = null!;
    private ModelSummary _declared = null!;
    private ModelSummary _header = null!;
    private HostFacts _seedHost = null!;

    [GlobalSetup]
    public void Setup()
    {
        _json = BenchmarkInputs.ProfileJson();
        var document = ProfileParser.Parse("flashmoe.json", _json);
        _seed = document.Profiles.Single(p => p.Profile.Name == "ArcWorkstation").Profile;
        _declared = DeclaredModel.FromSpec(_seed.Model);
        _modelPath = BenchmarkInputs.WriteSparseSeedClassModel();
        _header = GgufReader.ReadSummary(_modelPath);
        _seedHost = HostFacts.FromProfile(_seed.Hardware);
    }

    [GlobalCleanup]
    public void Cleanup() => BenchmarkInputs.TryDelete(_modelPath);

    /// <summary>Positioned JSON parse, schema checks and the profile object model for the whole file.</summary>
    [Benchmark]
    public ProfileDocument Parse() => ProfileParser.Parse("flashmoe.json", _json);

    /// <summary>The seed profile resolved from its declared facts (the build check without the model file).</summary>
    [Benchmark]
    public ResolvedProfile ResolveSeedDeclared() => ProfileResolver.Resolve(_seed, _declared, _seedHost);

    /// <summary>The seed profile resolved for a real header: 743 tensors placed, a GPU layer search, the advice.</summary>
    [Benchmark]
    public ResolvedProfile ResolveSeedFromHeader() => ProfileResolver.Resolve(_seed, _header, _seedHost);
}
