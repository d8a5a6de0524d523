using Quiver.Filtering;
using Quiver.Shards;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Partition-key pruning beyond plain filters (<see cref="PartitionKeys"/>): filter templates pin the key as
/// literals do, a hybrid search reads the union of its sub-requests' partitions, and a get by primary key reads only the
/// segments holding the keys. Every pruned read answers exactly as the same read over a copy of the data without a
/// partition key (which reads everything).</summary>
public sealed class PartitionKeyPruningTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    private static CollectionSchema Schema(bool keyed) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("tenant", 16) with { IsPartitionKey = keyed },
            FieldSchema.Scalar("shop", DataType.Int64) with { IsPartitionKey = false },
            FieldSchema.Vector("a", 3, MetricType.L2),
            FieldSchema.Vector("b", 2, MetricType.IP),
        ],
        NumPartitions = keyed ? 8 : 0,
    };

    private static Catalog.CollectionMeta Meta() => new()
    {
        Id = 1,
        Database = "default",
        Name = "c",
        Schema = Schema(keyed: true),
        CreatedTimestamp = 0,
        Partitions = [.. Enumerable.Range(0, 8).Select(i => new Catalog.PartitionMeta { Id = 10 + i, Name = $"_default_{i}" })],
    };

    private static string P(string tenant) => $"_default_{PartitionKeys.PartitionOf(tenant, 8)}";

    private static IReadOnlyList<string> Sorted(params string[] names) => [.. names.Distinct().Order(StringComparer.Ordinal)];

    [Fact]
    public void TemplateFilters_PinTheKey_AsLiteralsDo()
    {
        var meta = Meta();
        IReadOnlyList<string> Scope(string filter, Dictionary<string, object?> parameters) =>
            PartitionKeys.ReadScope(meta, [], FilterPlan.Compile(filter, meta.Schema, parameters));

        Assert.Equal([P("a")], Scope("tenant == {t}", new() { ["t"] = "a" }));
        Assert.Equal([P("a")], Scope("{t} == tenant and id > {n}", new() { ["t"] = "a", ["n"] = 3L }));
        Assert.Equal(Sorted(P("a"), P("b"), P("c")), Scope("tenant in {ts}", new() { ["ts"] = new object[] { "a", "b", "c" } }));
        Assert.Equal(Sorted(P("a"), P("b")), Scope("tenant == {x} or tenant in {ys}", new() { ["x"] = "a", ["ys"] = new object[] { "b" } }));
        using (var json = System.Text.Json.JsonDocument.Parse("""{"ts": ["a", "c"]}"""))
        {
            // Parameters as the WAL and the wire deliver them: JSON values.
            Assert.Equal(Sorted(P("a"), P("c")), Scope("tenant in {ts}", new() { ["ts"] = json.RootElement.GetProperty("ts").Clone() }));
        }

        // Not pinned: a negation, a comparison that is not equality, another field.
        Assert.Empty(Scope("tenant != {t}", new() { ["t"] = "a" }));
        Assert.Empty(Scope("tenant not in {ts}", new() { ["ts"] = new object[] { "a" } }));
        Assert.Empty(Scope("shop == {s}", new() { ["s"] = 4L }));
    }

    [Fact]
    public void HybridScope_IsTheUnionOfItsSubRequests_OrEverythingWhenOneIsUnpinned()
    {
        var meta = Meta();
        BoundFilter? F(string filter) => FilterPlan.Compile(filter, meta.Schema, null);
        Assert.Equal(Sorted(P("a"), P("b"), P("c")), PartitionKeys.HybridReadScope(meta, [], [F("tenant == \"a\""), F("tenant in [\"b\", \"c\"] and id > 2")]));
        Assert.Empty(PartitionKeys.HybridReadScope(meta, [], [F("tenant == \"a\""), F("id > 2")]));
        Assert.Empty(PartitionKeys.HybridReadScope(meta, [], [F("tenant == \"a\""), null]));
        var ex = Assert.Throws<QuiverException>(() => PartitionKeys.HybridReadScope(meta, ["_default_1"], [F("tenant == \"a\"")]));
        Assert.Equal(PartitionKeys.NamesRefused, ex.Message);
    }

    [Fact]
    public async Task PrunedHybridSearchTemplateQueryAndGet_EqualTheUnkeyedCopy()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema(keyed: true));
        await db.CreateCollectionAsync("plain", Schema(keyed: false));
        var rng = new Random(14);
        for (var batch = 0; batch < 3; batch++)
        {
            var rows = new List<Row>();
            for (var i = 0; i < 120; i++)
            {
                var id = (batch * 120) + i;
                rows.Add(new Row
                {
                    ["id"] = (long)id,
                    ["tenant"] = $"t{rng.Next(12)}",
                    ["shop"] = (long)rng.Next(5),
                    ["a"] = new[] { (float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble() },
                    ["b"] = new[] { (float)rng.NextDouble(), (float)rng.NextDouble() },
                });
            }

            foreach (var c in new[] { "c", "plain" })
            {
                await db.InsertAsync(c, rows);
                if (batch < 2)
                {
                    await db.FlushAsync(c);
                }
            }
        }

        HybridRequest Hybrid(string f1, string f2, Dictionary<string, object?>? parameters = null) => new()
        {
            Requests =
            [
                new SearchRequest { Vectors = [[0.2f, 0.5f, 0.9f]], AnnsField = "a", Limit = 15, Filter = f1, FilterParams = parameters },
                new SearchRequest { Vectors = [[0.7f, 0.1f]], AnnsField = "b", Limit = 15, Filter = f2, FilterParams = parameters },
            ],
            Ranker = HybridRanker.Rrf(20),
            Limit = 12,
            OutputFields = ["tenant", "shop"],
        };

        var requests = new[]
        {
            Hybrid("tenant == \"t3\"", "tenant in [\"t3\", \"t7\"] and shop > 1"),
            Hybrid("tenant == {t}", "tenant in {ts}", new() { ["t"] = "t5", ["ts"] = new object[] { "t5", "t9" } }),
            Hybrid("tenant == \"t1\"", "shop == 2"),
        };
        foreach (var request in requests)
        {
            var keyed = await db.HybridSearchAsync("c", request);
            var plain = await db.HybridSearchAsync("plain", request);
            Assert.Equal(Hits(plain), Hits(keyed));
            Assert.NotEmpty(keyed.Hits[0]);
        }

        var query = new QueryRequest { Filter = "tenant in {ts} and shop == {s}", FilterParams = new Dictionary<string, object?> { ["ts"] = new object[] { "t2", "t4" }, ["s"] = 1L }, OutputFields = ["tenant"] };
        var expected = (await db.QueryAsync("plain", query)).Select(r => (long)r["id"]!).Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, (await db.QueryAsync("c", query)).Select(r => (long)r["id"]!).Order());

        // A get reads only the segments that hold its keys: one sealed segment per partition the keys live in.
        object[] keys = [5L, 130L, 9999L, 7L];
        Assert.Equal(
            (await db.GetAsync("plain", keys)).Select(r => (r["id"], r["tenant"])),
            (await db.GetAsync("c", keys)).Select(r => (r["id"], r["tenant"])));
        var (view, found) = db.ShardOf("c").LookupKeys(keys, []);
        using (view)
        {
            Assert.Equal(3, found.Count);
            Assert.Equal(found.Select(f => f.Segment).Distinct().Count(), view.Segments.Length);
        }

        var refused = await Assert.ThrowsAsync<QuiverException>(() => db.GetAsync("c", keys, partitions: ["_default_1"]));
        Assert.Equal(PartitionKeys.NamesRefused, refused.Message);
    }

    private static List<(long, float)> Hits(SearchResult result) => [.. result.Hits[0].Select(h => ((long)h.Id, h.Score))];
}
