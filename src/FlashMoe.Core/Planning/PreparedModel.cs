using System;
using System.Collections.Generic;
using System.Linq;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>
/// A model prepared for repeated planning with one override list: tensors, override matches (regexes are
/// evaluated once per tensor, not once per candidate gpuLayers) and cached KV layer sizes.
/// </summary>
internal sealed class PreparedModel
{
    // Keyed by text, not by a (int, KvCacheType, KvCacheType, long, bool) tuple: a Dictionary over a value tuple is not
    // precompiled (ReadyToRun) and would be JIT-compiled on every build's first check; a handful of lookups per plan.
    private readonly Dictionary<string, long[]> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _wholeGraph = new(StringComparer.Ordinal);

    public PreparedModel(ModelSummary model, IReadOnlyList<TensorOverride> overrides, int gpuCount)
    {
        Model = model;
        Tensors = DeclaredModel.TensorsOf(model);
        var active = new List<CompiledOverride>(LlamaPlacement.Compile(overrides, gpuCount, Ignored));
        Matches = new CompiledOverride?[Tensors.Count];
        long fileBytes = 0;
        TensorSummary? embedding = null;
        var hasOutput = false;
        for (var i = 0; i < Tensors.Count; i++)
        {
            var t = Tensors[i];
            Matches[i] = LlamaPlacement.Match(active, t.Name, Ignored);
            fileBytes += t.Bytes;
            if (t.Role == TensorRole.TokenEmbedding && t.Name == "token_embd.weight") embedding = t;
            if (t.Name == "output.weight") hasOutput = true;
        }
        FileTensorBytes = fileBytes;
        if (!hasOutput && embedding is not null && Tensors.Count > 0)
        {
            TiedEmbedding = embedding;
            TiedMatch = LlamaPlacement.Match(active, embedding.Name, Ignored);
        }
        DropTimedOutMatches(active);
        Ignored.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>
    /// An override dropped after a match timeout may already have matched earlier tensors: place those as if it had
    /// never been there (re-matching can drop another override, hence the loop; each round removes one at least).
    /// </summary>
    private void DropTimedOutMatches(List<CompiledOverride> active)
    {
        while (true)
        {
            var remaining = new HashSet<int>(active.Select(o => o.Index));
            var before = active.Count;
            for (var i = 0; i < Matches.Length; i++)
            {
                if (Matches[i] is { } m && !remaining.Contains(m.Index)) Matches[i] = LlamaPlacement.Match(active, Tensors[i].Name, Ignored);
            }
            if (TiedMatch is { } tied && !remaining.Contains(tied.Index)) TiedMatch = LlamaPlacement.Match(active, TiedEmbedding!.Name, Ignored);
            if (active.Count == before) return;
        }
    }

    public ModelSummary Model { get; }
    public IReadOnlyList<TensorSummary> Tensors { get; }
    public CompiledOverride?[] Matches { get; }
    public List<IgnoredOverride> Ignored { get; } = new();
    public long FileTensorBytes { get; }
    public TensorSummary? TiedEmbedding { get; }
    public CompiledOverride? TiedMatch { get; private set; }

    public long[] KvLayerBytes(int contextSize, KvCacheType k, KvCacheType v, long ubatchSize, bool swaFull)
    {
        var key = Invariant.Number(contextSize) + "|" + Invariant.Number((int)k) + "|" + Invariant.Number((int)v) + "|" + Invariant.Number(ubatchSize) + "|" + (swaFull ? "1" : "0");
        if (!_kv.TryGetValue(key, out var bytes))
        {
            bytes = KvCacheEstimator.LayerBytes(Model, contextSize, k, v, ubatchSize, swaFull);
            _kv[key] = bytes;
        }
        return bytes;
    }

    /// <summary>
    /// The CPU-only compute buffer: { reserved, resident } (<see cref="ComputeBufferEstimator.WholeGraphResidentBytes"/>),
    /// remembered per shape — the resolver plans the same model many times with the same ubatch, context and cache.
    /// </summary>
    public long[] WholeGraphCompute(long tokens, long residentOutputs, long kvCells, bool flashAttention, KvCacheType k, KvCacheType v, long windowCells)
    {
        var key = Invariant.Number(tokens) + "|" + Invariant.Number(residentOutputs) + "|" + Invariant.Number(kvCells) + "|" + (flashAttention ? "1" : "0")
                  + "|" + Invariant.Number((int)k) + "|" + Invariant.Number((int)v) + "|" + Invariant.Number(windowCells);
        if (!_wholeGraph.TryGetValue(key, out var bytes))
        {
            var resident = ComputeBufferEstimator.WholeGraphResidentBytes(Model, tokens, residentOutputs, kvCells, flashAttention, k, v, windowCells, out var reserved);
            bytes = new[] { reserved, resident };
            _wholeGraph[key] = bytes;
        }
        return bytes;
    }
}
