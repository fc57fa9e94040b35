using System;
using System.IO;
using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

public sealed class ModelLocatorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flashmoe-locator-" + Guid.NewGuid().ToString("N"));

    public ModelLocatorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Relative_paths_are_tried_next_to_the_json_then_under_the_root_as_written_then_by_file_name()
    {
        var json = Path.Combine(_dir, "app");
        var candidates = ModelLocator.Candidates("models/r1.gguf", json, "store", _dir);

        Assert.Equal(new[]
        {
            Path.Combine(json, "models", "r1.gguf"),
            Path.Combine(_dir, "store", "models", "r1.gguf"),
            Path.Combine(_dir, "store", "r1.gguf"),
        }, candidates);
    }

    [Fact]
    public void A_leading_tilde_is_the_home_directory_not_a_folder_next_to_the_json()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        Assert.Equal(new[] { Path.Combine(home, "models", "m.gguf") }, ModelLocator.Candidates("~/models/m.gguf", _dir));
        Assert.Equal(new[] { Path.Combine(_dir, "~models", "m.gguf") }, ModelLocator.Candidates("~models/m.gguf", _dir));
    }

    [Fact]
    public void An_absolute_path_is_only_itself_and_backslashes_are_separators()
    {
        var absolute = Path.Combine(_dir, "m.gguf");
        Assert.Equal(new[] { absolute }, ModelLocator.Candidates(absolute, "/elsewhere", "/root"));
        Assert.Equal(new[] { Path.Combine(_dir, "sub", "m.gguf") }, ModelLocator.Candidates("sub\\m.gguf", _dir));
        Assert.Empty(ModelLocator.Candidates(null, _dir, "/root"));
        Assert.Empty(ModelLocator.Candidates("  ", _dir));
    }

    [Fact]
    public void Find_returns_the_first_existing_file_and_ignores_directories()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "a", "m.gguf")); // a directory, not a model
        Directory.CreateDirectory(Path.Combine(_dir, "root"));
        File.WriteAllText(Path.Combine(_dir, "root", "m.gguf"), "x");

        var candidates = ModelLocator.Candidates("m.gguf", Path.Combine(_dir, "a"), Path.Combine(_dir, "root"));

        Assert.Equal(Path.Combine(_dir, "root", "m.gguf"), ModelLocator.Find(candidates));
        Assert.Null(ModelLocator.Find(ModelLocator.Candidates("none.gguf", _dir)));
    }

    [Fact]
    public void A_path_with_a_nul_character_is_skipped_not_thrown()
    {
        Assert.Empty(ModelLocator.Candidates("bad\0name.gguf", _dir));
    }
}
