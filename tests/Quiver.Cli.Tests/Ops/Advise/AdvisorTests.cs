using System.Globalization;
using System.Text.Json;
using Quiver.Cli.Ops.Advise;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Tests.Ops.Tune;
using Quiver.Client;
using Quiver.Indexing;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Ops.Advise;

public sealed class AdvisorTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-advise");

    public AdvisorTests()
    {
        VectorFile.Write<float>(VectorsPath, TuneData.Clustered(3000, seed: 11), TuneData.Dim);
    }

    private string VectorsPath => _dir.Sub("base.npy");

    public void Dispose() => _dir.Dispose();

    private static (CliIo Io, StringWriter Out) Io(bool json = false)
    {
        var o = new StringWriter();
        return (new CliIo(o, new StringWriter(), json), o);
    }

    private AdviseOptions FileOptions(long rows) => new() { VectorsPath = VectorsPath, Rows = rows, Sample = 1500, Queries = 60, TargetRecall = 0.9, Threads = 2 };

    private static long Expected(AdviceCandidate c, long rows, int segmentRows)
    {
        IndexKindNames.TryParse(c.IndexType, out var kind);
        var p = new IndexParameters(c.BuildParams.ToDictionary(x => x.Key, x => x.Value.ToString(CultureInfo.InvariantCulture)));
        var full = rows / segmentRows;
        var last = (int)(rows - (full * segmentRows));
        return (full * IndexMemory.Estimate(kind, MetricType.L2, p, segmentRows, TuneData.Dim)) + (last > 0 ? IndexMemory.Estimate(kind, MetricType.L2, p, last, TuneData.Dim) : 0);
    }

    [Fact]
    public async Task Advise_TinyCollection_PicksFlat()
    {
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Sub("data")))
        {
            await TuneData.CreateAsync(QuiverClient.FromEngine(engine), "tiny", null, null, count: 400);
        }

        var (io, output) = Io();
        var r = await AdviseOutput.RunAsync(
            new AdviseOptions { Target = TargetSpec.Folder(_dir.Sub("data")), Collection = "tiny", Sample = 2000, Queries = 50, Threads = 2 }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.Equal("collection tiny.vector", r.Source);
        Assert.Equal((400L, 350, 50), (r.PlannedRows, r.SampleRows, r.Queries));
        Assert.Equal("FLAT", r.Recommended!.IndexType);
        Assert.Equal(1.0, r.Recommended.SampleRecall);
        Assert.Equal(7, r.Candidates.Count);
        Assert.StartsWith("< 10K rows", r.Scenario);
        Assert.StartsWith("chosen: below 10K rows FLAT is exact", r.Recommended.Reason);
        Assert.Contains("<== chosen:", output.ToString());
    }

    [Fact]
    public async Task Advise_LargePlannedRows_PicksAnnIndex_WithMemoryOfIndexMemoryPerSegment()
    {
        var (io, output) = Io(json: true);

        var r = await AdviseOutput.RunAsync(FileOptions(1_000_000), io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.Equal((1500, 60, "file " + VectorsPath), (r.SampleRows, r.Queries, r.Source));
        Assert.NotEqual("FLAT", r.Recommended!.IndexType);
        Assert.True(r.Recommended.SampleRecall >= 0.9);
        // The engine's defaults merge segments up to SegmentMaxBytes: a million 24-d rows make one segment.
        var defaults = new QuiverOptions();
        var layout = SegmentLayout.For(1_000_000, TuneData.Dim, defaults.SegmentMaxRows, defaults.SegmentMaxBytes);
        Assert.Equal((1L, defaults.SegmentMaxRows), (layout.Segments, layout.SegmentRows));
        Assert.Equal((layout.Segments, layout.SegmentRows), (r.Segments, r.SegmentRows));
        foreach (var c in r.Candidates)
        {
            Assert.Equal(Expected(c, 1_000_000, layout.SegmentRows), c.IndexBytes);
            Assert.Equal(1_000_000L * TuneData.Dim * sizeof(float), c.RawBytes);
            Assert.Equal(c.IndexBytes + (c.IndexType == "FLAT" ? c.RawBytes : 0), c.BudgetBytes);
        }

        // IVF nlist follows the largest segment (about 4 sqrt(1,000,000)), nprobe keeps the sample's probed fraction.
        var ivf = r.Candidates.Single(c => c.IndexType == "IVF_FLAT");
        Assert.Equal(4000, ivf.BuildParams["nlist"]);
        Assert.Equal(155, ivf.SampleBuildParams["nlist"]);
        Assert.Equal(AdviceModel.ScaleNprobe(ivf.SampleSearchParams["nprobe"], 155, 4000), ivf.SearchParams["nprobe"]);
        using var doc = JsonDocument.Parse(output.ToString());
        Assert.Equal(r.Recommended.IndexType, doc.RootElement.GetProperty("recommended").GetProperty("indexType").GetString());
    }

    [Fact]
    public async Task Advise_TightMemoryBudget_PicksQuantizedIvfOverHnsw()
    {
        const long rows = 2_000_000;
        var defaults = new QuiverOptions();
        var layout = SegmentLayout.For(rows, TuneData.Dim, defaults.SegmentMaxRows, defaults.SegmentMaxBytes);
        var nlist = AdviceModel.Nlist(layout.LargestRows).ToString(CultureInfo.InvariantCulture);
        var hnsw = AdviceModel.IndexBytes(IndexKind.Hnsw, MetricType.L2, new(new Dictionary<string, string> { ["M"] = "16" }), layout, TuneData.Dim);
        var ivfFlat = AdviceModel.IndexBytes(IndexKind.IvfFlat, MetricType.L2, new(new Dictionary<string, string> { ["nlist"] = nlist }), layout, TuneData.Dim);
        var budget = Math.Min(hnsw, ivfFlat) - 1;
        var (io, output) = Io();

        var r = await AdviseOutput.RunAsync(FileOptions(rows) with { MemoryBudgetBytes = budget }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.Contains(r.Recommended!.IndexType, new[] { "IVF_SQ8", "IVF_PQ", "DISKANN" });
        Assert.True(r.Recommended.BudgetBytes <= budget);
        Assert.All(r.Candidates.Where(c => c.IndexType is "HNSW" or "IVF_FLAT"), c =>
        {
            Assert.False(c.FitsBudget);
            Assert.Contains("over the budget", c.Reason);
        });
        Assert.Contains("> 1M rows", r.Scenario);
        Assert.Contains("needs ", output.ToString());
    }

    [Fact]
    public async Task Advise_BudgetBelowEveryInMemoryIndex_OffersDiskAnnByItsResidentMemory()
    {
        const long rows = 2_000_000;
        var defaults = new QuiverOptions();
        var layout = SegmentLayout.For(rows, TuneData.Dim, defaults.SegmentMaxRows, defaults.SegmentMaxBytes);
        var nlist = AdviceModel.Nlist(layout.LargestRows).ToString(CultureInfo.InvariantCulture);
        IndexParameters P(string k, string v) => new(new Dictionary<string, string> { [k] = v });
        var inMemory = new[]
        {
            AdviceModel.IndexBytes(IndexKind.Hnsw, MetricType.L2, P("M", "16"), layout, TuneData.Dim),
            AdviceModel.IndexBytes(IndexKind.IvfFlat, MetricType.L2, P("nlist", nlist), layout, TuneData.Dim),
            AdviceModel.IndexBytes(IndexKind.IvfSq8, MetricType.L2, P("nlist", nlist), layout, TuneData.Dim),
        };
        var budget = inMemory.Min() - 1;
        var (io, output) = Io();

        var r = await AdviseOutput.RunAsync(FileOptions(rows) with { MemoryBudgetBytes = budget }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        var diskann = Assert.Single(r.Candidates, c => c.IndexType == "DISKANN");
        Assert.True(diskann.Measured, diskann.Reason);
        Assert.True(diskann.FitsBudget, $"{diskann.BudgetBytes} > {budget}");
        Assert.Equal(Expected(diskann, rows, layout.SegmentRows), diskann.IndexBytes);
        Assert.True(diskann.IndexBytes < diskann.RawBytes / 2, "its resident part is well below the vectors");
        Assert.Contains(r.Recommended!.IndexType, new[] { "IVF_PQ", "DISKANN" });
        if (r.Recommended.IndexType == "DISKANN")
        {
            // The verdict says why: the in-memory candidates that meet the targets are over the budget.
            Assert.Contains("not the memory budget", r.Recommended.Reason);
        }

        // AUTOINDEX under the same budget: HNSW's resident memory over the 2M rows is above it, so DISKANN.
        Assert.StartsWith("DISKANN: its HNSW would keep", r.AutoIndex);
        Assert.Contains("AUTOINDEX under this budget: DISKANN", output.ToString());
    }

    [Fact]
    public async Task Advise_NoBudgetLeft_ExitsTwo()
    {
        var (io, output) = Io();

        var r = await AdviseOutput.RunAsync(FileOptions(50_000) with { MemoryBudgetBytes = 1 }, io, default);

        Assert.Equal(ExitCodes.CheckFailed, CliIo.ExitCodeOf(r));
        Assert.Null(r.Recommended);
        Assert.StartsWith("no candidate meets every target", r.Summary);
        Assert.Contains("no candidate", output.ToString());
    }

    [Fact]
    public async Task Advise_WithoutData_MeasuresSyntheticVectors_SingleSegmentMemoryIsIndexMemory()
    {
        var (io, output) = Io();

        var r = await AdviseOutput.RunAsync(new AdviseOptions { Rows = 100_000, Dimension = 16, Sample = 1500, Queries = 50, TargetRecall = 0.9, Threads = 2 }, io, default);

        Assert.True(r.Synthetic);
        Assert.Equal((1L, 100_000L), (r.Segments, r.PlannedRows));
        foreach (var c in r.Candidates)
        {
            IndexKindNames.TryParse(c.IndexType, out var kind);
            var p = new IndexParameters(c.BuildParams.ToDictionary(x => x.Key, x => x.Value.ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(IndexMemory.Estimate(kind, MetricType.L2, p, 100_000, 16), c.IndexBytes);
        }

        Assert.Contains("synthetic", output.ToString());
    }

    [Fact]
    public async Task Advise_BadOptions_NameTheProblem()
    {
        var (io, _) = Io();
        var both = await Assert.ThrowsAsync<ToolboxException>(() => AdviseOutput.RunAsync(new AdviseOptions { Collection = "c", VectorsPath = "v.npy" }, io, default));
        Assert.Contains("not both", both.Message);
        var none = await Assert.ThrowsAsync<ToolboxException>(() => AdviseOutput.RunAsync(new AdviseOptions { Rows = 10 }, io, default));
        Assert.Contains("AdviseOptions.Rows and AdviseOptions.Dimension", none.Message, StringComparison.Ordinal);
        Assert.Contains("--rows and --dim", CliWording.Flags(none.Message), StringComparison.Ordinal);
        var dim = await Assert.ThrowsAsync<ToolboxException>(() => AdviseOutput.RunAsync(FileOptions(10) with { Dimension = 7 }, io, default));
        Assert.Contains("AdviseOptions.Dimension 7 does not match", dim.Message, StringComparison.Ordinal);
        Assert.Contains("--dim 7 does not match", CliWording.Flags(dim.Message), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4GiB", 4L << 30)]
    [InlineData("512 MiB", 512L << 20)]
    [InlineData("2GB", 2_000_000_000L)]
    [InlineData("1.5k", 1536L)]
    [InlineData("1000", 1000L)]
    public void ByteSize_Parse_KnowsBinaryAndDecimalUnits(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text, "--memory-budget"));

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-1GiB")]
    public void ByteSize_Parse_RejectsNonsense(string text) =>
        Assert.Contains("--memory-budget", Assert.Throws<ToolboxException>(() => ByteSize.Parse(text, "--memory-budget")).Message);

    [Fact]
    public void AdviceModel_LatencyFactors_FollowStatedModels()
    {
        var one = SegmentLayout.For(20_000, 128, 131_072, 512L << 20);
        Assert.Equal(10.0, AdviceModel.LatencyFactor(IndexKind.Flat, 2000, one), 9);
        Assert.Equal(Math.Log(20_000) / Math.Log(2000), AdviceModel.LatencyFactor(IndexKind.Hnsw, 2000, one), 9);

        // IVF: nlist + nprobe * rows / nlist per segment.
        var two = SegmentLayout.For(200_000, 128, 100_000, 512L << 20);
        Assert.Equal(2, two.Segments);
        var expected = 2 * (400 + (40.0 * 100_000 / 400)) / (100 + (10.0 * 2000 / 100));
        Assert.Equal(expected, AdviceModel.LatencyFactor(IndexKind.IvfFlat, 2000, two, 100, 10, 400, 40), 9);

        // IVF_PQ: entries cost 0.15 of a distance (the planner's figure), plus the re-rank of refine_k * k.
        var pq = 2 * (400 + (40.0 * 100_000 / 400 * 0.15) + (2 * 10)) / (100 + (10.0 * 2000 / 100 * 0.15) + (2 * 10));
        Assert.Equal(pq, AdviceModel.LatencyFactor(IndexKind.IvfPq, 2000, two, 100, 10, 400, 40, refineK: 2, k: 10), 9);

        // Wide vectors fill the 512 MiB vector limit before the row limit.
        Assert.Equal(65_536, SegmentLayout.For(1_000_000, 2048, 131_072, 512L << 20).SegmentRows);
    }
}
