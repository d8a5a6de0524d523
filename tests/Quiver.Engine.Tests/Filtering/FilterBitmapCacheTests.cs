using Quiver.Filtering;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>A sealed segment keeps the bitmaps of the filters scanned over it (<see cref="FilterBitmapCache"/>): random
/// filters, read again and again while deletes arrive, must give exactly the rows the per-row reference interpreter
/// keeps among the rows visible at the read's timestamp (newest and older), and a repeated filter is scanned once per
/// segment.</summary>
public sealed class FilterBitmapCacheTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-filter-cache");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Allowed_OnASealedSegmentWithDeletesArriving_EqualsTheReferenceAtEveryTimestamp(int seed)
    {
        var rng = new Random(seed);
        var schema = FilterFixture.Schema();
        var rows = Enumerable.Range(0, 300).Select(i => Storage.SegmentFormatTests.WithVector(FilterDifferentialTests.RandomRow(rng, i))).ToList();
        var segment = Sealed(schema, rows, $"cache{seed}.qseg");
        try
        {
            var generator = new FilterDifferentialTests.ExpressionGenerator(rng);
            var filters = Enumerable.Range(0, 40).Select(_ => generator.Predicate(3)).ToList();
            var bound = filters.Select(f => FilterExpression.Parse(f.Text).Bind(schema, null)).ToList();
            var deletedAt = new Dictionary<int, long>();
            long ts = 10;
            for (var round = 0; round < 12; round++)
            {
                // Rows were inserted at timestamp 1; each round deletes a few more at a later timestamp.
                for (var d = 0; d < round % 3 * 5; d++)
                {
                    var row = rng.Next(rows.Count);
                    ts++;
                    if (segment.MarkDeleted(row, ts))
                    {
                        deletedAt[row] = ts;
                    }
                }

                using var snap = segment.Snapshot();
                // Reads at the newest timestamp (the shared live bitmap), at an older one, and with nothing deleted yet.
                foreach (var readTs in new[] { ts + 1, ts - 3, 5L })
                {
                    // Twice the same plans, and over a few rounds: hits and misses of the cache.
                    foreach (var i in Enumerable.Range(0, 12).Select(_ => rng.Next(filters.Count)))
                    {
                        var allowed = QueryExecutor.Allowed(snap, readTs, bound[i]);
                        var expected = Enumerable.Range(0, rows.Count)
                            .Where(r => filters[i].Eval(rows[r]) == true && (!deletedAt.TryGetValue(r, out var at) || at > readTs))
                            .ToArray();
                        var actual = Rows(allowed, rows.Count);
                        Assert.True(expected.SequenceEqual(actual),
                            $"seed {seed}, round {round}, ts {readTs}, `{filters[i].Text}`: [{string.Join(",", actual)}] against the reference [{string.Join(",", expected)}]");
                        Assert.Equal(expected.Length, allowed.Count);
                    }
                }
            }
        }
        finally
        {
            segment.Release();
        }
    }

    [Fact]
    public void Allowed_RepeatedScanFilter_IsEvaluatedOncePerSegment_AndAgainOnlyForAnotherPlan()
    {
        var schema = FilterFixture.Schema();
        var rng = new Random(7);
        var rows = Enumerable.Range(0, 300).Select(i => Storage.SegmentFormatTests.WithVector(FilterDifferentialTests.RandomRow(rng, i))).ToList();
        var segment = Sealed(schema, rows, "repeat.qseg");
        try
        {
            // JSON paths have no scalar index: the filter is scanned.
            const string Text = "meta[\"n\"] > 3 or title like \"%tar%\"";
            var plan = FilterExpression.Parse(Text).Bind(schema, null);
            using (var snap = segment.Snapshot())
            {
                var first = QueryExecutor.Allowed(snap, 100, plan);
                for (var i = 0; i < 5; i++)
                {
                    Assert.Equal(first.Count, QueryExecutor.Allowed(snap, 100, plan).Count);
                }

                Assert.Equal(1, segment.FilterBitmaps.Evaluations);
            }

            segment.MarkDeleted(0, 150);
            using (var snap = segment.Snapshot())
            {
                _ = QueryExecutor.Allowed(snap, 200, plan);
                Assert.Equal(1, segment.FilterBitmaps.Evaluations);
            }

            // Another plan of the same text (a new schema version binds anew) is another entry.
            using (var snap = segment.Snapshot())
            {
                _ = QueryExecutor.Allowed(snap, 200, FilterExpression.Parse(Text).Bind(schema, null));
                Assert.Equal(2, segment.FilterBitmaps.Evaluations);
            }
        }
        finally
        {
            segment.Release();
        }
    }

    private Segment Sealed(CollectionSchema schema, List<Dictionary<string, object?>> rows, string name)
    {
        var batch = RowValidator.Build(schema, [.. rows.Select(Storage.SegmentFormatTests.ToEngineRow)], upsert: false, autoIds: null);
        var path = _dir.Sub(name);
        SegmentFile.Write(PhysicalFileSystem.Instance, path, 1, 9, batch, Enumerable.Repeat(1L, rows.Count).ToArray());
        return SegmentFile.Open(PhysicalFileSystem.Instance, path, batch.Schema, 1);
    }

    private static int[] Rows(AllowedRows allowed, int rowCount)
    {
        var list = new List<int>();
        for (var r = allowed.Next(0); r >= 0 && r < rowCount; r = allowed.Next(r + 1))
        {
            list.Add(r);
        }

        return [.. list];
    }
}
