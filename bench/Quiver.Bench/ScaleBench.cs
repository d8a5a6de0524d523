using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Grpc.Net.Client;
using Quiver.Indexing;
using Quiver.Protocol.Milvus;
using Quiver.Segments;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;

namespace Quiver.Bench;

/// <summary>
/// <c>scale</c>: search cost against collection size and transport, after VectorDBBench's method. For each prepared data
/// set (<c>quiver bench data</c> writes them under <c>bench/data</c>), in one process run: the rows go into a collection
/// (Int64 key <c>id</c>, Int64 <c>tag</c> = id mod 100, the vectors) of an in-process server through the engine (timed:
/// engine ingest), are flushed and indexed (HNSW, <c>--M</c>, <c>--efc</c>); the resident memory the collection added is
/// read; the same vectors are indexed alone by <see cref="IndexFactory"/> with the same parameters; then for each top-k,
/// filter (none, <c>tag &lt; 1</c> keeping 1% of rows, <c>tag &lt; 99</c> keeping 99%) and client count the same queries
/// run one per call, embedded, over gRPC and over REST (and through the index alone, unfiltered, one client). Finally the
/// server is stopped and the time to reopen the data folder and answer a first search is taken. Writes a CSV of every
/// measurement, a markdown report with the ratios, and an SVG plot of QPS against rows.
/// For sets larger than memory allows twice over (10M x 128-d is 5 GB of vectors): the base vectors are streamed from
/// their file, never held whole by the bench; <c>--flush-every N</c> seals the growing data every N rows while loading
/// (background maintenance is off, so otherwise every row stays in memory until the final flush);
/// <c>--index-after-compact true</c> merges the sealed segments first and builds each merged segment's index once,
/// instead of indexing the small segments and re-indexing after the merge; <c>--alone false</c> leaves out the index
/// alone (one more copy of the vectors and one more build).
/// </summary>
internal static class ScaleBench
{
    private const string Collection = ServerBench.Collection;
    private const int LoadBatch = 2_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("sets", "data-dir", "nq", "ks", "filters", "clients", "transports", "M", "efc", "ef", "out", "dir",
            "flush-every", "index-after-compact", "alone", "index", "build", "search", "columns", "seal-mb", "max-mb", "max-rows", "truth-wait-minutes");
        var sets = args.Text("sets", "synthetic-100000x128-s42").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var dataDir = args.Text("data-dir", Path.Combine("bench", "data"));
        var settings = new Settings(
            Nq: args.Int("nq", 1000),
            Ks: ServerBench.Ints(args.Text("ks", "10,100")),
            Filters: args.Text("filters", "none,1,99").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Clients: ServerBench.Ints(args.Text("clients", "1,10,20")),
            Transports: args.Text("transports", "embedded,grpc,rest").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Parent: args.Text("dir") ?? Path.GetTempPath(),
            FlushEvery: args.Int("flush-every", 0),
            IndexAfterCompact: args.Text("index-after-compact") == "true",
            Alone: args.Text("alone") != "false",
            Columns: args.Text("columns") == "true",
            SealMegabytes: args.Int("seal-mb", 0),
            MaxMegabytes: args.Int("max-mb", 0),
            MaxRows: args.Int("max-rows", 0),
            TruthWaitMinutes: args.Int("truth-wait-minutes", 0),
            Index: ScaleIndex.Of(args.Text("index", "HNSW"), args.Text("build"), args.Text("search"), args.Int("M", 16), args.Int("efc", 200), args.Int("ef", 64)));
        foreach (var f in settings.Filters)
        {
            _ = FilterOf(f);
        }
        var output = args.Text("out", Path.Combine("bench", "results", "scale"));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output + ".csv"))!);

        var rows = new List<Measurement>();
        var graphs = new List<GraphPoint>();
        var summaries = new List<SetSummary>();
        foreach (var name in sets)
        {
            var folder = Path.Combine(dataDir, name);
            var (set, basePath) = Load(folder, name, settings.TruthWaitMinutes);
            summaries.Add(await RunSetAsync(set, basePath, settings, rows, graphs));
            WriteOutputs(output, settings, rows, summaries, graphs);
        }
        return 0;
    }

    private sealed record Settings(int Nq, int[] Ks, string[] Filters, int[] Clients, string[] Transports, string Parent,
        int FlushEvery, bool IndexAfterCompact, bool Alone, bool Columns, int SealMegabytes, int MaxMegabytes, int MaxRows, int TruthWaitMinutes,
        ScaleIndex Index);

    /// <summary>One measured point: a transport (embedded, grpc, rest, index) at a top-k, filter and client count.</summary>
    internal sealed record Measurement(string Set, int Rows, int Dim, string Transport, int K, string Filter, int Clients,
        double Qps, double P50, double P99, double Recall, string Params = "", double CpuMs = double.NaN);

    private sealed record SetSummary(string Set, int Rows, int Dim, double IngestRowsPerSecond, double IngestMBps, double BuildSeconds,
        double IndexAloneBuildSeconds, long ResidentBytes, double ReopenSeconds, double FirstSearchMs, double EmbeddedRecall, double IndexRecall,
        int SealedAfterFlush, int SealedSearched, double CompactSeconds);

    private static (ServerBench.DataSet Set, string BasePath) Load(string folder, string name, int truthWaitMinutes)
    {
        var basePath = Path.Combine(folder, "base.fvecs");
        if (!File.Exists(basePath))
        {
            throw new ArgumentException($"{basePath} does not exist; prepare it with `./quiver bench data --data {name}` (synthetic-NxD-sS is synthetic:NxD:S)");
        }
        // The base vectors stay in their file (BaseRows reads them batch by batch); only the shape is read here.
        var (d, count) = BaseRows.Shape(basePath);
        var queries = HnswBench.ReadVecs<float>(Path.Combine(folder, "queries.fvecs"), out _, out var queryCount);
        var truthPath = Path.Combine(folder, "groundtruth.ivecs");
        if (truthWaitMinutes > 0 && !WholeTruth(truthPath, queryCount))
        {
            // --truth-wait-minutes: the ground truth is read when the first recall is needed (after the load and the index
            // builds), so that a large set's load overlaps `quiver bench data` still computing it.
            return (new ServerBench.DataSet(name, [], count, d, queries, queryCount, [], 0), basePath);
        }
        var truth = HnswBench.ReadVecs<int>(truthPath, out var width, out _);
        return (new ServerBench.DataSet(name, [], count, d, queries, queryCount, truth, width), basePath);
    }

    /// <summary>The set with its ground truth read, waiting up to <paramref name="minutes"/> for <c>quiver bench data</c>
    /// to finish writing it (it writes the file last, whole: one Int32 width and the ids per query).</summary>
    private static ServerBench.DataSet WithTruth(ServerBench.DataSet set, string folder, int minutes)
    {
        if (set.TruthWidth > 0)
        {
            return set;
        }
        var truthPath = Path.Combine(folder, "groundtruth.ivecs");
        var waiting = Stopwatch.GetTimestamp();
        while (!WholeTruth(truthPath, set.QueryCount))
        {
            if (Stopwatch.GetElapsedTime(waiting) > TimeSpan.FromMinutes(minutes))
            {
                throw new InvalidOperationException($"{truthPath}: not written whole after {minutes} minutes (--truth-wait-minutes)");
            }
            Thread.Sleep(5000);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ground truth read after waiting {Stopwatch.GetElapsedTime(waiting).TotalSeconds:F0} s"));
        var truth = HnswBench.ReadVecs<int>(truthPath, out var width, out _);
        return set with { Truth = truth, TruthWidth = width };
    }

    /// <summary>Whether the ground-truth file holds exactly <paramref name="queries"/> rows of its width.</summary>
    private static bool WholeTruth(string path, int queries)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        using var f = File.OpenRead(path);
        if (f.Length < sizeof(int))
        {
            return false;
        }
        Span<byte> head = stackalloc byte[sizeof(int)];
        f.ReadExactly(head);
        var width = BitConverter.ToInt32(head);
        return width > 0 && f.Length == (long)queries * (sizeof(int) + ((long)width * sizeof(int)));
    }

    private static async Task<SetSummary> RunSetAsync(ServerBench.DataSet set, string basePath, Settings s, List<Measurement> rows, List<GraphPoint> graphs)
    {
        var nq = Math.Min(s.Nq, set.QueryCount);
        var queries = Enumerable.Range(0, nq).Select(q => set.Queries.AsSpan(q * set.Dim, set.Dim).ToArray()).ToArray();
        var folder = Path.Combine(s.Parent, "quiver-bench-scale-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"scale: {set.Name}: {set.Count} x {set.Dim}, {nq} queries, {s.Index.Describe}");
        try
        {
            var options = ServerBench.BenchOptions(folder);
            if (s.MaxMegabytes > 0)
            {
                // --max-mb: the engine's SegmentMaxBytes (default 1 GiB), the size compaction merges up to (and the ceiling of
                // --seal-mb).
                options.Engine = options.Engine with { SegmentMaxBytes = (long)s.MaxMegabytes << 20 };
            }
            if (s.MaxRows > 0)
            {
                // --max-rows: the engine's SegmentMaxRows (default 4,194,304), the cap on rows per segment whatever their bytes.
                options.Engine = options.Engine with { SegmentMaxRows = s.MaxRows };
            }
            if (s.SealMegabytes > 0)
            {
                // --seal-mb: the engine's SegmentSealBytes (default 64 MiB), e.g. so that each --flush-every seals one segment.
                options.Engine = options.Engine with { SegmentSealBytes = (long)s.SealMegabytes << 20 };
            }
            SetSummary summary;
            await using (var server = await QuiverServer.StartAsync(options))
            {
                var engine = server.Engine;
                var residentBefore = SettledResidentBytes();
                await engine.CreateCollectionAsync(Collection, new CollectionSchema
                {
                    Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vector", set.Dim, MetricType.L2)],
                });
                var ingestSeconds = 0.0;
                var flushedSeconds = 0.0;
                using (var rowsIn = new BaseRows(basePath, set.Dim))
                {
                    for (var first = 0; first < set.Count; first += LoadBatch)
                    {
                        var end = Math.Min(set.Count, first + LoadBatch);
                        long inserting;
                        if (s.Columns)
                        {
                            // --columns true: the engine's column write (no per-row dictionaries), the batch read into flat arrays.
                            var ids = new long[end - first];
                            var tags = new long[end - first];
                            var vectors = new float[(end - first) * set.Dim];
                            for (var i = first; i < end; i++)
                            {
                                ids[i - first] = i;
                                tags[i - first] = i % 100;
                                rowsIn.Next(vectors.AsSpan((i - first) * set.Dim, set.Dim));
                            }
                            var columns = new ColumnBatch(end - first)
                                .Add(new FieldColumn { Name = "id", Longs = ids })
                                .Add(new FieldColumn { Name = "tag", Longs = tags })
                                .Add(new FieldColumn { Name = "vector", Vectors = vectors });
                            inserting = Stopwatch.GetTimestamp();
                            await engine.InsertAsync(Collection, columns);
                        }
                        else
                        {
                            var batch = new List<Quiver.Row>(LoadBatch);
                            for (var i = first; i < end; i++)
                            {
                                batch.Add(new Quiver.Row { ["id"] = (long)i, ["tag"] = (long)(i % 100), ["vector"] = rowsIn.Next() });
                            }

                            inserting = Stopwatch.GetTimestamp();
                            await engine.InsertAsync(Collection, batch);
                        }
                        ingestSeconds += Stopwatch.GetElapsedTime(inserting).TotalSeconds;
                        if (s.FlushEvery > 0 && (first + LoadBatch) % s.FlushEvery < LoadBatch && first + LoadBatch < set.Count)
                        {
                            var flushing = Stopwatch.GetTimestamp();
                            await engine.FlushAsync(Collection);
                            flushedSeconds += Stopwatch.GetElapsedTime(flushing).TotalSeconds;
                        }
                    }
                }

                var started = Stopwatch.GetTimestamp();
                await engine.FlushAsync(Collection);
                var sealedAfterFlush = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
                double compactSeconds;
                if (s.IndexAfterCompact)
                {
                    // Merge first (nothing to re-index yet), then one build per merged segment.
                    var compacting = Stopwatch.GetTimestamp();
                    await engine.CompactAsync(Collection);
                    compactSeconds = Stopwatch.GetElapsedTime(compacting).TotalSeconds;
                    await CreateIndexAsync(engine, s);
                }
                else
                {
                    await CreateIndexAsync(engine, s);
                    compactSeconds = double.NaN;
                }

                var buildSeconds = flushedSeconds + Stopwatch.GetElapsedTime(started).TotalSeconds - (s.IndexAfterCompact ? compactSeconds : 0);

                if (!s.IndexAfterCompact)
                {
                    // What background maintenance does next (it is off here, so each step is timed on its own): merge the
                    // sealed segments by size tiers, then rebuild the merged segments' indexes. Searches below walk these.
                    started = Stopwatch.GetTimestamp();
                    await engine.CompactAsync(Collection);
                    await engine.WaitForIndexAsync(Collection);
                    compactSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                }

                var sealedSearched = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
                var resident = SettledResidentBytes() - residentBefore;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  ingest {set.Count / ingestSeconds:F0} rows/s, flush + index {buildSeconds:F1} s ({sealedAfterFlush} segments), compact + re-index {compactSeconds:F1} s ({sealedSearched} segments), resident +{resident / 1e6:F0} MB"));

                set = WithTruth(set, Path.GetDirectoryName(basePath)!, s.TruthWaitMinutes);
                using (var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}"))
                {
                    var load = await new MilvusService.MilvusServiceClient(channel).LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Collection });
                    if (load.Code != 0)
                    {
                        throw new InvalidOperationException($"LoadCollection failed: {load.Reason}");
                    }
                }

                // The index alone: the same vectors, the same kind and parameters, searched with the same ef, one query per
                // call on one thread (what `quiver bench ann` measures).
                var (alone, aloneBuild) = s.Alone ? BuildAlone(set, basePath, s) : (null, double.NaN);
                var indexRecall = double.NaN;
                using (alone)
                {
                    foreach (var k in alone is null ? [] : s.Ks)
                    {
                        foreach (var sp in s.Index.Search)
                        {
                            var run = SearchAlone(alone!, queries, k, sp.Parsed);
                            var recall = Recall(run.Ids, set, k);
                            rows.Add(new Measurement(set.Name, set.Count, set.Dim, "index", k, "none", 1, run.Qps, run.P50, run.P99, recall, sp.Label, run.CpuPerCall));
                            Print(rows[^1]);
                        }
                    }
                }
                indexRecall = rows.FirstOrDefault(r => r.Set == set.Name && r.Transport == "index" && r.K == s.Ks[0])?.Recall ?? double.NaN;

                // The collection's own indexes, searched directly ("segment"): the very indexes the embedded search walks (their
                // build seed is the segment's id, the index alone's is 42, so for IVF the two differ in their k-means and hence
                // in recall and list lengths at equal nprobe). With one sealed segment, embedded against it is the engine's
                // cost alone at exactly equal recall; with several, each graph is searched on its own (its cost per graph)
                // and the hits are merged by distance, so the merged figure is the graphs' cost without the engine.
                foreach (var k in s.Ks)
                {
                    foreach (var sp in s.Index.Search)
                    {
                        if (SearchOwnIndexes(engine, queries, k, sp.Parsed) is not { } own)
                        {
                            break;
                        }
                        var (run, perGraph) = own;
                        rows.Add(new Measurement(set.Name, set.Count, set.Dim, "segment", k, "none", 1, run.Qps, run.P50, run.P99, Recall(run.Ids, set, k), sp.Label, run.CpuPerCall));
                        Print(rows[^1]);
                        for (var g = 0; g < perGraph.Length; g++)
                        {
                            graphs.Add(new GraphPoint(set.Name, set.Count, sp.Label, k, g, perGraph.Length, perGraph[g].Rows, perGraph[g].CpuMs, perGraph[g].P50));
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"    graph {g + 1}/{perGraph.Length} ({perGraph[g].Rows} rows): CPU {perGraph[g].CpuMs:F4} ms/call, p50 {perGraph[g].P50:F3} ms"));
                        }
                    }
                }

                await MeasureTransportsAsync(server, set, basePath, s, queries, rows);
                // NaN when the run measured no unfiltered embedded point (e.g. --filters 1,99 only).
                var embeddedRecall = rows.FirstOrDefault(r => r.Set == set.Name && r.Transport == "embedded" && r.Filter == "none" && r.K == s.Ks[0])?.Recall ?? double.NaN;
                summary = new SetSummary(set.Name, set.Count, set.Dim, set.Count / ingestSeconds, (double)set.Count * set.Dim * sizeof(float) / 1e6 / ingestSeconds,
                    buildSeconds, aloneBuild, resident, 0, 0, embeddedRecall, indexRecall, sealedAfterFlush, sealedSearched, compactSeconds);
            }

            // Reopen: the folder as the server left it (sealed, indexed segments), opened by a new engine until a first
            // search has answered (indexes loaded from their files, not rebuilt).
            var reopenStarted = Stopwatch.GetTimestamp();
            await using (var engine = await QuiverEngine.OpenAsync(folder, new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false }))
            {
                var opened = Stopwatch.GetElapsedTime(reopenStarted).TotalSeconds;
                var searchStarted = Stopwatch.GetTimestamp();
                await engine.SearchAsync(Collection, s.Index.Search[0].Request(queries[0], s.Ks[0]));
                var first = Stopwatch.GetElapsedTime(searchStarted).TotalMilliseconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  reopen {opened:F2} s, first search {first:F1} ms"));
                return summary with { ReopenSeconds = opened, FirstSearchMs = first };
            }
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task MeasureTransportsAsync(QuiverServer server, ServerBench.DataSet set, string basePath, Settings s, float[][] queries, List<Measurement> rows)
    {
        var engine = server.Engine;
        var filteredTruth = new Dictionary<(string Filter, int K), ServerBench.DataSet>();
        var maxClients = s.Clients.Max();
        var channels = Enumerable.Range(0, maxClients).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}")).ToArray();
        var stubs = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
        // One HttpClient (HTTP/1.1 keep-alive connections) per client, as a REST client pool would hold.
        var http = Enumerable.Range(0, maxClients).Select(_ => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") }).ToArray();
        try
        {
            foreach (var k in s.Ks)
            {
                foreach (var (filterName, sp) in s.Filters.SelectMany(f => s.Index.Search.Select(sp => (f, sp))))
                {
                    var filter = FilterOf(filterName);
                    // A filtered point's recall is against the exact top-k of the rows the filter keeps (computed once per
                    // filter and k from the base file), not the unfiltered ground truth.
                    var truthSet = set;
                    if (filter.Length > 0 && !filteredTruth.TryGetValue((filterName, k), out truthSet))
                    {
                        truthSet = FilteredTruth(set, basePath, queries, k, int.Parse(filterName, CultureInfo.InvariantCulture));
                        filteredTruth[(filterName, k)] = truthSet;
                    }
                    var paramsJson = sp.Json;
                    var grpcRequests = queries.Select(q =>
                    {
                        var request = MilvusRequests.Search(Collection, q, set.Dim, k, "L2", paramsJson);
                        request.Dsl = filter;
                        return request;
                    }).ToArray();
                    var restBodies = queries.Select(q => RestBody(q, k, sp.Json, filter)).ToArray();
                    var index = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
                    for (var i = 0; i < queries.Length; i++)
                    {
                        index[queries[i]] = i;
                    }
                    foreach (var transport in s.Transports)
                    {
                        Func<int, float[], Task<long[]>> search = transport switch
                        {
                            "embedded" => async (_, query) => (await engine.SearchAsync(Collection, sp.Request(query, k) with { Filter = filter }))
                                .Hits[0].Select(h => (long)h.Id).ToArray(),
                            "grpc" => async (client, query) =>
                            {
                                var response = await stubs[client].SearchAsync(grpcRequests[index[query]]);
                                return response.Status.Code == 0 ? MilvusRequests.HitIds(response)[0]
                                    : throw new InvalidOperationException($"gRPC Search answered code {response.Status.Code}: {response.Status.Reason}");
                            },
                            "rest" => async (client, query) => await RestSearchAsync(http[client], restBodies[index[query]]),
                            _ => throw new ArgumentException($"--transports: unknown transport '{transport}' (embedded, grpc, rest)"),
                        };
                        foreach (var clients in s.Clients)
                        {
                            var run = await ServerBench.Measure(clients, queries, search);
                            var recall = k <= truthSet!.TruthWidth ? Recall(run.Ids, truthSet, k) : double.NaN;
                            rows.Add(new Measurement(set.Name, set.Count, set.Dim, transport, k, filterName, clients, run.Qps, run.P50, run.P99, recall, sp.Label, run.CpuPerCall));
                            Print(rows[^1]);
                        }
                    }
                }
            }
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
            foreach (var client in http)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>The exact top-<paramref name="k"/> keys of each query among the rows <c>tag &lt; percent</c> keeps (tag = id
    /// mod 100, id = row number), as a data set whose <c>Truth</c> is query-major: the base file is read once, the rows the
    /// filter keeps are compared with every query in float (SIMD), each query keeps its best 2k + 8, and those are re-ranked
    /// in double precision (ties by smaller id), as the prepared ground truth is.</summary>
    internal static ServerBench.DataSet FilteredTruth(ServerBench.DataSet set, string basePath, float[][] queries, int k, int percent)
    {
        var started = Stopwatch.GetTimestamp();
        var nq = queries.Length;
        var keep = (2 * k) + 8;
        var heaps = Enumerable.Range(0, nq).Select(_ => new PriorityQueue<int, float>(keep + 1, Comparer<float>.Create((a, b) => b.CompareTo(a)))).ToArray();
        const int Block = 4096;
        var block = new float[Block * set.Dim];
        var ids = new int[Block];
        using (var rowsIn = new BaseRows(basePath, set.Dim))
        {
            for (var first = 0; first < set.Count; first += Block)
            {
                var n = 0;
                for (var i = first; i < Math.Min(set.Count, first + Block); i++)
                {
                    rowsIn.Next(block.AsSpan(n * set.Dim, set.Dim));
                    if (i % 100 < percent)
                    {
                        ids[n++] = i;
                    }
                }
                var kept = n;
                Parallel.For(0, nq, q =>
                {
                    var heap = heaps[q];
                    for (var r = 0; r < kept; r++)
                    {
                        var d = Quiver.Distance.VectorMath.L2Squared(queries[q], block.AsSpan(r * set.Dim, set.Dim));
                        if (heap.Count < keep)
                        {
                            heap.Enqueue(ids[r], d);
                        }
                        else if (heap.TryPeek(out _, out var worst) && d < worst)
                        {
                            heap.DequeueEnqueue(ids[r], d);
                        }
                    }
                });
            }
        }
        // Re-rank the candidates in double precision from the file's rows (read again by id).
        var truth = new int[nq * k];
        Array.Fill(truth, -1);
        using (var file = File.OpenRead(basePath))
        {
            var row = new float[set.Dim];
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan());
            for (var q = 0; q < nq; q++)
            {
                var ranked = new List<(double D, int Id)>();
                foreach (var (id, _) in heaps[q].UnorderedItems)
                {
                    file.Position = (long)id * (sizeof(int) + (set.Dim * sizeof(float))) + sizeof(int);
                    file.ReadExactly(bytes);
                    double sum = 0;
                    for (var j = 0; j < set.Dim; j++)
                    {
                        var diff = (double)row[j] - queries[q][j];
                        sum += diff * diff;
                    }
                    ranked.Add((sum, id));
                }
                ranked.Sort((a, b) => a.D != b.D ? a.D.CompareTo(b.D) : a.Id.CompareTo(b.Id));
                for (var i = 0; i < Math.Min(k, ranked.Count); i++)
                {
                    truth[(q * k) + i] = ranked[i].Id;
                }
            }
        }
        // Check against the prepared (unfiltered) ground truth: where at least k of a query's true neighbours pass the
        // filter, the first k of them are the filtered top-k.
        int checkable = 0, agree = 0;
        for (var q = 0; q < nq && set.TruthWidth > 0; q++)
        {
            var passing = set.Truth.AsSpan(q * set.TruthWidth, set.TruthWidth).ToArray().Where(id => id >= 0 && id % 100 < percent).Take(k).ToArray();
            if (passing.Length == k)
            {
                checkable++;
                agree += passing.AsSpan().SequenceEqual(truth.AsSpan(q * k, k)) ? 1 : 0;
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  exact top-{k} of tag < {percent} for {nq} queries: {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s; equal to the unfiltered ground truth's first {k} kept rows on {agree} of the {checkable} queries where that holds {k}"));
        return set with { Truth = truth, TruthWidth = k };
    }

    /// <summary>The filter expression of a filter name: <c>none</c>, or the percentage of rows it keeps.</summary>
    private static string FilterOf(string name) => name switch
    {
        "none" => "",
        _ when int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var percent) && percent is > 0 and < 100 => $"tag < {percent}",
        _ => throw new ArgumentException($"--filters: '{name}' is neither 'none' nor a percentage of rows to keep (1..99)"),
    };

    /// <summary>A REST v2 search body as the SDKs send it: one float vector, top-k, L2, the search params, a filter.</summary>
    internal static byte[] RestBody(float[] query, int k, string searchParams, string filter)
    {
        var body = new JsonObject
        {
            ["collectionName"] = Collection,
            ["data"] = new JsonArray(new JsonArray(query.Select(v => (JsonNode?)v).ToArray())),
            ["annsField"] = "vector",
            ["limit"] = k,
            ["searchParams"] = new JsonObject { ["metricType"] = "L2", ["params"] = JsonNode.Parse(searchParams) },
        };
        if (filter.Length > 0)
        {
            body["filter"] = filter;
        }
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

    /// <summary>POSTs a REST v2 search body and returns the hits' keys; throws on an error answer.</summary>
    internal static async Task<long[]> RestSearchAsync(HttpClient http, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/v2/vectordb/entities/search", content);
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>() ?? throw new InvalidOperationException("REST search: empty answer");
        if (answer["code"]?.GetValue<int>() is not 0)
        {
            throw new InvalidOperationException($"REST search answered {answer.ToJsonString()}");
        }
        // Milvus's REST API writes Int64 keys as strings unless the client sends Accept-Type-Allow-Int64.
        return [.. answer["data"]!.AsArray().Select(hit => hit!["id"] is JsonValue id && id.TryGetValue<string>(out var text)
            ? long.Parse(text, CultureInfo.InvariantCulture) : hit["id"]!.GetValue<long>())];
    }

    private static (VectorIndex Index, double Seconds) BuildAlone(ServerBench.DataSet set, string basePath, Settings s)
    {
        var store = new VectorStore(set.Dim, set.Count);
        using (var rowsIn = new BaseRows(basePath, set.Dim))
        {
            for (var i = 0; i < set.Count; i++)
            {
                store.Append(rowsIn.Next(), i);
            }
        }

        var started = Stopwatch.GetTimestamp();
        var index = IndexFactory.Build(s.Index.Kind, MetricType.L2, new IndexParameters(s.Index.Build), store.View(set.Count),
            new IndexBuildOptions(Threads: Environment.ProcessorCount), CancellationToken.None);
        return (index, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>One query per <see cref="VectorIndex.Search"/> call on this thread, after the same warm-up as the other
    /// transports (1,000 calls and at least 0.5 s).</summary>
    private static ServerBench.Run SearchAlone(VectorIndex index, float[][] queries, int k, AnnSearchParams p) => TimedSearch(index, queries, k, p).Run;

    /// <summary><see cref="SearchAlone"/> with each query's hits (distance, row) kept, and each call's latency.</summary>
    private static (ServerBench.Run Run, IndexHit[][] Hits, double[] Latencies) TimedSearch(VectorIndex index, float[][] queries, int k, AnnSearchParams p)
    {
        var hits = new IndexHit[k];
        var warming = Stopwatch.GetTimestamp();
        for (var i = 0; i < 1000 || Stopwatch.GetElapsedTime(warming) < TimeSpan.FromSeconds(0.5); i++)
        {
            index.Search(queries[i % queries.Length], k, p, null, hits);
        }
        var kept = new IndexHit[queries.Length][];
        var latencies = new double[queries.Length];
        var cpu = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();
        for (var q = 0; q < queries.Length; q++)
        {
            var begin = Stopwatch.GetTimestamp();
            var n = index.Search(queries[q], k, p, null, hits);
            latencies[q] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            kept[q] = hits.AsSpan(0, n).ToArray();
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuPerCall = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / queries.Length;
        var ids = kept.Select(h => h.Select(x => (long)x.Row).ToArray()).ToArray();
        return (new ServerBench.Run(queries.Length / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), ids, 0, cpuPerCall), kept, latencies);
    }

    /// <summary>Searches the indexes attached to the collection's sealed segments directly, one query per
    /// <see cref="VectorIndex.Search"/> call as <see cref="SearchAlone"/> does: each segment's index over all the queries
    /// in turn (its cost per graph), then each query's hits of all of them merged by distance into its top-k, with the
    /// segments' rows mapped to their primary keys. The merged run's CPU and latency per call are the sums over the
    /// graphs: what searching those graphs costs without the engine around them. Null (and a line saying why) when a
    /// segment is growing or has no index attached.</summary>
    private static (ServerBench.Run Merged, GraphCost[] Graphs)? SearchOwnIndexes(QuiverEngine engine, float[][] queries, int k, AnnSearchParams p)
    {
        var shard = engine.ShardOf(Collection);
        using var view = shard.AcquireView([]);
        if (view.Segments.Length == 0 || view.Segments.Any(x => !x.Segment.IsSealed))
        {
            Console.WriteLine($"  segment: skipped, the collection has {view.Segments.Length} segments, not all sealed");
            return null;
        }
        var handles = new List<IndexHandle>();
        try
        {
            foreach (var snap in view.Segments)
            {
                if (snap.Segment.AcquireIndex(snap.Schema.IndexOf("vector")) is not { } handle)
                {
                    Console.WriteLine("  segment: skipped, a segment has no index attached");
                    return null;
                }
                handles.Add(handle);
            }
            var merged = new List<(float Key, long Id)>[queries.Length];
            for (var q = 0; q < merged.Length; q++)
            {
                merged[q] = new List<(float, long)>(k * handles.Count);
            }
            var graphs = new GraphCost[handles.Count];
            var latencies = new double[queries.Length];
            var seconds = 0.0;
            for (var g = 0; g < handles.Count; g++)
            {
                var snap = view.Segments[g];
                var keys = snap.GetColumn(snap.Schema.IndexOf("id"));
                var (run, hits, callMs) = TimedSearch(handles[g].Index, queries, k, p);
                for (var q = 0; q < queries.Length; q++)
                {
                    latencies[q] += callMs[q];
                    foreach (var h in hits[q])
                    {
                        merged[q].Add((h.Key, (long)keys.GetValue(h.Row)!));
                    }
                }
                seconds += queries.Length / run.Qps;
                graphs[g] = new GraphCost(snap.RowCount, run.CpuPerCall, run.P50);
            }
            var ids = merged.Select(m => m.OrderBy(x => x.Key).ThenBy(x => x.Id).Take(k).Select(x => x.Id).ToArray()).ToArray();
            var cpu = graphs.Sum(x => x.CpuMs);
            return (new ServerBench.Run(queries.Length / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), ids, 0, cpu), graphs);
        }
        finally
        {
            foreach (var h in handles)
            {
                h.Release();
            }
        }
    }

    /// <summary>One sealed segment's own index searched alone (<see cref="SearchOwnIndexes"/>): its rows, CPU ms per call
    /// and p50 ms.</summary>
    internal sealed record GraphCost(int Rows, double CpuMs, double P50);

    /// <summary>One graph's cost in a set at a search point: the collection's rows, the segment's position among the
    /// graphs searched and their number, its rows, CPU ms per call and p50 ms.</summary>
    internal sealed record GraphPoint(string Set, int Rows, string Params, int K, int Graph, int Graphs, int GraphRows, double CpuMs, double P50);

    private static double Recall(long[][] ids, ServerBench.DataSet set, int k) => ServerBench.Recall(ids, set, k);

    /// <summary>Resident memory (VmRSS) after a full, compacting collection, so that garbage of the load is not counted.</summary>
    private static long SettledResidentBytes()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    private static void Print(Measurement m) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {m.Transport,-8} {m.Params} k={m.K,-3} filter={m.Filter,-4} clients={m.Clients,-2}: {m.Qps,8:F0} QPS, p50 {m.P50:F3} ms, p99 {m.P99:F3} ms, CPU {m.CpuMs:F3} ms/call{(double.IsNaN(m.Recall) ? "" : $", recall {m.Recall:F4}")}"));

    private static void WriteOutputs(string output, Settings s, List<Measurement> rows, List<SetSummary> summaries, List<GraphPoint> graphs)
    {
        var c = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("set,rows,dim,transport,params,k,filter,clients,qps,p50_ms,p99_ms,cpu_ms_per_call,recall,qps_over_embedded,qps_over_index\n");
        foreach (var m in rows)
        {
            var embedded = Find(rows, m with { Transport = "embedded" });
            var index = Find(rows, m with { Transport = "index", Filter = "none", Clients = 1 });
            csv.AppendLine(c, $"{m.Set},{m.Rows},{m.Dim},{m.Transport},{m.Params},{m.K},{m.Filter},{m.Clients},{m.Qps:F1},{m.P50:F4},{m.P99:F4},{Num(m.CpuMs, "F4")},{Num(m.Recall, "F4")},{Num(m.Qps / (embedded?.Qps ?? double.NaN), "F3")},{Num(m.Filter == "none" && m.Clients == 1 ? m.Qps / (index?.Qps ?? double.NaN) : double.NaN, "F3")}");
        }
        File.WriteAllText(output + ".csv", csv.ToString());

        var md = new StringBuilder();
        md.AppendLine("# Search cost against size and transport");
        md.AppendLine();
        md.AppendLine(c, $"{s.Index.Describe}, L2, {s.Nq} queries per point (fewer when the set has fewer), one query per call;");
        md.AppendLine("filters: `none`, `1` = `tag < 1` (keeps 1% of rows), `99` = `tag < 99` (keeps 99%). Server in process on loopback");
        md.AppendLine(c, $"(gRPC: one HTTP/2 connection per client; REST: one HttpClient per client). Machine: {Report.Machine()}.");
        md.AppendLine(c, $"Segments seal at {(s.SealMegabytes > 0 ? $"{s.SealMegabytes} MiB (`--seal-mb`)" : "the default SegmentSealBytes")} and merge up to {(s.MaxMegabytes > 0 ? $"{s.MaxMegabytes} MiB (`--max-mb`)" : "the default SegmentMaxBytes")} and {(s.MaxRows > 0 ? $"{s.MaxRows} rows (`--max-rows`)" : "the default SegmentMaxRows")}. Load: engine ingest counts the insert calls only ({(s.Columns ? "column batches, `InsertAsync(ColumnBatch)`" : "row dictionaries, `InsertAsync(rows)`")}); {(s.FlushEvery > 0 ? $"a flush every {s.FlushEvery} rows (counted in flush + index)" : "one flush at the end")}; {(s.IndexAfterCompact ? "segments merged before the index is built (compact s = the merge alone)" : "segments indexed, then merged and re-indexed (compact + re-index s)")}.");
        md.AppendLine();
        md.AppendLine(c, $"Command: `dotnet bench/Quiver.Bench/bin/Release/net10.0/Quiver.Bench.dll {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`");
        md.AppendLine();
        md.AppendLine("## Per data set");
        md.AppendLine();
        md.AppendLine("| set | rows | dim | engine ingest rows/s | MB/s | flush + index s | segments sealed | compact + re-index s | segments searched | index alone build s | resident MB per 1M rows | reopen s | first search ms | recall@k embedded | recall@k index |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var x in summaries)
        {
            md.AppendLine(c, $"| {x.Set} | {x.Rows} | {x.Dim} | {x.IngestRowsPerSecond:F0} | {x.IngestMBps:F1} | {x.BuildSeconds:F1} | {x.SealedAfterFlush} | {x.CompactSeconds:F1} | {x.SealedSearched} | {x.IndexAloneBuildSeconds:F1} | {x.ResidentBytes / 1e6 / (x.Rows / 1e6):F0} | {x.ReopenSeconds:F2} | {x.FirstSearchMs:F1} | {x.EmbeddedRecall:F4} | {x.IndexRecall:F4} |");
        }
        md.AppendLine();
        md.AppendLine("## Embedded search against the index alone (unfiltered, one client)");
        md.AppendLine();
        md.AppendLine("| set | search params | k | index QPS | embedded QPS | embedded / index | index recall | embedded recall | index p50 ms | embedded p50 ms | index / embedded p50 | index CPU ms per call | embedded CPU ms per call | index / embedded CPU | index p99 ms | embedded p99 ms |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var m in rows.Where(r => r.Transport == "embedded" && r.Filter == "none" && r.Clients == 1))
        {
            var index = Find(rows, m with { Transport = "index" });
            md.AppendLine(c, $"| {m.Set} | {m.Params} | {m.K} | {index?.Qps:F0} | {m.Qps:F0} | {m.Qps / (index?.Qps ?? double.NaN):F3} | {Num(index?.Recall ?? double.NaN, "F4")} | {Num(m.Recall, "F4")} | {index?.P50:F3} | {m.P50:F3} | {Num((index?.P50 ?? double.NaN) / m.P50, "F3")} | {Num(index?.CpuMs ?? double.NaN, "F4")} | {Num(m.CpuMs, "F4")} | {Num((index?.CpuMs ?? double.NaN) / m.CpuMs, "F3")} | {index?.P99:F3} | {m.P99:F3} |");
        }
        md.AppendLine();
        md.AppendLine("## Embedded search against the collection's own indexes (unfiltered, one client)");
        md.AppendLine();
        md.AppendLine("The indexes attached to the collection's sealed segments, searched directly (`VectorIndex.Search`, one query per call,");
        md.AppendLine("each graph over all the queries in turn, each query's hits of all graphs merged by distance): the same indexes the");
        md.AppendLine("embedded search walks (same seed, same rows), so the recall is equal and the CPU difference is the engine's cost alone.");
        md.AppendLine();
        md.AppendLine("| set | search params | k | graphs | segment indexes recall | embedded recall | segment indexes CPU ms per call | embedded CPU ms per call | segment indexes / embedded CPU | engine CPU ms over its indexes | segment indexes p50 ms | embedded p50 ms |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var m in rows.Where(r => r.Transport == "embedded" && r.Filter == "none" && r.Clients == 1))
        {
            if (Find(rows, m with { Transport = "segment" }) is { } own)
            {
                var graphCount = graphs.Count(x => x.Set == m.Set && x.Params == m.Params && x.K == m.K) is var n && n > 0 ? n : 1;
                md.AppendLine(c, $"| {m.Set} | {m.Params} | {m.K} | {graphCount} | {Num(own.Recall, "F4")} | {Num(m.Recall, "F4")} | {Num(own.CpuMs, "F4")} | {Num(m.CpuMs, "F4")} | {Num(own.CpuMs / m.CpuMs, "F3")} | {Num(m.CpuMs - own.CpuMs, "F4")} | {own.P50:F3} | {m.P50:F3} |");
            }
        }
        md.AppendLine();
        md.AppendLine("## Cost per graph (unfiltered, one client)");
        md.AppendLine();
        md.AppendLine("Each sealed segment's own index searched alone with the same parameters, one query per call (the rows above are their sums):");
        md.AppendLine();
        md.AppendLine("| set | search params | k | graph | graph rows | CPU ms per call | p50 ms |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var g in graphs)
        {
            md.AppendLine(c, $"| {g.Set} | {g.Params} | {g.K} | {g.Graph + 1} of {g.Graphs} | {g.GraphRows} | {Num(g.CpuMs, "F4")} | {g.P50:F3} |");
        }
        md.AppendLine();
        md.AppendLine("## Server against embedded (QPS ratio; serial p99 = one client)");
        md.AppendLine();
        md.AppendLine("| set | search params | k | filter | clients | embedded QPS | gRPC QPS | gRPC / embedded | REST QPS | REST / embedded | embedded p50 ms | gRPC p50 ms | REST p50 ms | embedded p99 ms | gRPC p99 ms | REST p99 ms | embedded CPU ms per call | gRPC CPU ms per call | REST CPU ms per call |");
        md.AppendLine("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var m in rows.Where(r => r.Transport == "embedded"))
        {
            var grpc = Find(rows, m with { Transport = "grpc" });
            var rest = Find(rows, m with { Transport = "rest" });
            md.AppendLine(c, $"| {m.Set} | {m.Params} | {m.K} | {m.Filter} | {m.Clients} | {m.Qps:F0} | {Num(grpc?.Qps ?? double.NaN, "F0")} | {Num((grpc?.Qps ?? double.NaN) / m.Qps, "F3")} | {Num(rest?.Qps ?? double.NaN, "F0")} | {Num((rest?.Qps ?? double.NaN) / m.Qps, "F3")} | {m.P50:F3} | {Num(grpc?.P50 ?? double.NaN, "F3")} | {Num(rest?.P50 ?? double.NaN, "F3")} | {m.P99:F3} | {Num(grpc?.P99 ?? double.NaN, "F3")} | {Num(rest?.P99 ?? double.NaN, "F3")} | {Num(m.CpuMs, "F4")} | {Num(grpc?.CpuMs ?? double.NaN, "F4")} | {Num(rest?.CpuMs ?? double.NaN, "F4")} |");
        }
        md.AppendLine();
        md.AppendLine(c, $"Plot: [{Path.GetFileName(output)}.svg]({Path.GetFileName(output)}.svg) (QPS against rows, k={s.Ks[0]}, unfiltered, one client). Every point: [{Path.GetFileName(output)}.csv]({Path.GetFileName(output)}.csv).");
        File.WriteAllText(output + ".md", md.ToString());
        File.WriteAllText(output + ".svg", QpsPlot.Svg(rows.Where(r => r.K == s.Ks[0] && r.Filter == "none" && r.Clients == 1).ToList(),
            $"QPS against rows (k={s.Ks[0]}, no filter, 1 client, {s.Index.Kind.ToMilvusName()})"));
        File.WriteAllText(output + ".json", JsonSerializer.Serialize(new
        {
            command = string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            index = s.Index.Describe,
            machine = Report.Machine(),
            sets = summaries,
            points = rows,
            graphs,
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"wrote {output}.csv, {output}.md, {output}.svg, {output}.json");
    }

    private static Measurement? Find(List<Measurement> rows, Measurement key) =>
        rows.FirstOrDefault(r => r.Set == key.Set && r.Transport == key.Transport && r.K == key.K && r.Filter == key.Filter && r.Clients == key.Clients
            && r.Params == key.Params);

    private static string Num(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "";

    private static async Task CreateIndexAsync(QuiverEngine engine, Settings s)
    {
        await engine.CreateIndexAsync(Collection, new IndexDefinition
        {
            FieldName = "vector",
            IndexType = s.Index.Kind.ToMilvusName(),
            Params = new Dictionary<string, string>(s.Index.Build),
        });
        await engine.WaitForIndexAsync(Collection);
    }

    /// <summary>The base vectors of a set read from its <c>.fvecs</c> file one row after another (each row: an Int32
    /// dimension, then the floats), so that the bench never holds all of them.</summary>
    private sealed class BaseRows(string path, int dim) : IDisposable
    {
        private readonly BufferedStream _file = new(File.OpenRead(path), 1 << 20);
        private readonly byte[] _head = new byte[sizeof(int)];

        /// <summary>(dimension, rows) of an <c>.fvecs</c> file.</summary>
        public static (int Dim, int Count) Shape(string path)
        {
            using var f = File.OpenRead(path);
            Span<byte> head = stackalloc byte[sizeof(int)];
            f.ReadExactly(head);
            var dim = BitConverter.ToInt32(head);
            return (dim, checked((int)(f.Length / (sizeof(int) + ((long)dim * sizeof(float))))));
        }

        /// <summary>The next row's vector, a new array.</summary>
        public float[] Next()
        {
            var v = new float[dim];
            Next(v);
            return v;
        }

        /// <summary>The next row's vector into <paramref name="into"/> (dim floats).</summary>
        public void Next(Span<float> into)
        {
            _file.ReadExactly(_head);
            _file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(into));
        }

        public void Dispose() => _file.Dispose();
    }
}
