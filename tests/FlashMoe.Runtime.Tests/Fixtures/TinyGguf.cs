using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace FlashMoe.Runtime.Tests.Fixtures;

// TEMPORARY test-only fixture: a minimal GGUF v3 writer for a tiny llama-architecture MoE model, so the
// runtime tests can load something real before FlashMoe.Synthetic (written in parallel) is merged.
// Replace every use with FlashMoe.Synthetic after the merge and delete this file.
// Facts it rests on: /work/shared/evidence.md "Writing a GGUF that LLamaSharp 0.30 accepts".
internal static class TinyGguf
{
    public const int Embedding = 64;
    public const int Heads = 2;
    public const int Layers = 2;
    public const int FeedForward = 128;
    public const int Experts = 4;
    public const int ExpertsUsed = 2;
    private const int Alignment = 32;

    private enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, String = 8, Array = 9 }

    /// <summary>Weight storage of the matrices (norms and router are always F32).</summary>
    public enum Weights { Q8_0 = 8, Q4_0 = 2 }

    private sealed record Tensor(string Name, long[] Shape, uint Type);

    /// <summary>Writes the model to <paramref name="path"/> (deterministic for a given seed).</summary>
    /// <param name="path">Target file.</param>
    /// <param name="weights">Storage type of the weight matrices.</param>
    /// <param name="seed">Random seed of the weights.</param>
    /// <param name="misplacedTensor">Corrupts the file: this tensor's recorded offset is one alignment step too far.</param>
    public static void Write(string path, Weights weights = Weights.Q8_0, int seed = 1, string? misplacedTensor = null)
    {
        var vocab = BuildVocab();
        var tensors = BuildTensors(vocab.Count, (uint)weights);

        using var stream = File.Create(path);
        using var w = new BinaryWriter(stream, Encoding.UTF8);
        w.Write(Encoding.ASCII.GetBytes("GGUF"));
        w.Write(3u);
        w.Write((ulong)tensors.Count);

        var kvs = new List<Action>
        {
            () => Kv(w, "general.architecture", "llama"),
            () => Kv(w, "general.name", "flashmoe-tiny-fixture"),
            () => KvU32(w, "llama.context_length", 512),
            () => KvU32(w, "llama.embedding_length", Embedding),
            () => KvU32(w, "llama.block_count", Layers),
            () => KvU32(w, "llama.feed_forward_length", FeedForward),
            () => KvU32(w, "llama.attention.head_count", Heads),
            () => KvU32(w, "llama.attention.head_count_kv", Heads),
            () => KvU32(w, "llama.rope.dimension_count", Embedding / Heads),
            () => KvF32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f),
            () => KvU32(w, "llama.expert_count", Experts),
            () => KvU32(w, "llama.expert_used_count", ExpertsUsed),
            () => Kv(w, "tokenizer.ggml.model", "llama"),
            () => KvStrings(w, "tokenizer.ggml.tokens", vocab),
            () => KvF32s(w, "tokenizer.ggml.scores", vocab.Count, i => -i),
            () => KvI32s(w, "tokenizer.ggml.token_type", vocab.Count, TokenType),
            () => KvU32(w, "tokenizer.ggml.bos_token_id", 1),
            () => KvU32(w, "tokenizer.ggml.eos_token_id", 2),
            () => KvU32(w, "tokenizer.ggml.unknown_token_id", 0),
        };
        w.Write((ulong)kvs.Count);
        foreach (var kv in kvs) kv();

        long offset = 0;
        var sizes = new List<long>();
        foreach (var t in tensors)
        {
            Str(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape) w.Write((ulong)d);
            w.Write(t.Type);
            w.Write((ulong)(t.Name == misplacedTensor ? offset + Alignment : offset));
            var size = Bytes(t);
            sizes.Add(size);
            offset += Pad(size);
        }
        PadTo(w);

        var random = new Random(seed);
        for (var i = 0; i < tensors.Count; i++)
        {
            WriteData(w, tensors[i], random);
            for (var p = sizes[i]; p < Pad(sizes[i]); p++) w.Write((byte)0);
        }
    }

    /// <summary>Bytes of the data section (every tensor padded to the alignment): what a mapped load maps.</summary>
    public static long TensorDataBytes(Weights weights = Weights.Q8_0) =>
        BuildTensors(BuildVocab().Count, (uint)weights).Sum(t => Pad(Bytes(t)));

    private static int TokenType(int i) => i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;

    private static List<string> BuildVocab()
    {
        var vocab = new List<string> { "<unk>", "<s>", "</s>" };
        for (var b = 0; b < 256; b++) vocab.Add($"<0x{b:X2}>");
        vocab.Add("\u2581");
        for (var c = 'a'; c <= 'z'; c++)
        {
            vocab.Add(c.ToString());
            vocab.Add("\u2581" + c);
        }
        foreach (var word in new[] { "the", "and", "once", "upon", "time", "there", "was" })
        {
            vocab.Add("\u2581" + word);
        }
        return vocab;
    }

    private static List<Tensor> BuildTensors(int vocabSize, uint weightType)
    {
        const uint f32 = 0;
        var list = new List<Tensor>
        {
            new("token_embd.weight", new long[] { Embedding, vocabSize }, weightType),
            new("output_norm.weight", new long[] { Embedding }, f32),
            new("output.weight", new long[] { Embedding, vocabSize }, weightType),
        };
        for (var l = 0; l < Layers; l++)
        {
            var b = $"blk.{l}.";
            list.Add(new(b + "attn_norm.weight", new long[] { Embedding }, f32));
            list.Add(new(b + "attn_q.weight", new long[] { Embedding, Embedding }, weightType));
            list.Add(new(b + "attn_k.weight", new long[] { Embedding, Embedding }, weightType));
            list.Add(new(b + "attn_v.weight", new long[] { Embedding, Embedding }, weightType));
            list.Add(new(b + "attn_output.weight", new long[] { Embedding, Embedding }, weightType));
            list.Add(new(b + "ffn_norm.weight", new long[] { Embedding }, f32));
            list.Add(new(b + "ffn_gate_inp.weight", new long[] { Embedding, Experts }, f32));
            list.Add(new(b + "ffn_gate_exps.weight", new long[] { Embedding, FeedForward, Experts }, weightType));
            list.Add(new(b + "ffn_up_exps.weight", new long[] { Embedding, FeedForward, Experts }, weightType));
            list.Add(new(b + "ffn_down_exps.weight", new long[] { FeedForward, Embedding, Experts }, weightType));
        }
        return list;
    }

    private static long Elements(Tensor t)
    {
        long n = 1;
        foreach (var d in t.Shape) n *= d;
        return n;
    }

    private static long Bytes(Tensor t) => t.Type switch
    {
        0 => Elements(t) * 4,
        8 => Elements(t) / 32 * 34,
        2 => Elements(t) / 32 * 18,
        _ => throw new NotSupportedException(),
    };

    private static long Pad(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void PadTo(BinaryWriter w)
    {
        w.Flush();
        while (w.BaseStream.Position % Alignment != 0) w.Write((byte)0);
    }

    private static void WriteData(BinaryWriter w, Tensor t, Random random)
    {
        var n = Elements(t);
        if (t.Type == 0)
        {
            var norm = t.Name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (long i = 0; i < n; i++) w.Write(norm ? 1f : (float)(random.NextDouble() - 0.5) * 0.2f);
            return;
        }
        // Small finite f16 scales keep random quants valid (evidence.md: std/74 for Q8_0, std/4.6 for Q4_0).
        var quantBytes = t.Type == 8 ? 32 : 16;
        var scale = (Half)(t.Type == 8 ? 0.02f / 74 * 32 : 0.02f / 4.6f * 4);
        var block = new byte[quantBytes];
        for (long b = 0; b < n / 32; b++)
        {
            w.Write(scale);
            random.NextBytes(block);
            w.Write(block);
        }
    }

    private static void Str(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void Kv(BinaryWriter w, string key, string value)
    {
        Str(w, key);
        w.Write((uint)ValueType.String);
        Str(w, value);
    }

    private static void KvU32(BinaryWriter w, string key, uint value)
    {
        Str(w, key);
        w.Write((uint)ValueType.UInt32);
        w.Write(value);
    }

    private static void KvF32(BinaryWriter w, string key, float value)
    {
        Str(w, key);
        w.Write((uint)ValueType.Float32);
        w.Write(value);
    }

    private static void KvStrings(BinaryWriter w, string key, List<string> values)
    {
        Str(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (var v in values) Str(w, v);
    }

    private static void KvF32s(BinaryWriter w, string key, int count, Func<int, float> value)
    {
        Str(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Float32);
        w.Write((ulong)count);
        for (var i = 0; i < count; i++) w.Write(value(i));
    }

    private static void KvI32s(BinaryWriter w, string key, int count, Func<int, int> value)
    {
        Str(w, key);
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)count);
        for (var i = 0; i < count; i++) w.Write(value(i));
    }
}
