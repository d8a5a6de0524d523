using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;

namespace Quiver.Bench;

/// <summary>
/// <c>server</c>: what the gRPC server costs over embedded calls, in one run. Loads a data set (default Fashion-MNIST
/// as <c>quiver bench data</c> prepares it in <c>bench/data/fashion-mnist</c>) into a collection of the in-process
/// server's engine, builds HNSW, picks the smallest <c>ef</c> whose recall@k against the exact ground truth reaches
/// <c>--recall</c>, then runs the same single-query top-k searches embedded (<see cref="QuiverEngine.SearchAsync"/>) and
/// over gRPC (a <c>MilvusServiceClient</c> per client on a loopback HTTP/2 connection, the server hosted by Kestrel as
/// <c>quiver serve</c> hosts it) at each client count: QPS, p50, p99, recall, and the ratios gRPC / embedded. Writes a
/// markdown table (<c>--md</c>, default <c>bench/results/server.md</c>).
/// </summary>
internal static class ServerBench
{
    internal const string Collection = "bench";
    private const int LoadBatch = 2_000;
    /// <summary>Untimed warm-up calls in all, shared by the clients, and the least time they take: enough for the JIT to
    /// have promoted the hot path (tier 0 code is several times slower), as in the ANN harness.</summary>
    private const int Warmup = 1000;

    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(0.5);

    /// <summary>How long no method may have been compiled before the timed run starts.</summary>
    private static readonly TimeSpan JitQuiet = TimeSpan.FromSeconds(1);

    /// <summary>The longest warm-up, JIT quiet or not (a background thread that compiles now and then would otherwise
    /// hold the run forever).</summary>
    private static readonly TimeSpan WarmupLimit = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("base", "queries", "groundtruth", "synthetic", "nq", "k", "M", "efc", "ef", "recall", "clients", "md", "json", "dir", "recall-cpu-share", "grpc-client");
        var k = args.Int("k", 10);
        var set = Load(args, k);
        var nq = Math.Min(args.Int("nq", 1000), set.QueryCount);
        var target = double.Parse(args.Text("recall", "0.95"), CultureInfo.InvariantCulture);
        var efs = Ints(args.Text("ef", "16,24,32,48,64,96,128,192,256"));
        var clientCounts = Ints(args.Text("clients", "1,16"));
        var markdown = args.Text("md", Path.Combine("bench", "results", "server.md"));
        var grpcClients = args.Text("grpc-client", "inproc,process").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (grpcClients.Length == 0 || grpcClients.Except(["inproc", "process"]).Any())
        {
            throw new ArgumentException($"--grpc-client: expected inproc, process or both, got '{args.Text("grpc-client")}'");
        }
        var parent = args.Text("dir") ?? Path.GetTempPath();
        var report = new Report();
        report.Set("benchmark", "server");
        report.Set("machine", Report.Machine());
        report.Set("dataset", set.Name);
        Console.WriteLine($"server: {set.Name}, {set.Count} x {set.Dim} (L2), {nq} queries, top-{k}, HNSW M={args.Int("M", 16)} efConstruction={args.Int("efc", 200)}");

