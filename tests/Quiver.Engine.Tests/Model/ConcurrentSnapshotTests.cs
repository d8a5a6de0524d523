using System.Collections.Concurrent;
using Quiver.Filtering;
using Quiver.Search;
using Quiver.Shards;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Model;

/// <summary>Snapshot visibility under concurrent writes, deletes, flushes and compactions, against a model replayed in
/// timestamp order. Two writers insert, upsert and delete (by key and by filter) on disjoint keys while a maintenance
/// task seals and merges segments (so sealed segments take deletes while readers hold them), and readers take views:
/// each view's rows, read twice with writes running in between, and an exact search and a filtered read over the same
/// view, must equal the model's state at the view's timestamp exactly (key and value).</summary>
public sealed class ConcurrentSnapshotTests : IDisposable
{
    private const int Dim = 4;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("v", DataType.Int64), FieldSchema.Vector("vec", Dim, MetricType.L2)],
    };

    [Fact]
    public async Task Views_UnderConcurrentWritesDeletesAndMaintenance_EqualTheModelAtTheirTimestamp()
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, SegmentMaxRows = 60, Durability = DurabilityMode.Never };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", Schema);
        var shard = db.ShardOf("c");
        var log = new ConcurrentBag<(long Ts, Op Op)>();
        var reads = new ConcurrentBag<Read>();
        using var stop = new CancellationTokenSource();
        var opsPerWriter = TestTier.Pick(300, 3000);

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => WriteAsync(db, w, opsPerWriter, log))).ToArray();
        var maintenance = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await db.FlushAsync("c");
                await db.CompactAsync("c");
                await Task.Delay(2);
            }
        });
        // Each reader reads until the writers are done, and at least MinReads times whatever the scheduler did.
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() => ReadLoop(shard, r, reads, stop.Token))).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        await maintenance;

        // Then one step that does not depend on scheduling: seal everything, delete by filter (hitting sealed rows), read.
        await db.FlushAsync("c");
        var last = await db.DeleteWhereAsync("c", "v < 500");
        log.Add((last.Timestamp, new Op(OpKind.DeleteBelow, [(500L, 0L)])));
        await ReadOnceAsync(shard, new Random(300), reads);

        var model = new Dictionary<long, long>();
        var ordered = log.OrderBy(e => e.Ts).ToList();
        var next = 0;
        var checkedWithDeletes = 0;
        foreach (var read in reads.OrderBy(r => r.Ts))
        {
            for (; next < ordered.Count && ordered[next].Ts <= read.Ts; next++)
            {
                ordered[next].Op.ApplyTo(model);
            }

            AssertSame(model, read.Rows, $"rows of the view at {read.Ts}");
            AssertSame(model, read.RowsAgain, $"rows of the view at {read.Ts}, read again after more writes");
            if (read.SearchIds is { } ids)
            {
                Assert.Equal(model.Keys.Order(), ids.Order());
            }

            AssertSame(model.Where(kv => kv.Value >= read.Threshold).ToDictionary(), read.Filtered, $"v >= {read.Threshold} at {read.Ts}");
            checkedWithDeletes += read.SawSealedDeletes ? 1 : 0;
        }

        // The point of the test: sealed segments with deletes were read (their shared live bitmaps), not only growing ones.
        Assert.True(checkedWithDeletes > 0, "no read saw a sealed segment with deletes");
    }

    private static void AssertSame(Dictionary<long, long> expected, Dictionary<long, long> actual, string what)
    {
        if (expected.Count == actual.Count && expected.All(kv => actual.TryGetValue(kv.Key, out var v) && v == kv.Value))
        {
            return;
        }

        var missing = expected.Where(kv => !actual.TryGetValue(kv.Key, out var v) || v != kv.Value).Take(5).Select(kv => $"{kv.Key}={kv.Value}");
        var extra = actual.Where(kv => !expected.TryGetValue(kv.Key, out var v) || v != kv.Value).Take(5).Select(kv => $"{kv.Key}={kv.Value}");
        Assert.Fail($"{what}: {expected.Count} rows expected, {actual.Count} read; missing or different [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]");
    }

    private static async Task WriteAsync(QuiverEngine db, int writer, int ops, ConcurrentBag<(long, Op)> log)
    {
        var rng = new Random(100 + writer);
        var mine = new List<long>();
        var nextKey = writer * 1_000_000L;
        for (var i = 0; i < ops; i++)
        {
            var choice = rng.Next(100);
            if (choice < 45 || mine.Count < 5)
            {
                var rows = Enumerable.Range(0, rng.Next(1, 12)).Select(_ => (nextKey++, (long)rng.Next(1000))).ToList();
                var result = await db.InsertAsync("c", rows.Select(r => RowOf(rng, r.Item1, r.Item2)).ToList());
                mine.AddRange(rows.Select(r => r.Item1));
                log.Add((result.Timestamp, new Op(OpKind.Put, [.. rows])));
            }
            else if (choice < 65)
            {
                var rows = Pick(rng, mine, rng.Next(1, 6)).Select(k => (k, (long)rng.Next(1000))).ToList();
                var result = await db.UpsertAsync("c", rows.Select(r => RowOf(rng, r.k, r.Item2)).ToList());
                log.Add((result.Timestamp, new Op(OpKind.Put, [.. rows])));
            }
            else if (choice < 97)
            {
                var keys = Pick(rng, mine, rng.Next(1, 6));
                var result = await db.DeleteAsync("c", keys.Cast<object>().ToList());
                log.Add((result.Timestamp, new Op(OpKind.Delete, [.. keys.Select(k => (k, 0L))])));
            }
            else
            {
                // A delete by filter hits both writers' rows; the model applies it at its place in timestamp order.
                var below = (long)rng.Next(30);
                var result = await db.DeleteWhereAsync("c", $"v < {below}");
                log.Add((result.Timestamp, new Op(OpKind.DeleteBelow, [(below, 0L)])));
            }
        }
    }

    private static List<long> Pick(Random rng, List<long> keys, int n) =>
        Enumerable.Range(0, n).Select(_ => keys[rng.Next(keys.Count)]).Distinct().ToList();

    private static Row RowOf(Random rng, long id, long v) => new() { ["id"] = id, ["v"] = v, ["vec"] = TestData.Vector(rng, Dim) };

    private const int MinReads = 12;

    private static async Task ReadLoop(Shard shard, int reader, ConcurrentBag<Read> reads, CancellationToken stop)
    {
        var rng = new Random(200 + reader);
        for (var done = 0; !stop.IsCancellationRequested || done < MinReads; done++)
        {
            await ReadOnceAsync(shard, rng, reads);
        }
    }

    private static async Task ReadOnceAsync(Shard shard, Random rng, ConcurrentBag<Read> reads)
    {
        {
            var threshold = (long)rng.Next(1000);
            var filter = FilterPlan.Compile($"v >= {threshold}", shard.Schema, null);
            using var view = shard.AcquireView([]);
            var rows = ReadRows(view, null);
            var sawSealedDeletes = view.Segments.Any(s => s.Segment.IsSealed && s.Visible(view.Timestamp) is not null);
            // Writes, deletes and merges go on while this view is held; it must not change.
            await Task.Delay(rng.Next(3), CancellationToken.None);
            var again = ReadRows(view, null);
            var filtered = ReadRows(view, filter);
            var allowed = view.Segments.Select(s => QueryExecutor.Allowed(s, view.Timestamp, null)).ToArray();
            var total = Math.Max(1, allowed.Sum(a => a.Count));
            List<long>? ids = null;
            if (total <= SearchRequest.MaxTopK)
            {
                // An exact search for every visible row returns exactly the visible rows.
                var hits = FlatSearch.Search(view, allowed, 2, MetricType.L2, [new float[] { 1, 0, 0, 0 }], total, null);
                ids = [.. hits[0].Select(h =>
                {
                    var (s, row) = FlatSearch.UnpackId(h.Id);
                    return LongAt(view.Segments[s], 0, row);
                })];
            }

            reads.Add(new Read(view.Timestamp, rows, again, ids, threshold, filtered, sawSealedDeletes));
        }
    }

    private static Dictionary<long, long> ReadRows(ReadView view, BoundFilter? filter)
    {
        var result = new Dictionary<long, long>();
        foreach (var snap in view.Segments)
        {
            var allowed = QueryExecutor.Allowed(snap, view.Timestamp, filter);
            for (var row = allowed.Next(0); row >= 0; row = allowed.Next(row + 1))
            {
                var id = LongAt(snap, 0, row);
                Assert.True(result.TryAdd(id, LongAt(snap, 1, row)), $"key {id} visible twice at {view.Timestamp}");
            }
        }

        return result;
    }

    private static long LongAt(Segments.SegmentSnapshot snap, int field, int row) =>
        Convert.ToInt64(snap.GetColumn(field).GetValue(row), System.Globalization.CultureInfo.InvariantCulture);

    private enum OpKind
    {
        Put,
        Delete,
        DeleteBelow,
    }

    private sealed record Op(OpKind Kind, (long Key, long Value)[] Rows)
    {
        public void ApplyTo(Dictionary<long, long> model)
        {
            switch (Kind)
            {
                case OpKind.Put:
                    foreach (var (k, v) in Rows)
                    {
                        model[k] = v;
                    }

                    break;
                case OpKind.Delete:
                    foreach (var (k, _) in Rows)
                    {
                        model.Remove(k);
                    }

                    break;
                default:
                    foreach (var k in model.Where(kv => kv.Value < Rows[0].Key).Select(kv => kv.Key).ToList())
                    {
                        model.Remove(k);
                    }

                    break;
            }
        }
    }

    private sealed record Read(
        long Ts, Dictionary<long, long> Rows, Dictionary<long, long> RowsAgain, List<long>? SearchIds, long Threshold, Dictionary<long, long> Filtered,
        bool SawSealedDeletes);
}
