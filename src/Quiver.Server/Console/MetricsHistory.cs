using Quiver.Server.Observability;

namespace Quiver.Server.Console;

/// <summary>One point of the console's health charts: the traffic between two readings of <see cref="ServerMetrics"/>
/// and the memory at the second.</summary>
/// <param name="UnixMs">When the second reading was taken, in Unix milliseconds.</param>
/// <param name="Calls">Calls completed in the interval, every RPC and transport.</param>
/// <param name="Searches">Completed <c>Search</c> calls in the interval.</param>
/// <param name="Qps">Completed calls per second, every RPC and transport.</param>
/// <param name="SearchQps">Completed <c>Search</c> calls per second.</param>
/// <param name="ErrorRate">Calls that answered a non-zero code over all calls, or null without calls.</param>
/// <param name="P50Ms">Median <c>Search</c> latency in ms, interpolated within the histogram's buckets as
/// <c>quiver health</c> does; null without searches.</param>
/// <param name="P95Ms">95th percentile, likewise.</param>
/// <param name="P99Ms">99th percentile, likewise.</param>
/// <param name="WorkingSetBytes">The process's physical memory.</param>
/// <param name="GcHeapBytes">The managed heap in use.</param>
/// <param name="MemoryLimitBytes">The memory available to the process (the container limit, else the machine's).</param>
public sealed record MetricsSample(long UnixMs, long Calls, long Searches, double Qps, double SearchQps, double? ErrorRate, double? P50Ms, double? P95Ms,
    double? P99Ms, long WorkingSetBytes, long GcHeapBytes, long MemoryLimitBytes)
{
    /// <summary>WAL fsyncs in the interval (engine meter: every engine of the process).</summary>
    public long WalFsyncs { get; init; }

    /// <summary>Rows written by inserts and upserts in the interval.</summary>
    public long RowsWritten { get; init; }

    /// <summary>Rows deleted in the interval.</summary>
    public long RowsDeleted { get; init; }

    /// <summary>Compaction merges in the interval.</summary>
    public long CompactionMerges { get; init; }

    /// <summary>Rows of the segments those merges read.</summary>
    public long CompactionRows { get; init; }

    /// <summary>The live recall estimate at the sample, by <c>database.collection</c> (the recall monitor's window mean,
    /// <c>quiver_recall_estimate</c>); empty when the monitor is off or has no samples.</summary>
    public IReadOnlyDictionary<string, double> Recall { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// The recent history of the server's own metrics for the console's health charts: every
/// <see cref="ConsoleOptions.SampleInterval"/> a timer reads <see cref="ServerMetrics.Totals"/> and process memory and
/// keeps the difference to the previous reading as one <see cref="MetricsSample"/>, up to
/// <see cref="ConsoleOptions.HistorySamples"/> of them. Thread-safe; costs one reading per interval whether or not
/// anyone looks.
/// </summary>
internal sealed class MetricsHistory : IDisposable
{
    private readonly ServerMetrics _metrics;
    private readonly int _capacity;
    private readonly Queue<MetricsSample> _samples = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly Func<IReadOnlyList<(string Database, string Collection, int Samples, double Mean)>>? _recall;
    private Reading _last;

    /// <summary>Starts sampling <paramref name="metrics"/> and, when given, the recall estimates
    /// <paramref name="recall"/> reads (the server passes <see cref="RecallMonitor.Estimates"/>).</summary>
    public MetricsHistory(ServerMetrics metrics, ConsoleOptions options, TimeProvider? time = null,
        Func<IReadOnlyList<(string Database, string Collection, int Samples, double Mean)>>? recall = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _metrics = metrics;
        _recall = recall;
        _capacity = options.HistorySamples;
        _time = time ?? TimeProvider.System;
        _last = Read();
        _timer = _time.CreateTimer(_ => Sample(), null, options.SampleInterval, options.SampleInterval);
    }

    /// <summary>The samples kept, oldest first.</summary>
    public IReadOnlyList<MetricsSample> Samples()
    {
        lock (_lock)
        {
            return [.. _samples];
        }
    }

    /// <summary>Takes one sample now (the timer calls this; tests may too).</summary>
    public void Sample()
    {
        lock (_lock)
        {
            var now = Read();
            var seconds = (now.UnixMs - _last.UnixMs) / 1000.0;
            if (seconds <= 0)
            {
                return;
            }
            var calls = now.Calls - _last.Calls;
            var failed = now.Failed - _last.Failed;
            var search = now.Search.Minus(_last.Search);
            var gc = GC.GetGCMemoryInfo();
            _samples.Enqueue(new MetricsSample(
                now.UnixMs,
                calls,
                (long)search.Total,
                calls / seconds,
                search.Total / seconds,
                calls > 0 ? (double)failed / calls : null,
                Milliseconds(search, 0.50),
                Milliseconds(search, 0.95),
                Milliseconds(search, 0.99),
                Environment.WorkingSet,
                GC.GetTotalMemory(forceFullCollection: false),
                gc.TotalAvailableMemoryBytes)
            {
                WalFsyncs = now.Writes.WalFsyncs - _last.Writes.WalFsyncs,
                RowsWritten = now.Writes.RowsWritten - _last.Writes.RowsWritten,
                RowsDeleted = now.Writes.RowsDeleted - _last.Writes.RowsDeleted,
                CompactionMerges = now.Writes.CompactionMerges - _last.Writes.CompactionMerges,
                CompactionRows = now.Writes.CompactionRows - _last.Writes.CompactionRows,
                Recall = _recall?.Invoke().ToDictionary(r => $"{r.Database}.{r.Collection}", r => r.Mean, StringComparer.Ordinal)
                    ?? new Dictionary<string, double>(),
            });
            while (_samples.Count > _capacity)
            {
                _samples.Dequeue();
            }
            _last = now;
        }
    }

    private static double? Milliseconds(CumulativeBuckets buckets, double q) =>
        buckets.Total > 0 && buckets.Quantile(q) is var v && !double.IsNaN(v) ? v * 1000 : null;

    private Reading Read()
    {
        var (calls, failed, search) = _metrics.Totals();
        return new Reading(_time.GetUtcNow().ToUnixTimeMilliseconds(), calls, failed, search, _metrics.WriteTotals());
    }

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();

    private readonly record struct Reading(long UnixMs, long Calls, long Failed, CumulativeBuckets Search, WriteTotals Writes);
}
