using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Indexes with background maintenance on: segments seal, compact and get indexed on their own while writers
/// and searchers run; afterwards every segment is indexed and answers match the exact oracle over the live rows.</summary>
public sealed class IndexBackgroundTests : IDisposable
{
    private const int Dim = 16;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WritesSearchesAndMaintenance_RunTogether_AndEverySegmentEndsIndexed()
    {
        var options = new QuiverOptions { SegmentMaxRows = 1500, CompactionSmallFraction = 0.6, CompactionDeletedFraction = 0.1 };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "64" } });

        var data = IndexTestKit.Clustered(12, 12_000, Dim);
        var live = new HashSet<long>();
        using var stop = new CancellationTokenSource();
        var searchErrors = 0;
        var searches = 0;
        var searcher = Task.Run(async () =>
        {
            var queries = IndexTestKit.Queries(13, 2, Dim);
            while (!stop.IsCancellationRequested)
            {
                var r = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = 10, SearchParams = new Dictionary<string, string> { ["ef"] = "64" } });
                if (r.Hits.Any(h => h.Select(x => x.Id).Distinct().Count() != h.Count))
                {
                    Interlocked.Increment(ref searchErrors);
                }

                Interlocked.Increment(ref searches);
            }
        });

        var rng = new Random(14);
        for (var batch = 0; batch < 24; batch++)
        {
            var rows = Enumerable.Range(batch * 500, 500)
                .Select(i => new Row { ["id"] = (long)i, ["vec"] = data.AsSpan(i * Dim, Dim).ToArray() }).ToList();
            await db.InsertAsync("c", rows);
            foreach (var r in rows)
            {
                live.Add((long)r["id"]!);
            }

            var victims = live.Where(_ => rng.NextDouble() < 0.08).Take(200).ToList();
            await db.DeleteAsync("c", [.. victims.Cast<object>()]);
            live.ExceptWith(victims);
        }

        await stop.CancelAsync();
        await searcher;
        Assert.Equal(0, searchErrors);
        Assert.True(searches > 0);

        await db.FlushAsync("c");
        await db.WaitForIndexAsync("c").WaitAsync(TimeSpan.FromMinutes(3));
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(IndexState.Finished, info.State);
        Assert.Equal(info.TotalRows, info.IndexedRows);

        var qs = Enumerable.Range(0, 20).Select(i => data.AsSpan((rng.Next(12_000)) * Dim, Dim).ToArray()).ToArray();
        // The index answers (on segments this small the planner may brute-force on its own).
        Search.SearchPlanner.Override = new Search.PlannerOverride(Strategy: Search.SegmentStrategy.PreFilter);
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = qs, Limit = 10, SearchParams = new Dictionary<string, string> { ["ef"] = "128" } });
        Search.SearchPlanner.Override = null;
        Assert.True(result.Stats()!.IndexedSegments > 0);
        double recall = 0;
        for (var q = 0; q < qs.Length; q++)
        {
            var truth = live.OrderBy(id => BruteForce.Score(MetricType.L2, qs[q], data.AsSpan((int)id * Dim, Dim))).ThenBy(id => id).Take(10).ToHashSet();
            var got = result.Hits[q].Select(h => (long)h.Id).ToList();
            Assert.All(got, id => Assert.Contains(id, live));
            recall += got.Count(truth.Contains) / 10.0;
        }

        Assert.True(recall / qs.Length >= 0.95, $"recall@10 {recall / qs.Length:F3}");
    }
}
