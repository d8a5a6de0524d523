namespace Quiver.Toolbox.Prep;

/// <summary>Minimum, median and maximum of vector norms.</summary>
/// <param name="Count">Norms counted.</param>
/// <param name="Min">Smallest (exact).</param>
/// <param name="Median">Median (mean of the two middle ones for an even count), each taken as the mean of the norms
/// in its histogram bin: exact when those are equal, within 0.05% otherwise (see <see cref="NormHistogram"/>).</param>
/// <param name="Max">Largest (exact).</param>
public sealed record NormStats(long Count, double Min, double Median, double Max);

/// <summary>The statistics of one dimension that min-max and z-score use.</summary>
/// <param name="Dimension">Index, 0-based.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Population standard deviation.</param>
public sealed record DimensionStat(int Dimension, double Min, double Max, double Mean, double Std);

/// <summary>A histogram of non-negative norms in fixed memory (8 MiB) whatever the number of vectors: a norm falls
/// in the bin of its float32 bit pattern shifted right by 12, so bins are 2^-11 (0.05%) of their value wide at every
/// magnitude. Each bin keeps its count and the sum of its norms; median and median absolute deviation take each bin
/// at the mean of its norms (exact when a bin holds equal norms, as with vectors normalized elsewhere); min and max
/// are exact.</summary>
internal sealed class NormHistogram
{
    private const int Shift = 12;
    private readonly long[] _bins = new long[(0x7F800000 >> Shift) + 1];
    private readonly double[] _sums = new double[(0x7F800000 >> Shift) + 1];

    /// <summary>Norms added.</summary>
    public long Count { get; private set; }

    /// <summary>Smallest norm added.</summary>
    public double Min { get; private set; } = double.PositiveInfinity;

    /// <summary>Largest norm added.</summary>
    public double Max { get; private set; } = double.NegativeInfinity;

    /// <summary>Adds a finite non-negative norm.</summary>
    public void Add(double norm)
    {
        var value = (float)norm;
        var bin = BitConverter.SingleToInt32Bits(value) >> Shift;
        _bins[bin]++;
        _sums[bin] += norm;
        Count++;
        Min = Math.Min(Min, norm);
        Max = Math.Max(Max, norm);
    }

    /// <summary>Count, min, median, max (zeros when empty).</summary>
    public NormStats Summarize() => Count == 0 ? new NormStats(0, 0, 0, 0) : new NormStats(Count, Min, Median(), Max);

    /// <summary>The median (the mean of the two middle norms for an even count).</summary>
    public double Median()
    {
        var bins = new List<(double Value, long Count)>();
        for (var b = 0; b < _bins.Length; b++)
        {
            if (_bins[b] > 0)
            {
                bins.Add((Math.Clamp(_sums[b] / _bins[b], Min, Max), _bins[b]));
            }
        }

        return MiddleOf(bins, Count);
    }

    /// <summary>The median absolute deviation from <paramref name="median"/>, over bin means.</summary>
    public double MedianAbsoluteDeviation(double median)
    {
        var deviations = new List<(double Value, long Count)>();
        for (var b = 0; b < _bins.Length; b++)
        {
            if (_bins[b] > 0)
            {
                deviations.Add((Math.Abs(Math.Clamp(_sums[b] / _bins[b], Min, Max) - median), _bins[b]));
            }
        }

        deviations.Sort((x, y) => x.Value.CompareTo(y.Value));
        return MiddleOf(deviations, Count);
    }

    /// <summary>The median of <paramref name="total"/> values given as sorted (value, count) pairs.</summary>
    private static double MiddleOf(List<(double Value, long Count)> sorted, long total)
    {
        if (total == 0)
        {
            return 0;
        }

        double? low = null;
        long seen = 0;
        foreach (var (value, count) in sorted)
        {
            seen += count;
            if (low is null && seen > (total - 1) / 2)
            {
                low = value;
            }

            if (seen > total / 2)
            {
                return (low!.Value + value) / 2;
            }
        }

        return sorted[^1].Value;
    }
}

/// <summary>Per-dimension min, max, mean and variance, accumulated one vector at a time (Welford's update, in
/// double), so memory is O(dimension).</summary>
internal sealed class DimensionAccumulator(int dimension)
{
    private readonly double[] _min = Enumerable.Repeat(double.PositiveInfinity, dimension).ToArray();
    private readonly double[] _max = Enumerable.Repeat(double.NegativeInfinity, dimension).ToArray();
    private readonly double[] _mean = new double[dimension];
    private readonly double[] _m2 = new double[dimension];

    /// <summary>Vectors added.</summary>
    public long Count { get; private set; }

    /// <summary>Adds one vector of the dimension.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        Count++;
        for (var d = 0; d < values.Length; d++)
        {
            double x = values[d];
            _min[d] = Math.Min(_min[d], x);
            _max[d] = Math.Max(_max[d], x);
            var delta = x - _mean[d];
            _mean[d] += delta / Count;
            _m2[d] += delta * (x - _mean[d]);
        }
    }

    /// <summary>The statistics of every dimension.</summary>
    public DimensionStat[] Summarize() =>
        [.. Enumerable.Range(0, _mean.Length).Select(d => new DimensionStat(d, _min[d], _max[d], _mean[d], Count == 0 ? 0 : Math.Sqrt(_m2[d] / Count)))];
}
