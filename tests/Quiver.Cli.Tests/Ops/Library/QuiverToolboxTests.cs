using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary>The toolbox called as a library (issue 15 item 5): <see cref="QuiverToolbox"/> with no command line, no
/// console, no exit codes; results checked against hand-computed values and the brute-force search, progress and notes
/// through <see cref="IProgress{T}"/>, refusals as <see cref="ToolboxException"/>.</summary>
public sealed class QuiverToolboxTests : IDisposable
{
    private const int Dim = 8;
    private readonly TempFolder _dir = new("quiver-toolbox-lib");

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.Sub(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Collects reports synchronously (a <see cref="Progress{T}"/> would post them to the thread pool, so a
    /// test could look before the last one arrived).</summary>
    private sealed class Recorder : IProgress<ToolboxProgress>
    {
        public List<ToolboxProgress> Reports { get; } = [];

        public void Report(ToolboxProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact]
    public async Task EvalAsync_RunAndQrels_ReturnsTheMetricsAndReportsNotes()
    {
        // q1: relevant a (grade 2) at rank 1 and b (grade 1) at rank 3 of k = 3: P 2/3, R 1, AP (1 + 2/3) / 2 = 5/6,
        //     RR 1, DCG 2 + 1/log2(4) = 2.5, IDCG 2 + 1/log2(3), NDCG 2.5 / IDCG.
        // q2: relevant c at rank 2: P 1/3, R 1, AP 1/2, RR 1/2, NDCG (1/log2(3)) / 1.   q9: in the run only (a note).
        var qrels = Write("qrels.txt", "q1 0 a 2\nq1 0 b 1\nq2 0 c 1\n");
        var run = Write("run.txt", "q1 Q0 a 1 0.9 t\nq1 Q0 x 2 0.8 t\nq1 Q0 b 3 0.7 t\nq2 Q0 y 1 0.9 t\nq2 Q0 c 2 0.8 t\nq9 Q0 a 1 1 t\n");
        var progress = new Recorder();

        var r = await QuiverToolbox.EvalAsync(new EvalOptions { QrelsPath = qrels, RunPath = run, K = 3 }, progress);

        var m = r.Mean!;
        Assert.Equal(2, m.Queries);
        Assert.Equal(((2.0 / 3) + (1.0 / 3)) / 2, m.Precision, 1e-9);
        Assert.Equal(1.0, m.Recall, 1e-9);
        Assert.Equal(((5.0 / 6) + 0.5) / 2, m.Map, 1e-9);
        Assert.Equal((1 + 0.5) / 2, m.Mrr, 1e-9);
        Assert.Equal(((2.5 / (2 + (1 / Math.Log2(3)))) + (1 / Math.Log2(3))) / 2, m.Ndcg, 1e-9);
        Assert.Equal(["q9"], r.NotInQrels);
        var note = Assert.Single(progress.Reports, p => p.Note is not null);
        Assert.Contains("q9", note.Note, StringComparison.Ordinal);
        Assert.Null(note.Stage);
    }

    [Fact]
    public async Task EvalAsync_BadInput_ThrowsToolboxExceptionNamingIt()
    {
        var run = Write("run.txt", "q1 Q0 a 1 0.9 t\n");
        var missing = _dir.Sub("nowhere.txt");

        var e = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.EvalAsync(new EvalOptions { QrelsPath = missing, RunPath = run }));

        Assert.Contains("nowhere.txt", e.Message, StringComparison.Ordinal);
        var both = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.EvalAsync(new EvalOptions { RunPath = run, QueriesPath = run }));
        Assert.False(string.IsNullOrWhiteSpace(both.Message));
    }

    [Fact]
    public async Task HealthAsync_Folder_ProbesAgainstExactSearch_AndReportsStagesToTheEnd()
    {
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Sub("data"), new QuiverOptions { BackgroundMaintenance = false }))
        {
            await engine.CreateCollectionAsync("items", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
            });
            var random = new Random(5);
            await engine.InsertAsync("items", Enumerable.Range(0, 300)
                .Select(i => new Row { ["id"] = (long)i, ["vec"] = Enumerable.Range(0, Dim).Select(_ => random.NextSingle()).ToArray() }).ToList());
        }

        var progress = new Recorder();
        var report = await QuiverToolbox.HealthAsync(
            new HealthOptions(TargetSpec.Folder(_dir.Sub("data")), TimeSpan.FromSeconds(1), Probes: 7, K: 5, HealthThresholds.Load(null, ["probe.p99_ms.fail=none"])),
            progress);

        // No index: every probe is an exact search, so recall against the exact search is 1 and nothing fails.
        Assert.True(report.Healthy);
        var items = Assert.Single(report.Collections);
        Assert.Equal(300L, items.Rows);
        Assert.Equal((7, 5, 1.0), (items.Probe!.Queries, items.Probe.K, items.Probe.Recall));
        var recall = Assert.Single(report.Checks, c => c.Check == HealthThresholds.ProbeRecall);
        Assert.Equal(("default.items", "ok"), (recall.Subject, recall.Status));
        Assert.Null(report.Checks.Single(c => c.Check == HealthThresholds.ProbeP99).Fail);

        // The probing stage was reported from its start (0 of 7) to its end (7 of 7, Done).
        var probing = progress.Reports.Where(p => p.Stage == "probing").ToList();
        Assert.Equal((0L, 7L, false), (probing[0].Value, probing[0].Total!.Value, probing[0].Done));
        Assert.Equal((7L, 7L, true), (probing[^1].Value, probing[^1].Total!.Value, probing[^1].Done));
        Assert.Equal("searches", probing[^1].Unit);
        Assert.Single(probing, p => p.Done);
    }
}
