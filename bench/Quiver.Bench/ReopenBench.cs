using System.Diagnostics;
using System.Globalization;

namespace Quiver.Bench;

/// <summary>What reopening a collection costs as it grows: loads N rows (Int64 keys 0..N-1 in random order, seeded
/// vectors), flushes and closes; then, each round, opens the folder and times the open (which recovers the collection:
/// maps its segments and whatever the primary-key lookup needs) with the bytes it allocated, then the first point read,
/// a batch of 1,000 inserts of new keys and a batch of 1,000 upserts of existing keys, which go through the primary-key
/// lookup, and a flush (so that the next open replays no WAL). Engine only, no index (an index load is not what is
/// measured).</summary>
internal static class ReopenBench
{
    private const string Collection = "reopen";
    private const int Batch = 2_000;
    private const int WriteBatch = 1_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "dim", "rounds", "dir", "json", "seal-kb");
        var rows = args.Int("rows", 1_000_000);
        var dim = args.Int("dim", 128);
        var rounds = args.Int("rounds", 3);
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-reopen-" + Guid.NewGuid().ToString("N"));
        var report = new Report();
        var options = new QuiverOptions
        {
            Durability = DurabilityMode.Never,
            BackgroundMaintenance = false,
            SegmentSealBytes = (long)args.Int("seal-kb", 64 << 10) << 10,
        };
        try
        {
            var rng = new Random(42);
            var keys = Enumerable.Range(0, rows).Select(i => (long)i).ToArray();
            rng.Shuffle(keys);
            var loadStarted = Stopwatch.GetTimestamp();
            int sealedSegments;
            await using (var engine = await QuiverEngine.OpenAsync(folder, options))
            {
                await engine.CreateCollectionAsync(Collection, new CollectionSchema
                {
                    Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int32), FieldSchema.Vector("vector", dim, MetricType.L2)],
                });
                for (var first = 0; first < rows; first += Batch)
                {
                    var batch = new List<Row>(Batch);
                    for (var i = first; i < Math.Min(rows, first + Batch); i++)
                    {
                        batch.Add(RowOf(keys[i], dim, rng));
                    }

                    await engine.InsertAsync(Collection, batch);
                }

                await engine.FlushAsync(Collection);
                sealedSegments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reopen: {rows} rows x {dim}, {sealedSegments} sealed segments, loaded in {Stopwatch.GetElapsedTime(loadStarted).TotalSeconds:F1} s"));
            report.Print("rows", rows, "rows");
            report.Print("sealed_segments", sealedSegments, "segments");
            var opens = new List<double>();
            var allocations = new List<double>();
            var gets = new List<double>();
            var inserts = new List<double>();
            var upserts = new List<double>();
            var insertsAgain = new List<double>();
            var upsertsAgain = new List<double>();
            var upsertBytes = new List<double>();
            var upsertBytesAgain = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var started = Stopwatch.GetTimestamp();
                await using var engine = await QuiverEngine.OpenAsync(folder, options);
                opens.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                allocations.Add(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);

                started = Stopwatch.GetTimestamp();
                var got = await engine.GetAsync(Collection, [keys[round]]);
                gets.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (got.Count != 1)
                {
                    throw new InvalidOperationException($"key {keys[round]} was not found after reopening");
                }

                var fresh = Enumerable.Range(0, WriteBatch).Select(i => RowOf(rows + (round * WriteBatch) + i, dim, rng)).ToList();
                started = Stopwatch.GetTimestamp();
                await engine.InsertAsync(Collection, fresh);
                inserts.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

                var existing = Enumerable.Range(0, WriteBatch).Select(_ => RowOf(keys[rng.Next(rows)], dim, rng)).DistinctBy(r => r["id"]).ToList();
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                started = Stopwatch.GetTimestamp();
                await engine.UpsertAsync(Collection, existing);
                upserts.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                upsertBytes.Add(GC.GetTotalAllocatedBytes(precise: true) - allocated);

                // The same again: what a write costs once the first one after the open has touched every segment.
                fresh = [.. Enumerable.Range(0, WriteBatch).Select(i => RowOf(rows + ((rounds + round) * WriteBatch) + i, dim, rng))];
                started = Stopwatch.GetTimestamp();
                await engine.InsertAsync(Collection, fresh);
                insertsAgain.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                existing = [.. Enumerable.Range(0, WriteBatch).Select(_ => RowOf(keys[rng.Next(rows)], dim, rng)).DistinctBy(r => r["id"])];
                allocated = GC.GetTotalAllocatedBytes(precise: true);
                started = Stopwatch.GetTimestamp();
                await engine.UpsertAsync(Collection, existing);
                upsertsAgain.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                upsertBytesAgain.Add(GC.GetTotalAllocatedBytes(precise: true) - allocated);
                // So that the next round's open replays no WAL (that is not what is measured): one small segment more.
                await engine.FlushAsync(Collection);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: open {opens[^1]:F1} ms, {allocations[^1] / 1e6:F2} MB allocated; first get {gets[^1]:F2} ms; " +
                    $"insert {WriteBatch} new keys {inserts[^1]:F2} ms, again {insertsAgain[^1]:F2} ms; upsert {existing.Count} existing keys {upserts[^1]:F2} ms ({upsertBytes[^1] / 1e6:F2} MB allocated), again {upsertsAgain[^1]:F2} ms ({upsertBytesAgain[^1] / 1e6:F2} MB)"));
            }

            report.Print("open_ms_median", Median(opens), "ms");
            report.Print("open_allocated_mb_median", Median(allocations) / 1e6, "MB");
            report.Print("first_get_ms_median", Median(gets), "ms");
            report.Print("insert_1000_new_ms_median", Median(inserts), "ms");
            report.Print("upsert_1000_existing_ms_median", Median(upserts), "ms");
            report.Print("insert_1000_new_again_ms_median", Median(insertsAgain), "ms");
            report.Print("upsert_1000_existing_again_ms_median", Median(upsertsAgain), "ms");
            report.Print("upsert_1000_existing_allocated_mb_median", Median(upsertBytes) / 1e6, "MB");
            report.Print("upsert_1000_existing_again_allocated_mb_median", Median(upsertBytesAgain) / 1e6, "MB");
            report.WriteJson(args.Text("json"));
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static Row RowOf(long key, int dim, Random rng)
    {
        var v = new float[dim];
        for (var d = 0; d < dim; d++)
        {
            v[d] = rng.NextSingle();
        }

        return new Row { ["id"] = key, ["tag"] = key % 100, ["vector"] = v };
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
