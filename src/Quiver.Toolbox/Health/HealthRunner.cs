using System.Diagnostics;
using System.Globalization;
using Quiver.Client;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Health;

/// <summary>
/// <c>quiver health</c>: a health report judged against thresholds. Against a server it reads <c>/metrics</c> twice,
/// <see cref="HealthOptions.Window"/> apart, and computes search QPS, the error rate and search latency percentiles from
/// the deltas (percentiles interpolated within histogram buckets, see <see cref="CumulativeBuckets"/>), process memory,
/// per collection its rows, segments, index state and the live recall estimate of the server's recall monitor.
/// Against a folder it reports the collections, segments, index state and an index memory estimate. Either way it can
/// run probe searches per collection (latency, and recall@k against the same search run exactly).
/// </summary>
internal static class HealthRunner
{
    /// <summary>Rows read per collection to pick probe queries from (the first page in key order).</summary>
    private const int ProbePool = 1000;

    private static readonly Dictionary<string, string> ExactParams = new(StringComparer.Ordinal) { ["exact"] = "true" };

    /// <summary>Builds the report; stages and notes go to <paramref name="io"/>.</summary>
    public static async Task<HealthResult> RunAsync(HealthOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var targetSpec = TargetSpec.Required(options.Target, "HealthOptions.Target");
        if (options.Window <= TimeSpan.Zero)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"HealthOptions.Window must be positive, got {options.Window.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        if (options.Probes is < 0 || options.K < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"HealthOptions.Probes must be 0 or more and HealthOptions.K at least 1 (got {options.Probes} and {options.K})");
        }

