using Quiver.Cli.Quickstart;
using Quiver.Testing;

namespace Quiver.Cli.Tests;

public sealed class QuickstartTests
{
    [Fact]
    public async Task Quickstart_RunsTheTutorial_AndFiltersHold()
    {
        using var dir = new TempFolder();
        var output = new StringWriter();
        var code = await QuickstartCommand.RunAsync(dir.Sub("data"), output, CancellationToken.None);
        var text = output.ToString();
        Assert.Equal(0, code);
        Assert.Contains("Inserted 20 products", text);
        Assert.Contains("Created index 'embedding': HNSW Cosine M=16 efConstruction=200, 20/20 rows indexed (Finished)", text);

        // Each search block: its header line, then three hit lines "score title category price".
        var lines = text.Split('\n');
        var blocks = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("Search:", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, blocks.Count);
        var firstHit = lines[blocks[0].i + 1];
        Assert.Contains("Wireless noise cancelling headphones with 30 hour battery", firstHit);

        foreach (var hit in lines.Skip(blocks[1].i + 1).Take(3))
        {
            Assert.Contains(" tech ", hit);
        }

        foreach (var hit in lines.Skip(blocks[2].i + 1).Take(3))
        {
            var price = double.Parse(hit.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(price, 50, 200);
        }

        Assert.Contains("count(*) where category == \"home\" -> 5", text);

        // The folder it was given is kept and holds the collection.
        await using var db = await QuiverEngine.OpenAsync(dir.Sub("data"));
        Assert.Equal(20, (await db.DescribeCollectionAsync("products")).RowCount);
    }
}
