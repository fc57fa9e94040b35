using System;
using System.Collections.Generic;
using System.Globalization;
using FlashMoe.Diagnostics;

namespace FlashMoe.Gguf;

/// <summary>
/// Builds a <see cref="ModelSummary"/> from a GGUF header, reading the <c>{arch}.*</c> hyper-parameters the way
/// llama.cpp's loader does (any integer type accepted; per-layer keys may be scalars or arrays). Every value is
/// range-checked against what llama.cpp accepts (<see cref="ModelLimits"/>: u32 keys, at most 512 layers and 512
/// experts, no more experts used than exist) before it sizes a table, drives a loop or enters the planner's arithmetic;
/// anything else is FM0110.
/// </summary>
internal static class ModelSummaryBuilder
{
    private const long U32 = ModelLimits.MaxUInt32;
    private const string U32Limit = "llama.cpp reads it as a u32";

    public static ModelSummary Build(GgufFile file)
    {
        var arch = file.TryGetString("general.architecture", out var a) && a.Length > 0 ? a : "unknown";
        var name = file.TryGetString("general.name", out var n) ? n : null;
        string Key(string suffix) => arch + "." + suffix;

        var blockCount = (int)Integer(file, Key("block_count"), 0, ModelLimits.MaxLayers, 0, "llama.cpp's LLAMA_MAX_LAYERS");
        var embd = Integer(file, Key("embedding_length"), 0, U32, 0, U32Limit);
        var headCounts = PerLayer(file, Key("attention.head_count"), blockCount, null);
        var headCountsKv = PerLayer(file, Key("attention.head_count_kv"), blockCount, headCounts);
        var heads = headCounts.Length > 0 ? headCounts[0] : 0;
        var defaultHeadLength = heads > 0 ? (int)Math.Min(int.MaxValue, embd / heads) : 0;
        var expertCount = (int)Integer(file, Key("expert_count"), 0, ModelLimits.MaxExperts, 0, "llama.cpp's LLAMA_MAX_EXPERTS");
        var expertUsedCount = (int)Integer(file, Key("expert_used_count"), 0, expertCount, 0, "no more than " + Key("expert_count"));

        var tensors = new List<TensorSummary>(file.Tensors.Count);
        var byRole = new RoleBytes();
        foreach (TensorRole role in Enum.GetValues(typeof(TensorRole))) byRole.Add(role, 0);
        var byType = new TypeBytes();
        var maxLayer = -1;
        long parameters = 0;
        long totalBytes = 0;
        foreach (var t in file.Tensors)
        {
            var layer = TensorClassifier.TryGetLayer(t.Name, out var l) ? l : (int?)null;
            var role = TensorClassifier.Classify(t.Name);
            tensors.Add(new TensorSummary(t.Name, t.Type, t.Dimensions, t.Offset, t.Bytes, role, layer));
            byRole.Add(role, t.Bytes);
            byType.Add(t.Type, t.Bytes);
            if (layer is { } index && index > maxLayer) maxLayer = index;
            parameters = GgufFile.SaturatingAdd(parameters, t.ElementCount);
            totalBytes = GgufFile.SaturatingAdd(totalBytes, t.Bytes);
        }

        var byLayer = new long[Math.Max(blockCount, maxLayer + 1)];
        foreach (var t in tensors)
        {
            if (t.Layer is { } index) byLayer[index] = GgufFile.SaturatingAdd(byLayer[index], t.Bytes);
        }

        return new ModelSummary
        {
            Architecture = arch,
            Name = name,
            GgufVersion = file.Version,
            FileSizeBytes = file.FileLength,
            HeaderBytes = file.HeaderBytes,
            DataOffset = file.DataOffset,
            Alignment = file.Alignment,
            IsDeclared = false,
            BlockCount = blockCount,
            EmbeddingLength = embd,
            FeedForwardLength = FirstOfScalarOrArray(file, Key("feed_forward_length")),
            HeadCountPerLayer = new EquatableArray<int>(headCounts),
            HeadCountKvPerLayer = new EquatableArray<int>(headCountsKv),
            KeyLength = (int)Integer(file, Key("attention.key_length"), 0, int.MaxValue, defaultHeadLength),
            ValueLength = (int)Integer(file, Key("attention.value_length"), 0, int.MaxValue, defaultHeadLength),
            KvLoraRank = OptionalInt(file, Key("attention.kv_lora_rank")),
            QLoraRank = OptionalInt(file, Key("attention.q_lora_rank")),
            RopeDimensionCount = OptionalInt(file, Key("rope.dimension_count")),
            KeyLengthMla = OptionalInt(file, Key("attention.key_length_mla")),
            ValueLengthMla = OptionalInt(file, Key("attention.value_length_mla")),
            SlidingWindow = OptionalInt(file, Key("attention.sliding_window")),
            ExpertGatingFunction = OptionalInt(file, Key("expert_gating_func")),
            ExpertWeightsNorm = OptionalBool(file, Key("expert_weights_norm")),
            ContextLength = Integer(file, Key("context_length"), 0, U32, 0, U32Limit),
            VocabSize = VocabSize(file, Key("vocab_size")),
            ExpertCount = expertCount,
            ExpertUsedCount = expertUsedCount,
            ExpertSharedCount = (int)Integer(file, Key("expert_shared_count"), 0, int.MaxValue, 0),
            ExpertFeedForwardLength = Integer(file, Key("expert_feed_forward_length"), 0, U32, 0, U32Limit),
            LeadingDenseBlockCount = (int)Integer(file, Key("leading_dense_block_count"), 0, int.MaxValue, 0),
            FileType = OptionalInt(file, "general.file_type", min: int.MinValue),
            ParameterCount = parameters,
            TensorBytes = totalBytes,
            TensorCount = file.Tensors.Count,
            BytesByRole = byRole,
            BytesByLayer = new EquatableArray<long>(byLayer),
            BytesByType = byType,
            Tensors = new EquatableArray<TensorSummary>(tensors),
        };
    }

