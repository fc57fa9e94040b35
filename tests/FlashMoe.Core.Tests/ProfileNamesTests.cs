using FlashMoe.Profiles;
using Xunit;

namespace FlashMoe.Core.Tests;

public class ProfileNamesTests
{
    [Fact]
    public void ProfileNames_lists_valid_and_invalid_profiles_once_in_document_order()
    {
        const string text = """
            {
              "profiles": {
                "Good": { "hardware": { "ramGiB": 16 }, "model": { "sizeGiB": 1 } },
                "Bad": { "hardware": { "ramGiB": "lots" }, "model": { "sizeGiB": 1 } },
                "Good": { "hardware": { "ramGiB": 16 }, "model": { "sizeGiB": 1 } }
              }
            }
            """;

        var document = ProfileParser.Parse("flashmoe.json", text);

        Assert.Equal(new[] { "Good", "Bad" }, document.ProfileNames);
        Assert.DoesNotContain(document.Profiles, p => p.Profile.Name == "Bad");
    }

    [Fact]
    public void ProfileNames_is_empty_for_invalid_json()
    {
        Assert.Empty(ProfileParser.Parse("flashmoe.json", "{ \"profiles\": ").ProfileNames);
    }
}
