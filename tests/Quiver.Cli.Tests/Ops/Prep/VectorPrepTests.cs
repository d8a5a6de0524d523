using System.Text.Json.Nodes;
using Quiver.Cli.Ops.Prep;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Prep;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Ops.Prep;

public sealed class VectorPrepTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-prep-vectors");

    public void Dispose() => _dir.Dispose();

    private static CliIo Io(bool json = false) => new(new StringWriter(), new StringWriter(), json);

    private string Jsonl(params string[] lines)
    {
        var path = _dir.Sub("in.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    private static readonly string[] Mixed =
    [
        "{\"id\":1,\"vector\":[1,0,0]}",
        "{\"id\":2,\"vector\":[0,1,0]}",
        "{\"id\":3,\"vector\":[1,2]}",
        "{\"id\":4,\"vector\":[NaN,0,1]}",
        "{\"id\":5,\"vector\":[0,0,0]}",
        "{\"id\":6,\"vector\":[100,0,0]}",
        "{\"id\":7,\"vector\":\"x\"}",
        "not json",
        "{\"id\":9,\"vector\":[0,0,1]}",
        "{\"id\":10,\"vector\":[0,1.0000001,0],\"tag\":\"t\"}",
        "{\"id\":11,\"vector\":[1,\"a\",-Infinity]}",
        "{\"id\":12,\"vector\":[1e39,0,0]}",
    ];

    [Fact]
    public async Task PrepVectors_EachValidationKind_ReportedWithRowNumbers()
    {
        var output = _dir.Sub("out.jsonl");
        var io = Io();
        var report = await VectorPrep.RunAsync(new VectorPrepOptions { Input = Jsonl(Mixed), Output = output, Format = VectorFormat.Jsonl }, io, CancellationToken.None);

        Assert.Equal(3, report.Dimension);
        Assert.Equal("first vector", report.DimensionSource);
        Assert.Equal(12, report.Rows);
        Assert.Equal(4, report.Written);
        Assert.Equal(8, report.Rejected);
        Assert.Equal(new VectorProblemCounts(Malformed: 3, WrongDimension: 1, NonFinite: 2, Zero: 1, Outlier: 1), report.Problems);
        var reasons = report.Rejections.ToDictionary(r => r.Number, r => r.Reason);
        Assert.Equal([3L, 4, 5, 6, 7, 8, 11, 12], reasons.Keys);
        Assert.Equal("dimension 2, expected 3", reasons[3]);
        Assert.Equal("component 0 is NaN", reasons[4]);
        Assert.Equal("zero vector", reasons[5]);
        Assert.StartsWith("norm 100 is ", reasons[6], StringComparison.Ordinal);
        Assert.EndsWith("robust deviations from the median norm 1 (limit 6)", reasons[6], StringComparison.Ordinal);
        Assert.Equal("field 'vector' is not an array of numbers", reasons[7]);
        Assert.StartsWith("not valid JSON", reasons[8], StringComparison.Ordinal);
        Assert.Equal("field 'vector' component 1 is \"a\", not a number", reasons[11]);
        Assert.Equal("component 0 is Infinity", reasons[12]);

        // The median and MAD come from the five finite non-zero vectors of dimension 3 (norms 1, 1, 100, 1, 1).
        Assert.Equal(5, report.NormsBefore.Count);
        Assert.Equal(1, report.NormsBefore.Median, 6);
        Assert.Equal(100, report.NormsBefore.Max);
        Assert.Equal(0.001, report.Outliers.Scale, 6);

        var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal([1, 2, 9, 10], rows.Select(r => (int)r["id"]!));
        Assert.Equal("t", (string)rows[3]["tag"]!);
        PrepOutput.WriteVectors(io, report);
        Assert.Contains("NaN / Inf", io.Out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepVectors_KeepInvalid_WritesZeroAndOutlierWithWarnings()
    {
        var output = _dir.Sub("out.jsonl");
        var report = await VectorPrep.RunAsync(new VectorPrepOptions
        {
            Input = Jsonl(Mixed), Output = output, Format = VectorFormat.Jsonl, KeepInvalid = true,
        }, Io(), CancellationToken.None);

        Assert.Equal(6, report.Written);
        Assert.Equal(6, report.Rejected);
        Assert.Equal([5L, 6], report.Warnings.Select(w => w.Number));
        Assert.Equal("zero vector (kept)", report.Warnings[0].Reason);
    }

    [Fact]
    public async Task PrepVectors_L2_RejectsZeroVectorEvenWhenKeeping()
    {
        var report = await VectorPrep.RunAsync(new VectorPrepOptions
        {
            Input = Jsonl("{\"vector\":[3,4]}", "{\"vector\":[0,0]}"), Output = _dir.Sub("o.jsonl"), Format = VectorFormat.Jsonl,
            Normalization = VectorNormalization.L2, KeepInvalid = true,
        }, Io(), CancellationToken.None);

        Assert.Equal(new PrepIssue(2, "zero vector: cannot be L2-normalized"), Assert.Single(report.Rejections));
    }

    private string Npy(string name, float[] values, int dim)
    {
        var path = _dir.Sub(name);
        VectorFile.Write<float>(path, values, dim);
        return path;
    }

    private async Task<(float[] Values, VectorPrepReport Report)> Normalize(VectorNormalization normalization, float[] values, int dim, string outName = "out.npy")
    {
        var output = _dir.Sub(outName);
        var report = await VectorPrep.RunAsync(new VectorPrepOptions
        {
            Input = Npy("in.npy", values, dim), Output = output, Format = VectorPrep.ResolveFormat(output, null),
            Normalization = normalization, OutlierZ = 0,
        }, Io(), CancellationToken.None);
        return (VectorFile.ReadFloats(output, 0, out _, out _), report);
    }

    private static readonly float[] ThreeRows = [3, 4, 1, 0, -1, 2];

    [Fact]
    public async Task PrepVectors_L2_MatchesHandComputed()
    {
        var (values, report) = await Normalize(VectorNormalization.L2, ThreeRows, 2);
        var s = 1 / MathF.Sqrt(5);
        Assert.Equal([0.6f, 0.8f, 1f, 0f, -s, 2 * s], values, new Tolerance(1e-6f));
        Assert.Equal(2, report.Passes);
        Assert.Equal((1.0, 1.0), (report.NormsAfter.Min, report.NormsAfter.Max), new PairTolerance(1e-6));
        Assert.Equal((1.0, 5.0), (report.NormsBefore.Min, report.NormsBefore.Max), new PairTolerance(1e-6));
        Assert.Null(report.DimensionStats);
    }

    [Fact]
    public async Task PrepVectors_MinMax_MatchesHandComputed()
    {
        // Dimension 0: 3, 1, -1 (min -1, max 3); dimension 1: 4, 0, 2 (min 0, max 4).
        var (values, report) = await Normalize(VectorNormalization.MinMax, ThreeRows, 2);
        Assert.Equal([1f, 1f, 0.5f, 0f, 0f, 0.5f], values, new Tolerance(1e-6f));
        Assert.Equal(3, report.Passes);
        Assert.Equal([new DimensionStat(0, -1, 3, 1, Math.Sqrt(8.0 / 3)), new DimensionStat(1, 0, 4, 2, Math.Sqrt(8.0 / 3))], report.DimensionStats!, new StatTolerance());
    }

    [Fact]
    public async Task PrepVectors_ZScore_MatchesHandComputed()
    {
        // Both dimensions have mean 1 / 2 and population standard deviation sqrt(8/3).
        var (values, _) = await Normalize(VectorNormalization.ZScore, ThreeRows, 2);
        var z = (float)(2 / Math.Sqrt(8.0 / 3));
        Assert.Equal([z, z, 0, -z, -z, 0], values, new Tolerance(1e-5f));
    }

    [Fact]
    public async Task PrepVectors_ConstantDimension_BecomesZeroWithoutDividingByZero()
    {
        float[] rows = [1, 5, 3, 5];
        var (minmax, _) = await Normalize(VectorNormalization.MinMax, rows, 2, "a.npy");
        Assert.Equal([0f, 0f, 1f, 0f], minmax);
        var (zscore, _) = await Normalize(VectorNormalization.ZScore, rows, 2, "b.fvecs");
        Assert.Equal([-1f, 0f, 1f, 0f], zscore);
    }

    [Fact]
    public async Task PrepVectors_OutliersLeftOutOfPerDimensionStatistics()
    {
        // Seven unit-ish rows and one huge one: min-max must be scaled by the good rows only.
        float[] rows = [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1000, 0];
        var output = _dir.Sub("o.npy");
        var report = await VectorPrep.RunAsync(new VectorPrepOptions
        {
            Input = Npy("in.npy", rows, 2), Output = output, Normalization = VectorNormalization.MinMax,
        }, Io(), CancellationToken.None);
        Assert.Equal(8, Assert.Single(report.Rejections).Number);
        Assert.Equal(1, report.DimensionStats![0].Max);
        Assert.Equal(7, VectorFile.ReadFloats(output, 0, out var count, out _).Length / 2);
        Assert.Equal(7, count);
    }

    [Fact]
    public async Task PrepVectors_WrongDimFlag_RejectsEveryRowOfTheFile()
    {
        var report = await VectorPrep.RunAsync(new VectorPrepOptions
        {
            Input = Npy("in.npy", ThreeRows, 2), Output = _dir.Sub("o.fvecs"), Format = VectorFormat.Fvecs, Dimension = 3,
        }, Io(), CancellationToken.None);
        Assert.Equal(3, report.Rejected);
        Assert.Equal([1L, 2, 3], report.Rejections.Select(r => r.Number));
        Assert.All(report.Rejections, r => Assert.Equal("dimension 2, expected 3", r.Reason));
        Assert.Equal(0, new FileInfo(_dir.Sub("o.fvecs")).Length);
    }

    [Fact]
    public async Task PrepVectors_TruncatedNpy_FailsNamingTheFileAndWritesNothing()
    {
        var path = Npy("t.npy", [.. Enumerable.Range(0, 12).Select(i => (float)i)], 4);
        using (var f = File.OpenWrite(path))
        {
            f.SetLength(f.Length - 6);
        }

        var output = _dir.Sub("o.npy");
        var e = await Assert.ThrowsAsync<QuiverException>(() => VectorPrep.RunAsync(
            new VectorPrepOptions { Input = path, Output = output }, Io(), CancellationToken.None));
        Assert.Contains("t.npy: truncated", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + ".tmp"));
    }

    [Fact]
    public async Task PrepVectors_JsonlRoundTrip_KeepsFieldsAndValues()
    {
        var lines = new[]
        {
            "{\"id\":\"a\",\"emb\":[0.1,-2.5,3],\"meta\":{\"k\":[1,2]}}",
            "{\"id\":\"b\",\"emb\":[1e-7,0.3333333432674408,-1]}",
        };
        var first = _dir.Sub("first.jsonl");
        await VectorPrep.RunAsync(new VectorPrepOptions { Input = Jsonl(lines), Output = first, Format = VectorFormat.Jsonl, Field = "emb" }, Io(), CancellationToken.None);
        var npy = _dir.Sub("mid.npy");
        await VectorPrep.RunAsync(new VectorPrepOptions { Input = first, Output = npy, Field = "emb" }, Io(), CancellationToken.None);
        var second = _dir.Sub("second.jsonl");
        await VectorPrep.RunAsync(new VectorPrepOptions { Input = npy, Output = second, Format = VectorFormat.Jsonl, Field = "emb" }, Io(), CancellationToken.None);

        var a = File.ReadAllLines(first).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal("a", (string)a[0]["id"]!);
        Assert.Equal("{\"k\":[1,2]}", a[0]["meta"]!.ToJsonString());
        float[][] expected = [[0.1f, -2.5f, 3f], [1e-7f, 0.33333334f, -1f]];
        Assert.Equal(expected, a.Select(r => r["emb"]!.AsArray().Select(v => (float)v!).ToArray()));
        Assert.Equal(expected.SelectMany(r => r), VectorFile.ReadFloats(npy, 0, out _, out _));
        var b = File.ReadAllLines(second).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal([0, 1], b.Select(r => (int)r["id"]!));
        Assert.Equal(expected, b.Select(r => r["emb"]!.AsArray().Select(v => (float)v!).ToArray()));
    }

    [Fact]
    public void NormHistogram_MedianAndMad_HandComputed()
    {
        // Norms 1, 2, 3, 4, 100: median 3; deviations 2, 1, 0, 1, 97 sort to 0, 1, 1, 2, 97: MAD 1.
        var histogram = new NormHistogram();
        foreach (var norm in new[] { 4.0, 100, 1, 3, 2 })
        {
            histogram.Add(norm);
        }

        Assert.Equal(new NormStats(5, 1, 3, 100), histogram.Summarize());
        Assert.Equal(1, histogram.MedianAbsoluteDeviation(3));

        // An even count takes the mean of the two middle values: two norms never make an outlier of each other.
        var two = new NormHistogram();
        two.Add(1);
        two.Add(3);
        Assert.Equal(2, two.Median());
        Assert.Equal(1, two.MedianAbsoluteDeviation(2));
    }

    [Fact]
    public void ResolveFormat_ExtensionMustMatch()
    {
        Assert.Equal(VectorFormat.Fvecs, VectorPrep.ResolveFormat("x.fvecs", null));
        Assert.Equal(VectorFormat.Jsonl, VectorPrep.ResolveFormat("x.txt", "jsonl"));
        Assert.Throws<ToolboxException>(() => VectorPrep.ResolveFormat("x.bin", "npy"));
        Assert.Throws<ToolboxException>(() => VectorPrep.ResolveFormat("x.bin", null));
    }

    [Fact]
    public void StreamingWriter_NpyCountPatchedAtTheEnd_AndAbandonedFileDeleted()
    {
        var path = _dir.Sub("w.npy");
        using (var writer = VectorFile.Create(path, VectorElement.Float32, 2))
        {
            for (var i = 0; i < 1000; i++)
            {
                writer.Append<float>([i, -i]);
            }

            writer.Complete();
        }

        var back = VectorFile.ReadFloats(path, 0, out var count, out var dim);
        Assert.Equal((1000, 2), (count, dim));
        Assert.Equal((999f, -999f), (back[1998], back[1999]));
        Assert.Equal(0, (new FileInfo(path).Length - (1000 * 8)) % 64);

        var abandoned = _dir.Sub("gone.npy");
        using (var writer = VectorFile.Create(abandoned, VectorElement.Float32, 2))
        {
            writer.Append<float>([1, 2]);
        }

        Assert.False(File.Exists(abandoned));
        Assert.Empty(Directory.GetFiles(_dir.Path, "gone*"));
    }

    private sealed class Tolerance(float epsilon) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= epsilon;

        public int GetHashCode(float obj) => 0;
    }

    private sealed class PairTolerance(double epsilon) : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) x, (double, double) y) => Math.Abs(x.Item1 - y.Item1) <= epsilon && Math.Abs(x.Item2 - y.Item2) <= epsilon;

        public int GetHashCode((double, double) obj) => 0;
    }

    private sealed class StatTolerance : IEqualityComparer<DimensionStat>
    {
        public bool Equals(DimensionStat? x, DimensionStat? y) => x is not null && y is not null && x.Dimension == y.Dimension
            && Math.Abs(x.Min - y.Min) < 1e-9 && Math.Abs(x.Max - y.Max) < 1e-9 && Math.Abs(x.Mean - y.Mean) < 1e-9 && Math.Abs(x.Std - y.Std) < 1e-9;

        public int GetHashCode(DimensionStat obj) => 0;
    }
}
