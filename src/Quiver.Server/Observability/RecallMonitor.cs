using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Quiver.Server.Hosting;

namespace Quiver.Server.Observability;

/// <summary>
/// Live recall monitoring. <see cref="Offer(string, string, SearchRequest, SearchResult?)"/> is called after every successful search; a fraction of them
/// (<see cref="MonitoringOptions.RecallSampleRate"/>) is queued, and one background thread re-runs each queued search
/// exactly (search parameter <c>exact</c>: every segment scanned, indexes ignored) under the same filter, partitions and
/// limit, and compares the ids the caller got with the exact top-k: recall@k = |got ∩ exact| / |exact|, one sample per
/// query vector (at most <see cref="MaxQueriesPerSearch"/> of a batch). Each collection keeps its latest
/// <see cref="MonitoringOptions.RecallWindow"/> samples; the estimate exported on <c>/metrics</c> is their mean.
/// </summary>
/// <remarks>
/// <para><b>Cost to the caller.</b> <see cref="Offer(string, string, SearchRequest, SearchResult?)"/> never blocks and never throws: it draws a random number, and for a
/// sampled search copies the query vectors and hit ids and tries to add them to a bounded queue; a full queue drops the
/// sample and counts it. The re-runs happen one at a time on one thread started below normal priority (best effort:
/// Linux ignores thread priorities of normal threads), and after each re-run the thread rests in proportion to the time
/// it took, so the monitor uses at most <see cref="MonitoringOptions.RecallCpuShare"/> of one core (default 5%) however
/// large the collection and busy the server are.</para>
/// <para><b>Searches that cannot be compared</b> are counted by reason, once sampled: <c>range</c> (radius /
/// range_filter), <c>group_by</c>, <c>offset</c> (a later page), <c>iterator</c> (search iterator pages), <c>no_rows</c>
/// (the exact search finds nothing to compare with) and <c>failed</c> (the re-run failed, e.g. the collection was
/// dropped meanwhile).</para>
/// <para><b>Writes between the search and its re-run.</b> The re-run sees a later state of the collection. A hit the
/// caller got that has been deleted since (it no longer exists in the searched partitions) is left out of the
/// comparison, and the exact list is cut to k minus the deleted hits, so deletes do not count as misses. Rows inserted
/// or re-vectored by upserts in between can enter the exact top-k although the caller could not have seen them: they
/// count as misses (biased low). Deletes can bias it either way: a deleted row the caller got, or a deleted true
/// neighbour the caller missed, leaves a comparison that may read better than the search was. Samples during which any row of
/// the process was written or deleted are counted in <c>quiver_recall_samples_changed_total</c>, which says how much of
/// the window this bias can touch.</para>
/// Thread-safe.
/// </remarks>
internal sealed partial class RecallMonitor : IDisposable
{
    /// <summary>Query vectors of one batch search compared at most; the rest of the batch is not re-run.</summary>
    public const int MaxQueriesPerSearch = 16;

    /// <summary>The reasons a sampled search is not compared, in the order they are exported.</summary>
    public static readonly IReadOnlyList<string> SkipReasons = ["range", "group_by", "offset", "iterator", "no_rows", "failed"];

    private static readonly Dictionary<string, string> ExactParams = new(StringComparer.Ordinal) { ["exact"] = "true" };

    private readonly QuiverEngine _engine;
    private readonly MonitoringOptions _options;
    private readonly Func<long> _writeCount;
    private readonly ILogger<RecallMonitor> _logger;
    private readonly BlockingCollection<RecallJob> _queue;
    private readonly ConcurrentDictionary<(string Database, string Collection), RecallWindow> _windows = new();
    private readonly long[] _skipped = new long[SkipReasons.Count];
    private readonly CancellationTokenSource _stop = new();
    private Thread? _worker;
    private long _dropped;
    private int _disposed;

    /// <summary>A monitor over <paramref name="engine"/>; <paramref name="writeCount"/> reads a counter of rows written and
    /// deleted in the process (for the changed-samples figure). Call <see cref="Start"/> to run the background thread.</summary>
    public RecallMonitor(QuiverEngine engine, MonitoringOptions options, Func<long> writeCount, ILogger<RecallMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _engine = engine;
        _options = options;
        _writeCount = writeCount;
        _logger = logger;
        _queue = new BlockingCollection<RecallJob>(options.RecallQueueCapacity);
    }

