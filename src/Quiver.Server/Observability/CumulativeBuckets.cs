// Compiled into the toolbox library too (quiver health reads the server's histograms), under its own namespace.
#if QUIVER_TOOLBOX
namespace Quiver.Toolbox.Health;
#else
namespace Quiver.Server.Observability;
#endif

/// <summary>
/// A Prometheus histogram as scraped: ascending upper bounds (the last one +Inf) and the cumulative count of
/// observations at or below each. <see cref="Minus"/> gives the observations between two scrapes and
/// <see cref="Quantile"/> estimates a percentile from them the way Prometheus's <c>histogram_quantile</c> does: linear
/// interpolation inside the bucket holding the rank, which assumes observations spread evenly within a bucket, so the
/// answer is only as fine as the buckets (the server's are 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5,
/// 10 s).
/// </summary>
/// <param name="Bounds">Upper bounds, ascending, the last +Inf; empty for a histogram with no series.</param>
/// <param name="Cumulative">Observations at or below each bound; the last is the total.</param>
internal sealed record CumulativeBuckets(double[] Bounds, double[] Cumulative)
{
    /// <summary>Total observations (the +Inf bucket); 0 when empty.</summary>
    public double Total => Cumulative.Length == 0 ? 0 : Cumulative[^1];

    /// <summary>The observations made after <paramref name="earlier"/> was scraped: per-bound differences. When a
    /// count went down (the server restarted between the scrapes) or the bounds differ, this histogram alone is the
    /// best answer, as Prometheus treats counter resets.</summary>
    public CumulativeBuckets Minus(CumulativeBuckets earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        if (earlier.Bounds.Length == 0)
        {
            return this;
        }
        if (!earlier.Bounds.AsSpan().SequenceEqual(Bounds))
        {
            return this;
        }
        var delta = new double[Cumulative.Length];
        for (var i = 0; i < delta.Length; i++)
        {
            delta[i] = Cumulative[i] - earlier.Cumulative[i];
            if (delta[i] < 0)
            {
                return this;
            }
        }
        return this with { Cumulative = delta };
    }

    /// <summary>The <paramref name="q"/>-quantile (0..1) of the observations, interpolated linearly within the bucket
    /// that holds rank q * total (the first bucket starts at 0). A rank in the +Inf bucket answers the highest finite
    /// bound (the true value is only known to be above it). NaN when there are no observations.</summary>
    public double Quantile(double q)
    {
        if (q is < 0 or > 1 || double.IsNaN(q))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "a quantile is in [0, 1]");
        }
        if (Total <= 0)
        {
            return double.NaN;
        }
        var rank = q * Total;
        var i = 0;
        while (i < Cumulative.Length - 1 && Cumulative[i] < rank)
        {
            i++;
        }
        if (double.IsPositiveInfinity(Bounds[i]))
        {
            return i == 0 ? double.NaN : Bounds[i - 1];
        }
        var lower = i == 0 ? 0 : Bounds[i - 1];
        var before = i == 0 ? 0 : Cumulative[i - 1];
        var inBucket = Cumulative[i] - before;
        return inBucket <= 0 ? lower : lower + ((Bounds[i] - lower) * (rank - before) / inBucket);
    }
}
