using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Quiver.Cli.Bench;
using Quiver.Indexing;
using Quiver.Testing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Bench;

public sealed class AnnBenchmarkTests : IDisposable
{
    private const int Rows = 600;
    private const int Dim = 12;
    private const int QueryCount = 40;

    private readonly TempFolder _dir = new("quiver-annbench");
    private readonly float[] _base;
    private readonly float[] _queries;

    public AnnBenchmarkTests()
    {
        var rng = new Random(7);
        _base = [.. Enumerable.Range(0, Rows).SelectMany(_ => TestData.Vector(rng, Dim))];
        _queries = [.. Enumerable.Range(0, QueryCount).SelectMany(_ => TestData.Vector(rng, Dim))];
        VectorFile.Write<float>(BasePath, _base, Dim);
        VectorFile.Write<float>(QueryPath, _queries, Dim);
    }

    private string BasePath => _dir.Sub("base.fvecs");

    private string QueryPath => _dir.Sub("queries.npy");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Recall_CountsTrueTopKFound_OverQueriesTimesK()
    {
        // Two queries, k = 2, ground truth 3 wide: query 0 finds both, query 1 finds one (and a -1 pad).
        int[] truth = [5, 6, 7, 1, 2, 3];
        int[] found = [6, 5, 2, -1];
        Assert.Equal(0.75, GroundTruth.Recall(found, truth, 3, 2, 2));

        // The third ground-truth id does not count for recall@2, and ids found twice count once.
        Assert.Equal(0.5, GroundTruth.Recall([6, 6, 3, 2], truth, 3, 2, 2));
        Assert.Throws<QuiverException>(() => GroundTruth.Recall(found, truth, 3, 2, 4));
    }

    [Fact]
    public void Recall_PaddedGroundTruth_CountsOnlyRealIds()
    {
        // k = 3; query 0 has only two rows to find (a selective filter), query 1 three. Padding found on both sides
        // is not a hit: 1 of 2 + 2 of 3 = 3 of 5.
        int[] truth = [4, 9, -1, 1, 2, 3];
        int[] found = [4, -1, -1, 1, 3, 8];
        Assert.Equal(0.6, GroundTruth.Recall(found, truth, 3, 2, 3), 12);

        // Nothing to find at all: nothing was missed.
        Assert.Equal(1.0, GroundTruth.Recall([-1, -1], [-1, -1], 2, 1, 2));
    }

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Flat_ComputedGroundTruth_MatchesOracle_AndRecallIsOne(MetricType metric)
    {
        const int k = 5;
        var saved = _dir.Sub($"gt-{metric}.ivecs");
        var result = AnnBenchmark.Run(Options(metric, k) with { SaveGroundTruth = saved, Threads = 2, BuildThreads = 2 }, TextWriter.Null, TextWriter.Null);

        Assert.Equal(1.0, Assert.Single(result.Runs).Recall);
        var truth = VectorFile.ReadInts(saved, 0, out var count, out var width);
        Assert.Equal((QueryCount, k), (count, width));
        var rows = Enumerable.Range(0, Rows).Select(r => (r, _base.AsSpan(r * Dim, Dim).ToArray())).ToList();
        for (var q = 0; q < QueryCount; q++)
        {
            var oracle = BruteForce.TopK(rows, _queries.AsSpan(q * Dim, Dim).ToArray(), metric, k).Select(h => h.Key);
            Assert.Equal(oracle, truth.AsSpan(q * k, k).ToArray());
        }
    }

    [Fact]
    public void Run_WithGivenGroundTruth_Batches_AndMaxQueries()
    {
        var gt = _dir.Sub("gt.ivecs");
        AnnBenchmark.Run(Options(MetricType.L2, 10) with { SaveGroundTruth = gt }, TextWriter.Null, TextWriter.Null);

        var output = new StringWriter();
        var result = AnnBenchmark.Run(
            Options(MetricType.L2, 10) with { GroundTruth = gt, Batch = 8, Threads = 2, MaxQueries = 25, SearchParams = [IndexParameters.Empty, IndexParameters.Empty] },
            output, TextWriter.Null);

        Assert.Equal(25, result.Queries);
        Assert.Equal(2, result.Runs.Count);
        Assert.All(result.Runs, r => Assert.Equal(1.0, r.Recall));
        Assert.All(result.Runs, r => Assert.Equal(8, r.Measurement.Batch));
        Assert.Contains("recall@10", output.ToString());
    }