    /// <summary>The server's monitor, from its options and metrics.</summary>
    public RecallMonitor(QuiverEngine engine, ServerOptions options, ServerMetrics metrics, ILogger<RecallMonitor> logger)
        : this(engine, (options ?? throw new ArgumentNullException(nameof(options))).Monitoring,
            (metrics ?? throw new ArgumentNullException(nameof(metrics))).RowsChanged, logger)
    {
    }

    /// <summary>True when the sample rate is above 0.</summary>
    public bool Enabled => _options.RecallSampleRate > 0;

    /// <summary>Sampled searches waiting for their re-run.</summary>
    public int QueueLength => _queue.Count;

    /// <summary>Starts the background thread (once; nothing when the monitor is off).</summary>
    public void Start()
    {
        if (!Enabled || _worker is not null)
        {
            return;
        }
        _worker = new Thread(Run) { IsBackground = true, Name = "quiver-recall-monitor", Priority = ThreadPriority.BelowNormal };
        _worker.Start();
    }

    /// <summary>Considers one successful search for sampling: <paramref name="request"/> is the engine request the
    /// search ran (vectors resolved), <paramref name="result"/> what the caller got, or null for a search iterator page.
    /// Never blocks, never throws.</summary>
    public void Offer(string database, string collection, SearchRequest request, SearchResult? result)
    {
        if (Drawn())
        {
            Offer(database, collection, request, result is null ? null : IdsOf(result));
        }
    }

    /// <summary>As <see cref="Offer(string, string, SearchRequest, SearchResult?)"/> for a column-oriented result; the
    /// ids are copied only when the search is sampled.</summary>
    public void Offer(string database, string collection, SearchRequest request, SearchColumns result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (Drawn())
        {
            Offer(database, collection, request, IdsOf(result));
        }
    }

    /// <summary>Whether this search is sampled; decided before anything is allocated for it (the ids' closure used to be
    /// built for every search, sampled or not).</summary>
    private bool Drawn() => Enabled && (_options.RecallSampleRate >= 1 || Random.Shared.NextDouble() < _options.RecallSampleRate);

    private static Func<object[][]> IdsOf(SearchResult result) => () => [.. result.Hits.Select(h => h.Select(hit => hit.Id).ToArray())];

    private static Func<object[][]> IdsOf(SearchColumns result) =>
        () =>
        {
            var ids = new object[result.Counts.Length][];
            var at = 0;
            for (var q = 0; q < ids.Length; q++)
            {
                ids[q] = new object[result.Counts[q]];
                for (var i = 0; i < ids[q].Length; i++, at++)
                {
                    ids[q][i] = (object?)result.Ids.Longs?[at] ?? result.Ids.Strings![at]!;
                }
            }

            return ids;
        };

