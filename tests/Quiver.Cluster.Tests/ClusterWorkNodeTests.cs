using Quiver.Client;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Index builds as work on real nodes (<see cref="Nodes.ClusterWork"/>): two node processes over a 3-server
/// JetStream cluster on loopback, a collection written, flushed and indexed through one node and searched through the
/// other. Oracles: brute force over the rows sent, and the nodes' own log lines naming who built and who adopted.</summary>
public sealed class ClusterWorkNodeTests
{
    private const int Dim = 16;

    /// <summary>An HNSW index over two sealed segments is built by jobs a node takes and adopted by the shard's node:
    /// the index reports every row indexed through the other node, searches through it reach a recall@10 of at least
    /// 0.9 against brute force, and each segment's build was committed by a node and adopted by the shard once.</summary>
    [NatsFact]
    public async Task TwoNodes_AnHnswIndexOfTwoSegments_IsBuiltAsWork_AndServed()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 2);
        await using var first = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(0), Timeout = TimeSpan.FromMinutes(3) });
        await using var second = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(1), Timeout = TimeSpan.FromMinutes(3) });
        await first.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", Dim, MetricType.L2)] });
        var rng = new Random(23);
        var rows = new Dictionary<long, float[]>();
        for (var segment = 0; segment < 2; segment++)
        {
            var batch = Enumerable.Range(segment * 700, 700).Select(i => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = (long)i, ["vector"] = rows[i] = TestData.Vector(rng, Dim) }).ToArray();
            await first.InsertAsync("c", batch);
            await first.FlushAsync("c");
        }

        await first.CreateIndexAsync("c", new IndexDefinition { FieldName = "vector", IndexType = "HNSW", Metric = MetricType.L2 });
        await first.LoadCollectionAsync("c");
        using (var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            await second.WaitForIndexAsync("c", cancellationToken: bound.Token);
        }

        var index = Assert.Single(await second.DescribeIndexesAsync("c"));
        Assert.Equal((1400L, 1400L), (index.TotalRows, index.IndexedRows));
        int found = 0, wanted = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = TestData.Vector(rng, Dim);
            var got = (await second.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 10 })).Hits[0].Select(h => (long)h.Id);
            var want = BruteForce.TopK(rows.Select(kv => (kv.Key, kv.Value)), query, MetricType.L2, 10).Select(w => w.Key).ToList();
            found += got.Intersect(want).Count();
            wanted += want.Count;
        }

        Assert.True(found >= 0.9 * wanted, $"recall {found}/{wanted}");
        var output = nodes.Output(0) + "\n" + nodes.Output(1);
        int Count(string what) => output.Split('\n').Count(l => l.Contains(what, StringComparison.Ordinal));
        Assert.Equal((2, 2), (Count("built here and committed"), Count("the shard adopted the result of")));
    }
}
