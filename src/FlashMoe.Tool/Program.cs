namespace FlashMoe.Tool;

/// <summary>Entry point of the <c>flashmoe</c> command.</summary>
internal static class Program
{
    private static int Main(string[] args) => FlashMoeCli.Run(args, ToolConsole.FromSystem());
}
