using Quiver.Testing;

namespace Quiver.Engine.Tests.Faults;

/// <summary>Shared set-up for the fault tests: a temp folder, a product collection, and exact row comparisons.</summary>
public abstract class FaultTestBase : IDisposable
{
    protected const string Collection = "p";

    protected TempFolder Dir { get; } = new("quiver-faults");

    protected static QuiverOptions NoBackground { get; } = new() { BackgroundMaintenance = false };

    protected static QuiverOptions With(FaultInjectingFileSystem fs) => new() { BackgroundMaintenance = false, FileSystem = fs };

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Rows with ids [first, first + count), deterministic by id.</summary>
    protected static List<Row> Rows(long first, int count) =>
        [.. Enumerable.Range(0, count).Select(i => TestData.ProductRow(new Random((int)(first + i)), first + i))];

    protected static async Task<long> CountAsync(QuiverEngine db, string filter = "")
    {
        var r = await db.QueryAsync(Collection, new QueryRequest { Filter = filter, OutputFields = ["count(*)"] });
        return (long)r[0]["count(*)"]!;
    }

    /// <summary>Every expected row is present with its exact title, price and vector, and nothing else is.</summary>
    protected static async Task AssertExactlyAsync(QuiverEngine db, IReadOnlyCollection<Row> expected)
    {
        Assert.Equal(expected.Count, await CountAsync(db));
        var got = await db.GetAsync(Collection, [.. expected.Select(r => r["id"]!)]);
        Assert.Equal(expected.Count, got.Count);
        foreach (var (want, have) in expected.Zip(got))
        {
            Assert.Equal(want["id"], have["id"]);
            Assert.Equal(want["title"], have["title"]);
            Assert.Equal(want["price"], have["price"]);
            Assert.Equal((float[])want["embedding"]!, (float[])have["embedding"]!);
        }

        if (expected.Count > 0)
        {
            var probe = expected.First();
            var hits = await db.SearchAsync(Collection, new SearchRequest { Vectors = [(float[])probe["embedding"]!], Limit = 1 });
            Assert.Equal(probe["id"], hits.Hits[0][0].Id);
        }
    }

    protected async Task<QuiverEngine> CreateAsync(QuiverOptions? options = null)
    {
        var db = await QuiverEngine.OpenAsync(Dir.Path, options ?? NoBackground);
        await db.CreateCollectionAsync(Collection, TestData.ProductSchema());
        return db;
    }

    /// <summary>Inserts 120 rows, lets the disk fill <paramref name="failAfterBytes"/> bytes into the next flush, and
    /// checks the flush fails with the data intact; then clears the fault, inserts 10 more rows, flushes, and checks the
    /// data before and after a reopen. Returns the failed flush's exception for the caller's own checks.</summary>
    protected async Task<Exception> FlushFailsThenRecoversAsync(long failAfterBytes)
    {
        var fs = new FaultInjectingFileSystem();
        var acked = new List<Row>();
        Exception failure;
        await using (var db = await CreateAsync(With(fs)))
        {
            await db.InsertAsync(Collection, Rows(0, 120));
            acked.AddRange(Rows(0, 120));

            fs.FailWritesAfter(failAfterBytes);
            failure = await Assert.ThrowsAnyAsync<Exception>(() => db.FlushAsync(Collection));
            await AssertExactlyAsync(db, acked);

            fs.Reset();
            await db.InsertAsync(Collection, Rows(120, 10));
            acked.AddRange(Rows(120, 10));
            await db.FlushAsync(Collection);
            await AssertExactlyAsync(db, acked);
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            await AssertExactlyAsync(db, acked);
        }

        return failure;
    }

    protected string CollectionFolder() => Directory.GetDirectories(Path.Combine(Dir.Path, "collections")).Single();
}