    /// <summary>A drawn search: <paramref name="hitIds"/> gives each query's hit ids, or is null for a search iterator page.</summary>
    private void Offer(string database, string collection, SearchRequest request, Func<object[][]>? hitIds)
    {
        var reason = hitIds is null ? "iterator"
            : request.Radius is not null || request.RangeFilter is not null ? "range"
            : request.GroupByField is not null ? "group_by"
            : request.Offset > 0 ? "offset"
            : null;
        if (reason is not null)
        {
            CountSkip(reason);
            return;
        }

        var result = hitIds!();
        var queries = Math.Min(Math.Min(request.Vectors.Count, result!.Length), MaxQueriesPerSearch);
        var ids = new object[queries][];
        for (var q = 0; q < queries; q++)
        {
            ids[q] = result[q].Length <= request.Limit ? result[q] : result[q][..request.Limit];
        }
        var job = new RecallJob(database, collection, request with
        {
            Vectors = request.Vectors.Count == queries ? request.Vectors : [.. request.Vectors.Take(queries)],
            OutputFields = [],
            SearchParams = ExactParams,
        }, ids, _writeCount());
        try
        {
            if (!_queue.TryAdd(job))
            {
                Interlocked.Increment(ref _dropped);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // Stopping: the queue no longer takes work (completed, or already disposed by a shutdown in progress).
        }
    }

    /// <summary>Re-runs and compares every queued sample on the calling thread, then returns; for tests that do not
    /// <see cref="Start"/> the thread.</summary>
    internal async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (_queue.TryTake(out var job))
        {
            await CompareAsync(job, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The current estimate of every collection with samples in its window: (database, collection, samples,
    /// mean recall@k), as <c>quiver_recall_estimate</c> exports it.</summary>
    public IReadOnlyList<(string Database, string Collection, int Samples, double Mean)> Estimates()
    {
        ForgetDropped();
        return [.. _windows.Select(w => (w.Key.Database, w.Key.Collection, Figures: w.Value.Read())).Where(w => w.Figures.Count > 0)
            .Select(w => (w.Database, w.Collection, w.Figures.Count, w.Figures.Mean))];
    }

    /// <summary>Removes the windows of collections that no longer exist (dropped, or their database dropped), so that
    /// <see cref="Estimates"/> (the console's recall chart) stops showing them at once, as /metrics does.</summary>
    private void ForgetDropped()
    {
        foreach (var key in _windows.Keys)
        {
            bool exists;
            try
            {
                var has = _engine.HasCollectionAsync(key.Collection, key.Database);
                exists = !has.IsCompletedSuccessfully || has.Result;
            }
            catch (Exception e) when (e is QuiverException or ObjectDisposedException)
            {
                exists = false;
            }

            if (!exists)
            {
                _windows.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Writes the monitor's metric families; recall figures only for the collections in
    /// <paramref name="existing"/> (a dropped collection's window is not reported).</summary>
    public void Write(PrometheusText text, IReadOnlySet<(string Database, string Collection)> existing)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(existing);
        var windows = _windows.Where(w => existing.Contains(w.Key))
            .OrderBy(w => w.Key.Database, StringComparer.Ordinal).ThenBy(w => w.Key.Collection, StringComparer.Ordinal)
            .Select(w => (w.Key.Database, w.Key.Collection, Figures: w.Value.Read())).ToList();

        text.Family("quiver_recall_sample_rate", "gauge", "Fraction of successful searches re-run exactly by the recall monitor (0: off).");
        text.Sample("quiver_recall_sample_rate", _options.RecallSampleRate);
        text.Family("quiver_recall_estimate", "gauge", "Estimated recall@k per collection: mean of the per-query recall samples in the window (searches re-run exactly).");
        foreach (var w in windows.Where(w => w.Figures.Count > 0))
        {
            text.Sample("quiver_recall_estimate", w.Figures.Mean, "database", w.Database, "collection", w.Collection);
        }
        text.Family("quiver_recall_window_samples", "gauge", "Per-query recall samples the estimate averages over (at most Monitoring:RecallWindow).");
        foreach (var w in windows)
        {
            text.Sample("quiver_recall_window_samples", w.Figures.Count, "database", w.Database, "collection", w.Collection);
        }
        text.Family("quiver_recall_samples_total", "counter", "Per-query recall samples compared since the server started.");
        foreach (var w in windows)
        {
            text.Sample("quiver_recall_samples_total", w.Figures.Total, "database", w.Database, "collection", w.Collection);
        }
        text.Family("quiver_recall_samples_changed_total", "counter", "Samples during which rows were written or deleted between the search and its exact re-run (inserts bias the estimate low; deletes either way).");
        foreach (var w in windows)
        {
            text.Sample("quiver_recall_samples_changed_total", w.Figures.Changed, "database", w.Database, "collection", w.Collection);
        }
        text.Family("quiver_recall_skipped_total", "counter", "Sampled searches not compared, by reason (range, group_by, offset, iterator, no_rows, failed).");
        for (var i = 0; i < SkipReasons.Count; i++)
        {
            text.Sample("quiver_recall_skipped_total", Interlocked.Read(ref _skipped[i]), "reason", SkipReasons[i]);
        }
        text.Family("quiver_recall_dropped_total", "counter", "Sampled searches dropped because the re-run queue was full.");
        text.Sample("quiver_recall_dropped_total", Interlocked.Read(ref _dropped));
        text.Family("quiver_recall_queue_length", "gauge", "Sampled searches waiting for their exact re-run.");
        text.Sample("quiver_recall_queue_length", QueueLength);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _queue.CompleteAdding();
        _stop.Cancel();
        _worker?.Join(TimeSpan.FromSeconds(10));
        _queue.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        try
        {
            foreach (var job in _queue.GetConsumingEnumerable(_stop.Token))
            {
                // The engine's search runs on the calling thread, so the re-run inherits this thread's priority (which
                // Linux ignores for normal threads: hence the explicit CPU budget below).
                var started = Stopwatch.GetTimestamp();
                CompareAsync(job, _stop.Token).GetAwaiter().GetResult();
                var pause = RestAfter(Stopwatch.GetElapsedTime(started), _options.RecallCpuShare);
                if (pause > TimeSpan.Zero && _stop.Token.WaitHandle.WaitOne(pause))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    /// <summary>How long the monitor's thread rests after a re-run that took <paramref name="busy"/> so that its share of
    /// one core stays at most <paramref name="share"/>.</summary>
    internal static TimeSpan RestAfter(TimeSpan busy, double share) =>
        share >= 1 || busy <= TimeSpan.Zero ? TimeSpan.Zero : busy * ((1 - share) / share);

    private async Task CompareAsync(RecallJob job, CancellationToken cancellationToken)
    {
        try
        {
            var exact = await _engine.SearchAsync(job.Collection, job.Request, job.Database, cancellationToken).ConfigureAwait(false);
            var changed = _writeCount() != job.WriteCount;
            var deleted = await DeletedSinceAsync(job, exact, cancellationToken).ConfigureAwait(false);
            var window = _windows.GetOrAdd((job.Database, job.Collection), _ => new RecallWindow(_options.RecallWindow));
            for (var q = 0; q < job.Ids.Length; q++)
            {
                // Deleted hits leave the comparison, and the exact list shrinks by as many: without the deleted rows
                // the exact top-(k - d) of the later state is what the earlier state's top-k held besides them.
                var got = job.Ids[q].Where(id => !deleted.Contains(id)).ToList();
                var removed = job.Ids[q].Length - got.Count;
                var truth = exact.Hits[q].Take(job.Request.Limit - removed).Select(h => h.Id).ToHashSet();
                if (truth.Count == 0)
                {
                    CountSkip("no_rows");
                    continue;
                }
                window.Add(got.Count(truth.Contains) / (double)truth.Count, changed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is QuiverException or ObjectDisposedException)
        {
            CountSkip("failed");
            if (e is QuiverException { Code: QuiverErrorCode.NotFound })
            {
                _windows.TryRemove((job.Database, job.Collection), out _);
            }
            LogRerunFailed(_logger, job.Database, job.Collection, e.Message);
        }
    }

    /// <summary>The hits the caller got that the exact search did not return and that no longer exist in the searched
    /// partitions (deleted after the search).</summary>
    private async Task<HashSet<object>> DeletedSinceAsync(RecallJob job, SearchResult exact, CancellationToken cancellationToken)
    {
        var missing = new HashSet<object>();
        for (var q = 0; q < job.Ids.Length; q++)
        {
            var returned = exact.Hits[q].Select(h => h.Id).ToHashSet();
            missing.UnionWith(job.Ids[q].Where(id => !returned.Contains(id)));
        }
        if (missing.Count == 0)
        {
            return missing;
        }
        var schema = (await _engine.DescribeCollectionAsync(job.Collection, job.Database, cancellationToken).ConfigureAwait(false)).Schema;
        var pk = schema.PrimaryKey.Name;
        var rows = await _engine.GetAsync(job.Collection, [.. missing], [pk], job.Request.Partitions, job.Database, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            missing.Remove(row[pk]!);
        }
        return missing;
    }

    private void CountSkip(string reason)
    {
        for (var i = 0; i < SkipReasons.Count; i++)
        {
            if (SkipReasons[i] == reason)
            {
                Interlocked.Increment(ref _skipped[i]);
                return;
            }
        }
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"unknown skip reason '{reason}'"), nameof(reason));
    }

    [LoggerMessage(EventId = 10, EventName = "RecallRerunFailed", Level = LogLevel.Debug,
        Message = "recall monitor: the exact re-run of a search on {Database}.{Collection} failed: {Reason}")]
    private static partial void LogRerunFailed(ILogger logger, string database, string collection, string reason);

    /// <summary>One sampled search: the exact request to run, the ids the caller got per query, and the process's write
    /// counter when it was sampled.</summary>
    private sealed record RecallJob(string Database, string Collection, SearchRequest Request, object[][] Ids, long WriteCount);

    /// <summary>The latest per-query samples of one collection, as a ring, with lifetime counts.</summary>
    private sealed class RecallWindow(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly double[] _ring = new double[capacity];
        private int _count;
        private int _next;
        private long _total;
        private long _changed;

        public void Add(double recall, bool changed)
        {
            lock (_lock)
            {
                _ring[_next] = recall;
                _next = (_next + 1) % _ring.Length;
                _count = Math.Min(_count + 1, _ring.Length);
                _total++;
                if (changed)
                {
                    _changed++;
                }
            }
        }

        public WindowFigures Read()
        {
            lock (_lock)
            {
                double sum = 0;
                for (var i = 0; i < _count; i++)
                {
                    sum += _ring[i];
                }
                return new WindowFigures(_count, _count == 0 ? double.NaN : sum / _count, _total, _changed);
            }
        }
    }

    private readonly record struct WindowFigures(int Count, double Mean, long Total, long Changed);
}