        if (options.Thresholds is null)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "HealthOptions.Thresholds: give thresholds (HealthThresholds.Defaults() or HealthThresholds.Load)");
        }

        await using var target = await targetSpec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = target.IsEmbedded
            ? await FolderAsync(target, options, io, cancellationToken).ConfigureAwait(false)
            : await ServerAsync(target, options, io, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static async Task<HealthResult> ServerAsync(OpsTarget target, HealthOptions options, ToolReporter io, CancellationToken ct)
    {
        var notes = new List<string>();
        var first = await ScrapeAsync(target, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var seconds = (long)Math.Ceiling(options.Window.TotalSeconds);
        await io.WithProgressAsync($"reading traffic for {seconds} s", seconds, "s", async handle =>
        {
            while (clock.Elapsed < options.Window)
            {
                var left = options.Window - clock.Elapsed;
                await Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                handle.SetValue(Math.Min(seconds, (long)clock.Elapsed.TotalSeconds));
            }
            handle.SetValue(seconds);
            return true;
        }, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var second = await ScrapeAsync(target, ct).ConfigureAwait(false);
        var elapsed = clock.Elapsed.TotalSeconds;

        var traffic = Traffic(first, second, elapsed);
        notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"traffic over {elapsed:0.0} s between two /metrics scrapes; search latency percentiles are interpolated linearly within the server's histogram buckets (0.5 ms .. 10 s), so they are estimates as fine as the buckets"));
        var memory = new MemoryFigures(
            second.Value("quiver_process_working_set_bytes") ?? 0,
            second.Value("quiver_gc_heap_bytes") ?? 0,
            second.Value("quiver_memory_limit_bytes"));
        var rate = second.Value("quiver_recall_sample_rate");

        var collections = new List<CollectionHealth>();
        foreach (var s in second.Find("quiver_collection_rows").OrderBy(s => s.Label("database"), StringComparer.Ordinal).ThenBy(s => s.Label("collection"), StringComparer.Ordinal))
        {
            var (db, name) = (s.Label("database"), s.Label("collection"));
            var indexes = await IndexesAsync(target.Client, db, name, second, ct).ConfigureAwait(false);
            collections.Add(new CollectionHealth(db, name, (long)s.Value,
                (long)(second.Value("quiver_collection_segments", "database", db, "collection", name, "state", "sealed") ?? 0),
                (long)(second.Value("quiver_collection_segments", "database", db, "collection", name, "state", "growing") ?? 0),
                indexes, null,
                second.Value("quiver_recall_estimate", "database", db, "collection", name),
                (long)(second.Value("quiver_recall_window_samples", "database", db, "collection", name) ?? 0),
                null));
        }

        collections = await ProbeAllAsync(target, collections, options.Probes ?? 0, options.K, io, notes, ct).ConfigureAwait(false);

        var t = options.Thresholds;
        var checks = new List<HealthCheck>
        {
            Judge(t, HealthThresholds.SearchQps, "server", traffic.SearchQps, "1/s", null),
        };
        var noSearch = traffic.Searches == 0 ? "no searches in the window" : null;
        checks.Add(Judge(t, HealthThresholds.SearchP50, "server", traffic.SearchP50Ms, "ms", noSearch ?? "interpolated within buckets"));
        checks.Add(Judge(t, HealthThresholds.SearchP95, "server", traffic.SearchP95Ms, "ms", noSearch ?? "interpolated within buckets"));
        checks.Add(Judge(t, HealthThresholds.SearchP99, "server", traffic.SearchP99Ms, "ms", noSearch ?? "interpolated within buckets"));
        checks.Add(Judge(t, HealthThresholds.ErrorRate, "server", traffic.Calls == 0 ? null : traffic.ErrorRate, "fraction",
            traffic.Calls == 0 ? "no calls in the window" : Invariant($"{traffic.Errors:0} of {traffic.Calls:0} calls")));
        checks.Add(Judge(t, HealthThresholds.Memory, "server", memory.LimitBytes is > 0 ? memory.WorkingSetBytes / memory.LimitBytes : null, "fraction",
            memory.LimitBytes is > 0
                ? Invariant($"working set {Bytes(memory.WorkingSetBytes)} of {Bytes(memory.LimitBytes.Value)}; GC heap {Bytes(memory.GcHeapBytes)}")
                : "the server does not report its memory limit"));
        foreach (var c in collections)
        {
            var subject = c.Database + "." + c.Name;
            checks.Add(Judge(t, HealthThresholds.Recall, subject, c.Recall, "recall@k",
                rate is null or 0 ? "recall monitor off (Monitoring:RecallSampleRate 0)"
                : c.Recall is null ? "no samples yet"
                : Invariant($"live estimate over {c.RecallSamples} samples")));
        }
        AddCollectionChecks(t, collections, checks);
        return new HealthResult(target.Description, checks.All(c => c.Status != HealthStatus.Fail), checks, traffic, memory, rate, collections, notes);
    }

    /// <summary>How long a folder report waits for a collection's indexes to load after opening the folder.</summary>
    private static readonly TimeSpan IndexLoadWait = TimeSpan.FromSeconds(30);

    private static async Task<HealthResult> FolderAsync(OpsTarget target, HealthOptions options, ToolReporter io, CancellationToken ct)
    {
        var notes = new List<string> { "folder: no live traffic, process memory or live recall; index memory is estimated from the raw vectors and the built index structures" };
        var client = target.Client;
        var collections = new List<CollectionHealth>();
        foreach (var db in (await client.ListDatabasesAsync(ct).ConfigureAwait(false)).Order(StringComparer.Ordinal))
        {
            foreach (var name in (await client.ListCollectionsAsync(db, ct).ConfigureAwait(false)).Order(StringComparer.Ordinal))
            {
                // Opening the folder loads its built indexes in the background, and until a load finishes the
                // index reports its segments as pending. Give the loads (and any build the folder had left to do)
                // a bounded wait, so that "pending" means work the folder really has outstanding.
                using (var loads = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    loads.CancelAfter(IndexLoadWait);
                    try
                    {
                        await client.WaitForIndexAsync(name, db, loads.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        notes.Add($"{db}.{name}: indexes still pending after {IndexLoadWait.TotalSeconds:0} s");
                    }
                    catch (QuiverException)
                    {
                        // A failed build ends the wait; the index state below reports it.
                    }
                }

                var info = await client.DescribeCollectionAsync(name, db, ct).ConfigureAwait(false);
                var indexes = await IndexesAsync(client, db, name, null, ct).ConfigureAwait(false);
                var rawVectors = info.Schema.Fields.Where(f => f.IsVector && f.Dimension is not null).Sum(f => info.RowCount * f.Dimension!.Value * 4L);
                collections.Add(new CollectionHealth(db, name, info.RowCount, info.SealedSegments, info.GrowingSegments, indexes,
                    rawVectors + indexes.Sum(i => i.MemoryBytes), null, 0, null));
            }
        }

        collections = await ProbeAllAsync(target, collections, options.Probes ?? 10, options.K, io, notes, ct).ConfigureAwait(false);
        var checks = new List<HealthCheck>();
        AddCollectionChecks(options.Thresholds, collections, checks);
        return new HealthResult(target.Description, checks.All(c => c.Status != HealthStatus.Fail), checks, null, null, null, collections, notes);
    }

    private static void AddCollectionChecks(HealthThresholds t, List<CollectionHealth> collections, List<HealthCheck> checks)
    {
        foreach (var c in collections)
        {
            var subject = c.Database + "." + c.Name;
            var failed = c.Indexes.Where(i => i.State == "failed").ToList();
            checks.Add(Judge(t, HealthThresholds.IndexFailed, subject, failed.Count, "indexes",
                failed.Count == 0 ? (c.Indexes.Count == 0 ? "no index: searched exactly" : null)
                : string.Join("; ", failed.Select(f => $"{f.Name}: {f.FailReason}"))));
            checks.Add(Judge(t, HealthThresholds.IndexPending, subject, c.Indexes.Sum(i => i.PendingRows), "rows",
                c.Indexes.Count == 0 ? "no index" : null));
            if (c.Probe is { } p)
            {
                checks.Add(Judge(t, HealthThresholds.ProbeP99, subject, p.P99Ms, "ms", Invariant($"{p.Queries} probe searches, nearest rank")));
                checks.Add(Judge(t, HealthThresholds.ProbeRecall, subject, p.Recall, "recall@k", Invariant($"{p.Queries} probes, recall@{p.K} against exact search")));
            }
        }
    }

    private static HealthCheck Judge(HealthThresholds thresholds, string check, string subject, double? value, string unit, string? note)
    {
        var threshold = thresholds[check];
        var status = value is { } v && !double.IsNaN(v) ? threshold.Judge(v) : HealthStatus.Info;
        return new HealthCheck(check, subject, value is { } x && double.IsNaN(x) ? null : value, unit, threshold.Warn, threshold.Fail, status, note);
    }

    /// <summary>Traffic between two scrapes: search count and latency from the <c>Search</c> histogram (gRPC and REST
    /// added), calls and errors from the request counters of every method.</summary>
    internal static TrafficFigures Traffic(MetricsSnapshot first, MetricsSnapshot second, double seconds)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var search = second.Histogram("quiver_rpc_duration_seconds", "method", "Search")
            .Minus(first.Histogram("quiver_rpc_duration_seconds", "method", "Search"));
        var calls = Delta(first, second, "quiver_rpc_requests_total", static _ => true);
        var errors = Delta(first, second, "quiver_rpc_requests_total", static s => s.Label("code") != "0");
        double? Ms(double q) => search.Total > 0 ? search.Quantile(q) * 1000 : null;
        return new TrafficFigures(seconds, search.Total, calls, errors,
            seconds > 0 ? search.Total / seconds : 0, seconds > 0 ? calls / seconds : 0, calls > 0 ? errors / calls : 0,
            Ms(0.50), Ms(0.95), Ms(0.99));
    }

    /// <summary>The increase of a counter family (the series <paramref name="include"/> keeps) between two scrapes; a
    /// series that went down (the server restarted) counts from zero, as Prometheus treats counter resets.</summary>
    private static double Delta(MetricsSnapshot first, MetricsSnapshot second, string name, Func<MetricSample, bool> include)
    {
        var before = first.Find(name).Where(include).ToDictionary(Key, s => s.Value, StringComparer.Ordinal);
        double total = 0;
        foreach (var s in second.Find(name).Where(include))
        {
            var was = before.GetValueOrDefault(Key(s));
            total += s.Value >= was ? s.Value - was : s.Value;
        }
        return total;

        static string Key(MetricSample s) => string.Join(",", s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
    }

    private static async Task<MetricsSnapshot> ScrapeAsync(OpsTarget target, CancellationToken ct)
    {
        var http = target.Http ?? throw new ToolboxException(ToolboxErrorKind.Target,
            $"{target.Description}: a server's health report reads its /metrics over HTTP, and this client has no server address; give TargetSpec.Server, or TargetSpec.Client over a client from QuiverClient.ConnectAsync");
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative), ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new ToolboxException(ToolboxErrorKind.Target, $"GET {target.Address}/metrics answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        return MetricsSnapshot.Parse(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
    }

    private static async Task<IReadOnlyList<IndexHealth>> IndexesAsync(IQuiverClient client, string db, string name, MetricsSnapshot? metrics, CancellationToken ct)
    {
        IReadOnlyList<IndexInfo> infos;
        try
        {
            infos = await client.DescribeIndexesAsync(name, null, db, ct).ConfigureAwait(false);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.NotFound)
        {
            return []; // no index (Milvus answers "index not found"), or the collection was dropped meanwhile
        }
        return [.. infos.Select(i => new IndexHealth(i.IndexName, i.FieldName, i.IndexType,
            i.State switch { IndexState.Finished => "built", IndexState.Failed => "failed", _ => "pending" },
            i.PendingRows,
            metrics?.Value("quiver_index_memory_bytes", "database", db, "collection", name, "index", i.IndexName) is { } m ? (long)m : i.MemoryBytes,
            i.FailReason))];
    }

    private static async Task<List<CollectionHealth>> ProbeAllAsync(OpsTarget target, List<CollectionHealth> collections, int probes, int k, ToolReporter io,
        List<string> notes, CancellationToken ct)
    {
        if (probes == 0)
        {
            return collections;
        }
        var eligible = collections.Where(c => c.Rows > 0).ToList();
        notes.Add(Invariant($"probes: {probes} searches per collection with top-{k}, queries taken from the collection's own vectors (first rows in key order, evenly spaced), each compared with the same search run exactly"));
        return await io.WithProgressAsync("probing", (long)eligible.Count * probes, "searches", async handle =>
        {
            var probed = new List<CollectionHealth>(collections.Count);
            foreach (var c in collections)
            {
                ProbeFigures? figures = null;
                if (c.Rows > 0)
                {
                    try
                    {
                        figures = await ProbeAsync(target.Client, c.Database, c.Name, probes, k, handle, ct).ConfigureAwait(false);
                    }
                    catch (QuiverException e)
                    {
                        notes.Add($"probe of {c.Database}.{c.Name} skipped: {e.Message}");
                    }
                }
                probed.Add(c with { Probe = figures });
            }
            return probed;
        }).ConfigureAwait(false);
    }

    private static async Task<ProbeFigures?> ProbeAsync(IQuiverClient client, string db, string name, int probes, int k, ProgressHandle handle, CancellationToken ct)
    {
        var info = await client.DescribeCollectionAsync(name, db, ct).ConfigureAwait(false);
        var field = info.Schema.Fields.FirstOrDefault(f => f.DataType == DataType.FloatVector);
        if (field is null)
        {
            return null;
        }
        IReadOnlyList<Row> pool = [];
        await foreach (var page in CollectionScanner.ScanAsync(client, name, db, pageSize: ProbePool, outputFields: [field.Name], cancellationToken: ct).ConfigureAwait(false))
        {
            pool = page;
            break;
        }
        if (pool.Count == 0)
        {
            return null;
        }
        var count = Math.Min(probes, pool.Count);
        var ticks = new long[count];
        // One untimed search first: the first call pays for JIT and connection set-up, not for the index.
        await client.SearchAsync(name, new SearchRequest { Vectors = [(float[])pool[0][field.Name]!], AnnsField = field.Name, Limit = k }, db, ct).ConfigureAwait(false);
        double recall = 0;
        for (var i = 0; i < count; i++)
        {
            var query = (float[])pool[(int)((long)i * pool.Count / count)][field.Name]!;
            var request = new SearchRequest { Vectors = [query], AnnsField = field.Name, Limit = k };
            var started = Stopwatch.GetTimestamp();
            var got = await client.SearchAsync(name, request, db, ct).ConfigureAwait(false);
            ticks[i] = Stopwatch.GetTimestamp() - started;
            var exact = await client.SearchAsync(name, request with { SearchParams = ExactParams }, db, ct).ConfigureAwait(false);
            var truth = exact.Hits[0].Select(h => h.Id).ToHashSet();
            recall += truth.Count == 0 ? 1 : got.Hits[0].Count(h => truth.Contains(h.Id)) / (double)truth.Count;
            handle.Advance(1);
        }
        Array.Sort(ticks);
        return new ProbeFigures(field.Name, count, k, Ms(SearchTimer.Percentile(ticks, 50)), Ms(SearchTimer.Percentile(ticks, 99)), recall / count);

        static double Ms(long t) => t * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>A byte count for people: B, KiB, MiB or GiB with up to two decimals.</summary>
    internal static string Bytes(double bytes) => bytes switch
    {
        >= 1 << 30 => Invariant($"{bytes / (1 << 30):0.##} GiB"),
        >= 1 << 20 => Invariant($"{bytes / (1 << 20):0.##} MiB"),
        >= 1 << 10 => Invariant($"{bytes / (1 << 10):0.##} KiB"),
        _ => Invariant($"{bytes:0} B"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
