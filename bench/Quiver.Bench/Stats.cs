namespace Quiver.Bench;

internal static class Stats
{
    /// <summary>The p-th percentile (0..100) by nearest rank of an unsorted sample; sorts a copy.</summary>
    public static double Percentile(IReadOnlyList<double> sample, double p)
    {
        var sorted = sample.ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Milliseconds(long startTicks, long endTicks) =>
        (endTicks - startTicks) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
}
