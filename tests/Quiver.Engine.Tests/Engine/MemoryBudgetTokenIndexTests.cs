using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Token indexes of sealed segments (TEXT_MATCH and PHRASE_MATCH, built on a filter's demand) held against the
/// engine's memory budget as <c>ScalarIndexBytes</c> at their exact bytes while the segment lives, refused when they do
/// not fit (the predicate then analyzes each row, with the same rows as a naive match), given back when the collection
/// goes.</summary>
public sealed class MemoryBudgetTokenIndexTests : IDisposable
{
    private const int Rows = 2_000;

    private static readonly string[] Colours = ["red", "green", "blue", "cyan", "pink"];

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every eleventh row is null; the others are "common" and one colour, in that order.</summary>
    private static string? Text(int i) => i % 11 == 0 ? null : $"common {Colours[i % 5]}";

    private async Task CreateAsync()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"), FieldSchema.VarChar("text", 100, nullable: true) with { EnableAnalyzer = true, EnableMatch = true },
                FieldSchema.Vector("vec", 2, MetricType.L2),
            ],
        });
        await db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["text"] = Text(i), ["vec"] = new float[] { i, 1 } })]);
        await db.FlushAsync("c");
    }

    /// <summary>The token index of <c>text</c>, from the rows: per term its dictionary entry and bucket (28), the string
    /// (22 + 2 a char), the postings object (40) and three int arrays (24 + 4 an element: rows, row starts plus one,
    /// positions, one a row here); and the array of null rows.</summary>
    private static long TokenBytes
    {
        get
        {
            var texts = Enumerable.Range(0, Rows).Select(Text).ToList();
            var nulls = texts.Count(t => t is null);
            long bytes = 24 + (4L * nulls);
            foreach (var term in Colours.Append("common"))
            {
                var rows = texts.Count(t => t is not null && t.Split(' ').Contains(term));
                bytes += 28 + 22 + (2L * term.Length) + 40 + (3 * 24) + (4L * ((2 * rows) + 1 + rows));
            }

            return bytes;
        }
    }

    private static async Task AssertRowsAsync(QuiverEngine db, string filter, Func<string, bool> match)
    {
        SortedSet<long> expected = [.. Enumerable.Range(0, Rows).Where(i => Text(i) is { } t && match(t)).Select(i => (long)i)];
        SortedSet<long> actual = [.. (await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["id"] })).Select(r => (long)r["id"]!)];
        Assert.Equal(expected, actual);
    }

    private static async Task AssertAllAsync(QuiverEngine db)
    {
        await AssertRowsAsync(db, "TEXT_MATCH(text, 'blue pink')", t => t.EndsWith("blue", StringComparison.Ordinal) || t.EndsWith("pink", StringComparison.Ordinal));
        await AssertRowsAsync(db, "PHRASE_MATCH(text, 'common cyan')", t => t == "common cyan");
        await AssertRowsAsync(db, "PHRASE_MATCH(text, 'cyan common')", _ => false);
        await AssertRowsAsync(db, "TEXT_MATCH(text, 'common') and not TEXT_MATCH(text, 'red')", t => t != "common red");
    }

    [Fact]
    public async Task TokenIndex_IsHeldAgainstTheBudget_AtItsBytes_AndGoesWithTheCollection()
    {
        await CreateAsync();
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
        await AssertAllAsync(db);
        Assert.Equal(TokenBytes, db.GetMemoryUsage().ScalarIndexBytes);

        // Built once: more filters on the field add nothing.
        await AssertAllAsync(db);
        Assert.Equal(TokenBytes, db.GetMemoryUsage().ScalarIndexBytes);

        await db.DropCollectionAsync("c");
        Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
    }

    [Fact]
    public async Task TokenIndex_PastTheBudget_IsNotKept_AndEachRowIsAnalyzed_WithTheSameRows()
    {
        await CreateAsync();
        var budget = TokenBytes - 1;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget });
        for (var round = 0; round < 2; round++)
        {
            await AssertAllAsync(db);
            Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
        }

        Assert.True(db.Memory.PeakUsedBytes <= budget);
    }
}
