namespace Quiver.Cli.Ops.Prep;

/// <summary>Minimum, median and maximum of vector norms.</summary>
/// <param name="Count">Norms counted.</param>
/// <param name="Min">Smallest (exact).</param>
/// <param name="Median">Median, to within 0.05% (see <see cref="NormHistogram"/>).</param>
/// <param name="Max">Largest (exact).</param>
internal sealed record NormStats(long Count, double Min, double Median, double Max);

/// <summary>The statistics of one dimension that min-max and z-score use.</summary>
/// <param name="Dimension">Index, 0-based.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Population standard deviation.</param>
internal sealed record DimensionStat(int Dimension, double Min, double Max, double Mean, double Std);

/// <summary>A histogram of non-negative norms in fixed memory (4 MiB) whatever the number of vectors: a norm falls
/// in the bin of its float32 bit pattern shifted right by 12, so bins are 2^-11 (0.05%) of their value wide at every
/// magnitude. Median and median absolute deviation come from the bins (bin centres); min and max are exact.</summary>
internal sealed class NormHistogram
{
    private const int Shift = 12;
    private readonly long[] _bins = new long[(0x7F800000 >> Shift) + 1];

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
        _bins[BitConverter.SingleToInt32Bits(value) >> Shift]++;
        Count++;
        Min = Math.Min(Min, norm);
        Max = Math.Max(Max, norm);
    }

    /// <summary>Count, min, median, max (zeros when empty).</summary>
    public NormStats Summarize() => Count == 0 ? new NormStats(0, 0, 0, 0) : new NormStats(Count, Min, Median(), Max);

    /// <summary>The median (lower middle for an even count), clamped to [min, max].</summary>
    public double Median()
    {
        if (Count == 0)
        {
            return 0;
        }

        var middle = (Count - 1) / 2;
        long seen = 0;
        for (var b = 0; b < _bins.Length; b++)
        {
            seen += _bins[b];
            if (seen > middle)
            {
                return Math.Clamp(Centre(b), Min, Max);
            }
        }

        return Max;
    }

    /// <summary>The median absolute deviation from <paramref name="median"/>, over bin centres.</summary>
    public double MedianAbsoluteDeviation(double median)
    {
        var deviations = new List<(double Deviation, long Count)>();
        for (var b = 0; b < _bins.Length; b++)
        {
            if (_bins[b] > 0)
            {
                deviations.Add((Math.Abs(Math.Clamp(Centre(b), Min, Max) - median), _bins[b]));
            }
        }

        if (deviations.Count == 0)
        {
            return 0;
        }

        deviations.Sort((a, b) => a.Deviation.CompareTo(b.Deviation));
        var middle = (Count - 1) / 2;
        long seen = 0;
        foreach (var (deviation, count) in deviations)
        {
            seen += count;
            if (seen > middle)
            {
                return deviation;
            }
        }

        return deviations[^1].Deviation;
    }

    private static double Centre(int bin) => bin == 0 ? 0 : BitConverter.Int32BitsToSingle((bin << Shift) | (1 << (Shift - 1)));
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
