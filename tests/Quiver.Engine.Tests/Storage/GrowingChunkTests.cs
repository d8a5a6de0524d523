using System.Numerics;
using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Storage;

/// <summary>A growing segment keeps its vectors in fixed-size chunks (<see cref="VectorStore"/>): rows appended in batches
/// that straddle many chunk boundaries, with deletes, upserts and null rows, in a schema of every scalar type and every
/// vector type, read back exactly as inserted (the model: the rows as given, <see cref="AllTypes.Expected"/>) and every
/// vector field's exact search equals a brute-force top-k over the model; the same after the segment is sealed (its file
/// written chunk by chunk) and after a reopen. Small chunks (4 KiB: 64 rows of the 16-d fields) cross many boundaries;
/// the default size grows the first chunk by doubling.</summary>
public sealed class GrowingChunkTests : IDisposable
{
    private const int Dim = 16;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The vector fields beside AllTypes' "vec" (FLOAT, L2): each type with a metric it takes.</summary>
    private static readonly FieldSchema[] ExtraVectors =
    [
        new() { Name = "half", DataType = DataType.Float16Vector, Dimension = Dim, Metric = MetricType.IP },
        new() { Name = "brain", DataType = DataType.BFloat16Vector, Dimension = Dim, Metric = MetricType.L2 },
        new() { Name = "small", DataType = DataType.Int8Vector, Dimension = Dim, Metric = MetricType.L2 },
        new() { Name = "bin", DataType = DataType.BinaryVector, Dimension = 128, Metric = MetricType.Hamming },
        new() { Name = "maybe", DataType = DataType.FloatVector, Dimension = Dim, Metric = MetricType.Cosine, Nullable = true },
    ];

