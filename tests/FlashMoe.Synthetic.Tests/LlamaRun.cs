using System.Globalization;
using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using FlashMoe.Synthetic;
using LLama;
using LLama.Common;
using LLama.Native;
using FlashMoe.Tests.Shared;
using Xunit;

namespace FlashMoe.Synthetic.Tests;

/// <summary>Tests that call into llama.cpp: one process-wide native library and log hook, so they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LlamaNativeCollection
{
    public const string Name = "llama.cpp native";
}

/// <summary>
/// Captures llama.cpp's log. The hook must be installed before the first native call, so a module initializer does
/// it as soon as this test assembly loads, whichever test runs first.
/// </summary>
internal static class NativeLog
{
    private static readonly StringBuilder Buffer = new();

    [ModuleInitializer]
    internal static void Install() =>
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            lock (Buffer) Buffer.Append(message);
        });

    public static int Mark()
    {
        lock (Buffer) return Buffer.Length;
    }

    public static string Since(int mark)
    {
        lock (Buffer) return Buffer.ToString(mark, Buffer.Length - mark);
    }
}

/// <summary>Loads a written model through LLamaSharp (with llama.cpp's row check) and generates greedily.</summary>
internal static class LlamaRun
{
    public sealed record Result(int Generated, int PromptTokens, string Log);

    public static Result LoadAndGenerate(string path, int tokens)
    {
        var mark = NativeLog.Mark();
        try
        {
            var (generated, promptTokens) = LlamaTestHelpers.LoadAndGenerate(path, "Hello world, the model is", tokens);
            return new Result(generated, promptTokens, NativeLog.Since(mark));
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"llama.cpp failed: {e.Message}\n--- native log ---\n{NativeLog.Since(mark)}", e);
        }
    }

    /// <summary>Loads <paramref name="path"/> with llama.cpp's row validation on.</summary>
    public static void LoadWithTensorCheck(string path) => LlamaTestHelpers.LoadWithTensorCheck(path);

    /// <summary>The integer llama.cpp's print_info logs for <paramref name="key"/> (e.g. <c>n_layer = 4</c>).</summary>
    public static int LogInt(string log, string key) => LlamaTestHelpers.LogInt(log, key);
}
