using System.Buffers.Binary;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>FLOAT16, BFLOAT16, INT8 and BINARY vector fields end to end in the embedded engine: rows given as wire bytes
/// come back as the same bytes (growing, sealed, and after a reopen); exact search equals a brute-force oracle computed
/// here from the decoded values (dense types in double precision, binary types bit by bit); indexes reach a recall
/// threshold against it (BIN_IVF_FLAT probing every cell is exact); wrong input is refused with a message naming it.</summary>
public sealed class VectorTypeTests : IDisposable
{
    private const int Rows = 1500;
    private const int K = 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every index type docs/vector-types.md lists for each dense type (FLOAT16 and BFLOAT16 take the same list).</summary>
    public static TheoryData<DataType, string> DenseIndexes => new()
    {
        { DataType.Float16Vector, "HNSW" },
        { DataType.Float16Vector, "IVF_FLAT" },
        { DataType.Float16Vector, "IVF_PQ" },
        { DataType.Float16Vector, "ANNOY" },
        { DataType.Float16Vector, "FLAT" },
        { DataType.BFloat16Vector, "HNSW" },
        { DataType.BFloat16Vector, "IVF_SQ8" },
        { DataType.BFloat16Vector, "DISKANN" },
        { DataType.BFloat16Vector, "AUTOINDEX" },
        { DataType.Int8Vector, "HNSW" },
        { DataType.Int8Vector, "FLAT" },
        { DataType.Int8Vector, "AUTOINDEX" },
    };

    /// <summary>Build and search parameters for <paramref name="indexType"/> at 16 dimensions and 1,500 rows.</summary>
    private static (Dictionary<string, string> Build, Dictionary<string, string> Search) ParamsOf(string indexType) => indexType switch
    {
        "HNSW" => ([], new() { ["ef"] = "64" }),
        "IVF_PQ" => (new() { ["nlist"] = "16", ["m"] = "8", ["nbits"] = "8" }, new() { ["nprobe"] = "12", ["refine_k"] = "4" }),
        _ when indexType.StartsWith("IVF", StringComparison.Ordinal) => (new() { ["nlist"] = "16" }, new() { ["nprobe"] = "12" }),
        "ANNOY" => (new() { ["n_trees"] = "16" }, new() { ["search_k"] = "2000" }),
        "DISKANN" => ([], new() { ["search_list"] = "100" }),
        _ => ([], []),
    };

