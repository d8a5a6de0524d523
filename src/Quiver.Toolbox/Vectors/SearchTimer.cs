using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Quiver.Indexing;

namespace Quiver.Toolbox.Vectors;

/// <summary>What one search setting measured. Latencies are of one timed unit: one query, or with a batch, the
/// <see cref="Batch"/> queries of one unit. <see cref="CpuSeconds"/> is the CPU time of the whole process (every thread:
/// searchers, GC, JIT) from the start signal until every search thread is done; on a shared machine it is what the
/// searches cost, where the wall time also holds the time the searchers waited for a core.</summary>
internal sealed record SearchMeasurement(int Queries, int Batch, int Threads, double Seconds, double P50Micros, double P99Micros, double CpuSeconds = 0)
{
    /// <summary>Queries per second: all queries over the wall time from the start signal until every thread is done.</summary>
    public double Qps => Seconds > 0 ? Queries / Seconds : 0;

    /// <summary>Process CPU time per query, in microseconds.</summary>
    public double CpuMicrosPerQuery => Queries > 0 ? CpuSeconds * 1e6 / Queries : 0;
}

/// <summary>Times an index's <see cref="VectorIndex.Search"/> over a set of queries.
/// <para>The given number of dedicated threads each first run their share of the warm-up queries, and go on for at
/// least <see cref="MinWarmup"/> (untimed; it also fills each thread's search scratch and lets the JIT finish), then wait for one start signal. After it they take timed units from a shared
/// counter until none are left: a unit is a batch of consecutive queries (1 = one query), searched one
/// <c>Search</c> call each in a loop, timed as a whole with <see cref="Stopwatch.GetTimestamp"/>. The index contract has
/// one-query search only, so a batch measures the throughput of N queries per unit of work on that many threads
/// (what a server thread serving a client's batch would see), not a batched kernel.</para></summary>
internal static class SearchTimer
{
    /// <summary>Least time each thread spends warming up before a setting's timed run.</summary>
    public static readonly TimeSpan MinWarmup = TimeSpan.FromSeconds(0.5);

    /// <summary>Runs every query once after the warm-up; writes each query's ids into <paramref name="found"/>
    /// (<c>queryCount * k</c>, -1 where the index returned fewer than k).</summary>
    public static SearchMeasurement Run(
        VectorIndex index, float[] queries, int queryCount, int k, AnnSearchParams parameters, int threads, int batch, int warmup, int[] found)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var dim = index.Dimension;
        var units = (queryCount + batch - 1) / batch;
        var ticks = new long[units];
        var next = -1;
        ExceptionDispatchInfo? failure = null;
        using var ready = new CountdownEvent(threads);
        using var go = new ManualResetEventSlim();

        void SearchRange(int first, int count, IndexHit[] hits)
        {
            for (var q = first; q < first + count; q++)
            {
                var n = index.Search(queries.AsSpan(q * dim, dim), k, parameters, null, hits);
                var output = found.AsSpan(q * k, k);
                for (var i = 0; i < k; i++)
                {
                    output[i] = i < n ? hits[i].Row : -1;
                }
            }
        }

        void Work(int worker)
        {
            var hits = new IndexHit[k];
            try
            {
                // At least the warm-up count and at least MinWarmup of time: the JIT promotes hot methods to their
                // optimized tier only after a quiet delay, which a short warm-up would leave inside the timed run.
                var warmStart = Stopwatch.GetTimestamp();
                for (var w = worker; w < warmup || (queryCount > 0 && Stopwatch.GetElapsedTime(warmStart) < MinWarmup); w += threads)
                {
                    SearchRange(w % queryCount, 1, hits);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
            finally
            {
                ready.Signal();
            }

            go.Wait();
            try
            {
                while (Volatile.Read(ref failure) is null)
                {
                    var unit = Interlocked.Increment(ref next);
                    if (unit >= units)
                    {
                        break;
                    }

                    var first = unit * batch;
                    var count = Math.Min(batch, queryCount - first);
                    var start = Stopwatch.GetTimestamp();
                    SearchRange(first, count, hits);
                    ticks[unit] = Stopwatch.GetTimestamp() - start;
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }

        var workers = Enumerable.Range(0, threads).Select(w => new Thread(() => Work(w)) { IsBackground = true, Name = $"ann-search-{w}" }).ToArray();
        foreach (var t in workers)
        {
            t.Start();
        }

        ready.Wait();
        var cpuBefore = ProcessCpu();
        var began = Stopwatch.GetTimestamp();
        go.Set();
        foreach (var t in workers)
        {
            t.Join();
        }

        var ended = Stopwatch.GetTimestamp();
        var cpu = ProcessCpu() - cpuBefore;
        failure?.Throw();
        Array.Sort(ticks);
        return new SearchMeasurement(
            queryCount, batch, threads, Stopwatch.GetElapsedTime(began, ended).TotalSeconds, Micros(Percentile(ticks, 50)), Micros(Percentile(ticks, 99)),
            cpu.TotalSeconds);
    }

    /// <summary>CPU time (user + system) this process has used so far, over all its threads: getrusage on Linux, to the
    /// microsecond (Process.TotalProcessorTime counts in 10-ms clock ticks there).</summary>
    public static TimeSpan ProcessCpu() => Environment.CpuUsage.TotalTime;

    /// <summary>The p-th percentile (0..100) of a sorted sample by nearest rank; 0 for an empty sample.</summary>
    public static long Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double Micros(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
}
