using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Eval;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Eval;

namespace Quiver.Cli.Tests.Ops.Eval;

public sealed class EvalRunnerTests : IDisposable
{
    private const string Collection = "docs";
    private readonly TempFolder _dir = new("quiver-eval");

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.Sub(name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (CliIo Io, StringWriter Out, StringWriter Err) Io(bool json = false)
    {
        StringWriter o = new(), e = new();
        return (new CliIo(o, e, json), o, e);
    }

    [Fact]
    public async Task RunFile_MixedQueries_CountsZerosSkipsUnjudgedAndReports()
    {
        // qrels: q1 d1 = 2, d2 = 1, d3 = 0; q2 d4 = 1; q3 only d9 = 0 (no relevant document); q5 d1 = 1 (no results).
        // run (k = 3): q1 d2 d3 d1 d2 (d2 again: removed, kept at rank 1); q2 d5; q3 d9; q4 d1 (not in the qrels).
        // q1: relevant at ranks 1 (d2, grade 1) and 3 (d1, grade 2): P = 2/3, R = 1, AP = (1/1 + 2/3) / 2 = 5/6, RR = 1,
        //     DCG = 1/log2(2) + 2/log2(4) = 2, IDCG = 2/1 + 1/log2(3) = 2.630930, NDCG = 0.760182.
        // q2: nothing relevant found: every metric 0.   q5: no results: every metric 0.   q3 and q4: left out.
        // Means over q1, q2, q5: P = (2/3)/3 = 2/9, R = 1/3, MAP = (5/6)/3 = 5/18, MRR = 1/3, NDCG = 0.760182/3, hits = 2/3.
        var qrels = Write("qrels.txt", "q1 0 d1 2\nq1 0 d2 1\nq1 0 d3 0\nq2 0 d4 1\nq3 0 d9 0\nq5 0 d1 1\n");
        var run = Write("run.txt", "q1 Q0 d2 1 0.9 t\nq1 Q0 d3 2 0.8 t\nq1 Q0 d1 3 0.7 t\nq1 Q0 d2 4 0.1 t\nq2 Q0 d5 1 1 t\nq3 Q0 d9 1 1 t\nq4 Q0 d1 1 1 t\n");
        var (io, _, err) = Io(json: true);

        var r = await EvalOutput.RunAsync(new EvalOptions { QrelsPath = qrels, RunPath = run, K = 3 }, io, CancellationToken.None);

        var m = r.Mean!;
        Assert.Equal(3, m.Queries);
        Assert.Equal(2.0 / 9, m.Precision, 1e-9);
        Assert.Equal(1.0 / 3, m.Recall, 1e-9);
        Assert.Equal(5.0 / 18, m.Map, 1e-9);
        Assert.Equal(1.0 / 3, m.Mrr, 1e-9);
        Assert.Equal(2 / (2 + (1 / Math.Log2(3))) / 3, m.Ndcg, 1e-9);
        Assert.Equal(2.0 / 3, m.Hits, 1e-9);
        Assert.Equal(["q4"], r.NotInQrels);
        Assert.Equal(["q3"], r.NoRelevant);
        Assert.Equal(["q5"], r.NoResults);
        Assert.Equal(1, r.DuplicatesRemoved);
        Assert.Equal(["q1", "q2", "q3", "q5", "q4"], r.PerQuery.Select(q => q.QueryId));
        Assert.Equal(3, r.PerQuery[0].Metrics!.Retrieved);
        Assert.Null(r.PerQuery[2].Metrics);
        Assert.Equal(0, r.PerQuery[3].Metrics!.Ndcg);

        // The curve at cutoff 3 is the mean table's values.
        Assert.Equal(m.Precision, r.Curve!.Precision[2], 1e-12);
        Assert.Equal(m.Recall, r.Curve.Recall[2], 1e-12);
        Assert.Equal(m.Ndcg, r.Curve.Ndcg[2], 1e-12);
        Assert.Equal(1.0 / 3, r.Curve.Precision[0], 1e-12);

        var stderr = err.ToString();
        Assert.Contains("1 queries of the run are not in the qrels; ignored: q4", stderr, StringComparison.Ordinal);
        Assert.Contains("no document graded > 0; left out of the means: q3", stderr, StringComparison.Ordinal);
        Assert.Contains("no results; counted as 0 in every metric: q5", stderr, StringComparison.Ordinal);
        Assert.Contains("1 repeated documents removed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunFile_Json_HasMeanAndPerQuery()
    {
        var qrels = Write("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n");
        var run = Write("run.txt", "q1 Q0 d0 1 2 t\nq1 Q0 d1 2 1 t\n");
        var (io, stdout, _) = Io(json: true);

        await EvalOutput.RunAsync(new EvalOptions { QrelsPath = qrels, RunPath = run, K = 2 }, io, CancellationToken.None);

        using var doc = JsonDocument.Parse(stdout.ToString());
        var root = doc.RootElement;
        Assert.Equal(0.5, root.GetProperty("mean").GetProperty("mrr").GetDouble(), 1e-12);
        var q1 = root.GetProperty("perQuery")[0];
        Assert.Equal("q1", q1.GetProperty("queryId").GetString());
        Assert.Equal(0.5, q1.GetProperty("metrics").GetProperty("precision").GetDouble(), 1e-12);
        Assert.Equal(2, root.GetProperty("curve").GetProperty("recall").GetArrayLength());
    }

    [Fact]
    public async Task RunFile_Table_ShowsMeansAndPerQuery()
    {
        var qrels = Write("qrels.txt", "q1 0 d1 1\n");
        var run = Write("run.txt", "q1 Q0 d1 1 1 t\n");
        var (io, stdout, _) = Io();

        await EvalOutput.RunAsync(new EvalOptions { QrelsPath = qrels, RunPath = run, K = 4, PerQuery = true }, io, CancellationToken.None);

        var text = stdout.ToString();
        Assert.Matches(@"│ P@4\s+│ 0\.25\s+│", text);
        Assert.Matches(@"│ NDCG@4\s+│ 1\s+│", text);
        Assert.Matches(@"│ q1\s+│ 1\s+│ 1\s+│ 1\s+│ 0\.25\s+│", text);
    }

    [Fact]
    public async Task RunFile_WithSearchOptions_IsRefused()
    {
        var (io, _, _) = Io();
        var e = await Assert.ThrowsAsync<ToolboxException>(() => EvalOutput.RunAsync(
            new EvalOptions { QrelsPath = Write("q.txt", "q 0 d 1\n"), RunPath = Write("r.txt", "q Q0 d 1 1 t\n"), AnnRecall = true },
            io, CancellationToken.None));
        Assert.Contains("EvalOptions.AnnRecall applies to a search", e.Message, StringComparison.Ordinal);
        Assert.Contains("--ann-recall applies to a search", CliWording.Flags(e.Message), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunFile_MalformedQrels_FailsWithFileAndLine()
    {
        var qrels = Write("q.txt", "q1 0 d1 1\nq1 0 d2\n");
        var (io, stdout, _) = Io();
        var e = await Assert.ThrowsAsync<ToolboxException>(() => EvalOutput.RunAsync(
            new EvalOptions { QrelsPath = qrels, RunPath = Write("r.txt", "q1 Q0 d1 1 1 t\n") }, io, CancellationToken.None));
        Assert.StartsWith($"{qrels} line 2: expected 4 fields", e.Message, StringComparison.Ordinal);
        Assert.Equal("", stdout.ToString());
    }

    /// <summary>Ten rows on a line, row i at (i, 0); rows 2j and 2j + 1 are chunks of document "doc{j}".</summary>
    private async Task<string> LineCollectionAsync()
    {
        var path = _dir.Sub("data");
        await using var engine = await QuiverEngine.OpenAsync(path);
        await engine.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("doc", 16), FieldSchema.Vector("v", 2, MetricType.L2)],
        });
        var rows = Enumerable.Range(0, 10)
            .Select(i => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = (long)i, ["doc"] = $"doc{i / 2}", ["v"] = new float[] { i, 0 } })
            .ToList();
        await engine.InsertAsync(Collection, rows);
        return path;
    }

    private string LineQueries() => Write("queries.jsonl", "{\"id\": \"q1\", \"vector\": [0.1, 0]}\n{\"id\": \"q2\", \"vector\": [9.2, 0]}\n");

    [Fact]
    public async Task Search_KnownNeighbours_MatchesHandComputedMetricsAndSavesRun()
    {
        // q1 at (0.1, 0): top 3 = rows 0, 1, 2. qrels q1: 0 = 2, 5 = 1 -> hit at rank 1 only:
        //   P = 1/3, R = 1/2, AP = (1/1) / 2 = 1/2, RR = 1, NDCG = (2/1) / (2/1 + 1/log2(3)) = 0.760182.
        // q2 at (9.2, 0): top 3 = rows 9, 8, 7. qrels q2: 7 = 1 -> hit at rank 3:
        //   P = 1/3, R = 1, AP = (1/3) / 1 = 1/3, RR = 1/3, NDCG = (1/log2(4)) / 1 = 1/2.
        var data = await LineCollectionAsync();
        var qrels = Write("qrels.txt", "q1 0 0 2\nq1 0 5 1\nq2 0 7 1\n");
        var outRun = _dir.Sub("searched.run");
        var (io, _, err) = Io(json: true);

        var r = await EvalOutput.RunAsync(new EvalOptions
        {
            QrelsPath = qrels, QueriesPath = LineQueries(), Target = TargetSpec.Folder(data), Collection = Collection, K = 3, OutRunPath = outRun,
        }, io, CancellationToken.None);

        var q1 = r.PerQuery.Single(q => q.QueryId == "q1").Metrics!;
        var q2 = r.PerQuery.Single(q => q.QueryId == "q2").Metrics!;
        Assert.Equal((1.0 / 3, 0.5, 0.5, 1.0), (q1.Precision, q1.Recall, q1.AveragePrecision, q1.ReciprocalRank));
        Assert.Equal(2 / (2 + (1 / Math.Log2(3))), q1.Ndcg, 1e-9);
        Assert.Equal((1.0 / 3, 1.0, 1.0 / 3, 1.0 / 3, 0.5), (q2.Precision, q2.Recall, q2.AveragePrecision, q2.ReciprocalRank, q2.Ndcg));
        Assert.Equal(5.0 / 12, r.Mean!.Map, 1e-9);
        Assert.Equal(outRun, r.RunWritten);
        Assert.Contains("run written to", err.ToString(), StringComparison.Ordinal);

        // The saved run: L2 distances negated so that a larger score ranks first, as TREC tools read it
        // (q1: 0.1² = 0.01; q2: (9.2 - 9)² = 0.04, (9.2 - 8)² = 1.44).
        var saved = TrecRun.Read(outRun);
        Assert.Equal(["0", "1", "2"], saved.Find("q1")!.Select(e => e.DocId));
        Assert.Equal(["9", "8", "7"], saved.Find("q2")!.Select(e => e.DocId));
        Assert.Equal(-0.01, saved.Find("q1")![0].Score, 1e-6);
        Assert.Equal(-0.04, saved.Find("q2")![0].Score, 1e-5);
        Assert.Equal(-1.44, saved.Find("q2")![1].Score, 1e-5);
    }

    [Fact]
    public async Task Search_IdFieldAndFilter_MapsChunksToDocumentsOnce()
    {
        // Filter id >= 3: q1's top 4 = rows 3, 4, 5, 6 -> documents doc1, doc2, doc2, doc3 -> doc1, doc2, doc3 (one
        // repeat removed). qrels: doc2 = 1, doc4 = 1 -> hit at rank 2: P@4 = 1/4, R = 1/2, AP = (1/2) / 2 = 1/4, RR = 1/2.
        var data = await LineCollectionAsync();
        var qrels = Write("qrels.txt", "q1 0 doc2 1\nq1 0 doc4 1\n");
        var queries = Write("queries.jsonl", "{\"id\": \"q1\", \"vector\": [0.1, 0]}\n");
        var (io, _, err) = Io(json: true);

        var r = await EvalOutput.RunAsync(new EvalOptions
        {
            QrelsPath = qrels, QueriesPath = queries, Target = TargetSpec.Folder(data), Collection = Collection, K = 4, IdField = "doc",
            Filter = "id >= 3",
        }, io, CancellationToken.None);

        var q1 = Assert.Single(r.PerQuery);
        Assert.Equal(1, q1.DuplicatesRemoved);
        Assert.Equal((3, 0.25, 0.5, 0.25, 0.5), (q1.Metrics!.Retrieved, q1.Metrics.Precision, q1.Metrics.Recall, q1.Metrics.AveragePrecision, q1.Metrics.ReciprocalRank));
        Assert.Contains("1 repeated documents removed", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_UnknownIdField_IsAnError()
    {
        var data = await LineCollectionAsync();
        var (io, _, _) = Io();
        var e = await Assert.ThrowsAsync<ToolboxException>(() => EvalOutput.RunAsync(new EvalOptions
        {
            QrelsPath = Write("q.txt", "q1 0 d 1\n"), QueriesPath = LineQueries(), Target = TargetSpec.Folder(data), Collection = Collection, IdField = "title",
        }, io, CancellationToken.None));
        Assert.Contains("EvalOptions.IdField 'title': collection 'docs' has no such field", e.Message, StringComparison.Ordinal);
        Assert.Contains("--id-field 'title': collection 'docs' has no such field", CliWording.Flags(e.Message), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_Server_GivesTheSameRunAsEmbedded()
    {
        var data = await LineCollectionAsync();
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = data, Port = 0 });
        var (io, _, _) = Io(json: true);

        var r = await EvalOutput.RunAsync(new EvalOptions
        {
            QrelsPath = Write("qrels.txt", "q1 0 1 1\nq2 0 7 1\n"), QueriesPath = LineQueries(),
            Target = TargetSpec.Server($"http://127.0.0.1:{server.Port}"), Collection = Collection, K = 3,
        }, io, null, CancellationToken.None, _dir.Sub("curve.png"));

        // q1: row 1 at rank 2 -> RR 1/2; q2: row 7 at rank 3 -> RR 1/3.
        Assert.Equal((0.5 + (1.0 / 3)) / 2, r.Mean!.Mrr, 1e-9);
        var png = await File.ReadAllBytesAsync(r.PlotWritten!);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public async Task AnnRecall_IvfWithOneProbe_BelowExact()
    {
        // 2,000 random 16-d rows in one sealed segment with IVF_FLAT (nlist 16): probing 1 list of 16 misses true
        // neighbours in the other lists, so recall@10 < 1; probing all 16 lists finds them all (recall 1).
        // The exact side runs twice: through the engine's "exact" search parameter (the command's own path) and through
        // the brute-force oracle over the same vectors; both must give the same per-query recall.
        const int dim = 16, count = 2_000, k = 10;
        var rng = new Random(7);
        var vectors = Enumerable.Range(0, count).Select(_ => TestData.Vector(rng, dim)).ToArray();
        var path = _dir.Sub("ivf");
        await using (var engine = await QuiverEngine.OpenAsync(path))
        {
            await engine.CreateCollectionAsync(Collection, new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", dim, MetricType.L2)],
            });
            await engine.InsertAsync(Collection, [.. Enumerable.Range(0, count).Select(i => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = (long)i, ["v"] = vectors[i] })]);
            await engine.FlushAsync(Collection);
            await engine.CreateIndexAsync(Collection, new IndexDefinition { FieldName = "v", IndexType = "IVF_FLAT", Params = new Dictionary<string, string> { ["nlist"] = "16" } });
            await engine.WaitForIndexAsync(Collection);
        }

        var queries = Enumerable.Range(0, 20).Select(_ => TestData.Vector(rng, dim)).ToArray();
        var queryFile = Write("q.jsonl", string.Join('\n', queries.Select((v, i) => JsonSerializer.Serialize(new { id = $"q{i}", vector = v }))));
        var oracleCalls = 0;
        SearchCall oracle = (request, _) =>
        {
            Assert.Equal("true", request.SearchParams[EvalRunner.ExactParam]);
            Interlocked.Increment(ref oracleCalls);
            var hits = request.Vectors.Select(q => (IReadOnlyList<SearchHit>)BruteForce.TopK(vectors.Select((v, i) => ((long)i, v)), q, MetricType.L2, request.Limit)
                .Select(h => new SearchHit { Id = h.Key, Score = (float)h.Score, Fields = [] }).ToList());
            return Task.FromResult(new SearchResult { Hits = [.. hits] });
        };

        async Task<EvalResult> RunAsync(int nprobe, SearchCall? exact)
        {
            var (io, _, _) = Io(json: true);
            return await EvalOutput.RunAsync(new EvalOptions
            {
                QueriesPath = queryFile, Target = TargetSpec.Folder(path), Collection = Collection, K = k, AnnRecall = true,
                SearchParams = new Dictionary<string, string> { ["nprobe"] = nprobe.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            }, io, exact, CancellationToken.None);
        }

        var one = await RunAsync(1, null);
        var oneOracle = await RunAsync(1, oracle);
        var all = await RunAsync(16, null);

        Assert.Null(one.Mean);
        Assert.Equal(20, one.AnnRecallQueries);
        Assert.InRange(one.MeanAnnRecall!.Value, 0.05, 0.95);
        Assert.Contains(one.PerQuery, q => q.AnnRecall < 1);
        Assert.Equal(one.PerQuery.Select(q => q.AnnRecall), oneOracle.PerQuery.Select(q => q.AnnRecall));
        Assert.Equal(1, oracleCalls);
        Assert.Equal(1.0, all.MeanAnnRecall);
    }

    [Fact]
    public async Task AnnRecall_FoundNothingExactly_IsLeftOut()
    {
        var data = await LineCollectionAsync();
        SearchCall empty = (request, _) =>
            Task.FromResult(new SearchResult { Hits = [.. request.Vectors.Select(_ => (IReadOnlyList<SearchHit>)[])] });
        var (io, _, err) = Io();

        var r = await EvalOutput.RunAsync(new EvalOptions
        {
            QueriesPath = LineQueries(), Target = TargetSpec.Folder(data), Collection = Collection, K = 3, AnnRecall = true,
        }, io, empty, CancellationToken.None);

        Assert.Null(r.MeanAnnRecall);
        Assert.Equal(0, r.AnnRecallQueries);
        Assert.Contains("2 queries found nothing in the exact search; left out of ANN recall: q1, q2", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnnRecall_WithoutQrels_PerQueryTableHasOnlyTheAnnColumn()
    {
        // A FLAT-only collection searched exactly both ways: recall 1 for each query.
        var data = await LineCollectionAsync();
        var (io, stdout, _) = Io();

        await EvalOutput.RunAsync(new EvalOptions
        {
            QueriesPath = LineQueries(), Target = TargetSpec.Folder(data), Collection = Collection, K = 3, AnnRecall = true, PerQuery = true,
        }, io, CancellationToken.None);

        var text = stdout.ToString();
        Assert.Matches(@"│ ANN recall@3\s+│ 1\s+│", text);
        Assert.Matches(@"│ query │ ANN recall@3 │", text);
        Assert.Matches(@"│ q2\s+│ 1\s+│", text);
        Assert.DoesNotContain("NDCG", text, StringComparison.Ordinal);
    }
}