    [Fact]
    public void Run_QueriesOfAnotherDimension_NamesTheFiles()
    {
        var other = _dir.Sub("q3.fvecs");
        VectorFile.Write<float>(other, new float[9], 3);
        var e = Assert.Throws<QuiverException>(() => AnnBenchmark.Run(Options(MetricType.L2, 10) with { Queries = other }, TextWriter.Null, TextWriter.Null));
        Assert.Contains(other, e.Message);
        Assert.Contains(BasePath, e.Message);
        Assert.Contains("dimension 3", e.Message);
    }

    [Fact]
    public void Run_GroundTruthTooNarrowOrOutOfRange_IsAnError()
    {
        var narrow = _dir.Sub("narrow.ivecs");
        VectorFile.Write<int>(narrow, new int[QueryCount * 5], 5);
        Assert.Contains("top-5", Assert.Throws<QuiverException>(
            () => AnnBenchmark.Run(Options(MetricType.L2, 10) with { GroundTruth = narrow }, TextWriter.Null, TextWriter.Null)).Message);

        var wild = _dir.Sub("wild.ivecs");
        VectorFile.Write<int>(wild, Enumerable.Repeat(Rows, QueryCount * 10).ToArray(), 10);
        Assert.Contains("outside the 600 base vectors", Assert.Throws<QuiverException>(
            () => AnnBenchmark.Run(Options(MetricType.L2, 10) with { GroundTruth = wild }, TextWriter.Null, TextWriter.Null)).Message);
    }

