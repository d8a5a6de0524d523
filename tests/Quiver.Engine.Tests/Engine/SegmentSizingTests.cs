using Quiver.Engine.Tests.Indexing;
using Quiver.Search;
using Quiver.Shards;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Segments are sized in bytes: a growing segment seals at <see cref="QuiverOptions.SegmentSealBytes"/>
/// whatever its rows' width, and compaction merges small sealed segments up to <see cref="QuiverOptions.SegmentMaxBytes"/>,
/// rebuilding their indexes, without changing any answer.</summary>
public sealed class SegmentSizingTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema VectorSchema(int dim) => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", dim, MetricType.L2)],
    };

    private static List<Row> Rows(float[] data, int dim, int first, int count) =>
        [.. Enumerable.Range(first, count).Select(i => new Row { ["id"] = (long)i, ["vec"] = data.AsSpan(i * dim, dim).ToArray() })];

    [Fact]
    public async Task Seal_ByBytes_NarrowRowsSealAtMoreRowsThanWide()
    {
        const long sealBytes = 128 << 10;
        const int batch = 8;
        var options = new QuiverOptions { BackgroundMaintenance = false, SegmentSealBytes = sealBytes, SegmentMaxBytes = 1 << 20 };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        var sealedRows = new Dictionary<int, int>();
        foreach (var dim in new[] { 8, 768 })
        {
            var name = $"d{dim}";
            await db.CreateCollectionAsync(name, VectorSchema(dim));
            // Bytes a row is counted at: the vector, the Int64 key, the insert timestamp.
            var rowBytes = (4 * dim) + 8 + 8;
            var expected = (int)((sealBytes + rowBytes - 1) / rowBytes);
            expected = (expected + batch - 1) / batch * batch;
            var total = (2 * expected) + batch;
            var data = IndexTestKit.Clustered(dim, total, dim);
            for (var first = 0; first < total; first += batch)
            {
                await db.InsertAsync(name, Rows(data, dim, first, batch));
            }

            await db.FlushAsync(name);
            var segments = db.ShardOf(name).Meta.Segments;
            Assert.Equal([expected, expected, batch], segments.Select(s => s.Rows));
            sealedRows[dim] = expected;
            var info = await db.DescribeCollectionAsync(name);
            Assert.Equal((long)total, (await db.QueryAsync(name, new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]);
            Assert.Equal(3, info.SealedSegments);
        }

        // One byte budget, rows of 48 and 3,088 bytes: 2,736 and 48 rows a segment.
        Assert.Equal(2736, sealedRows[8]);
        Assert.Equal(48, sealedRows[768]);
    }

    [Fact]
    public void EstimateBytes_CountsEachScalarAtItsWidth_AndStringsAndJsonAtTheirLength()
    {
        var schema = new CollectionSchema
        {
            Fields =
            [
                FieldSchema.VarCharKey("pk", 32),
                FieldSchema.Scalar("i8", DataType.Int8),
                FieldSchema.Scalar("i16", DataType.Int16),
                FieldSchema.Scalar("f", DataType.Float),
                FieldSchema.Scalar("d", DataType.Double),
                FieldSchema.Scalar("b", DataType.Bool, nullable: true),
                FieldSchema.Json("j", nullable: true),
                FieldSchema.Vector("v", 3, MetricType.L2),
            ],
        };
        var rows = new List<Row>
        {
            new() { ["pk"] = "héllo", ["i8"] = 1L, ["i16"] = 2L, ["f"] = 1.5, ["d"] = 2.5, ["b"] = true, ["j"] = System.Text.Json.JsonDocument.Parse("{\"a\":1}").RootElement, ["v"] = new float[] { 1, 2, 3 } },
            new() { ["pk"] = "x", ["i8"] = 1L, ["i16"] = 2L, ["f"] = 1.5, ["d"] = 2.5, ["b"] = null, ["j"] = null, ["v"] = new float[] { 1, 2, 3 } },
        };
        var batch = Writes.RowValidator.Build(schema, rows, upsert: false, _ => 0);
        // Per row: ts 8, i8 1, i16 2, f 4, d 8, b 1, vector 12, string and JSON offsets 4 + 4 = 44; then 'héllo' is 6
        // UTF-8 bytes, 'x' 1, {"a":1} 7; a null byte each for the nullable b and j columns (2 rows round up to a byte).
        Assert.Equal((2 * 44) + 6 + 1 + 7 + 1 + 1, SegmentSizing.EstimateBytes(batch, 0, 2));
        Assert.Equal(44 + 1 + 1 + 1, SegmentSizing.EstimateBytes(batch, 1, 1));
    }

    [Fact]
    public async Task Compaction_MergesManySmallSegmentsIntoFew_RebuildsTheirIndex_AndAnswersMatchBruteForce()
    {
        const int dim = 16;
        const int total = 6000;
        const long maxBytes = 128 << 10;
        // Rows of 64 + 16 bytes in batches of 20: 220 rows a sealed segment (17,600 bytes), up to about 1,600 merged.
        var options = new QuiverOptions { BackgroundMaintenance = false, SegmentSealBytes = 16 << 10, SegmentMaxBytes = maxBytes, IndexBuildThreads = 1 };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", VectorSchema(dim));
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "200" } });
        var data = IndexTestKit.Clustered(21, total, dim);
        for (var first = 0; first < total; first += 20)
        {
            await db.InsertAsync("c", Rows(data, dim, first, 20));
        }

        await db.FlushAsync("c");
        var rng = new Random(22);
        var live = Enumerable.Range(0, total).Select(i => (long)i).ToHashSet();
        var victims = live.Where(_ => rng.NextDouble() < 0.1).ToList();
        await db.DeleteAsync("c", [.. victims.Cast<object>()]);
        live.ExceptWith(victims);
        await db.WaitForIndexAsync("c");

        var before = db.ShardOf("c").Meta.Segments;
        Assert.Equal((total + 219) / 220, before.Count);
        var queries = IndexTestKit.Queries(23, 20, dim);
        // A filter keeping a few rows a segment: those are scanned exactly, so the answer must equal brute force.
        var few = live.Where(_ => rng.NextDouble() < 0.02).ToList();
        await AssertAnswersAsync(null);

        var merges = await db.CompactAsync("c");
        var shard = db.ShardOf("c");
        var after = shard.Meta.Segments;
        Assert.True(merges > 0);
        // 28 segments of 220 rows, tier 0 (under 64 KiB), about 21.7 KB each on disk (96 bytes a row: vector, norm,
        // timestamp, key, key order): packed six at a time into 128 KiB, five segments of tier 1.
        Assert.Equal(5, after.Count);
        Assert.Equal(live.Count, after.Sum(s => s.Rows));
        Assert.All(after, s => Assert.DoesNotContain(s.Id, before.Select(b => b.Id)));
        Assert.All(after, s => Assert.InRange(new FileInfo(Path.Combine(shard.SegmentFolder, s.FileName)).Length, 1, maxBytes));

        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(live.Count, info.IndexedRows);
        Assert.Equal(live.Count, info.TotalRows);
        Assert.Equal(IndexState.Finished, info.State);
        // Every merged segment's graph answers (forced: at 16 dimensions and about 1,100 rows a segment the planner may
        // rightly brute-force some of them).
        await AssertAnswersAsync(after.Count);

        async Task AssertAnswersAsync(int? indexedSegments)
        {
            var p = new Dictionary<string, string> { ["ef"] = "64" };
            SearchPlanner.Override = indexedSegments is null ? null : new PlannerOverride(Strategy: SegmentStrategy.PreFilter);
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = 10, SearchParams = p });
            SearchPlanner.Override = null;
            if (indexedSegments is { } expected)
            {
                Assert.Equal(expected, result.Stats()!.IndexedSegments);
            }

            var found = 0;
            for (var q = 0; q < queries.Length; q++)
            {
                var truth = Nearest(live, queries[q], 10).ToHashSet();
                found += result.Hits[q].Count(h => truth.Contains((long)h.Id));
            }

            Assert.True(found >= 0.95 * queries.Length * 10, $"recall {found / (10.0 * queries.Length)}");

            var exact = await db.SearchAsync("c", new SearchRequest
            {
                Vectors = queries, Limit = 10, SearchParams = p,
                Filter = "id in {few}", FilterParams = new Dictionary<string, object?> { ["few"] = few },
            });
            for (var q = 0; q < queries.Length; q++)
            {
                Assert.Equal(Nearest(few, queries[q], 10), exact.Hits[q].Select(h => (long)h.Id));
            }
        }

        IEnumerable<long> Nearest(IEnumerable<long> ids, float[] query, int k) =>
            ids.OrderBy(id => BruteForce.Score(MetricType.L2, query, data.AsSpan((int)id * dim, dim))).ThenBy(id => id).Take(k);
    }

    [Fact]
    public async Task Compaction_CarriesOverDeletesAndUpsertsThatArriveWhileItCopies()
    {
        const int dim = 8;
        var fs = new FaultInjectingFileSystem();
        var options = new QuiverOptions { BackgroundMaintenance = false, SegmentSealBytes = 2 << 10, SegmentMaxBytes = 64 << 10, FileSystem = fs };
        var data = IndexTestKit.Clustered(31, 400, dim);
        var model = new Dictionary<long, float[]>();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", VectorSchema(dim));
            for (var first = 0; first < 400; first += 10)
            {
                await db.InsertAsync("c", Rows(data, dim, first, 10));
                for (var i = first; i < first + 10; i++)
                {
                    model[i] = data.AsSpan(i * dim, dim).ToArray();
                }
            }

            await db.FlushAsync("c");
            var before = db.ShardOf("c").Meta.Segments.Count;
            Assert.True(before >= 8, $"{before} segments");

            // While the first merge renames its new file into place (its rows copied, not yet swapped in): delete one row
            // of every source, and upsert another with a new vector.
            var fired = 0;
            fs.BeforeRename = destination =>
            {
                if (destination.EndsWith(".qseg", StringComparison.Ordinal) && Interlocked.Exchange(ref fired, 1) == 0)
                {
                    db.DeleteAsync("c", [.. Enumerable.Range(0, 40).Select(i => (object)(long)(i * 10))]).GetAwaiter().GetResult();
                    var upserts = Enumerable.Range(0, 40).Select(i => new Row { ["id"] = (long)((i * 10) + 1), ["vec"] = Enumerable.Repeat(i + 0.5f, dim).ToArray() }).ToList();
                    db.UpsertAsync("c", upserts).GetAwaiter().GetResult();
                }
            };
            Assert.True(await db.CompactAsync("c") > 0);
            fs.BeforeRename = null;
            Assert.Equal(1, fired);
            for (var i = 0; i < 40; i++)
            {
                model.Remove(i * 10);
                model[(i * 10) + 1] = Enumerable.Repeat(i + 0.5f, dim).ToArray();
            }

            Assert.True(db.ShardOf("c").Meta.Segments.Count < before);
            await AssertEqualsModelAsync(db);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertEqualsModelAsync(db);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options with { FileSystem = null }))
        {
            await AssertEqualsModelAsync(db);
        }

        async Task AssertEqualsModelAsync(QuiverEngine db)
        {
            var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "vec"] });
            Assert.Equal(model.Keys.Order(), rows.Select(r => (long)r["id"]!).Order());
            Assert.All(rows, r => Assert.Equal(model[(long)r["id"]!], (float[])r["vec"]!));
            var queries = IndexTestKit.Queries(32, 5, dim);
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = 10 });
            for (var q = 0; q < queries.Length; q++)
            {
                var truth = model.Keys.OrderBy(id => BruteForce.Score(MetricType.L2, queries[q], model[id])).ThenBy(id => id).Take(10);
                Assert.Equal(truth, result.Hits[q].Select(h => (long)h.Id));
            }
        }
    }

    [Fact]
    public void PlanCompaction_KeepsTheSegmentCountNearBytesOverMax_AndRewritesEachRowAFewTimes()
    {
        var options = new QuiverOptions { SegmentSealBytes = 64 << 20, SegmentMaxBytes = 1L << 30 };
        var segments = new List<SegmentSizing.Candidate>();
        long nextId = 1;
        long rewritten = 0;
        const int seals = 400;
        for (var seal = 1; seal <= seals; seal++)
        {
            segments.Add(new SegmentSizing.Candidate(nextId++, 1, 100_000, 0, options.SegmentSealBytes));
            // As CompactAsync does: plan again until nothing is left.
            for (var plan = SegmentSizing.PlanCompaction(segments, options); plan.Count > 0; plan = SegmentSizing.PlanCompaction(segments, options))
            {
                foreach (var group in plan)
                {
                    var bytes = group.Sum(g => g.LiveBytes);
                    Assert.True(bytes <= options.SegmentMaxBytes);
                    Assert.True(group.Count >= SegmentSizing.MergeFactor || group.Count == 1);
                    segments.RemoveAll(group.Contains);
                    rewritten += bytes;
                    segments.Add(new SegmentSizing.Candidate(nextId++, 1, group.Sum(g => g.LiveRows), 0, bytes));
                }
            }

            // Full segments (1 GiB), plus at most F - 1 in each of the two small tiers (64 MiB and 256 MiB).
            var full = seal * options.SegmentSealBytes / options.SegmentMaxBytes;
            Assert.InRange(segments.Count, 1, full + (2 * (SegmentSizing.MergeFactor - 1)));
        }

        // 400 seals of 64 MiB: 25 GiB in 25 segments, each byte written twice more (64 MiB -> 256 MiB -> 1 GiB).
        Assert.Equal(25, segments.Count);
        Assert.Equal(2 * seals * options.SegmentSealBytes, rewritten);
    }

    [Fact]
    public void PlanCompaction_MergesATierOfFour_RewritesSegmentsWithManyDeletes_PerPartition()
    {
        var o = new QuiverOptions { SegmentSealBytes = 1 << 20, SegmentMaxBytes = 16 << 20, SegmentMaxRows = 1000 };
        List<SegmentSizing.Candidate> segments =
        [
            new(1, 1, 100, 0, 1 << 20),
            new(2, 1, 100, 0, 1 << 20),
            new(3, 1, 100, 10, 1 << 20),
            new(4, 2, 100, 0, 1 << 20),
            new(5, 2, 100, 0, 1 << 20),
            new(6, 2, 100, 0, 1 << 20),
            new(7, 2, 100, 0, 512 << 10),
            new(8, 2, 100, 0, 4 << 20),
            new(9, 3, 900, 300, 15 << 20),
            new(10, 4, 200, 0, 1 << 20),
            new(11, 4, 200, 0, 1 << 20),
            new(12, 4, 200, 0, 1 << 20),
            new(13, 4, 200, 0, 1 << 20),
            new(14, 4, 200, 0, 1 << 20),
        ];
        var groups = SegmentSizing.PlanCompaction(segments, o).Select(g => g.Select(s => s.Id).ToArray()).ToList();
        // Partition 1: three in tier 0, too few; 3 has a tenth deleted, under the 0.2 line. Partition 2: four in tier 0
        // (7 is below the seal size, still tier 0), 8 is tier 1. Partition 3: a third deleted, rewritten alone.
        // Partition 4: five of tier 0 (200 rows each, under half the 1,000-row cap), which just fit one merge.
        Assert.Equal([[4L, 5L, 6L, 7L], [9L], [10L, 11L, 12L, 13L, 14L]], groups);
        Assert.Equal(0, SegmentSizing.Tier(1, 1 << 20));
        Assert.Equal(0, SegmentSizing.Tier((4 << 20) - 1, 1 << 20));
        Assert.Equal(1, SegmentSizing.Tier(4 << 20, 1 << 20));
        Assert.Equal(2, SegmentSizing.Tier(16 << 20, 1 << 20));
    }

    [Fact]
    public void PlanCompaction_WhenIdle_PacksTheSmallSegmentsNoTierTook()
    {
        var o = new QuiverOptions { SegmentSealBytes = 1 << 20, SegmentMaxBytes = 16 << 20, SegmentMaxRows = 1000 };
        List<SegmentSizing.Candidate> segments =
        [
            new(1, 1, 100, 0, 1 << 20),
            new(2, 1, 100, 0, 1 << 20),
            new(3, 1, 100, 0, 4 << 20),
            new(4, 2, 100, 0, 1 << 20),
            new(5, 3, 100, 0, 1 << 20),
            new(6, 3, 100, 0, 1 << 20),
            new(7, 3, 100, 0, 1 << 20),
            new(8, 3, 100, 0, 1 << 20),
            new(9, 3, 100, 0, 1 << 20),
            new(10, 4, 100, 0, 6 << 20),
            new(11, 4, 100, 0, 6 << 20),
            new(12, 4, 100, 0, 6 << 20),
            new(13, 5, 100, 0, 1 << 20),
            new(14, 5, 600, 0, 12 << 20),
        ];
        List<long[]> Plan(bool idle) => [.. SegmentSizing.PlanCompaction(segments, o, idle).Select(g => g.Select(s => s.Id).ToArray())];

        // Busy: only partition 3's tier of five merges. Idle: also partition 1's three (two tiers between them), partition
        // 4's 18 MiB packed as 12 MiB + 6 MiB alone (a pack of one is left), none of partition 2's single segment, none of
        // partition 5 (14 is not small: 600 rows are over half the 1,000-row cap).
        Assert.Equal([[5L, 6L, 7L, 8L, 9L]], Plan(idle: false));
        Assert.Equal([[1L, 2L, 3L], [5L, 6L, 7L, 8L, 9L], [10L, 11L]], Plan(idle: true));
    }

    [Fact]
    public async Task IdleCompaction_MergesSegmentsBelowATier_RebuildsTheIndex_AndEverySearchAnswersTheSame()
    {
        const int dim = 16;
        const int total = 660;
        var data = IndexTestKit.Clustered(31, total, dim);
        var live = Enumerable.Range(0, total).Select(i => (long)i).ToHashSet();
        var queries = IndexTestKit.Queries(32, 20, dim);
        // Rows of 64 + 16 bytes in batches of 20: 220 rows a sealed segment, three in all, one tier short of a merge.
        QuiverOptions Options(TimeSpan idle) => new()
        {
            BackgroundMaintenance = false, SegmentSealBytes = 16 << 10, SegmentMaxBytes = 128 << 10, IndexBuildThreads = 1, CompactionIdleDelay = idle,
        };
        List<SearchHit>[] before;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options(Timeout.InfiniteTimeSpan)))
        {
            await db.CreateCollectionAsync("c", VectorSchema(dim));
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "FLAT" });
            for (var first = 0; first < total; first += 20)
            {
                await db.InsertAsync("c", Rows(data, dim, first, 20));
            }

            await db.FlushAsync("c");
            var victims = live.Where(id => id % 9 == 0).ToList();
            await db.DeleteAsync("c", [.. victims.Cast<object>()]);
            live.ExceptWith(victims);
            await db.WaitForIndexAsync("c");
            Assert.Equal(3, db.ShardOf("c").Meta.Segments.Count);

            // Never idle: three segments of one tier are not merged.
            Assert.Equal(0, await db.CompactAsync("c"));
            Assert.Equal(3, db.ShardOf("c").Meta.Segments.Count);
            before = await AnswersAsync(db);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options(TimeSpan.Zero)))
        {
            var sources = db.ShardOf("c").Meta.Segments.Select(s => s.Id).ToList();
            Assert.Equal(1, await db.CompactAsync("c"));
            var merged = Assert.Single(db.ShardOf("c").Meta.Segments);
            Assert.DoesNotContain(merged.Id, sources);
            Assert.Equal(live.Count, merged.Rows);

            // The merged segment was searched only once its index was built, and answers through it.
            var info = Assert.Single(await db.DescribeIndexesAsync("c"));
            Assert.Equal(live.Count, info.IndexedRows);
            Assert.Equal(IndexState.Finished, info.State);
            var index = Assert.Single(db.ShardOf("c").Meta.Indexes);
            using (var view = db.ShardOf("c").AcquireView([]))
            {
                var sealedSegment = Assert.Single(view.Segments, s => s.Segment.IsSealed);
                Assert.Equal(index.Id, sealedSegment.Segment.AttachedIndexId(db.ShardOf("c").Schema.IndexOf("vec")));
            }

            var after = await AnswersAsync(db);
            for (var q = 0; q < queries.Length; q++)
            {
                Assert.Equal(before[q].Select(h => (long)h.Id), after[q].Select(h => (long)h.Id));
                Assert.Equal(before[q].Select(h => h.Score), after[q].Select(h => h.Score));
            }

            // Idle again, one small segment left: nothing to pack.
            Assert.Equal(0, await db.CompactAsync("c"));
        }

        // Each query (FLAT: exact) equal to brute force over the live rows.
        async Task<List<SearchHit>[]> AnswersAsync(QuiverEngine db)
        {
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = 10 });
            for (var q = 0; q < queries.Length; q++)
            {
                var oracle = BruteForce.TopK(live.Select(id => (id, data.AsSpan((int)id * dim, dim).ToArray())), queries[q], MetricType.L2, 10);
                Assert.Equal(oracle.Select(o => o.Key), result.Hits[q].Select(h => (long)h.Id));
            }

            return [.. result.Hits.Select(h => h.ToList())];
        }
    }

    [Fact]
    public async Task BackgroundMaintenance_MergesSmallSegmentsOnceTheCollectionIsIdle()
    {
        const int dim = 8;
        const int total = 300;
        var data = IndexTestKit.Clustered(41, total, dim);
        var options = new QuiverOptions
        {
            BackgroundMaintenance = false, SegmentSealBytes = 4 << 10, SegmentMaxBytes = 128 << 10, CompactionIdleDelay = TimeSpan.FromMilliseconds(200),
        };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", VectorSchema(dim));
            for (var first = 0; first < total; first += 20)
            {
                await db.InsertAsync("c", Rows(data, dim, first, 20));
            }

            await db.FlushAsync("c");
            Assert.InRange(db.ShardOf("c").Meta.Segments.Count, 2, SegmentSizing.MergeFactor - 1);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options with { BackgroundMaintenance = true }))
        {
            // No write comes, so the maintenance loop finds the collection idle and merges; a generous guard, no timing
            // asserted.
            var shard = db.ShardOf("c");
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (shard.Meta.Segments.Count > 1)
            {
                await Task.Delay(20, guard.Token);
            }

            var merged = Assert.Single(shard.Meta.Segments);
            Assert.Equal(total, merged.Rows);
            var query = IndexTestKit.Queries(42, 1, dim)[0];
            var exact = await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 10 });
            var oracle = BruteForce.TopK(Enumerable.Range(0, total).Select(i => ((long)i, data.AsSpan(i * dim, dim).ToArray())), query, MetricType.L2, 10);
            Assert.Equal(oracle.Select(o => o.Key), exact.Hits[0].Select(h => (long)h.Id));
        }
    }

    [Theory]
    [InlineData(nameof(QuiverOptions.SegmentSealBytes), 0L)]
    [InlineData(nameof(QuiverOptions.SegmentSealBytes), 1023L)]
    [InlineData(nameof(QuiverOptions.SegmentSealBytes), (1L << 30) + 1)]
    [InlineData(nameof(QuiverOptions.SegmentMaxBytes), 512L)]
    [InlineData(nameof(QuiverOptions.SegmentMaxBytes), (4L << 30) + 1)]
    [InlineData(nameof(QuiverOptions.SegmentMaxRows), 0L)]
    [InlineData(nameof(QuiverOptions.CompactionSmallFraction), -1L)]
    [InlineData(nameof(QuiverOptions.CompactionDeletedFraction), 0L)]
    [InlineData(nameof(QuiverOptions.CheckpointWalBytes), 0L)]
    [InlineData(nameof(QuiverOptions.CompactionIdleDelay), -5L)]
    public async Task Open_WithAnOptionOutOfRange_IsRefusedNamingTheOption(string option, long value)
    {
        var o = new QuiverOptions();
        o = option switch
        {
            nameof(QuiverOptions.SegmentSealBytes) => o with { SegmentSealBytes = value },
            nameof(QuiverOptions.SegmentMaxBytes) => o with { SegmentMaxBytes = value, SegmentSealBytes = Math.Min(o.SegmentSealBytes, 1024) },
            nameof(QuiverOptions.SegmentMaxRows) => o with { SegmentMaxRows = (int)value },
            nameof(QuiverOptions.CompactionSmallFraction) => o with { CompactionSmallFraction = value },
            nameof(QuiverOptions.CompactionDeletedFraction) => o with { CompactionDeletedFraction = value },
            nameof(QuiverOptions.CompactionIdleDelay) => o with { CompactionIdleDelay = TimeSpan.FromMilliseconds(value) },
            _ => o with { CheckpointWalBytes = value },
        };
        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => QuiverEngine.OpenAsync(_dir.Path, o));
        Assert.Equal(option, ex.ParamName);
        Assert.Contains($"QuiverOptions.{option}", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "LOCK")), "nothing is created before the options are checked");
    }
}
