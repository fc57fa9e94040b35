using System;

namespace FlashMoe.Gguf;

/// <summary>Tells what a tensor is for from its llama.cpp name (<c>blk.N.ffn_up_exps.weight</c> …).</summary>
public static class TensorClassifier
{
    /// <summary>
    /// Largest block index treated as a layer (<see cref="ModelLimits.MaxLayers"/> − 1): a <c>blk.N.*</c> name past it
    /// is no layer llama.cpp can load, and per-layer tables are sized by it.
    /// </summary>
    public const int MaxLayerIndex = ModelLimits.MaxLayers - 1;

    /// <summary>The role of a tensor, from its name.</summary>
    public static TensorRole Classify(string name)
    {
        if (name is null) throw new ArgumentNullException(nameof(name));
        var baseName = StripSuffix(name);
        if (TryGetLayer(name, out _, out var rest)) return ClassifyBlockTensor(rest);

        if (baseName == "output" || baseName == "output_norm") return TensorRole.Output;
        if (baseName.StartsWith("token_embd", StringComparison.Ordinal))
        {
            return baseName.IndexOf("norm", StringComparison.Ordinal) >= 0 ? TensorRole.Norm : TensorRole.TokenEmbedding;
        }
        return baseName.IndexOf("norm", StringComparison.Ordinal) >= 0 ? TensorRole.Norm : TensorRole.Other;
    }

    /// <summary>Parses the block index of a <c>blk.N.*</c> name.</summary>
    public static bool TryGetLayer(string name, out int layer) => TryGetLayer(name, out layer, out _);

    private static TensorRole ClassifyBlockTensor(string rest)
    {
        var part = StripSuffix(rest);
        if (part.IndexOf("norm", StringComparison.Ordinal) >= 0) return TensorRole.Norm;
        if (part.IndexOf("_shexp", StringComparison.Ordinal) >= 0) return TensorRole.SharedExpertFfn;
        if (part.IndexOf("_exps", StringComparison.Ordinal) >= 0) return TensorRole.ExpertFfn;
        if (part.StartsWith("ffn_gate_inp", StringComparison.Ordinal) || part.StartsWith("exp_probs_b", StringComparison.Ordinal))
        {
            return TensorRole.ExpertRouter;
        }
        if (part.StartsWith("attn_", StringComparison.Ordinal)) return TensorRole.Attention;
        if (part == "ffn_gate" || part == "ffn_up" || part == "ffn_down" || part == "ffn_gate_up") return TensorRole.DenseFfn;
        return TensorRole.Other;
    }

    private static bool TryGetLayer(string name, out int layer, out string rest)
    {
        layer = 0;
        rest = string.Empty;
        const string prefix = "blk.";
        if (name is null || !name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var i = prefix.Length;
        long value = 0;
        var digits = 0;
        while (i < name.Length && name[i] >= '0' && name[i] <= '9')
        {
            value = (value * 10) + (name[i] - '0');
            if (value > MaxLayerIndex) return false;
            i++;
            digits++;
        }
        if (digits == 0 || i >= name.Length || name[i] != '.') return false;
        layer = (int)value;
        rest = name.Substring(i + 1);
        return true;
    }

    /// <summary>Drops the <c>.weight</c>/<c>.bias</c>/<c>.scale</c> suffix.</summary>
    private static string StripSuffix(string name)
    {
        foreach (var suffix in new[] { ".weight", ".bias", ".scale" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal)) return name.Substring(0, name.Length - suffix.Length);
        }
        return name;
    }
}
