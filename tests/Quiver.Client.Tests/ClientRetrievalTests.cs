using System.Numerics;
using Quiver.Testing;

namespace Quiver.Client.Tests;

/// <summary>Milvus 2.6's data model and hybrid retrieval through <see cref="IQuiverClient"/>, against a real server
/// (in process, loopback gRPC) and the embedded engine: every vector type (FLOAT16, BFLOAT16, INT8, BINARY with HAMMING,
/// SPARSE, nullable FLOAT), GEOMETRY and TIMESTAMPTZ round-trip exactly; each vector type's top-k equals a brute-force
/// oracle; BM25 text search, hybrid search (RRF, and weighted with group-by), AddCollectionField and a partition-key
/// collection answer the same through both clients. The remote client's schema (partition key, functions, metrics of
/// every vector type) is what was created.</summary>
public abstract class ClientRetrievalTests
{
    private const int Rows = 60;

    protected abstract Task<ClientTarget> OpenAsync();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("text", 200) with { EnableAnalyzer = true },
            FieldSchema.VarChar("tenant", 16) with { IsPartitionKey = true },
            new FieldSchema { Name = "f16", DataType = DataType.Float16Vector, Dimension = 4, Metric = MetricType.L2 },
            new FieldSchema { Name = "bf16", DataType = DataType.BFloat16Vector, Dimension = 4, Metric = MetricType.IP },
            new FieldSchema { Name = "i8", DataType = DataType.Int8Vector, Dimension = 4, Metric = MetricType.L2 },
            new FieldSchema { Name = "bin", DataType = DataType.BinaryVector, Dimension = 16, Metric = MetricType.Hamming },
            FieldSchema.SparseVector("sp") with { Metric = MetricType.IP },
            FieldSchema.SparseVector("bm"),
            FieldSchema.Vector("dense", 3, MetricType.L2) with { Nullable = true },
            new FieldSchema { Name = "geo", DataType = DataType.Geometry, Nullable = true },
            new FieldSchema { Name = "at", DataType = DataType.Timestamptz },
        ],
        Functions = [CollectionFunction.BM25("bm25", "text", "bm")],
        NumPartitions = 4,
    };

    private static readonly string[] Words = ["kernel", "module", "network", "driver", "socket", "panic", "memory", "disk"];

    /// <summary>Row <paramref name="i"/>: small integers and halves, exact in every vector type.</summary>
    private static Row MakeRow(int i)
    {
        var rng = new Random(i * 31 + 7);
        float[] Halves(int n) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(-8, 9) / 2f)];
        byte[] F16(float[] v) => [.. v.SelectMany(x => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)x)))];
        byte[] Bf16(float[] v) => [.. v.SelectMany(x => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(x) >> 16)))];
        var terms = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => (uint)rng.Next(0, 12)).Distinct().Order().ToArray();
        return new Row
        {
            ["id"] = (long)i,
            ["text"] = string.Join(' ', Enumerable.Range(0, rng.Next(2, 7)).Select(_ => Words[rng.Next(Words.Length)])),
            ["tenant"] = $"t{i % 5}",
            ["f16"] = F16(Halves(4)),
            ["bf16"] = Bf16(Halves(4)),
            ["i8"] = (byte[])[.. Enumerable.Range(0, 4).Select(_ => (byte)(sbyte)rng.Next(-100, 100))],
            ["bin"] = (byte[])[(byte)rng.Next(256), (byte)rng.Next(256)],
            ["sp"] = SparseVector.Create(terms, [.. terms.Select(_ => rng.Next(1, 5) / 2f)]),
            ["dense"] = i % 4 == 0 ? null : Halves(3),
            ["geo"] = i % 3 == 0 ? null : $"POINT ({i} {i % 7})",
            ["at"] = $"2026-01-{1 + (i % 28):00}T{i % 24:00}:15:00Z",
        };
    }

    private static async Task<ClientTarget> FilledAsync(Func<Task<ClientTarget>> open)
    {
        var target = await open();
        var c = target.Client;
        await c.CreateCollectionAsync("docs", Schema());
        await c.InsertAsync("docs", [.. Enumerable.Range(0, Rows / 2).Select(MakeRow)]);
        await c.FlushAsync("docs");
        await c.InsertAsync("docs", [.. Enumerable.Range(Rows / 2, Rows / 2).Select(MakeRow)]);
        await c.LoadCollectionAsync("docs");
        return target;
    }

    [Fact]
    public async Task Schema_RoundTrips_WithPartitionKeyFunctionsAndMetrics()
    {
        await using var target = await FilledAsync(OpenAsync);
        var schema = (await target.Client.DescribeCollectionAsync("docs")).Schema;
        Assert.True(schema.Find("tenant")!.IsPartitionKey);
        Assert.Equal(4, schema.NumPartitions);
        Assert.Equal(MetricType.Hamming, schema.Find("bin")!.Metric);
        Assert.Equal(MetricType.IP, schema.Find("bf16")!.Metric);
        Assert.Equal(MetricType.IP, schema.Find("sp")!.Metric);
        Assert.True(schema.Find("dense")!.Nullable);
        var bm25 = Assert.Single(schema.Functions);
        Assert.Equal((CollectionFunctionType.BM25, "text", "bm"), (bm25.Type, bm25.InputFieldNames.Single(), bm25.OutputFieldNames.Single()));
        Assert.Equal(4, (await target.Client.ListPartitionsAsync("docs")).Count);
    }

    [Fact]
    public async Task EveryType_RoundTripsExactly()
    {
        await using var target = await FilledAsync(OpenAsync);
        var rows = await target.Client.QueryAsync("docs", new QueryRequest { Filter = "id >= 0", OutputFields = ["*"], Limit = Rows });
        Assert.Equal(Rows, rows.Count);
        foreach (var got in rows)
        {
            var want = MakeRow((int)(long)got["id"]!);
            Assert.False(got.ContainsKey("bm"), "the BM25 output is not returned");
            foreach (var name in new[] { "f16", "bf16", "i8", "bin" })
            {
                Assert.Equal((byte[])want[name]!, Bytes(got[name], name));
            }

            var sp = (SparseVector)got["sp"]!;
            Assert.Equal(((SparseVector)want["sp"]!).Indices.ToArray(), sp.Indices.ToArray());
            Assert.Equal(((SparseVector)want["sp"]!).Values.ToArray(), sp.Values.ToArray());
            Assert.Equal((float[]?)want["dense"], (float[]?)got["dense"]);
            Assert.Equal(want["text"], got["text"]);
            Assert.Equal(want["tenant"], got["tenant"]);
            Assert.Equal(want["geo"] is string wkt ? wkt : null, got["geo"] as string);
            Assert.Equal(DateTimeOffset.Parse((string)want["at"]!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse((string)got["at"]!, System.Globalization.CultureInfo.InvariantCulture));
        }

        // Spatial and time filters run on the server as embedded.
        var near = await target.Client.QueryAsync("docs", new QueryRequest { Filter = "ST_WITHIN(geo, 'POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))') and at >= ISO '2026-01-03T00:00:00Z'", OutputFields = ["geo"] });
        var expected = Enumerable.Range(0, Rows).Where(i => i % 3 != 0 && i > 0 && i < 10 && i % 7 > 0 && 1 + (i % 28) >= 3).Select(i => (long)i);
        Assert.Equal(expected, near.Select(r => (long)r["id"]!).Order());
    }

    private static byte[] Bytes(object? value, string field) => value switch
    {
        byte[] b => b,
        float[] f => VectorCodec.Encode(Schema().Find(field)!, f),
        _ => throw new InvalidOperationException($"{field}: unexpected {value?.GetType().Name}"),
    };

    [Theory]
    [InlineData("f16")]
    [InlineData("bf16")]
    [InlineData("i8")]
    [InlineData("bin")]
    [InlineData("sp")]
    [InlineData("dense")]
    public async Task EachVectorType_TopK_EqualsBruteForce(string field)
    {
        await using var target = await FilledAsync(OpenAsync);
        var schema = Schema();
        var f = schema.Find(field)!;
        var all = Enumerable.Range(0, Rows).Select(MakeRow).ToList();
        var query = MakeRow(1000);
        var request = new SearchRequest { Vectors = [], AnnsField = field, Limit = 7, Filter = "id >= 0" };
        Func<Row, double?> score;
        switch (field)
        {
            case "sp":
                var q = (SparseVector)query["sp"]!;
                request = request with { SparseVectors = [q] };
                score = r => Dot(q, (SparseVector)r["sp"]!);
                break;
            case "bin":
                var qb = (byte[])query["bin"]!;
                request = request with { Vectors = [[.. qb.Select(b => (float)b)]] };
                score = r => ((byte[])r["bin"]!).Zip(qb, (a, b) => BitOperations.PopCount((uint)(a ^ b))).Sum();
                break;
            case "dense":
                var qd = new[] { 0.5f, -1f, 2f };
                request = request with { Vectors = [qd] };
                score = r => r["dense"] is float[] v ? BruteForce.Score(MetricType.L2, qd, v) : null;
                break;
            default:
                var qv = VectorValues(f, (byte[])query[field]!);
                request = request with { Vectors = [qv] };
                score = r => BruteForce.Score(f.Metric, qv, VectorValues(f, (byte[])r[field]!));
                break;
        }

        var larger = f.Metric is MetricType.IP;
        var oracle = all.Select(r => (Id: (long)r["id"]!, Score: score(r))).Where(x => x.Score is not null)
            .OrderBy(x => larger ? -x.Score!.Value : x.Score!.Value).ThenBy(x => x.Id).ToList();
        var hits = (await target.Client.SearchAsync("docs", request)).Hits[0];
        Assert.Equal(7, hits.Count);
        for (var i = 0; i < hits.Count; i++)
        {
            // Ties may order either way: the hit's own oracle score must equal the oracle's score at its rank.
            Assert.Equal(oracle[i].Score!.Value, oracle.Single(o => o.Id == (long)hits[i].Id).Score!.Value, 3);
            Assert.Equal(oracle[i].Score!.Value, hits[i].Score, 3);
        }
    }

    private static float[] VectorValues(FieldSchema f, byte[] bytes)
    {
        var values = new float[f.Dimension!.Value];
        Assert.Null(VectorCodec.Decode(f, bytes, 1, values));
        return values;
    }

    private static double Dot(SparseVector a, SparseVector b)
    {
        double sum = 0;
        for (var i = 0; i < a.Indices.Length; i++)
        {
            var j = b.Indices.ToArray().AsSpan().IndexOf(a.Indices[i]);
            sum += j >= 0 ? a.Values[i] * b.Values[j] : 0;
        }

        return sum;
    }

    [Fact]
    public async Task Bm25HybridAddFieldAndPartitionKeys_AnswerAsEmbedded()
    {
        await using var target = await FilledAsync(OpenAsync);
        await using var oracle = await FilledAsync(ClientTarget.EmbeddedAsync);
        var clients = new[] { target.Client, oracle.Client };

        // BM25 by text, scored by the server.
        var text = new SearchRequest { Vectors = [], QueryTexts = ["kernel panic", "disk"], AnnsField = "bm", Limit = 5, OutputFields = ["text"] };
        var bm25 = await Task.WhenAll(clients.Select(c => c.SearchAsync("docs", text)));
        Assert.Equal(Flat(bm25[1]), Flat(bm25[0]));
        Assert.All(bm25[0].Hits[0], h => Assert.True(((string)h.Fields["text"]!).Contains("kernel", StringComparison.Ordinal) || ((string)h.Fields["text"]!).Contains("panic", StringComparison.Ordinal)));

        // Hybrid: BM25 + FLOAT16 + sparse, RRF; then weighted with normalization, offset and group-by.
        var subs = new List<SearchRequest>
        {
            text with { QueryTexts = ["network driver"], Filter = "tenant == \"t1\" or id < 20", OutputFields = [] },
            new() { Vectors = [VectorValues(Schema().Find("f16")!, (byte[])MakeRow(500)["f16"]!)], AnnsField = "f16", Limit = 10 },
            new() { Vectors = [], SparseVectors = [(SparseVector)MakeRow(501)["sp"]!], AnnsField = "sp", Limit = 10, Filter = "tenant in [\"t2\", \"t3\"]" },
        };
        foreach (var hybrid in new[]
        {
            new HybridRequest { Requests = subs, Ranker = HybridRanker.Rrf(30), Limit = 8, OutputFields = ["tenant"] },
            new HybridRequest { Requests = subs, Ranker = HybridRanker.Weighted([0.5f, 0.3f, 0.2f], normalizeScores: true), Limit = 3, Offset = 1, GroupByField = "tenant", GroupSize = 2, OutputFields = ["tenant"] },
        })
        {
            var fused = await Task.WhenAll(clients.Select(c => c.HybridSearchAsync("docs", hybrid)));
            Assert.NotEmpty(fused[0].Hits[0]);
            Assert.Equal(Flat(fused[1]), Flat(fused[0]));
        }

        // AddCollectionField: nullable and with a default, read by existing rows and filled by new ones.
        foreach (var c in clients)
        {
            await c.AddCollectionFieldAsync("docs", FieldSchema.Scalar("rank", DataType.Int64) with { Nullable = true });
            await c.AddCollectionFieldAsync("docs", FieldSchema.VarChar("lang", 8) with { Nullable = true, DefaultValue = System.Text.Json.JsonSerializer.SerializeToElement("en") });
            var row = MakeRow(900);
            row["rank"] = 3L;
            await c.InsertAsync("docs", [row]);
        }

        Assert.Contains((await target.Client.DescribeCollectionAsync("docs")).Schema.Fields, f => f.Name == "lang" && f.DefaultValue is not null);
        var query = new QueryRequest { Filter = "id in [2, 900] or rank == 3", OutputFields = ["rank", "lang", "tenant"] };
        var read = await Task.WhenAll(clients.Select(c => c.QueryAsync("docs", query)));
        Assert.Equal(2, read[0].Count);
        Assert.Equal(Rows2(read[1]), Rows2(read[0]));
        Assert.Null(read[0].Single(r => (long)r["id"]! == 2)["rank"]);
        Assert.Equal("en", read[0].Single(r => (long)r["id"]! == 2)["lang"]);

        // Partition keys: a read pinned to a tenant, a template, and Milvus's refusal of partition names.
        var pinned = new QueryRequest { Filter = "tenant == {t} and id < {n}", FilterParams = new Dictionary<string, object?> { ["t"] = "t3", ["n"] = 40L }, OutputFields = ["tenant"] };
        var byTenant = await Task.WhenAll(clients.Select(c => c.QueryAsync("docs", pinned)));
        Assert.Equal(Enumerable.Range(0, 40).Where(i => i % 5 == 3).Select(i => (long)i), byTenant[0].Select(r => (long)r["id"]!).Order());
        Assert.Equal(Rows2(byTenant[1]), Rows2(byTenant[0]));
        var refused = await Assert.ThrowsAnyAsync<QuiverException>(() => target.Client.QueryAsync("docs", pinned with { Partitions = ["_default_1"] }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, refused.Code);
        Assert.Contains("partition key mode", refused.Message, StringComparison.Ordinal);
    }

    private static List<string> Flat(SearchResult result) =>
        [.. result.Hits.SelectMany((hits, q) => hits.Select(h => $"{q}:{h.Id}:{h.Score:R}:{string.Join(',', h.Fields.OrderBy(f => f.Key).Select(f => $"{f.Key}={f.Value}"))}"))];

    private static List<string> Rows2(IReadOnlyList<Row> rows) =>
        [.. rows.OrderBy(r => (long)r["id"]!).Select(r => string.Join(',', r.OrderBy(f => f.Key).Select(f => $"{f.Key}={f.Value}")))];
}

/// <summary><see cref="ClientRetrievalTests"/> through the server over gRPC.</summary>
public sealed class RemoteClientRetrievalTests : ClientRetrievalTests
{
    protected override Task<ClientTarget> OpenAsync() => ClientTarget.RemoteAsync();
}

/// <summary><see cref="ClientRetrievalTests"/> on the embedded engine.</summary>
public sealed class EmbeddedClientRetrievalTests : ClientRetrievalTests
{
    protected override Task<ClientTarget> OpenAsync() => ClientTarget.EmbeddedAsync();
}