    [Fact]
    public async Task BenchAnnCommand_Flat_WritesTheDocumentedJson()
    {
        var json = _dir.Sub("out.json");
        var root = new RootCommand { BenchCommand.Create() };
        var wholeRun = Stopwatch.StartNew();
        var code = await root.Parse([
            "bench", "ann", "--base", BasePath, "--queries", QueryPath, "--metric", "L2", "--index", "FLAT",
            "--search", "[{}]", "--k", "10", "--threads", "1", "--json", json, "--save-index", _dir.Sub("flat.idx"),
        ]).InvokeAsync(cancellationToken: CancellationToken.None);
        var wholeRunSeconds = wholeRun.Elapsed.TotalSeconds;
        Assert.Equal(0, code);

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json, CancellationToken.None));
        var r = doc.RootElement;
        Assert.Equal("quiver", r.GetProperty("name").GetString());
        Assert.Equal("FLAT", r.GetProperty("index").GetString());
        // Measured, not a placeholder: more than nothing, and within the run that contains it.
        var buildSeconds = r.GetProperty("build_seconds").GetDouble();
        Assert.True(buildSeconds > 0 && buildSeconds <= wholeRunSeconds, $"build_seconds {buildSeconds} outside (0, {wholeRunSeconds}]");
        Assert.Equal(0, r.GetProperty("index_bytes").GetInt64());
        Assert.True(r.GetProperty("peak_rss_bytes").GetInt64() > 0);
        Assert.Equal(new FileInfo(_dir.Sub("flat.idx")).Length, r.GetProperty("index_file_bytes").GetInt64());
        Assert.Equal(Rows * Dim * sizeof(float), r.GetProperty("raw_vector_bytes").GetInt64());
        var run = Assert.Single(r.GetProperty("runs").EnumerateArray());
        Assert.Equal(JsonValueKind.Object, run.GetProperty("params").ValueKind);
        Assert.Equal(1.0, run.GetProperty("recall").GetDouble());
        Assert.True(run.GetProperty("qps").GetDouble() > 0);
        Assert.True(run.GetProperty("p99_us").GetDouble() >= run.GetProperty("p50_us").GetDouble());
        // CPU per query and of the build: measured (an exact search of 600 rows costs CPU), and no more than every core
        // of the machine could have given over the whole run.
        var cpuCeiling = wholeRunSeconds * Environment.ProcessorCount;
        var cpuPerQuery = run.GetProperty("cpu_us").GetDouble();
        Assert.True(cpuPerQuery > 0 && cpuPerQuery * QueryCount / 1e6 <= cpuCeiling, $"cpu_us {cpuPerQuery} outside (0, {cpuCeiling * 1e6 / QueryCount}]");
        var buildCpu = r.GetProperty("build_cpu_seconds").GetDouble();
        Assert.True(buildCpu >= 0 && buildCpu <= cpuCeiling, $"build_cpu_seconds {buildCpu} outside [0, {cpuCeiling}]");
    }

    [Fact]
    public async Task BenchAnnCommand_BadArguments_ExitWithTwo()
    {
        var root = new RootCommand { BenchCommand.Create() };
        var ct = CancellationToken.None;
        Assert.Equal(2, await root.Parse(["bench", "ann", "--base", BasePath, "--queries", QueryPath, "--index", "NOPE"]).InvokeAsync(cancellationToken: ct));
        Assert.Equal(2, await root.Parse(["bench", "ann", "--base", BasePath, "--queries", QueryPath, "--search", "[1]"]).InvokeAsync(cancellationToken: ct));
        Assert.Equal(2, await root.Parse(["bench", "ann", "--base", BasePath, "--queries", QueryPath, "--search", "[{\"efx\":8}]"]).InvokeAsync(cancellationToken: ct));
    }

    [Fact]
    public void SearchList_ParsesAListOrOneObject()
    {
        var list = BenchCommand.ParseSearchList("[{\"ef\":10},{\"ef\":20}]");
        Assert.Equal(["10", "20"], list.Select(p => p.Values["ef"]));
        Assert.Single(BenchCommand.ParseSearchList("{\"nprobe\":4}"));
        Assert.Empty(BenchCommand.ParseSearchList(null));
        Assert.Contains("--search[1]", Assert.Throws<QuiverException>(() => BenchCommand.ParseSearchList("[{}, 3]")).Message);
    }

    [Fact]
    public void Datasets_Synthetic_IsSeeded_Cached_AndWhole()
    {
        var log = new StringWriter();
        var a = AnnDatasets.Ensure("synthetic:300x8:5", _dir.Sub("a"), AnnDatasets.FashionMnistFolder, 2, log);
        var b = AnnDatasets.Ensure("synthetic:300x8:5", _dir.Sub("b"), AnnDatasets.FashionMnistFolder, 1, TextWriter.Null);
        Assert.Equal(File.ReadAllBytes(a.Base), File.ReadAllBytes(b.Base));
        Assert.Equal(File.ReadAllBytes(a.QueryFile), File.ReadAllBytes(b.QueryFile));
        Assert.Equal(File.ReadAllBytes(a.GroundTruth), File.ReadAllBytes(b.GroundTruth));
        using (var gt = VectorFile.Open(a.GroundTruth))
        {
            Assert.Equal((10_000, AnnDatasets.GroundTruthK), (gt.Count, gt.Dimension));
        }

        AnnDatasets.Ensure("synthetic:300x8:5", _dir.Sub("a"), AnnDatasets.FashionMnistFolder, 2, log);
        Assert.Contains("cached", log.ToString());

        // A damaged file is noticed and the set is prepared again.
        File.WriteAllBytes(a.QueryFile, new byte[10]);
        var again = new StringWriter();
        AnnDatasets.Ensure("synthetic:300x8:5", _dir.Sub("a"), AnnDatasets.FashionMnistFolder, 2, again);
        Assert.Contains("preparing", again.ToString());
        Assert.Equal(File.ReadAllBytes(b.QueryFile), File.ReadAllBytes(a.QueryFile));
    }

    [Theory]
    [InlineData("synthetic:1000x16", "synthetic-1000x16-s42")]
    [InlineData("synthetic:500000x128:7", "synthetic-500000x128-s7")]
    [InlineData("synthetic:500000x128:7:10000", "synthetic-500000x128-s7")]
    [InlineData("synthetic:10000000x128:42:1000", "synthetic-10000000x128-s42-q1000")]
    [InlineData("fashion-mnist", "fashion-mnist")]
    public void Datasets_ParseSpec(string spec, string folder) => Assert.Equal(folder, AnnDatasets.ParseSpec(spec).Name);

    [Theory]
    [InlineData("synthetic")]
    [InlineData("synthetic:10x")]
    [InlineData("synthetic:10x8:42:0")]
    [InlineData("mnist")]
    public void Datasets_BadSpec_IsAnError(string spec) => Assert.Throws<QuiverException>(() => AnnDatasets.ParseSpec(spec));

    private AnnOptions Options(MetricType metric, int k) =>
        new(BasePath, QueryPath, null, metric, IndexKind.Flat, IndexParameters.Empty, [], K: k, Warmup: 5);
}
