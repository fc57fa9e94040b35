using System;
using System.Collections.Generic;
using System.Globalization;

namespace FlashMoe.Synthetic;

/// <summary>llama.cpp token types (<c>enum llama_token_type</c>).</summary>
public enum SyntheticTokenType
{
    /// <summary>An ordinary piece.</summary>
    Normal = 1,
    /// <summary>The unknown token.</summary>
    Unknown = 2,
    /// <summary>A control token (BOS, EOS).</summary>
    Control = 3,
    /// <summary>A byte-fallback token <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}

/// <summary>A byte-fallback llama (SentencePiece) vocabulary: tokens, scores and token types, index = token id.</summary>
public sealed class SyntheticVocabulary
{
    internal SyntheticVocabulary(string[] tokens, float[] scores, int[] tokenTypes)
    {
        Tokens = tokens;
        Scores = scores;
        TokenTypes = tokenTypes;
    }

    /// <summary>Token pieces (<c>tokenizer.ggml.tokens</c>).</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Merge scores (<c>tokenizer.ggml.scores</c>); higher merges first.</summary>
    public IReadOnlyList<float> Scores { get; }

    /// <summary>Token types (<c>tokenizer.ggml.token_type</c>), values of <see cref="SyntheticTokenType"/>.</summary>
    public IReadOnlyList<int> TokenTypes { get; }

    /// <summary>Number of tokens.</summary>
    public int Count => Tokens.Count;
}

/// <summary>Builds the vocabulary of a synthetic model.</summary>
public static class SyntheticVocab
{
    /// <summary>Id of <c>&lt;unk&gt;</c>.</summary>
    public const int UnknownId = 0;
    /// <summary>Id of <c>&lt;s&gt;</c> (BOS).</summary>
    public const int BosId = 1;
    /// <summary>Id of <c>&lt;/s&gt;</c> (EOS).</summary>
    public const int EosId = 2;
    /// <summary>Tokens every synthetic vocabulary has: the three specials and the 256 byte tokens.</summary>
    public const int BaseTokenCount = 3 + 256;

    /// <summary>SentencePiece's word-start marker (U+2581), which llama.cpp substitutes for spaces.</summary>
    public const string WordStart = "\u2581";

    private static readonly string[] CommonWords =
    {
        "the", "a", "an", "and", "of", "to", "in", "is", "it", "that", "for", "on", "with", "as", "was", "be", "by",
        "this", "are", "or", "at", "from", "not", "have", "but", "you", "we", "they", "model", "memory", "token",
        "Hello", "world", "The", "A", "I",
    };

    /// <summary>
    /// Pieces that make English text tokenise into more than bytes: the word marker, ASCII letters, digits and
    /// punctuation, and common words with every prefix (SentencePiece merges adjacent pieces, so "▁the" is only
    /// reached through "▁t" and "▁th").
    /// </summary>
    public static IReadOnlyList<string> CommonPieces { get; } = BuildCommonPieces();

    /// <summary>
    /// Builds the vocabulary: <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, the 256 <c>&lt;0xNN&gt;</c> byte
    /// tokens (without them llama.cpp aborts on the first byte fallback), the distinct <paramref name="extraPieces"/>,
    /// then generated pieces (<c>▁ab</c>, <c>ab</c>, …) up to <paramref name="vocabSize"/>.
    /// </summary>
    /// <param name="extraPieces">Pieces after the byte tokens; duplicates and base tokens are skipped.</param>
    /// <param name="vocabSize">Total token count, or null for exactly the base tokens and extra pieces.</param>
    public static SyntheticVocabulary Build(IReadOnlyList<string>? extraPieces, int? vocabSize)
    {
        var tokens = new List<string>(vocabSize ?? BaseTokenCount + (extraPieces?.Count ?? 0));
        var types = new List<int>(tokens.Capacity);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string piece, SyntheticTokenType type)
        {
            if (!seen.Add(piece)) return;
            tokens.Add(piece);
            types.Add((int)type);
        }

        Add("<unk>", SyntheticTokenType.Unknown);
        Add("<s>", SyntheticTokenType.Control);
        Add("</s>", SyntheticTokenType.Control);
        for (var b = 0; b < 256; b++) Add(ByteToken(b), SyntheticTokenType.Byte);
        if (extraPieces is not null)
        {
            foreach (var piece in extraPieces)
            {
                if (string.IsNullOrEmpty(piece)) throw new ArgumentException("Vocabulary pieces cannot be empty.", nameof(extraPieces));
                Add(piece, SyntheticTokenType.Normal);
            }
        }
        if (vocabSize is { } size)
        {
            if (size < tokens.Count) throw new ArgumentOutOfRangeException(nameof(vocabSize), size, $"The vocabulary needs at least {tokens.Count} tokens (3 specials, 256 byte tokens and the extra pieces).");
            foreach (var piece in GeneratedPieces())
            {
                if (tokens.Count >= size) break;
                Add(piece, SyntheticTokenType.Normal);
            }
        }

        var scores = new float[tokens.Count];
        // Earlier pieces score higher, so merges prefer the common pieces; specials and bytes score 0 like real SPM vocabs.
        for (var i = BaseTokenCount; i < scores.Length; i++) scores[i] = -(i - BaseTokenCount);
        return new SyntheticVocabulary(tokens.ToArray(), scores, types.ToArray());
    }

    /// <summary>The byte-fallback token for <paramref name="value"/>, e.g. <c>&lt;0x0A&gt;</c> (upper-case hex, as llama.cpp looks it up).</summary>
    public static string ByteToken(int value) => "<0x" + value.ToString("X2", CultureInfo.InvariantCulture) + ">";

    private static IEnumerable<string> GeneratedPieces()
    {
        // Letter strings of growing length, each with and without the word marker: unbounded, distinct, plausible lengths.
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        for (var length = 1; ; length++)
        {
            var index = new int[length];
            var chars = new char[length];
            while (true)
            {
                for (var i = 0; i < length; i++) chars[i] = letters[index[i]];
                var piece = new string(chars);
                yield return WordStart + piece;
                yield return piece;
                var position = length - 1;
                while (position >= 0 && ++index[position] == letters.Length) index[position--] = 0;
                if (position < 0) break;
            }
        }
    }

    private static IReadOnlyList<string> BuildCommonPieces()
    {
        var pieces = new List<string> { WordStart };
        for (var c = 'a'; c <= 'z'; c++) pieces.Add(c.ToString());
        for (var c = 'A'; c <= 'Z'; c++) pieces.Add(c.ToString());
        for (var c = '0'; c <= '9'; c++) pieces.Add(c.ToString());
        foreach (var c in ".,:;!?'\"-()") pieces.Add(c.ToString());
        var seen = new HashSet<string>(pieces, StringComparer.Ordinal);
        foreach (var word in CommonWords)
        {
            var full = WordStart + word;
            for (var length = 2; length <= full.Length; length++)
            {
                var prefix = full.Substring(0, length);
                if (seen.Add(prefix)) pieces.Add(prefix);
            }
        }
        return pieces.AsReadOnly();
    }
}