        var folder = Path.Combine(parent, "quiver-bench-server-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = BenchOptions(folder);
            if (args.Text("recall-cpu-share") is { } share)
            {
                options.Monitoring.RecallCpuShare = double.Parse(share, CultureInfo.InvariantCulture);
            }
            await using var server = await QuiverServer.StartAsync(options);
            var engine = server.Engine;
            var started = Stopwatch.GetTimestamp();
            await LoadCollection(engine, set, args.Int("M", 16), args.Int("efc", 200));
            report.Print("load_and_build_s", Stopwatch.GetElapsedTime(started).TotalSeconds, "s (insert, flush, HNSW build)");
            // Searches over gRPC need the collection loaded, as in Milvus.
            using (var loadChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}"))
            {
                var load = await new MilvusService.MilvusServiceClient(loadChannel).LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Collection });
                if (load.Code != 0)
                {
                    throw new InvalidOperationException($"LoadCollection failed: {load.Reason}");
                }
            }

            var queries = Enumerable.Range(0, nq).Select(q => set.Queries.AsSpan(q * set.Dim, set.Dim).ToArray()).ToArray();
            var ef = 0;
            double recall = 0;
            foreach (var candidate in efs)
            {
                var hits = await EmbeddedIds(engine, queries, k, candidate);
                recall = Recall(hits, set, k);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ef {candidate,4}: recall@{k} {recall:F4}"));
                ef = candidate;
                if (recall >= target)
                {
                    break;
                }
            }
            report.Set("ef", ef);
            report.Print("recall", recall, $"recall@{k} at ef={ef}" + (recall < target ? $" (BELOW the target {target}: no ef in the list reached it)" : ""), "F4");

            var rows = new List<Row>();
            var queryFile = Path.Combine(folder, "queries.fvecs");
            GrpcLoad.WriteFvecs(queryFile, queries);
            foreach (var clients in clientCounts)
            {
                var embedded = await Measure(clients, queries, async (client, query) =>
                    (await engine.SearchAsync(Collection, SearchOf(query, k, ef))).Hits[0].Select(h => (long)h.Id).ToArray());
                var channels = Enumerable.Range(0, clients).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}")).ToArray();
                try
                {
                    var stubs = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
                    var paramsJson = $$"""{"ef":{{ef}}}""";
                    Run? grpc = null, remote = null;
                    EmptyCall? emptyCall = null;
                    try
                    {
                        if (grpcClients.Contains("process"))
                        {
                            // The client in a process of its own: this process only serves, so its CPU per call is the
                            // server's. Run first, while nothing in this process has warmed the client side.
                            var (child, serverCpu, serverBytes) = await GrpcLoad.RunChildAsync($"http://127.0.0.1:{server.Port}", queryFile, nq, k, ef, clients);
                            remote = new Run(child.Qps, child.P50, child.P99, child.Ids, Recall(child.Ids, set, k), serverCpu, serverBytes, child.ClientCpuPerCall);
                            report.Print($"grpc_process_c{clients}_client_cpu_ms", child.ClientCpuPerCall, "ms per call (the client process)", "F3");
                            // The same with empty calls: the transport's own CPU in each process, so that the server's
                            // CPU per search splits into engine, handler and transport, and the client's share is known.
                            var (healthChild, healthServerCpu, healthServerBytes) = await GrpcLoad.RunChildAsync($"http://127.0.0.1:{server.Port}", queryFile, nq, k, ef, clients, "checkhealth");
                            emptyCall = new EmptyCall(healthServerCpu, healthServerBytes, healthChild.ClientCpuPerCall, healthChild.P50);
                            report.Print($"checkhealth_process_c{clients}_server_cpu_ms", healthServerCpu, "ms per empty call (the server process)", "F3");
                            report.Print($"checkhealth_process_c{clients}_server_alloc_bytes", healthServerBytes, "bytes allocated per empty call (the server process)", "F0");
                            report.Print($"checkhealth_process_c{clients}_client_cpu_ms", healthChild.ClientCpuPerCall, "ms per empty call (the client process)", "F3");
                            report.Print($"checkhealth_process_c{clients}_p50_ms", healthChild.P50, "ms", "F3");
                        }
                        grpc = !grpcClients.Contains("inproc") ? null : await Measure(clients, queries, async (client, query) =>
                        {
                            var response = await stubs[client].SearchAsync(MilvusRequests.Search(Collection, query, set.Dim, k, "L2", paramsJson));
                            if (response.Status.Code != 0)
                            {
                                throw new InvalidOperationException($"gRPC Search answered code {response.Status.Code}: {response.Status.Reason}");
                            }
                            return MilvusRequests.HitIds(response)[0];
                        });
                    }
                    catch (InvalidOperationException e)
                    {
                        await Console.Error.WriteLineAsync($"server: {e.Message}; no gRPC figures");
                        return 1;
                    }
                    // The transport's own cost, measured the same way: CheckHealth does no work, so its round trip is
                    // the floor every gRPC call pays on this machine (client and server share its cores).
                    var floor = await Measure(clients, queries, async (client, _) =>
                    {
                        var health = await stubs[client].CheckHealthAsync(new CheckHealthRequest());
                        return health.IsHealthy ? [] : throw new InvalidOperationException("CheckHealth answered unhealthy");
                    });
                    rows.Add(new Row(clients, embedded with { Recall = Recall(embedded.Ids, set, k) }, grpc is null ? null : grpc with { Recall = Recall(grpc.Ids, set, k) }, remote, floor, emptyCall));
                }
                finally
                {
                    foreach (var channel in channels)
                    {
                        channel.Dispose();
                    }
                }
                var last = rows[^1];
                report.Print($"embedded_c{clients}_qps", last.Embedded.Qps, "queries/s");
                report.Print($"embedded_c{clients}_p99_ms", last.Embedded.P99, "ms", "F3");
                report.Print($"embedded_c{clients}_cpu_ms", last.Embedded.CpuPerCall, "ms per call", "F3");
                report.Print($"embedded_c{clients}_alloc_bytes", last.Embedded.BytesPerCall, "bytes allocated per call", "F0");
                foreach (var (name, run) in new[] { ("grpc", last.Grpc), ("grpc_process", last.Remote) })
                {
                    if (run is null)
                    {
                        continue;
                    }
                    report.Print($"{name}_c{clients}_qps", run.Qps, "queries/s");
                    report.Print($"{name}_c{clients}_p50_ms", run.P50, "ms", "F3");
                    report.Print($"{name}_c{clients}_p99_ms", run.P99, "ms", "F3");
                    report.Print($"{name}_c{clients}_recall", run.Recall, "", "F4");
                    report.Print($"{name}_c{clients}_cpu_ms", run.CpuPerCall, name == "grpc" ? "ms per call (client and server, one process)" : "ms per call (the server process)", "F3");
                    report.Print($"{name}_c{clients}_alloc_bytes", run.BytesPerCall, "bytes allocated per call (same process as the CPU)", "F0");
                    report.Print($"{name}_ratio_c{clients}_qps", run.Qps / last.Embedded.Qps, "x (gRPC QPS / embedded QPS)", "F3");
                }
                report.Print($"checkhealth_c{clients}_qps", last.Floor.Qps, "calls/s (gRPC CheckHealth: the transport floor)");
                report.Print($"checkhealth_c{clients}_p50_ms", last.Floor.P50, "ms", "F3");
            }

            var table = Markdown(set, nq, k, ef, recall, args.Int("M", 16), args.Int("efc", 200), rows);
            Console.WriteLine();
            Console.Write(table);
            if (!string.IsNullOrEmpty(markdown))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(markdown))!);
                await File.WriteAllTextAsync(markdown, table);
                Console.WriteLine($"wrote {markdown}");
            }
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

    /// <summary>The server every harness starts: a fresh folder, a free loopback port, no fsync and no background
    /// maintenance (nothing runs beside the timing but what a call itself does).</summary>
    internal static ServerOptions BenchOptions(string folder) => new()
    {
        DataPath = folder,
        Port = 0,
        Engine = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false },
    };

    internal sealed record DataSet(string Name, float[] Base, int Count, int Dim, float[] Queries, int QueryCount, int[] Truth, int TruthWidth);

    /// <summary>One measured run: QPS, p50 and p99 in ms, the ids per query, recall, and the process's CPU ms per call over
    /// the timed run and the bytes it allocated on the managed heap per call (NaN where not measured).</summary>
    internal sealed record Run(double Qps, double P50, double P99, long[][] Ids, double Recall, double CpuPerCall = double.NaN, double BytesPerCall = double.NaN,
        double ClientCpuPerCall = double.NaN);

    /// <summary>Empty calls (CheckHealth) with the client in a child process: the server process's CPU ms and bytes per
    /// call, the client process's CPU ms per call, and the p50.</summary>
    private sealed record EmptyCall(double ServerCpu, double ServerBytes, double ClientCpu, double P50);

    /// <summary>One client count: embedded, gRPC with the client in this process, gRPC with the client in a child process
    /// (CPU per call = this process's, the server's), and CheckHealth.</summary>
    private sealed record Row(int Clients, Run Embedded, Run? Grpc, Run? Remote, Run Floor, EmptyCall? Empty);

    internal static DataSet Load(CommandLine args, int k)
    {
        if (args.Text("synthetic") is { } synthetic)
        {
            // N:D:SEED, uniform in [0,1): a check of the harness, not a benchmark data set.
            var parts = Ints(synthetic.Replace(':', ','));
            if (parts.Length != 3)
            {
                throw new ArgumentException($"--synthetic {synthetic}: expected N:D:SEED");
            }
            var (n, dim, seed) = (parts[0], parts[1], parts[2]);
            var random = new Random(seed);
            var nq = Math.Min(args.Int("nq", 1000), 1000);
            var data = Enumerable.Range(0, n * dim).Select(_ => random.NextSingle()).ToArray();
            var queries = Enumerable.Range(0, nq * dim).Select(_ => random.NextSingle()).ToArray();
            return new DataSet($"synthetic {n}x{dim} seed {seed}", data, n, dim, queries, nq, ExactTruth(data, n, queries, nq, dim, k), k);
        }
        var folder = Path.Combine("bench", "data", "fashion-mnist");
        var basePath = args.Text("base", Path.Combine(folder, "base.fvecs"));
        var queryPath = args.Text("queries", Path.Combine(folder, "queries.fvecs"));
        var truthPath = args.Text("groundtruth", Path.Combine(folder, "groundtruth.ivecs"));
        foreach (var path in new[] { basePath, queryPath, truthPath })
        {
            if (!File.Exists(path))
            {
                throw new ArgumentException($"{path} does not exist; run `./quiver bench data` first, or pass --base/--queries/--groundtruth or --synthetic");
            }
        }
        var vectors = HnswBench.ReadVecs<float>(basePath, out var d, out var count);
        var queryVectors = HnswBench.ReadVecs<float>(queryPath, out var qd, out var queryCount);
        var truth = HnswBench.ReadVecs<int>(truthPath, out var width, out var truthCount);
        if (qd != d || truthCount != queryCount || width < k)
        {
            throw new ArgumentException($"{queryPath} ({queryCount} x {qd}) and {truthPath} ({truthCount} x {width}) do not fit {basePath} ({count} x {d}) at k={k}");
        }
        return new DataSet(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(basePath)))!, vectors, count, d, queryVectors, queryCount, truth, width);
    }

    /// <summary>Exact top-k ids by L2 in double precision (small synthetic sets only).</summary>
    private static int[] ExactTruth(float[] data, int n, float[] queries, int nq, int dim, int k)
    {
        var truth = new int[nq * k];
        Parallel.For(0, nq, q =>
        {
            var distances = new double[n];
            for (var i = 0; i < n; i++)
            {
                double sum = 0;
                for (var j = 0; j < dim; j++)
                {
                    var diff = (double)data[i * dim + j] - queries[q * dim + j];
                    sum += diff * diff;
                }
                distances[i] = sum;
            }
            var order = Enumerable.Range(0, n).OrderBy(i => distances[i]).ThenBy(i => i).Take(k).ToArray();
            order.CopyTo(truth, q * k);
        });
        return truth;
    }

    internal static async Task LoadCollection(QuiverEngine engine, DataSet set, int m, int efc)
    {
        await engine.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", set.Dim, MetricType.L2)],
        });
        for (var first = 0; first < set.Count; first += LoadBatch)
        {
            var rows = new List<Quiver.Row>();
            for (var i = first; i < Math.Min(set.Count, first + LoadBatch); i++)
            {
                rows.Add(new Quiver.Row { ["id"] = (long)i, ["vector"] = set.Base.AsSpan(i * set.Dim, set.Dim).ToArray() });
            }
            await engine.InsertAsync(Collection, rows);
        }
        await engine.FlushAsync(Collection);
        await engine.CreateIndexAsync(Collection, new IndexDefinition
        {
            FieldName = "vector",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = m.ToString(CultureInfo.InvariantCulture), ["efConstruction"] = efc.ToString(CultureInfo.InvariantCulture) },
        });
        await engine.WaitForIndexAsync(Collection);
    }

    internal static Quiver.SearchRequest SearchOf(float[] query, int k, int ef) => new()
    {
        Vectors = [query],
        AnnsField = "vector",
        Limit = k,
        SearchParams = new Dictionary<string, string> { ["ef"] = ef.ToString(CultureInfo.InvariantCulture) },
    };

    private static async Task<long[][]> EmbeddedIds(QuiverEngine engine, float[][] queries, int k, int ef)
    {
        var ids = new long[queries.Length][];
        for (var q = 0; q < queries.Length; q++)
        {
            ids[q] = (await engine.SearchAsync(Collection, SearchOf(queries[q], k, ef))).Hits[0].Select(h => (long)h.Id).ToArray();
        }
        return ids;
    }

    /// <summary>Runs every query once, split round-robin over <paramref name="clients"/> concurrent loops (after a
    /// warm-up of <see cref="Warmup"/> calls shared by the clients, at least <see cref="WarmupTime"/>, and until the JIT
    /// has been quiet for <see cref="JitQuiet"/>), timing each call.</summary>
    /// <remarks>A gRPC or REST call runs through some thousand methods of Kestrel, HttpClient and gRPC that tier up to
    /// optimized code over the first seconds of traffic; on a loaded machine 1,000 calls and 0.5 s left the tiering
    /// thread compiling through the timed run (20% of the process's samples in a profile of it), so the figures were
    /// partly the JIT's. The warm-up therefore also goes on until no method has been compiled for a while.</remarks>
    internal static async Task<Run> Measure(int clients, float[][] queries, Func<int, float[], Task<long[]>> search, Action<bool>? timed = null,
        Func<Task<bool>>? othersWarm = null)
    {
        var warming = Stopwatch.GetTimestamp();
        Task Round() => Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < (Warmup + clients - 1) / clients || Stopwatch.GetElapsedTime(warming) < WarmupTime; i++)
            {
                await search(c, queries[(i * clients + c) % queries.Length]);
            }
        })));
        await WarmUpAsync(Round);
        // A client in its own process also waits for the server's JIT to be quiet (othersWarm asks the server's process).
        while (othersWarm is not null && !await othersWarm())
        {
            await WarmUpAsync(Round);
        }
        var ids = new long[queries.Length][];
        var latencies = new double[queries.Length];
        timed?.Invoke(true);
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (var q = c; q < queries.Length; q += clients)
            {
                var begin = Stopwatch.GetTimestamp();
                ids[q] = await search(c, queries[q]);
                latencies[q] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            }
        })));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuPerCall = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / queries.Length;
        var bytesPerCall = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / queries.Length;
        timed?.Invoke(false);
        return new Run(queries.Length / seconds, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), ids, 0, cpuPerCall, bytesPerCall);
    }

    /// <summary>Runs <paramref name="round"/> until the JIT has compiled no method for <see cref="JitQuiet"/> (at most
    /// <see cref="WarmupLimit"/>).</summary>
    internal static async Task WarmUpAsync(Func<Task> round)
    {
        var warming = Stopwatch.GetTimestamp();
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = Stopwatch.GetTimestamp();
        while (true)
        {
            await round();
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                (compiled, quietSince) = (now, Stopwatch.GetTimestamp());
            }
            if (Stopwatch.GetElapsedTime(quietSince) >= JitQuiet || Stopwatch.GetElapsedTime(warming) >= WarmupLimit)
            {
                return;
            }
        }
    }

    internal static double Recall(long[][] ids, DataSet set, int k)
    {
        long found = 0;
        for (var q = 0; q < ids.Length; q++)
        {
            var truth = new HashSet<long>(set.Truth.AsSpan(q * set.TruthWidth, k).ToArray().Select(t => (long)t));
            found += ids[q].Take(k).Count(truth.Contains);
        }
        return (double)found / ((long)ids.Length * k);
    }

    private static string Markdown(DataSet set, int nq, int k, int ef, double recall, int m, int efc, List<Row> rows)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"# Server over gRPC vs embedded calls");
        text.AppendLine();
        text.AppendLine(c, $"{set.Name}: {set.Count} x {set.Dim} (L2), {nq} queries, top-{k}, HNSW M={m} efConstruction={efc}, ef={ef} (recall@{k} {recall:F4} embedded).");
        text.AppendLine("One query per call; each client issues its share of the queries in turn over one HTTP/2 connection of its own. gRPC");
        text.AppendLine("in process: the clients run in the server's process; gRPC separate: in a child process (`grpcload`), so the server's");
        text.AppendLine(c, $"process only serves. CPU ms and bytes per call: the measured process's CPU time and managed allocations over the timed run / calls. Machine: {Report.Machine()}.");
        text.AppendLine();
        text.AppendLine("| clients | path | QPS | / embedded | p50 ms | p50 - embedded ms | p99 ms | recall | CPU ms per call | bytes allocated per call | counted in |");
        text.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var row in rows)
        {
            foreach (var (name, run, counted) in new[] { ("embedded", row.Embedded, "engine + caller"), ("gRPC in process", row.Grpc, "client + server"), ("gRPC separate", row.Remote, "server process") })
            {
                if (run is not null)
                {
                    text.AppendLine(c, $"| {row.Clients} | {name} | {run.Qps:F0} | {run.Qps / row.Embedded.Qps:F3} | {run.P50:F3} | {run.P50 - row.Embedded.P50:F3} | {run.P99:F3} | {run.Recall:F4} | {run.CpuPerCall:F3} | {run.BytesPerCall:F0} | {counted} |");
                }
            }
            text.AppendLine(c, $"| {row.Clients} | CheckHealth in process | {row.Floor.Qps:F0} | | {row.Floor.P50:F3} | | {row.Floor.P99:F3} | | {row.Floor.CpuPerCall:F3} | {row.Floor.BytesPerCall:F0} | client + server |");
        }
        text.AppendLine();
        text.AppendLine("CheckHealth does no work: its round trip is the floor every gRPC call pays here (HTTP/2 framing, protobuf, Kestrel");
        text.AppendLine("and the .NET gRPC client, with client and server sharing the machine's cores).");
        if (rows.Any(r => r.Remote is not null && r.Empty is not null))
        {
            text.AppendLine();
            text.AppendLine("Where the CPU goes, client in its own process (ms per call). A QPS ratio at saturation is bounded by CPU: with client and");
            text.AppendLine("server on the same cores, gRPC / embedded QPS <= embedded CPU / (server CPU + client CPU); with the clients on other");
            text.AppendLine("machines, <= embedded CPU / server CPU. The empty call's server CPU is the transport's share of a search's.");
            text.AppendLine();
            text.AppendLine("| clients | embedded | server, search | client, search | server, empty call | client, empty call | server above the empty call | bound, shared cores | bound, clients elsewhere |");
            text.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var row in rows)
            {
                if (row is { Remote: { } r, Empty: { } e })
                {
                    var embedded = row.Embedded.CpuPerCall;
                    text.AppendLine(c, $"| {row.Clients} | {embedded:F3} | {r.CpuPerCall:F3} | {r.ClientCpuPerCall:F3} | {e.ServerCpu:F3} | {e.ClientCpu:F3} | {r.CpuPerCall - e.ServerCpu:F3} | {embedded / (r.CpuPerCall + r.ClientCpuPerCall):F2} | {embedded / r.CpuPerCall:F2} |");
                }
            }
        }
        return text.ToString();
    }

    internal static int[] Ints(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
}