    [Theory]
    [InlineData(4096)]
    [InlineData(VectorStore.ChunkBytes)]
    public async Task RowsAcrossManyChunkBoundaries_ReadBackAsInserted_AndSearchAsBruteForce_GrowingSealedReopened(int chunkBytes)
    {
        var baseSchema = AllTypes.Schema(Dim);
        var schema = baseSchema with { Fields = [.. baseSchema.Fields, .. ExtraVectors] };
        var model = new SortedDictionary<long, Row>();
        var options = new QuiverOptions { BackgroundMaintenance = false, GrowingVectorChunkBytes = chunkBytes };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", schema);

            // Batches of sizes around the 64-row chunk (and one of 700) so that appends start and end inside chunks and span several.
            var rng = new Random(5);
            int[] sizes = [1, 63, 64, 65, 127, 3, 700, 129, 2, 200];
            var next = 1L;
            for (var b = 0; next <= 2500; b++)
            {
                var rows = Rows(rng, AllTypes.Rows(seed: b, count: (int)Math.Min(sizes[b % sizes.Length], 2501 - next), firstId: next, dim: Dim));
                await db.InsertAsync("c", rows);
                Remember(model, schema, rows);
                next += rows.Count;
            }

            // Deletes, upserts (some of deleted keys, which come back), then more rows after them.
            var deleted = model.Keys.Where(id => id % 7 == 0).ToList();
            await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
            deleted.ForEach(id => model.Remove(id));
            foreach (var first in new long[] { 11, 700, 1400, 2401 })
            {
                var rows = Rows(rng, AllTypes.Rows(seed: 100 + (int)first, count: 90, firstId: first, dim: Dim));
                await db.UpsertAsync("c", rows);
                Remember(model, schema, rows);
            }

            var more = Rows(rng, AllTypes.Rows(seed: 99, count: 500, firstId: 2501, dim: Dim));
            await db.InsertAsync("c", more);
            Remember(model, schema, more);

            var info = await db.DescribeCollectionAsync("c");
            Assert.Equal(0, info.SealedSegments);
            await AssertStateAsync(db, schema, model, rng);

            await db.FlushAsync("c");
            Assert.Equal(0, (await db.DescribeCollectionAsync("c")).GrowingSegments);
            await AssertStateAsync(db, schema, model, rng);
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, options);
        await AssertStateAsync(reopened, schema, model, new Random(6));
    }

    /// <summary>AllTypes' rows with a value for each extra vector field; every third row leaves the nullable one out or
    /// gives it null.</summary>
    private static List<Row> Rows(Random rng, List<Row> rows)
    {
        foreach (var row in rows)
        {
            var id = (long)row["id"]!;
            row["half"] = Small(rng);
            row["brain"] = Small(rng);
            row["small"] = Small(rng);
            row["bin"] = Enumerable.Range(0, 16).Select(_ => (byte)rng.Next(256)).ToArray();
            if (id % 3 != 0)
            {
                row["maybe"] = NonZero(rng);
            }
            else if (id % 2 == 0)
            {
                row["maybe"] = null;
            }
        }

        return rows;
    }

    private static void Remember(SortedDictionary<long, Row> model, CollectionSchema schema, List<Row> rows)
    {
        foreach (var row in rows)
        {
            model[(long)row["id"]!] = AllTypes.Expected(schema, row);
        }
    }

    private static async Task AssertStateAsync(QuiverEngine db, CollectionSchema schema, SortedDictionary<long, Row> model, Random rng)
    {
        var read = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["*"], Limit = model.Count + 1 });
        Assert.Equal(model.Values.Select(AllTypes.Canonical), read.OrderBy(r => (long)r["id"]!).Select(AllTypes.Canonical));

        foreach (var field in schema.Fields.Where(f => f.IsVector))
        {
            var live = model.Where(kv => kv.Value[field.Name] is not null).ToDictionary(kv => kv.Key, kv => Floats(kv.Value[field.Name]!));
            for (var q = 0; q < 3; q++)
            {
                float[] query = field.DataType == DataType.BinaryVector ? [.. Enumerable.Range(0, 16).Select(_ => (float)rng.Next(256))] : NonZero(rng);
                var result = await db.SearchAsync("c", new SearchRequest { AnnsField = field.Name, Vectors = [query], Limit = live.Count });
                var hits = result.Hits[0];
                var ids = hits.Select(h => (long)h.Id).ToList();
                Assert.Equal(live.Keys.Order(), ids.Order());
                var smallerIsCloser = field.Metric is MetricType.L2 or MetricType.Hamming;
                for (var i = 0; i < hits.Count; i++)
                {
                    var expected = Score(field, query, live[ids[i]]);
                    Assert.Equal(expected, hits[i].Score, 1e-3 * Math.Max(1, Math.Abs(expected)));
                    if (i > 0)
                    {
                        var before = Score(field, query, live[ids[i - 1]]);
                        Assert.True(smallerIsCloser ? before <= expected + 1e-4 : before >= expected - 1e-4, $"{field.Name}: hit {i} out of order");
                    }
                }
            }
        }
    }

    private static double Score(FieldSchema field, float[] query, float[] row)
    {
        if (field.DataType != DataType.BinaryVector)
        {
            return BruteForce.Score(field.Metric, query, row);
        }

        var d = 0;
        for (var i = 0; i < query.Length; i++)
        {
            d += BitOperations.PopCount((uint)((byte)query[i] ^ (byte)row[i]));
        }

        return d;
    }

    private static float[] Floats(object value) => value is byte[] bytes ? [.. bytes.Select(b => (float)b)] : (float[])value;

    /// <summary>Small integers: every vector type stores them exactly.</summary>
    private static float[] Small(Random rng) => [.. Enumerable.Range(0, Dim).Select(_ => (float)rng.Next(-8, 9))];

    /// <summary>Small integers, never all zero (COSINE takes no zero vector).</summary>
    private static float[] NonZero(Random rng)
    {
        var v = Small(rng);
        v[0] = rng.Next(1, 9);
        return v;
    }
}
