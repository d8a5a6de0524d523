using System.Numerics;
using Quiver.Search;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Nullable vector fields (Milvus 2.6) of every vector type in the embedded engine: a row may omit its vector or
/// give null; a query returns null for it; a search never returns it, whether its segment is growing, sealed, compacted,
/// reopened or indexed (the oracle is a brute-force top-k over the rows that have a vector, computed here); a vector
/// field still takes no default value.</summary>
public sealed class NullableVectorTests : IDisposable
{
    private const int Rows = 600;
    private const int Dim = 16;
    private readonly TempFolder _dir = new();

    public void Dispose()
    {
        SearchPlanner.Override = null;
        _dir.Dispose();
    }

    public static TheoryData<DataType, MetricType, string> Kinds => new()
    {
        { DataType.FloatVector, MetricType.Cosine, "HNSW" },
        { DataType.FloatVector, MetricType.L2, "IVF_FLAT" },
        { DataType.Float16Vector, MetricType.L2, "HNSW" },
        { DataType.BFloat16Vector, MetricType.IP, "HNSW" },
        { DataType.Int8Vector, MetricType.L2, "HNSW" },
        { DataType.BinaryVector, MetricType.Hamming, "BIN_IVF_FLAT" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task NullRows_ReadAsNull_AndAreNeverSearchHits_GrowingSealedCompactedReopenedIndexed(DataType type, MetricType metric, string indexType)
    {
        var field = new FieldSchema { Name = "v", DataType = type, Dimension = Dim, Metric = metric, Nullable = true };
        var rng = new Random(11);
        var values = new float[]?[Rows];
        for (var i = 0; i < Rows; i++)
        {
            values[i] = i % 3 == 1 ? null : RandomValue(rng, type);
        }

        var deleted = new HashSet<long>();
        var queries = Enumerable.Range(0, 6).Select(_ => RandomValue(rng, type)).ToArray();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int64), field] });

            // Rows 0..399 sealed by a flush, the rest growing; null rows omit the key or give null, alternately.
            await db.InsertAsync("c", [.. Enumerable.Range(0, 400).Select(i => ToRow(type, i, values[i]))]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(400, Rows - 400).Select(i => ToRow(type, i, values[i]))]);
            await AssertStateAsync(db, type, metric, values, deleted, queries);

            // Deletes then a compaction rewrite the sealed rows; the null bitmap moves with them.
            foreach (var id in new long[] { 0, 1, 2, 3, 450, 451 })
            {
                deleted.Add(id);
            }

            await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertStateAsync(db, type, metric, values, deleted, queries);

            await db.CreateIndexAsync("c", new IndexDefinition
            {
                FieldName = "v", IndexType = indexType, Metric = metric,
                Params = indexType.Contains("IVF", StringComparison.Ordinal) ? new Dictionary<string, string> { ["nlist"] = "8" } : [],
            });
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");

            // Forced through the index: with nulls every index search is a filtered one, and still never returns them.
            SearchPlanner.Override = new PlannerOverride(Strategy: SegmentStrategy.PreFilter);
            var search = indexType switch
            {
                "HNSW" => new Dictionary<string, string> { ["ef"] = "700" },
                _ => new Dictionary<string, string> { ["nprobe"] = "8" },
            };
            var stats = await AssertSearchesAsync(db, type, metric, values, deleted, queries, search);
            SearchPlanner.Override = null;
            Assert.True(stats >= 1, $"{stats} segments searched through the index");
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await AssertStateAsync(reopened, type, metric, values, deleted, queries);
    }

    [Fact]
    public async Task ColumnInsert_NullFlags_AndMissingColumn_StoreNulls_SparseToo()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                new FieldSchema { Name = "v", DataType = DataType.FloatVector, Dimension = 2, Metric = MetricType.L2, Nullable = true },
                new FieldSchema { Name = "s", DataType = DataType.SparseFloatVector, Metric = MetricType.IP, Nullable = true },
            ],
        });

        var batch = new ColumnBatch(3);
        batch.Add(new FieldColumn { Name = "id", Longs = [1, 2, 3] });
        // Row 2's slots hold garbage the null flag overrides.
        batch.Add(new FieldColumn { Name = "v", Vectors = [1, 0, 9, 9, 0, 1], Nulls = [false, true, false] });
        batch.Add(new FieldColumn { Name = "s", Sparse = [SparseVector.Create([1], [1f]), null, SparseVector.Create([1], [2f])] });
        await db.InsertAsync("c", batch);
        var onlyKeys = new ColumnBatch(1);
        onlyKeys.Add(new FieldColumn { Name = "id", Longs = [4] });
        await db.InsertAsync("c", onlyKeys);

        foreach (var flush in new[] { false, true })
        {
            if (flush)
            {
                await db.FlushAsync("c");
            }

            var rows = (await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["v", "s"] })).OrderBy(r => (long)r["id"]!).ToList();
            Assert.Equal([1f, 0f], (float[])rows[0]["v"]!);
            Assert.Null(rows[1]["v"]);
            Assert.Null(rows[1]["s"]);
            Assert.Null(rows[3]["v"]);
            Assert.Null(rows[3]["s"]);
            var columns = await db.QueryColumnsAsync("c", new QueryRequest { Filter = "id in [2, 3]", OutputFields = ["v"] });
            var v = columns.Columns.Single(c => c.Name == "v");
            Assert.Equal(2, Enumerable.Range(0, 2).Count(i => v.IsNull(i) != (v.GetValue(new FieldSchema { Name = "v", DataType = DataType.FloatVector, Dimension = 2 }, i) is not null)));

            var dense = await db.SearchAsync("c", new SearchRequest { AnnsField = "v", Vectors = [[0, 9]], Limit = 10 });
            Assert.Equal([3L, 1L], dense.Hits[0].Select(h => (long)h.Id));
            var sparse = await db.SearchAsync("c", new SearchRequest { AnnsField = "s", Vectors = [], SparseVectors = [SparseVector.Create([1], [1f])], Limit = 10 });
            Assert.Equal([3L, 1L], sparse.Hits[0].Select(h => (long)h.Id));
        }
    }

    [Fact]
    public async Task DefaultValueOnVectorField_IsRefused_NullInNonNullableField_IsRefused()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var withDefault = new FieldSchema
        {
            Name = "v", DataType = DataType.FloatVector, Dimension = 2, Metric = MetricType.L2, Nullable = true,
            DefaultValue = System.Text.Json.JsonDocument.Parse("[1, 2]").RootElement,
        };
        var refused = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("x", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), withDefault] }));
        Assert.Contains("vector field 'v' cannot have a default value", refused.Message, StringComparison.Ordinal);

        await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2)] });
        var missing = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [new Row { ["id"] = 1L, ["v"] = null }]));
        Assert.Contains("missing required field", missing.Message, StringComparison.Ordinal);
        var batch = new ColumnBatch(1);
        batch.Add(new FieldColumn { Name = "id", Longs = [1] });
        batch.Add(new FieldColumn { Name = "v", Vectors = [1, 2], Nulls = [true] });
        missing = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", batch));
        Assert.Contains("missing required field", missing.Message, StringComparison.Ordinal);
    }

    private static async Task AssertStateAsync(QuiverEngine db, DataType type, MetricType metric, float[]?[] values, HashSet<long> deleted, float[][] queries)
    {
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["v"], Limit = Rows });
        Assert.Equal(Rows - deleted.Count, rows.Count);
        foreach (var row in rows)
        {
            var id = (long)row["id"]!;
            if (values[id] is { } expected)
            {
                Assert.Equal(expected, type == DataType.BinaryVector ? [.. ((byte[])row["v"]!).Select(b => (float)b)] : (float[])row["v"]!);
            }
            else
            {
                Assert.Null(row["v"]);
            }
        }

        await AssertSearchesAsync(db, type, metric, values, deleted, queries, null);
    }

    /// <summary>Without <paramref name="search"/> parameters (an exact search), each query's hits, asked with a limit above
    /// the rows with a vector so that a null row would show, are exactly the rows with a vector, best first, each with the
    /// oracle's score. With them (an index may answer; a limit below the rows, else the planner rightly scans), every hit
    /// has a vector and the oracle's score, and 90 % of them score within the oracle's top 20. Returns the segments
    /// searched through an index.</summary>
    private static async Task<int> AssertSearchesAsync(
        QuiverEngine db, DataType type, MetricType metric, float[]?[] values, HashSet<long> deleted, float[][] queries, Dictionary<string, string>? search)
    {
        var live = Enumerable.Range(0, Rows).Where(i => values[i] is not null && !deleted.Contains(i)).ToList();
        var smallerIsCloser = metric is MetricType.L2 or MetricType.Hamming;
        var indexed = 0;
        var withinTop = 0;
        var limit = search is null ? Rows : 20;
        foreach (var q in queries)
        {
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = limit, SearchParams = search ?? [] });
            indexed += result.Stats()?.IndexedSegments ?? 0;
            var hits = result.Hits[0];
            var ids = hits.Select(h => (long)h.Id).ToList();
            var oracle = live.ToDictionary(i => (long)i, i => Score(type, metric, q, values[i]!));
            Assert.All(ids, id => Assert.True(oracle.ContainsKey(id), $"hit {id} has no vector or is deleted"));
            Assert.Equal(ids.Count, ids.Distinct().Count());
            if (search is null)
            {
                Assert.Equal(live.Select(i => (long)i).Order(), ids.Order());
            }
            else
            {
                Assert.Equal(limit, ids.Count);
                var sorted = oracle.Values.Order().ToList();
                var bound = smallerIsCloser ? sorted[limit - 1] : sorted[^limit];
                withinTop += ids.Count(id => smallerIsCloser ? oracle[id] <= bound + 1e-3 : oracle[id] >= bound - 1e-3);
            }

            for (var i = 0; i < hits.Count; i++)
            {
                Assert.Equal(oracle[ids[i]], hits[i].Score, 1e-3 * Math.Max(1, Math.Abs(oracle[ids[i]])));
                if (i > 0)
                {
                    var ordered = smallerIsCloser ? oracle[ids[i - 1]] <= oracle[ids[i]] + 1e-4 : oracle[ids[i - 1]] >= oracle[ids[i]] - 1e-4;
                    Assert.True(ordered, $"hit {i} out of order");
                }
            }
        }

        Assert.True(search is null || withinTop >= 0.9 * limit * queries.Length, $"recall {withinTop / (double)(limit * queries.Length)}");
        return indexed;
    }

    private static double Score(DataType type, MetricType metric, float[] q, float[] v)
    {
        if (type != DataType.BinaryVector)
        {
            return BruteForce.Score(metric, q, v);
        }

        var d = 0;
        for (var i = 0; i < q.Length; i++)
        {
            d += BitOperations.PopCount((uint)((byte)q[i] ^ (byte)v[i]));
        }

        return d;
    }

    /// <summary>A vector every type stores exactly: small integers (binary: its Dim / 8 bytes as numbers).</summary>
    private static float[] RandomValue(Random rng, DataType type) => type == DataType.BinaryVector
        ? [.. Enumerable.Range(0, Dim / 8).Select(_ => (float)rng.Next(256))]
        : [.. Enumerable.Range(0, Dim).Select(_ => (float)rng.Next(-8, 9))];

    private static Row ToRow(DataType type, int i, float[]? value)
    {
        var row = new Row { ["id"] = (long)i, ["n"] = (long)i };
        if (value is not null)
        {
            row["v"] = type == DataType.BinaryVector ? value.Select(b => (byte)b).ToArray() : value;
        }
        else if (i % 2 == 0)
        {
            row["v"] = null;
        }

        return row;
    }
}