    /// <summary>
    /// An integer key of any integer type, range-checked; <paramref name="fallback"/> when absent.
    /// <paramref name="limit"/> names where the maximum comes from, for the FM0110 message.
    /// </summary>
    private static long Integer(GgufFile file, string key, long min, long max, long fallback, string? limit = null)
    {
        if (!file.TryGetValue(key, out var value)) return fallback;
        return CheckInteger(value, key, min, max, limit);
    }

    private static int? OptionalInt(GgufFile file, string key, int min = 0) =>
        file.TryGetValue(key, out var value) ? (int)CheckInteger(value, key, min, int.MaxValue) : null;

    private static bool? OptionalBool(GgufFile file, string key)
    {
        if (!file.TryGetValue(key, out var value)) return null;
        if (value.TryGetBoolean(out var flag)) return flag;
        throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, value.Offset, key,
            $"expected a bool, found {GgufValueTypes.ShortName(value.Type)} {value}");
    }

    private static long CheckInteger(GgufValue value, string key, long min, long max, string? limit = null)
    {
        if (value.TryGetInt64(out var number) && number >= min && number <= max) return number;
        var why = limit is null ? string.Empty : " (" + limit + ")";
        throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, value.Offset, key,
            $"expected an integer from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}{why}, " +
            $"found {GgufValueTypes.ShortName(value.Type)} {value}");
    }

    /// <summary>
    /// A per-layer key: a scalar is expanded to every layer, an array is taken as is (llama.cpp's
    /// get_key_or_arr). Absent: <paramref name="fallback"/> (or empty).
    /// </summary>
    private static int[] PerLayer(GgufFile file, string key, int blockCount, int[]? fallback)
    {
        if (!file.TryGetValue(key, out var value)) return fallback ?? Array.Empty<int>();
        if (value.Array is { } array)
        {
            if (!array.IsMaterialized)
            {
                throw new GgufFormatException(DiagnosticCatalog.GgufInvalidMetadataValue, value.Offset, key,
                    $"a per-layer array of {array.Count} elements was not read: it is longer than any model's layer count, " +
                    "or the header's earlier arrays used up the reader's element budget (GgufReadOptions.MaxMaterializedElementsTotal)");
            }
            var perLayer = new int[array.Elements.Count];
            for (var i = 0; i < perLayer.Length; i++) perLayer[i] = (int)CheckInteger(array.Elements[i], key, 0, int.MaxValue);
            return perLayer;
        }
        var scalar = (int)CheckInteger(value, key, 0, int.MaxValue);
        var expanded = new int[blockCount];
        for (var i = 0; i < expanded.Length; i++) expanded[i] = scalar;
        return expanded;
    }

    /// <summary>A key that may be a scalar or a per-layer array; the first layer's value of an array.</summary>
    private static long FirstOfScalarOrArray(GgufFile file, string key)
    {
        if (!file.TryGetValue(key, out var value)) return 0;
        if (value.Array is { } array) return array.Elements.Count > 0 ? CheckInteger(array.Elements[0], key, 0, U32, U32Limit) : 0;
        return CheckInteger(value, key, 0, U32, U32Limit);
    }

    /// <summary>Length of <c>tokenizer.ggml.tokens</c>, else <c>{arch}.vocab_size</c>, else the embedding's row count.</summary>
    private static long VocabSize(GgufFile file, string vocabSizeKey)
    {
        if (file.TryGetArray("tokenizer.ggml.tokens", out var tokens)) return tokens.Count;
        if (file.ContainsKey(vocabSizeKey)) return Integer(file, vocabSizeKey, 0, U32, 0, U32Limit);
        return file.TryGetTensor("token_embd.weight", out var embedding) && embedding.Dimensions.Count >= 2 ? embedding.Dimensions[1] : 0;
    }
}
