using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Tests.Ops.Health;

/// <summary>Percentiles from histogram deltas, the /metrics parser and the thresholds, against hand-computed values.</summary>
public sealed class HealthMathTests
{
    private static readonly double[] Bounds = [0.001, 0.005, 0.01, double.PositiveInfinity];

    [Theory]
    // 10 obs <= 1 ms, 50 in (1, 5], 30 in (5, 10], 10 above 10 ms; total 100.
    // p50: rank 50 in bucket (1, 5] after 10: 1 + 4 * 40/50 = 4.2 ms.
    [InlineData(0.50, 0.0042)]
    // p05: rank 5 in the first bucket [0, 1]: 1 * 5/10 = 0.5 ms.
    [InlineData(0.05, 0.0005)]
    // p90: rank 90 = the top of (5, 10]: 5 + 5 * 30/30 = 10 ms.
    [InlineData(0.90, 0.010)]
    // p75: rank 75 in (5, 10] after 60: 5 + 5 * 15/30 = 7.5 ms.
    [InlineData(0.75, 0.0075)]
    // p99: rank 99 in the +Inf bucket: the highest finite bound, 10 ms.
    [InlineData(0.99, 0.010)]
    public void Quantile_InterpolatesWithinTheBucket(double q, double expected)
    {
        var buckets = new CumulativeBuckets(Bounds, [10, 60, 90, 100]);
        Assert.Equal(expected, buckets.Quantile(q), 12);
    }

    [Fact]
    public void Minus_GivesTheWindowsObservations_AndARestartCountsFromZero()
    {
        var before = new CumulativeBuckets(Bounds, [5, 20, 20, 21]);
        var after = new CumulativeBuckets(Bounds, [15, 70, 80, 81]);
        var window = after.Minus(before);
        Assert.Equal([10, 50, 60, 60], window.Cumulative);
        Assert.Equal(60, window.Total);
        // rank 30 in (1, 5] after 10 of 40: 1 + 4 * 20/40 = 3 ms.
        Assert.Equal(0.003, window.Quantile(0.5), 12);

        var restarted = new CumulativeBuckets(Bounds, [1, 2, 2, 2]);
        Assert.Same(restarted, restarted.Minus(before));
        Assert.True(double.IsNaN(new CumulativeBuckets(Bounds, [3, 3, 3, 3]).Minus(new CumulativeBuckets(Bounds, [3, 3, 3, 3])).Quantile(0.99)));
    }

    [Fact]
    public void Traffic_FromTwoScrapes_AddsTransports_AndCountsErrorsOverAllMethods()
    {
        const string First = """
            # HELP quiver_rpc_requests_total x
            # TYPE quiver_rpc_requests_total counter
            quiver_rpc_requests_total{method="Search",transport="grpc",code="0"} 10
            quiver_rpc_requests_total{method="Insert",transport="rest",code="0"} 4
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="0.001"} 10
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="0.005"} 10
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="+Inf"} 10
            """;
        const string Second = """
            quiver_rpc_requests_total{method="Search",transport="grpc",code="0"} 30
            quiver_rpc_requests_total{method="Search",transport="rest",code="0"} 10
            quiver_rpc_requests_total{method="Search",transport="grpc",code="100"} 2
            quiver_rpc_requests_total{method="Insert",transport="rest",code="0"} 12
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="0.001"} 20
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="0.005"} 32
            quiver_rpc_duration_seconds_bucket{method="Search",transport="grpc",le="+Inf"} 32
            quiver_rpc_duration_seconds_bucket{method="Search",transport="rest",le="0.001"} 0
            quiver_rpc_duration_seconds_bucket{method="Search",transport="rest",le="0.005"} 10
            quiver_rpc_duration_seconds_bucket{method="Search",transport="rest",le="+Inf"} 10
            """;
        var traffic = HealthRunner.Traffic(MetricsSnapshot.Parse(First), MetricsSnapshot.Parse(Second), 4);
        // Searches: grpc 32 - 10 plus rest 10 = 32; calls: 20 + 10 + 2 + 8 = 40, 2 of them errors.
        Assert.Equal(32, traffic.Searches);
        Assert.Equal(8, traffic.SearchQps);
        Assert.Equal(40, traffic.Calls);
        Assert.Equal(2, traffic.Errors);
        Assert.Equal(0.05, traffic.ErrorRate);
        // 10 of 32 at <= 1 ms, 22 in (1, 5]: p50 rank 16 -> 1 + 4 * 6/22 ms.
        Assert.Equal(1 + (4 * 6 / 22.0), traffic.SearchP50Ms!.Value, 9);
        // p99 rank 31.68, in the same bucket.
        Assert.Equal(1 + (4 * ((0.99 * 32) - 10) / 22), traffic.SearchP99Ms!.Value, 9);
    }

    [Fact]
    public void Parse_ReadsEscapedLabels_AndRefusesAPageThatIsNotMetrics()
    {
        var snapshot = MetricsSnapshot.Parse("a_b{x=\"q\\\"uo\\\\te\",y=\"n\\nl\"} 1.5e3\n# comment\nc +Inf\n");
        Assert.Equal("q\"uo\\te", snapshot.Samples[0].Label("x"));
        Assert.Equal("n\nl", snapshot.Samples[0].Label("y"));
        Assert.Equal(1500, snapshot.Samples[0].Value);
        Assert.Equal(double.PositiveInfinity, snapshot.Value("c"));
        var e = Assert.Throws<FormatException>(() => MetricsSnapshot.Parse("<html>\n<body>oops</body>"));
        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Thresholds_FileThenOverrides_AndBadKeysNamed()
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "t.json");
        File.WriteAllText(file, """{"search.p99_ms": {"warn": 80, "fail": 250}, "recall": {"fail": null}}""");
        var t = HealthThresholds.Load(file, ["search.p99_ms.fail=300", "error_rate.warn=none"]);
        Assert.Equal(new Threshold(ThresholdDirection.Max, 80, 300), t[HealthThresholds.SearchP99]);
        Assert.Equal(new Threshold(ThresholdDirection.Min, 0.95, null), t[HealthThresholds.Recall]);
        Assert.Null(t[HealthThresholds.ErrorRate].Warn);
        Assert.Equal(HealthStatus.Warn, t[HealthThresholds.SearchP99].Judge(100));
        Assert.Equal(HealthStatus.Fail, t[HealthThresholds.SearchP99].Judge(301));
        Assert.Equal(HealthStatus.Warn, t[HealthThresholds.Recall].Judge(0.5));
        Assert.Equal(HealthStatus.Info, t[HealthThresholds.SearchQps].Judge(3));

        File.WriteAllText(file, """{"search.p99": {"warn": 80}}""");
        var e = Assert.Throws<ToolboxException>(() => HealthThresholds.Load(file, []));
        Assert.Contains("t.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("'search.p99'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ToolboxException>(() => HealthThresholds.Load(null, ["recall.warn=high"]));
        Assert.Contains("'high'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ToolboxException>(() => HealthThresholds.Load(null, ["recall.crit=0.5"]));
        Assert.Contains("'warn' or 'fail'", e.Message, StringComparison.Ordinal);
    }
}
