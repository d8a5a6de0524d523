namespace Quiver.Docs.Tests;

/// <summary>
/// The page runner's process: <c>dotnet Quiver.Docs.Tests.dll run-page REPO PAGE [REPORT]</c>. <see cref="DocsTests"/>
/// starts it once per page (in a network namespace of its own where the machine allows, so that the page's servers
/// on their documented ports meet nothing else). Exit 0 when every block ran as written, 1 with the failure on stderr.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 3 || args[0] != "run-page")
        {
            await Console.Error.WriteLineAsync("usage: Quiver.Docs.Tests run-page REPO PAGE [REPORT]");
            return 2;
        }
        var (repo, page) = (args[1], args[2]);
        var runner = new PageRunner(repo, new Lazy<CSharpPrograms>(() => new CSharpPrograms()), Console.Out);
        try
        {
            await runner.RunAsync(page, CancellationToken.None);
        }
        catch (DocsException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        if (args.Length > 3)
        {
            await File.AppendAllTextAsync(args[3], PageRunner.ReportLine(page, runner.Counts) + "\n");
        }
        return 0;
    }
}
