using System.Diagnostics;
using System.Globalization;
using Quiver.Segments;

namespace Quiver.Bench;

/// <summary>What reopening a collection costs as it grows: loads N rows (Int64 keys 0..N-1 in random order, seeded
/// vectors), flushes and closes; then, each round, opens the folder and times the open (which recovers the collection:
/// maps its segments and whatever the primary-key lookup needs) with the bytes it allocated, then the first point write
/// (an upsert of one existing key, then a delete of another, each with the bytes it allocated: the cost a point write
/// pays for the open being O(segments)), the first point read, a batch of 1,000 inserts of new keys and a batch of
/// 1,000 upserts of existing keys, which go through the primary-key lookup, and a flush (so that the next open replays
/// no WAL). <c>--rows</c> takes a list of sizes, run one after another in this process so that their figures are
/// comparable. Engine only, no index (an index load is not what is measured). Besides: the ingest rate (insert calls
/// only, rows/s and MB/s of vector data), the flush, with <c>--compact</c> a compaction that merges the sealed segments
/// as idle maintenance would; per round the resident memory the open added (anonymous, i.e. the heap and native
/// allocations, and file-backed, i.e. mapped segment pages touched), the time of an unfiltered <c>count(*)</c> (checked
/// against the rows there are) and, with <c>--scan</c>, of a first exact search (no index: every vector is read), with
/// the resident memory after it; the process's peak resident memory at the end.</summary>
internal static class ReopenBench
{
    private const string Collection = "reopen";
    private const int Batch = 2_000;
    private const int WriteBatch = 1_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "dim", "rounds", "dir", "json", "seal-kb", "compact", "scan", "flush-every");
        var sizes = args.Text("rows", "1000000").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        var dim = args.Int("dim", 128);
        var rounds = args.Int("rounds", 3);
        var report = new Report();
        var options = new QuiverOptions
        {
            Durability = DurabilityMode.Never,
            BackgroundMaintenance = false,
            SegmentSealBytes = (long)args.Int("seal-kb", 64 << 10) << 10,
        };
        var firstUpserts = new List<double>();
        foreach (var rows in sizes)
        {
            var prefix = sizes.Length == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"rows{rows}_");
            var steps = new Steps(args.Text("compact") == "true", args.Text("scan") == "true", args.Int("flush-every", 500_000));
            firstUpserts.Add(await RunSizeAsync(rows, dim, rounds, args.Text("dir"), options, steps, report, prefix));
        }

        for (var i = 1; i < sizes.Length; i++)
        {
            report.Print(string.Create(CultureInfo.InvariantCulture, $"first_point_upsert_ratio_{sizes[i]}_vs_{sizes[0]}"), firstUpserts[i] / firstUpserts[0], "x", "F2");
        }

        report.Print("peak_resident_mb", Resident.Read("VmHWM") / 1e6, "MB");
        report.WriteJson(args.Text("json"));
        return 0;
    }

    /// <summary>The optional steps: merge the sealed segments after the flush; time a first exact search per round; flush
    /// every so many rows while loading (background maintenance is off, so without it every full growing segment would
    /// stay in memory until the final flush: 10M rows of 128-d took over 11 GB).</summary>
    private sealed record Steps(bool Compact, bool Scan, int FlushEvery);

    /// <summary>Rows in memory (not flushed) at the end of the load, and the managed heap and anonymous resident bytes the
    /// load added (held: as the load left them; live: after a full compacting collection).</summary>
    private sealed record Unflushed(int Rows, long HeapHeld, long HeapLive, long AnonHeld, long AnonLive);

    /// <summary>Loads, closes and reopens one collection of <paramref name="rows"/> rows; returns the median time of the
    /// first point upsert after an open, in ms.</summary>
    private static async Task<double> RunSizeAsync(int rows, int dim, int rounds, string? dir, QuiverOptions options, Steps steps, Report report, string prefix)
    {
        var folder = Path.Combine(dir ?? Path.GetTempPath(), "quiver-bench-reopen-" + Guid.NewGuid().ToString("N"));
        try
        {
            var rng = new Random(42);
            var keys = Enumerable.Range(0, rows).Select(i => (long)i).ToArray();
            rng.Shuffle(keys);
            var loadStarted = Stopwatch.GetTimestamp();
            int sealedSegments;
            var insertSeconds = 0.0;
            double flushSeconds = 0, compactSeconds = 0;
            Unflushed unflushed;
            await using (var engine = await QuiverEngine.OpenAsync(folder, options))
            {
                await engine.CreateCollectionAsync(Collection, new CollectionSchema
                {
                    Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int32), FieldSchema.Vector("vector", dim, MetricType.L2)],
                });
                var heapEmpty = GC.GetTotalMemory(forceFullCollection: true);
                var (anonEmpty, _) = Resident.Settled();
                var sinceFlush = 0;
                for (var first = 0; first < rows; first += Batch)
                {
                    var batch = new List<Row>(Batch);
                    for (var i = first; i < Math.Min(rows, first + Batch); i++)
                    {
                        batch.Add(RowOf(keys[i], dim, rng));
                    }

                    var inserting = Stopwatch.GetTimestamp();
                    await engine.InsertAsync(Collection, batch);
                    insertSeconds += Stopwatch.GetElapsedTime(inserting).TotalSeconds;
                    sinceFlush += batch.Count;
                    if ((first + Batch) % steps.FlushEvery < Batch && first + Batch < rows)
                    {
                        var sealing = Stopwatch.GetTimestamp();
                        await engine.FlushAsync(Collection);
                        flushSeconds += Stopwatch.GetElapsedTime(sealing).TotalSeconds;
                        sinceFlush = 0;
                    }
                }

                // What the rows not flushed yet hold in memory (growing and frozen segments, key dictionaries), before
                // and after a full compacting collection: the live managed heap, and the process's anonymous resident memory.
                var heapHeld = GC.GetTotalMemory(forceFullCollection: false);
                var anonHeld = Resident.Read("RssAnon");
                var heapLive = GC.GetTotalMemory(forceFullCollection: true);
                var (anonLive, _) = Resident.Settled();
                unflushed = new Unflushed(sinceFlush, heapHeld - heapEmpty, heapLive - heapEmpty, anonHeld - anonEmpty, anonLive - anonEmpty);

                var flushing = Stopwatch.GetTimestamp();
                await engine.FlushAsync(Collection);
                flushSeconds += Stopwatch.GetElapsedTime(flushing).TotalSeconds;
                if (steps.Compact)
                {
                    var compacting = Stopwatch.GetTimestamp();
                    await engine.CompactAsync(Collection);
                    compactSeconds = Stopwatch.GetElapsedTime(compacting).TotalSeconds;
                }

                sealedSegments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reopen: {rows} rows x {dim}, {sealedSegments} sealed segments, loaded in {Stopwatch.GetElapsedTime(loadStarted).TotalSeconds:F1} s " +
                $"(insert calls {insertSeconds:F1} s, flush {flushSeconds:F1} s, compact {compactSeconds:F1} s); peak resident {Resident.Read("VmHWM") / 1e6:F0} MB"));
            report.Print(prefix + "rows", rows, "rows");
            if (unflushed.Rows > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {unflushed.Rows} rows not flushed before the final flush: managed heap {unflushed.HeapHeld / (double)unflushed.Rows:F0} bytes a row " +
                    $"({unflushed.HeapLive / (double)unflushed.Rows:F0} live after a full collection), anonymous resident {unflushed.AnonHeld / (double)unflushed.Rows:F0} " +
                    $"({unflushed.AnonLive / (double)unflushed.Rows:F0} after it)"));
                report.Print(prefix + "unflushed_rows", unflushed.Rows, "rows");
                report.Print(prefix + "unflushed_heap_bytes_per_row", unflushed.HeapHeld / (double)unflushed.Rows, "bytes", "F0");
                report.Print(prefix + "unflushed_live_heap_bytes_per_row", unflushed.HeapLive / (double)unflushed.Rows, "bytes", "F0");
                report.Print(prefix + "unflushed_resident_anonymous_bytes_per_row", unflushed.AnonHeld / (double)unflushed.Rows, "bytes", "F0");
                report.Print(prefix + "unflushed_resident_anonymous_after_gc_bytes_per_row", unflushed.AnonLive / (double)unflushed.Rows, "bytes", "F0");
            }

            report.Print(prefix + "sealed_segments", sealedSegments, "segments");
            report.Print(prefix + "ingest_rows_per_s", rows / insertSeconds, "rows/s", "F0");
            report.Print(prefix + "ingest_vector_mb_per_s", (double)rows * dim * sizeof(float) / 1e6 / insertSeconds, "MB/s");
            report.Print(prefix + "flush_s", flushSeconds, "s");
            report.Print(prefix + "compact_s", compactSeconds, "s");
            var openAnon = new List<double>();
            var openFile = new List<double>();
            var counts = new List<double>();
            var scans = new List<double>();
            var scanFile = new List<double>();
            var opens = new List<double>();
            var pointUpserts = new List<double>();
            var pointUpsertBytes = new List<double>();
            var pointDeletes = new List<double>();
            var pointDeleteBytes = new List<double>();
            var allocations = new List<double>();
            var gets = new List<double>();
            var getChecksummed = new List<double>();
            var inserts = new List<double>();
            var upserts = new List<double>();
            var insertsAgain = new List<double>();
            var upsertsAgain = new List<double>();
            var upsertBytes = new List<double>();
            var upsertBytesAgain = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var (anonBefore, fileBefore) = Resident.Settled();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var started = Stopwatch.GetTimestamp();
                await using var engine = await QuiverEngine.OpenAsync(folder, options);
                opens.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                allocations.Add(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);
                var (anonOpen, fileOpen) = Resident.Settled();
                openAnon.Add(anonOpen - anonBefore);
                openFile.Add(fileOpen - fileBefore);

                // count(*) without a filter: O(1) per sealed segment, whatever their rows.
                started = Stopwatch.GetTimestamp();
                var counted = await engine.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"] });
                counts.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var expected = rows + (round * 2L * WriteBatch) - round;
                if (counted[0]["count(*)"] is not long n || n != expected)
                {
                    throw new InvalidOperationException($"count(*) answered {counted[0]["count(*)"]}, expected {expected}");
                }

                if (steps.Scan)
                {
                    // No index: the first search reads every vector of every segment (mapped pages become resident).
                    var query = RowOf(0, dim, rng)["vector"] as float[];
                    started = Stopwatch.GetTimestamp();
                    await engine.SearchAsync(Collection, new SearchRequest { Vectors = [query!], Limit = 10 });
                    scans.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    scanFile.Add(Resident.Settled().File - fileBefore);
                }

                // The first write after the open: one existing key rewritten, then another deleted (keys of the loaded
                // rows, so each reaches a sealed segment).
                var pointKey = keys[rows - 1 - round];
                var (upsertMs, upsertAllocated) = await TimedAsync(() => engine.UpsertAsync(Collection, [RowOf(pointKey, dim, rng)]));
                pointUpserts.Add(upsertMs);
                pointUpsertBytes.Add(upsertAllocated);
                var (deleteMs, deleteAllocated) = await TimedAsync(() => engine.DeleteAsync(Collection, [keys[rows - 1 - rounds - round]]));
                pointDeletes.Add(deleteMs);
                pointDeleteBytes.Add(deleteAllocated);

                var checksummedBefore = MappedBlock.VerifiedBytes;
                started = Stopwatch.GetTimestamp();
                var got = await engine.GetAsync(Collection, [keys[round]]);
                gets.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                getChecksummed.Add(MappedBlock.VerifiedBytes - checksummedBefore);
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
                    $"  round {round}: open {opens[^1]:F1} ms, {allocations[^1] / 1e6:F2} MB allocated, resident +{openAnon[^1] / 1e6:F1} MB anonymous +{openFile[^1] / 1e6:F1} MB mapped; " +
                    $"count(*) {counts[^1]:F2} ms{(steps.Scan ? $", first exact search {scans[^1]:F0} ms (mapped resident +{scanFile[^1] / 1e6:F0} MB)" : "")}; first point upsert {pointUpserts[^1]:F3} ms " +
                    $"({pointUpsertBytes[^1] / 1e3:F1} kB), point delete {pointDeletes[^1]:F3} ms ({pointDeleteBytes[^1] / 1e3:F1} kB); first get {gets[^1]:F2} ms ({getChecksummed[^1] / 1e3:F1} kB checksummed); " +
                    $"insert {WriteBatch} new keys {inserts[^1]:F2} ms, again {insertsAgain[^1]:F2} ms; upsert {existing.Count} existing keys {upserts[^1]:F2} ms ({upsertBytes[^1] / 1e6:F2} MB allocated), again {upsertsAgain[^1]:F2} ms ({upsertBytesAgain[^1] / 1e6:F2} MB)"));
            }

            report.Print(prefix + "open_ms_median", Median(opens), "ms");
            report.Print(prefix + "open_allocated_mb_median", Median(allocations) / 1e6, "MB");
            report.Print(prefix + "open_resident_anonymous_mb_median", Median(openAnon) / 1e6, "MB");
            report.Print(prefix + "open_resident_mapped_mb_median", Median(openFile) / 1e6, "MB");
            report.Print(prefix + "count_star_ms_median", Median(counts), "ms", "F3");
            if (steps.Scan)
            {
                report.Print(prefix + "first_exact_search_ms_median", Median(scans), "ms", "F0");
                report.Print(prefix + "exact_search_resident_mapped_mb_per_million_rows", Median(scanFile) / 1e6 / (rows / 1e6), "MB");
            }

            report.Print(prefix + "first_point_upsert_ms_median", Median(pointUpserts), "ms", "F3");
            report.Print(prefix + "first_point_upsert_allocated_kb_median", Median(pointUpsertBytes) / 1e3, "kB");
            report.Print(prefix + "first_point_delete_ms_median", Median(pointDeletes), "ms", "F3");
            report.Print(prefix + "first_point_delete_allocated_kb_median", Median(pointDeleteBytes) / 1e3, "kB");
            report.Print(prefix + "first_get_ms_median", Median(gets), "ms");
            report.Print(prefix + "first_get_checksummed_kb_median", Median(getChecksummed) / 1e3, "kB");
            report.Print(prefix + "insert_1000_new_ms_median", Median(inserts), "ms");
            report.Print(prefix + "upsert_1000_existing_ms_median", Median(upserts), "ms");
            report.Print(prefix + "insert_1000_new_again_ms_median", Median(insertsAgain), "ms");
            report.Print(prefix + "upsert_1000_existing_again_ms_median", Median(upsertsAgain), "ms");
            report.Print(prefix + "upsert_1000_existing_allocated_mb_median", Median(upsertBytes) / 1e6, "MB");
            report.Print(prefix + "upsert_1000_existing_again_allocated_mb_median", Median(upsertBytesAgain) / 1e6, "MB");
            return Median(pointUpserts);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Times one call and counts the bytes every thread allocated meanwhile.</summary>
    private static async Task<(double Ms, double Bytes)> TimedAsync(Func<Task> call)
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        await call();
        return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, GC.GetTotalAllocatedBytes(precise: true) - allocated);
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

    /// <summary>The process's resident memory from /proc/self/status (Linux; 0 elsewhere).</summary>
    private static class Resident
    {
        /// <summary>A field of /proc/self/status in bytes (VmRSS, VmHWM, RssAnon, RssFile).</summary>
        public static long Read(string field)
        {
            if (!File.Exists("/proc/self/status"))
            {
                return 0;
            }

            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }

        /// <summary>Anonymous and file-backed resident bytes after a full, compacting collection (so that garbage is not
        /// counted).</summary>
        public static (long Anonymous, long File) Settled()
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            return (Read("RssAnon"), Read("RssFile"));
        }
    }
}