    [Theory]
    [MemberData(nameof(DenseIndexes))]
    public async Task DenseTypes_RoundTripBytes_ExactSearchMatchesOracle_IndexReachesRecall(DataType type, string indexType)
    {
        const int dim = 16;
        var field = new FieldSchema { Name = "v", DataType = type, Dimension = dim, Metric = MetricType.L2 };
        var rng = new Random(7);
        var bytes = Enumerable.Range(0, Rows).Select(_ => RandomDense(rng, type, dim)).ToArray();
        var values = bytes.Select(b => Widen(type, b)).ToArray();
        await using (var db = await OpenAsync(field))
        {
            await db.InsertAsync("c", [.. Enumerable.Range(0, 1000).Select(i => new Row { ["id"] = (long)i, ["v"] = bytes[i] })]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(1000, Rows - 1000).Select(i => new Row { ["id"] = (long)i, ["v"] = bytes[i] })]);
            await AssertRoundTripAsync(db, field, bytes);

            var queries = Enumerable.Range(0, 8).Select(_ => Widen(type, RandomDense(rng, type, dim))).ToArray();
            foreach (var q in queries)
            {
                var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = K })).Hits[0];
                var truth = Enumerable.Range(0, Rows).Select(i => (Id: (long)i, Score: BruteForce.Score(MetricType.L2, q, values[i]))).OrderBy(t => t.Score).ThenBy(t => t.Id).Take(K).ToList();
                Assert.Equal(truth.Select(t => t.Id), hits.Select(h => (long)h.Id));
                for (var i = 0; i < K; i++)
                {
                    Assert.Equal(truth[i].Score, hits[i].Score, 1e-4 * Math.Max(1, truth[i].Score));
                }
            }

            var (build, search) = ParamsOf(indexType);
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "v", IndexType = indexType, Metric = MetricType.L2, Params = build });
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
            var found = 0;
            foreach (var q in queries)
            {
                var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = K, SearchParams = search })).Hits[0];
                var truth = Enumerable.Range(0, Rows).OrderBy(i => BruteForce.Score(MetricType.L2, q, values[i])).Take(K).Select(i => (long)i).ToHashSet();
                found += hits.Count(h => truth.Contains((long)h.Id));
            }

            // FLAT, and AUTOINDEX below 4,096 rows (which is FLAT), scan exactly: recall 1, and no index structure to use.
            var exact = indexType is "FLAT" or "AUTOINDEX";
            Assert.True(found >= (exact ? 1.0 : 0.9) * K * queries.Length, $"{indexType} on {type}: recall {found / (double)(K * queries.Length)}");
            if (!exact)
            {
                // The index must answer when asked to (forced: at 16 dimensions and 1,500 rows the planner rightly brute-forces).
                SearchPlanner.Override = new PlannerOverride(Strategy: SegmentStrategy.PreFilter);
                var stats = (await db.SearchAsync("c", new SearchRequest { Vectors = [queries[0]], Limit = K, SearchParams = search })).Stats()!;
                SearchPlanner.Override = null;
                Assert.True(stats.IndexedSegments >= 1, $"{stats.IndexedSegments} segments searched through the index");
            }
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await AssertRoundTripAsync(reopened, field, bytes);
    }

    [Theory]
    [InlineData(MetricType.Hamming)]
    [InlineData(MetricType.Jaccard)]
    public async Task Binary_RoundTripsBytes_FlatAndIvfMatchPopcountOracle(MetricType metric)
    {
        const int dim = 136; // not a multiple of 64: the last word is padded
        var field = new FieldSchema { Name = "b", DataType = DataType.BinaryVector, Dimension = dim, Metric = metric };
        var rng = new Random(11);
        var centers = Enumerable.Range(0, 12).Select(_ => RandomBytes(rng, dim / 8)).ToArray();
        var bytes = Enumerable.Range(0, Rows).Select(i => Flip(rng, centers[i % centers.Length], 0.08)).ToArray();
        await using (var db = await OpenAsync(field))
        {
            await db.InsertAsync("c", [.. Enumerable.Range(0, 1000).Select(i => new Row { ["id"] = (long)i, ["b"] = bytes[i] })]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(1000, Rows - 1000).Select(i => new Row { ["id"] = (long)i, ["b"] = bytes[i] })]);
            await AssertRoundTripAsync(db, field, bytes);
            var queries = Enumerable.Range(0, 10).Select(i => Flip(rng, centers[i], 0.1)).ToArray();

            async Task<float[][]> DistancesAsync(Dictionary<string, string>? p) =>
                await Task.WhenAll(queries.Select(async q =>
                    (await db.SearchAsync("c", new SearchRequest { Vectors = [Numbers(q)], Limit = K, SearchParams = p ?? [] })).Hits[0].Select(h =>
                    {
                        // Each hit's score is its distance to the row it names.
                        Assert.Equal(Oracle(metric, q, bytes[(long)h.Id]), h.Score);
                        return h.Score;
                    }).ToArray()));

            var truth = queries.Select(q => bytes.Select(b => Oracle(metric, q, b)).Order().Take(K).ToArray()).ToArray();
            Assert.Equal(truth, await DistancesAsync(null));

            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "b", IndexType = "BIN_IVF_FLAT", Metric = metric, Params = new Dictionary<string, string> { ["nlist"] = "16" } });
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
            Assert.Equal(truth, await DistancesAsync(new Dictionary<string, string> { ["nprobe"] = "16" }));
            var probed = await DistancesAsync(new Dictionary<string, string> { ["nprobe"] = "2" });
            var stats = (await db.SearchAsync("c", new SearchRequest { Vectors = [Numbers(queries[0])], Limit = K, SearchParams = new Dictionary<string, string> { ["nprobe"] = "2" } })).Stats()!;
            Assert.True(stats.IndexedSegments >= 1, $"{stats.IndexedSegments} segments searched through the index");
            var within = probed.Select((d, q) => d.Count(x => x <= truth[q][^1])).Sum();
            Assert.True(within >= 0.9 * K * queries.Length, $"BIN_IVF_FLAT nprobe 2: {within} of {K * queries.Length} hits within the true top {K}");
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await AssertRoundTripAsync(reopened, field, bytes);
        var again = await reopened.SearchAsync("c", new SearchRequest { Vectors = [Numbers(bytes[3])], Limit = 1, SearchParams = new Dictionary<string, string> { ["nprobe"] = "16" } });
        Assert.Equal(0f, again.Hits[0][0].Score);
    }

    [Fact]
    public async Task SeveralVectorFields_SearchNamesAnnsField()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"), FieldSchema.Vector("f", 4, MetricType.L2),
                new FieldSchema { Name = "h", DataType = DataType.Float16Vector, Dimension = 4, Metric = MetricType.IP },
                new FieldSchema { Name = "b", DataType = DataType.BinaryVector, Dimension = 16, Metric = MetricType.Hamming },
            ],
        });
        await db.InsertAsync("c",
        [
            new Row { ["id"] = 1L, ["f"] = new float[] { 0, 0, 0, 0 }, ["h"] = new float[] { 1, 0, 0, 0 }, ["b"] = new byte[] { 0, 0 } },
            new Row { ["id"] = 2L, ["f"] = new float[] { 1, 1, 1, 1 }, ["h"] = new float[] { 0, 0, 0, 1 }, ["b"] = new byte[] { 255, 255 } },
        ]);
        var byF = await db.SearchAsync("c", new SearchRequest { AnnsField = "f", Vectors = [[1, 1, 1, 0.9f]], Limit = 1 });
        var byH = await db.SearchAsync("c", new SearchRequest { AnnsField = "h", Vectors = [[1, 0, 0, 0]], Limit = 1 });
        var byB = await db.SearchAsync("c", new SearchRequest { AnnsField = "b", Vectors = [[255, 127]], Limit = 2 });
        Assert.Equal(2L, byF.Hits[0][0].Id);
        Assert.Equal(1L, byH.Hits[0][0].Id);
        Assert.Equal([2L, 1L], byB.Hits[0].Select(h => (long)h.Id));
        Assert.Equal([1f, 15f], byB.Hits[0].Select(h => h.Score));
        var none = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [[1, 1, 1, 1]], Limit = 1 }));
        Assert.Contains("anns_field", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongInput_IsRefusedNamingTheProblem()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });

        async Task<string> SchemaRefusal(FieldSchema f) =>
            (await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("x", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), f] }))).Message;

        Assert.Contains("multiple of 8", await SchemaRefusal(new FieldSchema { Name = "b", DataType = DataType.BinaryVector, Dimension = 12, Metric = MetricType.Hamming }), StringComparison.Ordinal);
        Assert.Contains("cannot use metric L2", await SchemaRefusal(new FieldSchema { Name = "b", DataType = DataType.BinaryVector, Dimension = 16, Metric = MetricType.L2 }), StringComparison.Ordinal);
        Assert.Contains("cannot use metric HAMMING", await SchemaRefusal(new FieldSchema { Name = "h", DataType = DataType.Float16Vector, Dimension = 4, Metric = MetricType.Hamming }), StringComparison.Ordinal);

        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"), new FieldSchema { Name = "i", DataType = DataType.Int8Vector, Dimension = 4, Metric = MetricType.L2 },
                new FieldSchema { Name = "b", DataType = DataType.BinaryVector, Dimension = 16, Metric = MetricType.Hamming },
            ],
        });
        async Task<string> InsertRefusal(object i, object b) =>
            (await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [new Row { ["id"] = 1L, ["i"] = i, ["b"] = b }]))).Message;

        Assert.Contains("-128..127", await InsertRefusal(new float[] { 1, 2, 300, 4 }, new byte[2]), StringComparison.Ordinal);
        Assert.Contains("-128..127", await InsertRefusal(new float[] { 1, 2, 0.5f, 4 }, new byte[2]), StringComparison.Ordinal);
        Assert.Contains("takes 4 bytes per row, got 3", await InsertRefusal(new byte[3], new byte[2]), StringComparison.Ordinal);
        Assert.Contains("takes 2 bytes per row, got 4", await InsertRefusal(new sbyte[4], new byte[4]), StringComparison.Ordinal);

        async Task<string> IndexRefusal(string field, string type, MetricType metric) =>
            (await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", new IndexDefinition { FieldName = field, IndexType = type, Metric = metric, Params = new Dictionary<string, string>() }))).Message;

        Assert.Contains("index type HNSW is not valid for BinaryVector", await IndexRefusal("b", "HNSW", MetricType.Hamming), StringComparison.Ordinal);
        Assert.Contains("index type BIN_FLAT is not valid for Int8Vector", await IndexRefusal("i", "BIN_FLAT", MetricType.L2), StringComparison.Ordinal);
        Assert.Contains("index type IVF_PQ is not valid for Int8Vector", await IndexRefusal("i", "IVF_PQ", MetricType.L2), StringComparison.Ordinal);
    }

    [Fact]
    public void BinaryKernels_MatchBitByBitReference_AtEveryLength()
    {
        var rng = new Random(3);
        for (var words = 0; words <= 40; words++)
        {
            var a = Enumerable.Range(0, words).Select(_ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40)).ToArray();
            var b = Enumerable.Range(0, words).Select(_ => (ulong)rng.NextInt64()).ToArray();
            foreach (var metric in (MetricType[])[MetricType.Hamming, MetricType.Jaccard])
            {
                Assert.Equal(BinaryMath.DistanceReference(metric, a, b), BinaryMath.Distance(metric, a, b));
                Assert.Equal(0f, BinaryMath.Distance(metric, a, a));
            }
        }
    }

    [Fact]
    public void Codec_RoundsNumbersAsTheSdksDo_AndEncodesBackExactly()
    {
        var f16 = new FieldSchema { Name = "h", DataType = DataType.Float16Vector, Dimension = 3, Metric = MetricType.L2 };
        var bf16 = f16 with { DataType = DataType.BFloat16Vector };
        var slots = new float[3];
        Assert.Null(VectorCodec.FromNumbers(f16, [0.1f, -65504f, 1e-7f], slots));
        Assert.Equal([(float)(Half)0.1f, -65504f, (float)(Half)1e-7f], slots);
        var wire = VectorCodec.Encode(f16, slots);
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)0.1f), BinaryPrimitives.ReadUInt16LittleEndian(wire));
        Assert.Contains("finite", VectorCodec.FromNumbers(f16, [70000f, 0, 0], slots), StringComparison.Ordinal);
        Assert.Null(VectorCodec.FromNumbers(bf16, [1.00390625f, 3.14159f, -2f], slots));
        // 1 + 2^-8 is halfway between two bfloat16 values and rounds to even (1); pi keeps 8 significant bits.
        Assert.Equal([1f, 3.140625f, -2f], slots);
        var back = new float[3];
        Assert.Null(VectorCodec.Decode(bf16, VectorCodec.Encode(bf16, slots), 1, back));
        Assert.Equal(slots, back);
    }

    private async Task<QuiverEngine> OpenAsync(FieldSchema field)
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), field] });
        return db;
    }

    private static async Task AssertRoundTripAsync(QuiverEngine db, FieldSchema field, byte[][] bytes)
    {
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = [field.Name], Limit = bytes.Length });
        Assert.Equal(bytes.Length, rows.Count);
        foreach (var row in rows)
        {
            var id = (long)row["id"]!;
            var stored = row[field.Name] switch
            {
                byte[] b => b,
                float[] f => VectorCodec.Encode(field, f),
                var other => throw new InvalidOperationException($"unexpected {other?.GetType().Name}"),
            };
            Assert.True(bytes[id].AsSpan().SequenceEqual(stored), $"row {id} did not come back as the bytes inserted");
        }
    }

    private static byte[] RandomDense(Random rng, DataType type, int dim)
    {
        var b = new byte[type == DataType.Int8Vector ? dim : 2 * dim];
        for (var i = 0; i < dim; i++)
        {
            var x = (float)((rng.NextDouble() * 4) - 2);
            switch (type)
            {
                case DataType.Int8Vector:
                    b[i] = (byte)(sbyte)rng.Next(-128, 128);
                    break;
                case DataType.Float16Vector:
                    BinaryPrimitives.WriteHalfLittleEndian(b.AsSpan(2 * i), (Half)x);
                    break;
                default:
                    BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2 * i), (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16));
                    break;
            }
        }

        return b;
    }

    /// <summary>The oracle's own decoding of wire bytes (not the codec's).</summary>
    private static float[] Widen(DataType type, byte[] b) => type switch
    {
        DataType.Int8Vector => [.. b.Select(x => (float)(sbyte)x)],
        DataType.Float16Vector => [.. Enumerable.Range(0, b.Length / 2).Select(i => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2 * i))))],
        _ => [.. Enumerable.Range(0, b.Length / 2).Select(i => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2 * i)) << 16))],
    };

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Flip(Random rng, byte[] center, double p)
    {
        var b = (byte[])center.Clone();
        for (var bit = 0; bit < b.Length * 8; bit++)
        {
            if (rng.NextDouble() < p)
            {
                b[bit / 8] ^= (byte)(1 << (bit % 8));
            }
        }

        return b;
    }

    private static float[] Numbers(byte[] b) => [.. b.Select(x => (float)x)];

    /// <summary>HAMMING and JACCARD counted bit by bit over the bytes.</summary>
    private static float Oracle(MetricType metric, byte[] a, byte[] b)
    {
        int diff = 0, and = 0, or = 0;
        for (var i = 0; i < a.Length * 8; i++)
        {
            var x = (a[i / 8] >> (i % 8)) & 1;
            var y = (b[i / 8] >> (i % 8)) & 1;
            diff += x ^ y;
            and += x & y;
            or += x | y;
        }

        return metric == MetricType.Hamming ? diff : or == 0 ? 0f : 1f - ((float)and / or);
    }
}
