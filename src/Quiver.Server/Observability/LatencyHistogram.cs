namespace Quiver.Server.Observability;

/// <summary>
/// A Prometheus-style histogram of durations in seconds with fixed bucket bounds. <see cref="Observe"/> is lock-free
/// and allocation-free (a bucket search over a dozen bounds and two interlocked adds), safe from any thread.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>Bounds for RPC latencies: 0.5 ms to 10 s.</summary>
    public static readonly double[] RpcBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Bounds for fsync latencies: 50 µs to 1 s.</summary>
    public static readonly double[] FsyncBounds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private readonly double[] _bounds;

    // One slot per bound plus the +Inf slot; counts are per bucket (not cumulative) so an observation touches one slot.
    private readonly long[] _counts;
    private long _sumBits;

    /// <summary>A histogram over <paramref name="bounds"/> (ascending upper bounds, +Inf implied).</summary>
    public LatencyHistogram(double[] bounds)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        for (var i = 1; i < bounds.Length; i++)
        {
            if (!(bounds[i] > bounds[i - 1]))
            {
                throw new ArgumentException($"histogram bounds must ascend; bound {i} ({bounds[i]}) is not above {bounds[i - 1]}", nameof(bounds));
            }
        }
        _bounds = bounds;
        _counts = new long[bounds.Length + 1];
    }

    /// <summary>Records one duration in seconds. Negative and NaN values count in the first bucket as zero.</summary>
    public void Observe(double seconds)
    {
        if (!(seconds > 0))
        {
            seconds = 0;
        }
        var slot = 0;
        while (slot < _bounds.Length && seconds > _bounds[slot])
        {
            slot++;
        }
        Interlocked.Increment(ref _counts[slot]);
        var current = Volatile.Read(ref _sumBits);
        while (true)
        {
            var next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(current) + seconds);
            var seen = Interlocked.CompareExchange(ref _sumBits, next, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }

    /// <summary>A consistent-enough copy for one scrape: cumulative counts per bound (monotone by construction), the
    /// total count (equal to the last cumulative count) and the sum.</summary>
    public HistogramSnapshot Snapshot()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            cumulative[i] = running;
        }
        return new HistogramSnapshot(_bounds, cumulative, BitConverter.Int64BitsToDouble(Volatile.Read(ref _sumBits)));
    }
}

/// <summary>One scrape's view of a <see cref="LatencyHistogram"/>.</summary>
/// <param name="Bounds">Upper bounds in seconds, ascending; the +Inf bucket is implied.</param>
/// <param name="Cumulative">Observations at or below each bound, then the total (the +Inf bucket).</param>
/// <param name="Sum">Sum of all observations in seconds.</param>
internal sealed record HistogramSnapshot(double[] Bounds, long[] Cumulative, double Sum)
{
    /// <summary>Total observations.</summary>
    public long Count => Cumulative[^1];
}
