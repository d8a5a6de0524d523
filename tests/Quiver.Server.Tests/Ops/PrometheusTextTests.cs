using Quiver.Server.Observability;

namespace Quiver.Server.Tests.Ops;

public sealed class PrometheusTextTests
{
    [Fact]
    public void Sample_EscapesLabelValues()
    {
        var text = new PrometheusText();
        text.Family("m", "gauge", "help with \\ and\nnewline");
        text.Sample("m", 1.5, "a", "quote\" back\\slash\nline");
        Assert.Equal("# HELP m help with \\\\ and\\nnewline\n# TYPE m gauge\nm{a=\"quote\\\" back\\\\slash\\nline\"} 1.5\n", text.ToString());
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(0.1, "0.1")]
    [InlineData(42d, "42")]
    public void Format_SpellsNumbersAsTheFormatWants(double value, string expected) =>
        Assert.Equal(expected, PrometheusText.Format(value));

    [Fact]
    public void Histogram_BucketsAreCumulativeWithInfEqualToCount()
    {
        var histogram = new LatencyHistogram([0.125, 1]); // binary fractions: exact sums
        histogram.Observe(0.0625);
        histogram.Observe(0.125); // on the bound: counts in that bucket (le = less or equal)
        histogram.Observe(0.5);
        histogram.Observe(7);
        histogram.Observe(-1);   // clamped to 0
        var text = new PrometheusText();
        text.Histogram("h", histogram.Snapshot(), "method", "Search");
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            "h_bucket{method=\"Search\",le=\"0.125\"} 3",
            "h_bucket{method=\"Search\",le=\"1\"} 4",
            "h_bucket{method=\"Search\",le=\"+Inf\"} 5",
            "h_sum{method=\"Search\"} 7.6875",
            "h_count{method=\"Search\"} 5",
        ], lines);
    }

    [Fact]
    public void Histogram_ConcurrentObservations_AllCounted()
    {
        var histogram = new LatencyHistogram(LatencyHistogram.RpcBounds);
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                histogram.Observe(i % 100 * 0.001);
            }
        });
        var snapshot = histogram.Snapshot();
        Assert.Equal(80_000, snapshot.Count);
        // Sum of (i % 100) * 0.001 over 10,000 i is 100 * 4.95, times 8 threads.
        Assert.Equal(3960, snapshot.Sum, 6);
    }

    [Fact]
    public void LatencyHistogram_BoundsMustAscend() =>
        Assert.Throws<ArgumentException>(() => new LatencyHistogram([1, 1]));
}
