using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Indexing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Bench;

/// <summary>
/// The engine over its own graphs, on one collection folder kept between runs: <c>--build true</c> loads a seeded set
/// into a new folder (flush, merge, one index build per segment) and stops; without it the folder is opened, its
/// indexes are waited for, and two passes over the same queries alternate round by round:
/// <list type="bullet">
/// <item><c>embedded</c>: <see cref="QuiverEngine.SearchAsync"/>, one query per call, the requests built before the clock;</item>
/// <item><c>direct</c>: the same segments' own indexes (<see cref="VectorIndex.Search"/>), query by query, every graph
/// for a query before the next query (the order the engine walks them), the hits merged by distance and mapped to their
/// primary keys.</item>
/// </list>
/// Unlike <c>scale</c>'s <c>segment</c> transport (each graph over all queries before the next graph, which keeps one
/// graph in the caches), both passes visit the graphs in the same order, so their difference is the engine's own work.
/// CPU is the calling thread's (<c>CLOCK_THREAD_CPUTIME_ID</c>: the searches run on it, synchronously) and the
/// process's (garbage collection included); the ratio reported is direct CPU over embedded CPU per round (queries per
/// CPU-second, embedded over direct), its median over the rounds. Because one folder serves any number of runs, two
/// builds of the engine can be measured on the same graphs. <c>--mode embedded --seconds S</c> runs only the embedded
/// search for S seconds, for a sampling profiler.
/// </summary>
internal static partial class OverGraph
{
    private const string Collection = "scale";
    private const int LoadBatch = 2_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("set", "data-dir", "dir", "build", "M", "efc", "max-mb", "ef", "k", "nq", "rounds",
            "mode", "seconds", "json", "label", "segments");
        var name = args.Text("set", "synthetic-100000x128-s42-q1000");
        var dataDir = args.Text("data-dir", "bench/data");
        var folder = args.Text("dir") ?? throw new ArgumentException("--dir: the collection folder (built by --build true, then reused)");
        var setFolder = Path.Combine(dataDir, name);
        var basePath = Path.Combine(setFolder, "base.fvecs");
        if (args.Text("build", "false") == "true")
        {
            await BuildAsync(folder, basePath, args.Int("M", 16), args.Int("efc", 100), args.Int("max-mb", 0), args.Int("segments", 0));
            return 0;
        }

        var k = args.Int("k", 10);
        var efs = args.Text("ef", "64").Split(',').Select(e => int.Parse(e, CultureInfo.InvariantCulture)).ToArray();
        var queryVectors = HnswBench.ReadVecs<float>(Path.Combine(setFolder, "queries.fvecs"), out var dim, out var queryCount);
        var nq = Math.Min(args.Int("nq", 1000), queryCount);
        var queries = Enumerable.Range(0, nq).Select(q => queryVectors.AsSpan(q * dim, dim).ToArray()).ToArray();
        var truth = HnswBench.ReadVecs<int>(Path.Combine(setFolder, "groundtruth.ivecs"), out var truthWidth, out _);
        var mode = args.Text("mode", "both");
        var rounds = args.Int("rounds", 5);
        var label = args.Text("label", "");

        if (mode == "reopen")
        {
            var reopenRequests = queries.Select(q => new SearchRequest
            {
                Vectors = [q], AnnsField = "vector", Limit = k, SearchParams = new Dictionary<string, string> { ["ef"] = efs[0].ToString(CultureInfo.InvariantCulture) },
            }).ToArray();
            var points = await ReopenAsync(folder, reopenRequests, truth, truthWidth, k, rounds, label);
            WriteJson(args.Text("json"), name, points, null);
            return 0;
        }

