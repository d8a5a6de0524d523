using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Quiver.Server.Observability;

/// <summary>
/// The server's metrics, kept in memory and written on each <c>GET /metrics</c> scrape (<see cref="WriteAsync"/>):
/// per-RPC counters and latency histograms fed by <see cref="RequestObserver"/>, the engine's
/// <see cref="EngineMetrics"/> instruments (WAL fsync latency, rows written and deleted) read through a
/// <see cref="MeterListener"/>, and, computed at scrape time, collection, segment and index figures and process memory.
/// Thread-safe. The engine instruments are process-wide: two engines in one process add into the same figures.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private readonly ConcurrentDictionary<(string Method, string Transport), RpcSeries> _rpcs = new();
    private readonly LatencyHistogram _walFsync = new(LatencyHistogram.FsyncBounds);
    private readonly MeterListener _listener;
    private readonly long _startedTimestamp = Stopwatch.GetTimestamp();
    private long _rowsWritten;
    private long _rowsDeleted;
    private long _compactionMerges;
    private long _compactionRows;

    /// <summary>Starts listening to the engine's meter.</summary>
    public ServerMetrics()
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EngineMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>(static (instrument, value, _, state) => ((ServerMetrics)state!).OnMeasurement(instrument.Name, value));
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, _, state) => ((ServerMetrics)state!).OnMeasurement(instrument.Name, value));
        _listener.Start();
    }

    /// <summary>Time since the server started.</summary>
    public TimeSpan Uptime => Stopwatch.GetElapsedTime(_startedTimestamp);

    /// <summary>Records one completed call.</summary>
    public void RecordCall(string method, string transport, int statusCode, TimeSpan elapsed)
    {
        var series = _rpcs.GetOrAdd((method, transport), static _ => new RpcSeries());
        series.Latency.Observe(elapsed.TotalSeconds);
        var count = series.Codes.GetOrAdd(statusCode, static _ => new StrongBox<long>());
        Interlocked.Increment(ref count.Value);
    }

    /// <summary>Rows written plus rows deleted in this process so far (engine meter); the recall monitor compares two
    /// readings to tell whether anything changed between a search and its re-run.</summary>
    public long RowsChanged() => Interlocked.Read(ref _rowsWritten) + Interlocked.Read(ref _rowsDeleted);

    /// <summary>Write-path totals since start (engine meter, process-wide): WAL fsyncs, rows written and deleted,
    /// compaction merges and the rows they read. The console's health charts difference two readings.</summary>
    public WriteTotals WriteTotals() => new(
        _walFsync.Snapshot().Count, Interlocked.Read(ref _rowsWritten), Interlocked.Read(ref _rowsDeleted),
        Interlocked.Read(ref _compactionMerges), Interlocked.Read(ref _compactionRows));

    /// <summary>Totals since start over every RPC and transport: completed calls, calls that answered a non-zero code,
    /// and the latency histogram of the <c>Search</c> RPC merged over transports (for the console's charts, which
    /// difference two readings as <c>quiver health</c> differences two scrapes).</summary>
    public (long Calls, long Failed, CumulativeBuckets Search) Totals()
    {
        long calls = 0;
        long failed = 0;
        var bounds = LatencyHistogram.RpcBounds.Append(double.PositiveInfinity).ToArray();
        var search = new double[bounds.Length];
        foreach (var (key, rpc) in _rpcs)
        {
            foreach (var (code, count) in rpc.Codes)
            {
                var n = Volatile.Read(ref count.Value);
                calls += n;
                failed += code == 0 ? 0 : n;
            }
            if (key.Method == "Search")
            {
                var snapshot = rpc.Latency.Snapshot();
                for (var i = 0; i < search.Length; i++)
                {
                    search[i] += snapshot.Cumulative[i];
                }
            }
        }
        return (calls, failed, new CumulativeBuckets(bounds, search));
    }

    /// <summary>Writes every metric in the Prometheus text format, with the recall monitor's figures when
    /// <paramref name="recall"/> is given.</summary>
    public async Task<string> WriteAsync(QuiverEngine engine, RecallMonitor? recall, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var text = new PrometheusText();
        WriteRpcs(text);
        WriteEngineInstruments(text);
        var collections = await WriteCollectionsAsync(text, engine, cancellationToken).ConfigureAwait(false);
        recall?.Write(text, collections);
        WriteProcess(text);
        return text.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(string instrument, double value)
    {
        if (instrument == EngineMetrics.WalFsyncDurationName)
        {
            _walFsync.Observe(value);
        }
    }

    private void OnMeasurement(string instrument, long value)
    {
        if (instrument == EngineMetrics.RowsWrittenName)
        {
            Interlocked.Add(ref _rowsWritten, value);
        }
        else if (instrument == EngineMetrics.RowsDeletedName)
        {
            Interlocked.Add(ref _rowsDeleted, value);
        }
        else if (instrument == EngineMetrics.CompactionMergesName)
        {
            Interlocked.Add(ref _compactionMerges, value);
        }
        else if (instrument == EngineMetrics.CompactionRowsName)
        {
            Interlocked.Add(ref _compactionRows, value);
        }
    }

    private void WriteRpcs(PrometheusText text)
    {
        var series = _rpcs.OrderBy(p => p.Key.Method, StringComparer.Ordinal).ThenBy(p => p.Key.Transport, StringComparer.Ordinal).ToList();
        text.Family("quiver_rpc_requests_total", "counter", "Completed calls by RPC method, transport (grpc, rest) and Milvus status code (0 = success).");
        foreach (var (key, rpc) in series)
        {
            foreach (var (code, count) in rpc.Codes.OrderBy(c => c.Key))
            {
                text.Sample("quiver_rpc_requests_total", Volatile.Read(ref count.Value),
                    "method", key.Method, "transport", key.Transport, "code", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        text.Family("quiver_rpc_duration_seconds", "histogram", "Call latency in seconds by RPC method and transport, from the gate to the response.");
        foreach (var (key, rpc) in series)
        {
            text.Histogram("quiver_rpc_duration_seconds", rpc.Latency.Snapshot(), "method", key.Method, "transport", key.Transport);
        }
    }

    private void WriteEngineInstruments(PrometheusText text)
    {
        text.Family("quiver_rows_inserted_total", "counter", "Rows written by inserts and upserts, once durable and applied.");
        text.Sample("quiver_rows_inserted_total", Interlocked.Read(ref _rowsWritten));
        text.Family("quiver_rows_deleted_total", "counter", "Rows deleted by key or filter.");
        text.Sample("quiver_rows_deleted_total", Interlocked.Read(ref _rowsDeleted));
        text.Family("quiver_wal_fsync_duration_seconds", "histogram", "Duration of WAL fsyncs in seconds.");
        text.Histogram("quiver_wal_fsync_duration_seconds", _walFsync.Snapshot());
        text.Family("quiver_compaction_merges_total", "counter", "Compaction merges: each rewrites a group of sealed segments into one.");
        text.Sample("quiver_compaction_merges_total", Interlocked.Read(ref _compactionMerges));
        text.Family("quiver_compaction_rows_total", "counter", "Rows of the sealed segments compaction merged (live and deleted).");
        text.Sample("quiver_compaction_rows_total", Interlocked.Read(ref _compactionRows));
    }

    /// <summary>Writes the collection, segment and index families; returns the collections seen.</summary>
    private static async Task<HashSet<(string Database, string Collection)>> WriteCollectionsAsync(PrometheusText text, QuiverEngine engine,
        CancellationToken cancellationToken)
    {
        var collections = new List<(string Database, string Name, CollectionInfo Info, IReadOnlyList<IndexInfo> Indexes, IndexStatistics Stats)>();
        IReadOnlyList<string> databases;
        try
        {
            databases = await engine.ListDatabasesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (QuiverException)
        {
            databases = []; // the engine is closed (shutting down): the call and process figures still count
        }
        foreach (var database in databases)
        {
            IReadOnlyList<string> names;
            try
            {
                names = await engine.ListCollectionsAsync(database, cancellationToken).ConfigureAwait(false);
            }
            catch (QuiverException)
            {
                continue; // dropped while we looked
            }
            foreach (var name in names)
            {
                try
                {
                    var info = await engine.DescribeCollectionAsync(name, database, cancellationToken).ConfigureAwait(false);
                    var indexes = await engine.DescribeIndexesAsync(name, null, database, cancellationToken).ConfigureAwait(false);
                    collections.Add((database, name, info, indexes, engine.GetIndexStatistics(name, database)));
                }
                catch (QuiverException)
                {
                    // Dropped between the listing and the description: it has no figures any more.
                }
            }
        }

        text.Family("quiver_collection_rows", "gauge", "Live rows (inserted and not deleted) per collection.");
        foreach (var c in collections)
        {
            text.Sample("quiver_collection_rows", c.Info.RowCount, "database", c.Database, "collection", c.Name);
        }
        text.Family("quiver_collection_segments", "gauge", "Segments per collection by state (growing: in memory and WAL-backed; sealed: on disk).");
        foreach (var c in collections)
        {
            text.Sample("quiver_collection_segments", c.Info.GrowingSegments, "database", c.Database, "collection", c.Name, "state", "growing");
            text.Sample("quiver_collection_segments", c.Info.SealedSegments, "database", c.Database, "collection", c.Name, "state", "sealed");
        }
        text.Family("quiver_index_segment_builds_total", "counter", "Segment indexes built by this process since it opened the data folder, per collection.");
        foreach (var c in collections)
        {
            text.Sample("quiver_index_segment_builds_total", c.Stats.Built, "database", c.Database, "collection", c.Name);
        }
        text.Family("quiver_index_segment_loads_total", "counter", "Segment indexes loaded from their files (no rebuild) since open, per collection.");
        foreach (var c in collections)
        {
            text.Sample("quiver_index_segment_loads_total", c.Stats.Loaded, "database", c.Database, "collection", c.Name);
        }
        text.Family("quiver_index_pending_rows", "gauge", "Rows of sealed segments still to index, per index.");
        foreach (var c in collections)
        {
            foreach (var index in c.Indexes)
            {
                text.Sample("quiver_index_pending_rows", index.PendingRows, "database", c.Database, "collection", c.Name, "index", index.IndexName);
            }
        }
        text.Family("quiver_index_memory_bytes", "gauge", "Bytes the built segment indexes hold beyond the raw vectors (graphs, lists, codes), per index.");
        foreach (var c in collections)
        {
            foreach (var index in c.Indexes)
            {
                text.Sample("quiver_index_memory_bytes", index.MemoryBytes, "database", c.Database, "collection", c.Name, "index", index.IndexName);
            }
        }
        var memory = engine.GetMemoryUsage();
        text.Family("quiver_engine_memory_bytes", "gauge", "Bytes the engine holds against its memory budget (Engine:MemoryBudgetBytes): rows of growing segments, vector indexes and BM25 postings, scalar and token indexes, cached filter bitmaps, delete marks, rows of merges being written, and reservations of writes admitted and not yet applied and of index builds running.");
        text.Sample("quiver_engine_memory_bytes", memory.GrowingBytes, "kind", "growing");
        text.Sample("quiver_engine_memory_bytes", memory.IndexBytes, "kind", "index");
        text.Sample("quiver_engine_memory_bytes", memory.DeleteMarkBytes, "kind", "delete_marks");
        text.Sample("quiver_engine_memory_bytes", memory.MergeBytes, "kind", "merges");
        text.Sample("quiver_engine_memory_bytes", memory.ScalarIndexBytes, "kind", "scalar_indexes");
        text.Sample("quiver_engine_memory_bytes", memory.FilterCacheBytes, "kind", "filter_cache");
        text.Sample("quiver_engine_memory_bytes", memory.ReservedBytes, "kind", "reserved");
        text.Family("quiver_engine_memory_budget_bytes", "gauge", "The engine's memory budget (Engine:MemoryBudgetBytes): writes past it seal growing segments, then are refused with code 9.");
        text.Sample("quiver_engine_memory_budget_bytes", memory.BudgetBytes);
        text.Family("quiver_indexes", "gauge", "Indexes by build state: finished, in_progress, failed.");
        var states = collections.SelectMany(c => c.Indexes).GroupBy(i => i.State).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (state, label) in new[] { (IndexState.Finished, "finished"), (IndexState.InProgress, "in_progress"), (IndexState.Failed, "failed") })
        {
            text.Sample("quiver_indexes", states.GetValueOrDefault(state), "state", label);
        }
        text.Family("quiver_index_build_jobs_pending", "gauge", "Index build jobs queued or running in the engine.");
        text.Sample("quiver_index_build_jobs_pending", collections.Count > 0 ? collections[0].Stats.PendingJobs : 0);
        return [.. collections.Select(c => (c.Database, c.Name))];
    }

    private void WriteProcess(PrometheusText text) => ProcessMetrics.Write(text, Uptime);

    private sealed class RpcSeries
    {
        public LatencyHistogram Latency { get; } = new(LatencyHistogram.RpcBounds);

        public ConcurrentDictionary<int, StrongBox<long>> Codes { get; } = new();
    }
}

/// <summary>Write-path totals since the server started (<see cref="ServerMetrics.WriteTotals"/>).</summary>
/// <param name="WalFsyncs">WAL fsyncs.</param>
/// <param name="RowsWritten">Rows written by inserts and upserts.</param>
/// <param name="RowsDeleted">Rows deleted.</param>
/// <param name="CompactionMerges">Compaction merges.</param>
/// <param name="CompactionRows">Rows of the segments those merges read.</param>
internal readonly record struct WriteTotals(long WalFsyncs, long RowsWritten, long RowsDeleted, long CompactionMerges, long CompactionRows);