        await using var engine = await QuiverEngine.OpenAsync(folder, new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false });
        await engine.WaitForIndexAsync(Collection);
        var shard = engine.ShardOf(Collection);
        var results = new JsonArray();
        foreach (var ef in efs)
        {
            var values = new Dictionary<string, string> { ["ef"] = ef.ToString(CultureInfo.InvariantCulture) };
            var p = AnnSearchParams.Parse(new IndexParameters(values));
            var requests = queries.Select(q => new SearchRequest { Vectors = [q], AnnsField = "vector", Limit = k, SearchParams = values }).ToArray();
            if (mode == "embedded")
            {
                var until = Stopwatch.GetTimestamp() + (long)(args.Int("seconds", 30) * (double)Stopwatch.Frequency);
                var calls = 0L;
                while (Stopwatch.GetTimestamp() < until)
                {
                    calls += EmbeddedPass(engine, requests, null).Length;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"embedded only, ef {ef}: {calls} searches"));
                continue;
            }

            using var direct = new Direct(shard, k, p);
            // Warm-up: both paths, until the JIT has settled.
            for (var w = 0; w < 3; w++)
            {
                EmbeddedPass(engine, requests, null);
                direct.Pass(queries, null);
            }

            var embeddedCpu = new List<(double Thread, double Process)>();
            var directCpu = new List<(double Thread, double Process)>();
            long[][]? embeddedIds = null, directIds = null;
            for (var r = 0; r < rounds; r++)
            {
                // ABBA: which pass runs first alternates, so a drift of the machine's load falls on both.
                if (r % 2 == 0)
                {
                    embeddedIds = Timed(() => EmbeddedPass(engine, requests, null), embeddedCpu, nq);
                    directIds = Timed(() => direct.Pass(queries, null), directCpu, nq);
                }
                else
                {
                    directIds = Timed(() => direct.Pass(queries, null), directCpu, nq);
                    embeddedIds = Timed(() => EmbeddedPass(engine, requests, null), embeddedCpu, nq);
                }
            }

            // Bytes one embedded search allocates (this thread; the search runs on it), and the types sampled by the
            // runtime's allocation ticks over the same calls.
            long allocated;
            IReadOnlyList<(string Type, long Samples, double Share)> types;
            using (var sampler = new AllocationSampler())
            {
                var passes = Math.Max(1, 20_000 / nq);
                sampler.Start();
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var pass = 0; pass < passes; pass++)
                {
                    EmbeddedPass(engine, requests, embeddedIds);
                }

                allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / (passes * nq);
                types = sampler.Stop();
            }

            var sampledTypes = string.Join(", ", types.Take(12).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {t.Share:P0}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label} ef {ef}: {allocated} bytes allocated per embedded search (the harness's id array of k longs included); sampled types: {sampledTypes}"));

            var ratios = embeddedCpu.Zip(directCpu, (e, d) => d.Thread / e.Thread).Order().ToArray();
            var processRatios = embeddedCpu.Zip(directCpu, (e, d) => d.Process / e.Process).Order().ToArray();
            var recallEmbedded = Recall(embeddedIds!, truth, truthWidth, k);
            var recallDirect = Recall(directIds!, truth, truthWidth, k);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c,
                $"{label} ef {ef} k {k} nq {nq}: thread CPU ms/call embedded {Median(embeddedCpu.Select(x => x.Thread)):F4} direct {Median(directCpu.Select(x => x.Thread)):F4}; " +
                $"direct/embedded thread {Median(ratios):F3} (rounds {string.Join(' ', ratios.Select(x => x.ToString("F3", c)))}), process {Median(processRatios):F3}; " +
                $"recall embedded {recallEmbedded:F4} direct {recallDirect:F4}"));
            results.Add(new JsonObject
            {
                ["label"] = label,
                ["ef"] = ef,
                ["k"] = k,
                ["nq"] = nq,
                ["graphs"] = direct.Graphs,
                ["embedded_thread_cpu_ms"] = new JsonArray([.. embeddedCpu.Select(x => (JsonNode)x.Thread)]),
                ["direct_thread_cpu_ms"] = new JsonArray([.. directCpu.Select(x => (JsonNode)x.Thread)]),
                ["embedded_process_cpu_ms"] = new JsonArray([.. embeddedCpu.Select(x => (JsonNode)x.Process)]),
                ["direct_process_cpu_ms"] = new JsonArray([.. directCpu.Select(x => (JsonNode)x.Process)]),
                ["direct_over_embedded_thread_median"] = Median(ratios),
                ["direct_over_embedded_process_median"] = Median(processRatios),
                ["recall_embedded"] = recallEmbedded,
                ["recall_direct"] = recallDirect,
                ["embedded_bytes_per_search"] = allocated,
                ["embedded_sampled_types"] = new JsonArray([.. types.Take(20).Select(t => (JsonNode)new JsonObject { ["type"] = t.Type, ["share"] = t.Share })]),
            });
        }

        WriteJson(args.Text("json"), name, results, engine.CountRows(Collection));
        return 0;
    }

    private static void WriteJson(string? json, string set, JsonArray points, long? rows)
    {
        if (json is null)
        {
            return;
        }

        var doc = new JsonObject
        {
            ["command"] = "overgraph " + string.Join(' ', Environment.GetCommandLineArgs().Skip(2)),
            ["set"] = set,
            ["rows"] = rows,
            ["machine"] = Report.Machine(),
            ["load_average"] = File.ReadAllText("/proc/loadavg").Trim(),
            ["points"] = points,
        };
        File.WriteAllText(json, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Loads the set into a new folder and builds one HNSW graph per sealed segment. With
    /// <paramref name="segments"/> &gt; 0 the rows are flushed into that many sealed segments of equal size (the seal size
    /// raised to the largest segment so that nothing seals on its own) and not merged; else they are merged by a
    /// compaction into segments of at most <paramref name="maxMb"/> MiB (default 1 GiB).</summary>
    private static async Task BuildAsync(string folder, string basePath, int m, int efc, int maxMb, int segments)
    {
        // The toolbox's one reader of .fvecs files (it checks every row's dimension), a batch at a time.
        using var file = VectorFile.Open(basePath);
        var (dim, count) = (file.Dimension, file.Count);
        var options = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false };
        if (maxMb > 0)
        {
            options = options with { SegmentMaxBytes = (long)maxMb << 20 };
        }

        if (segments > 0)
        {
            options = options with { SegmentSealBytes = options.SegmentMaxBytes };
        }

        var perSegment = segments > 0 ? (count + segments - 1) / segments : int.MaxValue;

        await using var engine = await QuiverEngine.OpenAsync(folder, options);
        await engine.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vector", dim, MetricType.L2)],
        });
        var started = Stopwatch.GetTimestamp();
        for (int first = 0, n; first < count; first += n)
        {
            // A batch never crosses a segment boundary, so each flush seals exactly perSegment rows.
            n = Math.Min(Math.Min(LoadBatch, count - first), perSegment - (first % perSegment));
            var ids = new long[n];
            var tags = new long[n];
            var vectors = new float[n * dim];
            for (var i = 0; i < n; i++)
            {
                ids[i] = first + i;
                tags[i] = (first + i) % 100;
            }

            file.ReadFloats(first, n, vectors);
            await engine.InsertAsync(Collection, new ColumnBatch(n)
                .Add(new FieldColumn { Name = "id", Longs = ids })
                .Add(new FieldColumn { Name = "tag", Longs = tags })
                .Add(new FieldColumn { Name = "vector", Vectors = vectors }));
            if (segments > 0 && (first + n) % perSegment == 0)
            {
                await engine.FlushAsync(Collection);
            }
        }

        await engine.FlushAsync(Collection);
        if (segments <= 0)
        {
            await engine.CompactAsync(Collection);
        }

        await engine.CreateIndexAsync(Collection, new IndexDefinition
        {
            FieldName = "vector",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = m.ToString(CultureInfo.InvariantCulture), ["efConstruction"] = efc.ToString(CultureInfo.InvariantCulture) },
        });
        await engine.WaitForIndexAsync(Collection);
        var sealedSegments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"built {folder}: {count} rows, {sealedSegments} sealed segments, HNSW M {m} efConstruction {efc}, {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s"));
    }

    private static long[][] EmbeddedPass(QuiverEngine engine, SearchRequest[] requests, long[][]? ids)
    {
        ids ??= new long[requests.Length][];
        for (var q = 0; q < requests.Length; q++)
        {
            // SearchAsync answers synchronously (a completed task): the work is on this thread.
            var result = engine.SearchAsync(Collection, requests[q]).GetAwaiter().GetResult();
            var hits = result.Hits[0];
            var row = new long[hits.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = (long)hits[i].Id;
            }

            ids[q] = row;
        }

        return ids;
    }

    private static long[][] Timed(Func<long[][]> pass, List<(double Thread, double Process)> cpu, int calls)
    {
        var thread = ThreadCpu.Now();
        var process = Environment.CpuUsage.TotalTime;
        var ids = pass();
        var threadMs = (ThreadCpu.Now() - thread).TotalMilliseconds / calls;
        var processMs = (Environment.CpuUsage.TotalTime - process).TotalMilliseconds / calls;
        cpu.Add((threadMs, processMs));
        return ids;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Recall(long[][] ids, int[] truth, int width, int k)
    {
        var found = 0;
        for (var q = 0; q < ids.Length; q++)
        {
            var exact = new HashSet<long>(truth.AsSpan(q * width, Math.Min(k, width)).ToArray().Select(x => (long)x));
            found += ids[q].Count(exact.Contains);
        }

        return found / (double)(ids.Length * k);
    }

    /// <summary>The collection's own segment indexes, held for the run, searched query by query.</summary>
    private sealed class Direct : IDisposable
    {
        private readonly Shards.ReadView _view;
        private readonly List<IndexHandle> _handles = [];
        private readonly Segments.ScalarColumn[] _keys;
        private readonly int _k;
        private readonly AnnSearchParams _p;
        private readonly IndexHit[] _hits;

        public Direct(Shards.Shard shard, int k, AnnSearchParams p)
        {
            _view = shard.AcquireView([]);
            _keys = new Segments.ScalarColumn[_view.Segments.Length];
            for (var s = 0; s < _view.Segments.Length; s++)
            {
                var snap = _view.Segments[s];
                _handles.Add(snap.Segment.AcquireIndex(snap.Schema.IndexOf("vector")) ?? throw new InvalidOperationException($"segment {s} has no index"));
                _keys[s] = snap.GetColumn(snap.Schema.IndexOf("id"));
            }

            _k = k;
            _p = p;
            _hits = new IndexHit[k];
        }

        public int Graphs => _handles.Count;

        public long[][] Pass(float[][] queries, long[][]? ids)
        {
            ids ??= new long[queries.Length][];
            var merged = new List<(float Key, long Id)>(_k * _handles.Count);
            for (var q = 0; q < queries.Length; q++)
            {
                merged.Clear();
                for (var g = 0; g < _handles.Count; g++)
                {
                    var n = _handles[g].Index.Search(queries[q], _k, _p, null, _hits);
                    for (var i = 0; i < n; i++)
                    {
                        merged.Add((_hits[i].Key, (long)_keys[g].GetValue(_hits[i].Row)!));
                    }
                }

                if (_handles.Count > 1)
                {
                    merged.Sort((a, b) => a.Key.CompareTo(b.Key));
                }

                var row = new long[Math.Min(_k, merged.Count)];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = merged[i].Id;
                }

                ids[q] = row;
            }

            return ids;
        }

        public void Dispose()
        {
            foreach (var h in _handles)
            {
                h.Release();
            }

            _view.Dispose();
        }
    }

    /// <summary>The calling thread's CPU time (Linux <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>).</summary>
    private static class ThreadCpu
    {
        private const int ClockThreadCpuTimeId = 3;

        public static TimeSpan Now()
        {
            if (clock_gettime(ClockThreadCpuTimeId, out var ts) != 0)
            {
                throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
            }

            return TimeSpan.FromTicks((ts.Seconds * TimeSpan.TicksPerSecond) + (ts.Nanoseconds / 100));
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int clock_gettime(int clock, out TimeSpec ts);
    }
}
