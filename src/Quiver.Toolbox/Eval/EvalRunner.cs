using System.Globalization;
using Quiver.Client;

namespace Quiver.Toolbox.Eval;

/// <summary>What <c>quiver eval</c> evaluates and how (the parsed command line).</summary>
public sealed record EvalOptions
{
    /// <summary>The relevance judgments (TREC or BEIR TSV); null for ANN recall only.</summary>
    public string? QrelsPath { get; init; }

    /// <summary>A TREC run file to evaluate, instead of searching (<see cref="QueriesPath"/>).</summary>
    public string? RunPath { get; init; }

    /// <summary>Query vectors to search in <see cref="Collection"/> (.jsonl, .npy, .fvecs, .bvecs).</summary>
    public string? QueriesPath { get; init; }

    /// <summary>Where to search (folder or server); needed with <see cref="QueriesPath"/>.</summary>
    public TargetSpec? Target { get; init; }

    /// <summary>The collection searched.</summary>
    public string? Collection { get; init; }

    /// <summary>The cutoff k of every metric and the top-k of the searches; 1..16,384, default 10.</summary>
    public int K { get; init; } = 10;

    /// <summary>Filter expression of the searches; empty for none.</summary>
    public string Filter { get; init; } = "";

    /// <summary>Index search parameters (<c>ef</c>, <c>nprobe</c>...), as <see cref="SearchRequest.SearchParams"/>.</summary>
    public IReadOnlyDictionary<string, string> SearchParams { get; init; } = new Dictionary<string, string>();

    /// <summary>The vector field searched; null when the collection has one.</summary>
    public string? AnnsField { get; init; }

    /// <summary>The output field whose value is a hit's document id; null for the primary key.</summary>
    public string? IdField { get; init; }

    /// <summary>Also search exactly and report ANN recall@k against the exact results.</summary>
    public bool AnnRecall { get; init; }

    /// <summary>Also print the per-query table (JSON always has it).</summary>
    public bool PerQuery { get; init; }

    /// <summary>Save the searched run here as a TREC run file.</summary>
    public string? OutRunPath { get; init; }

    /// <summary>Query vectors per search call; default 64.</summary>
    public int BatchSize { get; init; } = 64;
}

/// <summary>The evaluation of one query.</summary>
/// <param name="QueryId">The query.</param>
/// <param name="Metrics">Its retrieval metrics at k; null when it has no qrels, or no relevant document in them.</param>
/// <param name="DuplicatesRemoved">Repeated documents removed from its ranked list.</param>
/// <param name="AnnRecall">ANN recall@k against exact search; null when not asked for or the exact search found nothing.</param>
public sealed record QueryEvaluation(string QueryId, QueryMetrics? Metrics, int DuplicatesRemoved, double? AnnRecall);

/// <summary>The result of <c>quiver eval</c>.</summary>
/// <param name="K">The cutoff.</param>
/// <param name="Run">What was evaluated: the run file, or the collection searched and where.</param>
/// <param name="Qrels">The qrels file, or null (ANN recall only).</param>
/// <param name="Mean">Means of the retrieval metrics over the judged queries (null without qrels).</param>
/// <param name="Curve">Mean P@i, R@i and NDCG@i for i = 1..K (null without qrels).</param>
/// <param name="MeanAnnRecall">Mean ANN recall@k over <paramref name="AnnRecallQueries"/> queries (null when not asked).</param>
/// <param name="AnnRecallQueries">Queries whose exact search found something.</param>
/// <param name="PerQuery">Every query of the qrels and the run.</param>
/// <param name="NotInQrels">Queries of the run the qrels do not judge: ignored by the retrieval metrics.</param>
/// <param name="NoRelevant">Queries of the qrels with no document graded &gt; 0: left out of the means.</param>
/// <param name="NoResults">Judged queries the run has no documents for: counted with every metric 0.</param>
/// <param name="DuplicatesRemoved">Repeated documents removed over all queries.</param>
/// <param name="RunWritten">The run file written (<c>--out-run</c>), or null.</param>
/// <param name="PlotWritten">The PNG of the cutoff curve a caller wrote (the command line's <c>--plot</c>), or null: the
/// library draws none.</param>
public sealed record EvalResult(
    int K,
    string Run,
    string? Qrels,
    MeanMetrics? Mean,
    CutoffCurve? Curve,
    double? MeanAnnRecall,
    int AnnRecallQueries,
    IReadOnlyList<QueryEvaluation> PerQuery,
    IReadOnlyList<string> NotInQrels,
    IReadOnlyList<string> NoRelevant,
    IReadOnlyList<string> NoResults,
    int DuplicatesRemoved,
    string? RunWritten,
    string? PlotWritten);

/// <summary>A vector search as <see cref="EvalRunner"/> issues it; the default goes to the target's client.</summary>
internal delegate Task<SearchResult> SearchCall(SearchRequest request, CancellationToken cancellationToken);

/// <summary>
/// <c>quiver eval</c>: retrieval quality of a run against qrels (see <see cref="RetrievalMetrics"/>), where the run is a
/// TREC run file or is made here by searching query vectors in a collection; and ANN recall, the share of the exact
/// top-k rows the (index) search returns, with the exact results from a search with the engine parameter
/// <c>"exact": "true"</c>, which searches every segment by brute force.
/// </summary>
internal static class EvalRunner
{
    /// <summary>The search parameter that makes the engine ignore indexes and search every segment exactly.</summary>
    public const string ExactParam = "exact";

    private const int ListedIds = 10;

    /// <summary>Runs the evaluation of <paramref name="options"/> and returns its report (notes go to
    /// <paramref name="io"/>). User errors (bad files, bad option combinations, refused searches) are exceptions the command
    /// turns into one error line.</summary>
    public static Task<EvalResult> RunAsync(EvalOptions options, ToolReporter io, CancellationToken cancellationToken) =>
        RunAsync(options, io, null, cancellationToken);

    /// <summary>As <see cref="RunAsync(EvalOptions, ToolReporter, CancellationToken)"/>, with the exact searches of
    /// <c>--ann-recall</c> sent to <paramref name="exactSearch"/> instead of the target (tests pass a brute-force
    /// oracle). Null: the target's client with <see cref="ExactParam"/>.</summary>
    public static async Task<EvalResult> RunAsync(EvalOptions options, ToolReporter io, SearchCall? exactSearch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        Validate(options);

        // Read every input before opening the target or searching, so a bad file fails fast.
        var qrels = options.QrelsPath is { } qrelsPath ? Qrels.Read(qrelsPath) : null;
        TrecRun run;
        Dictionary<string, double?>? annRecall = null;
        string source;
        if (options.RunPath is { } runPath)
        {
            run = TrecRun.Read(runPath);
            source = $"run file {runPath}";
        }
        else
        {
            var queries = EvalQueries.Read(options.QueriesPath!);
            var searched = await SearchAsync(options, queries, io, exactSearch, cancellationToken).ConfigureAwait(false);
            (run, annRecall, source) = (searched.Run, searched.AnnRecall, searched.Source);
        }

        var result = Evaluate(options, qrels, run, annRecall, source);
        if (options.OutRunPath is { } outRun)
        {
            run.Write(outRun, "quiver");
            result = result with { RunWritten = outRun };
        }

        Notes(options, result, io);
        return result;
    }

    private static void Validate(EvalOptions o)
    {
        if ((o.RunPath is null) == (o.QueriesPath is null))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "give either EvalOptions.RunPath (a TREC run to evaluate) or EvalOptions.QueriesPath (query vectors to search in EvalOptions.Collection)");
        }

        if (o.K is < 1 or > SearchRequest.MaxTopK)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture, $"EvalOptions.K {o.K}: must be 1..{SearchRequest.MaxTopK}"));
        }

        if (o.QrelsPath is null && !o.AnnRecall)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "nothing to evaluate: give EvalOptions.QrelsPath (retrieval metrics), EvalOptions.AnnRecall, or both");
        }

        if (o.RunPath is not null)
        {
            foreach (var (given, name) in new[]
                     {
                         (o.AnnRecall, "EvalOptions.AnnRecall"), (o.OutRunPath is not null, "EvalOptions.OutRunPath"), (o.Collection is not null, "EvalOptions.Collection"),
                         (o.IdField is not null, "EvalOptions.IdField"), (o.AnnsField is not null, "EvalOptions.AnnsField"), (o.Filter.Length > 0, "EvalOptions.Filter"),
                         (o.SearchParams.Count > 0, "EvalOptions.SearchParams"),
                     })
            {
                if (given)
                {
                    throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"{name} applies to a search (EvalOptions.QueriesPath), not to a run file (EvalOptions.RunPath)");
                }
            }
        }
        else if (string.IsNullOrEmpty(o.Collection) || o.Target is null)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "EvalOptions.QueriesPath needs EvalOptions.Collection (searched in EvalOptions.Target)");
        }

        if (o.SearchParams.ContainsKey(ExactParam))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"EvalOptions.SearchParams: '{ExactParam}' is set by EvalOptions.AnnRecall for its exact searches; the evaluated search is the index's");
        }

        if (o.BatchSize < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"EvalOptions.BatchSize {o.BatchSize}: must be at least 1");
        }
    }

    private sealed record Searched(TrecRun Run, Dictionary<string, double?>? AnnRecall, string Source);

    private static async Task<Searched> SearchAsync(
        EvalOptions options, IReadOnlyList<EvalQuery> queries, ToolReporter io, SearchCall? exactSearch, CancellationToken cancellationToken)
    {
        var collection = options.Collection!;
        await using var target = await options.Target!.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var info = await client.DescribeCollectionAsync(collection, target.Database, cancellationToken).ConfigureAwait(false);
        var vectorField = options.AnnsField is { } named
            ? info.Schema.Find(named)
            : info.Schema.Fields.Where(f => f.IsVector).ToList() is [var only] ? only : null;

        // TREC runs rank by score, larger first; L2 scores are distances, so they are written negated.
        var negate = vectorField is { IsVector: true, Metric: MetricType.L2 };
        if (options.IdField is { } idField && info.Schema.Find(idField) is null && !info.Schema.EnableDynamicField)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"EvalOptions.IdField '{idField}': collection '{collection}' has no such field");
        }

        await PrepareAsync(client, collection, target.Database, io, cancellationToken).ConfigureAwait(false);
        SearchCall annSearch = (request, ct) => client.SearchAsync(collection, request, target.Database, ct);
        var exact = exactSearch ?? annSearch;
        var run = new TrecRun();
        var annRecall = options.AnnRecall ? new Dictionary<string, double?>(StringComparer.Ordinal) : null;
        var exactParams = new Dictionary<string, string> { [ExactParam] = "true" };
        await io.WithProgressAsync($"eval: searching {collection}", queries.Count, "queries", async progress =>
        {
            for (var start = 0; start < queries.Count; start += options.BatchSize)
            {
                var batch = Enumerable.Range(start, Math.Min(options.BatchSize, queries.Count - start)).Select(i => queries[i]).ToList();
                var request = new SearchRequest
                {
                    Vectors = [.. batch.Select(q => q.Vector)],
                    AnnsField = options.AnnsField,
                    Limit = options.K,
                    Filter = options.Filter,
                    SearchParams = options.SearchParams,
                    OutputFields = options.IdField is { } f ? [f] : [],
                };
                var found = await annSearch(request, cancellationToken).ConfigureAwait(false);
                SearchResult? truth = null;
                if (annRecall is not null)
                {
                    truth = await exact(request with { SearchParams = exactParams, OutputFields = [] }, cancellationToken).ConfigureAwait(false);
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    var hits = found.Hits[i];
                    run.Set(batch[i].Id, [.. hits.Select((h, rank) => new RunEntry(DocId(h, options.IdField, batch[i].Id, rank), Widen(negate ? -h.Score : h.Score)))]);
                    if (annRecall is not null)
                    {
                        annRecall[batch[i].Id] = RetrievalMetrics.AnnRecall([.. hits.Select(h => Key(h.Id))], [.. truth!.Hits[i].Select(h => Key(h.Id))], options.K);
                    }
                }

                progress.Advance(batch.Count);
            }

            return 0;
        }).ConfigureAwait(false);
        return new Searched(run, annRecall, $"collection {collection} ({target.Description})");
    }

    /// <summary>Loads the collection (a server searches only loaded collections; embedded this is a no-op) and waits
    /// until its indexes cover every sealed segment: a segment whose index is still building, or still loading after
    /// an engine opened its folder, is searched exactly, which would overstate the quality of the index. A failed
    /// index is reported and not waited for.</summary>
    private static async Task PrepareAsync(IQuiverClient client, string collection, string database, ToolReporter io, CancellationToken cancellationToken)
    {
        await client.LoadCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var indexes = await client.DescribeIndexesAsync(collection, null, database, cancellationToken).ConfigureAwait(false);
        foreach (var failed in indexes.Where(i => i.State == IndexState.Failed))
        {
            io.Note($"eval: warning: index '{failed.IndexName}' failed to build ({failed.FailReason}); its segments are searched exactly");
        }

        if (indexes.Any(i => i.State == IndexState.Failed) || indexes.All(i => i.State == IndexState.Finished))
        {
            return;
        }

        var pending = indexes.Sum(i => i.PendingRows);
        io.Note(string.Create(CultureInfo.InvariantCulture,
            $"eval: waiting for the indexes of '{collection}' to cover every sealed segment ({pending:N0} rows pending), so that searches go through them"));
        await client.WaitForIndexAsync(collection, database, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The float score as the double its shortest text denotes (0.04f, not 0.04000000283122063), so that a
    /// saved run reads as the engine reported it.</summary>
    private static double Widen(float score) => double.Parse(score.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string Key(object id) => Convert.ToString(id, CultureInfo.InvariantCulture) ?? "";

    private static string DocId(SearchHit hit, string? idField, string queryId, int rank)
    {
        if (idField is null)
        {
            return Key(hit.Id);
        }

        if (!hit.Fields.TryGetValue(idField, out var value) || value is null)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"EvalOptions.IdField '{idField}': hit {rank + 1} (key {Key(hit.Id)}) of query '{queryId}' has no value in it");
        }

        return Key(value);
    }

    private static EvalResult Evaluate(EvalOptions options, Qrels? qrels, TrecRun run, Dictionary<string, double?>? annRecall, string source)
    {
        var k = options.K;
        var perQuery = new List<QueryEvaluation>();
        var judged = new List<QueryMetrics>();
        List<string> noRelevant = [], noResults = [];
        var duplicates = 0;
        double[] precisionSum = new double[k], recallSum = new double[k], ndcgSum = new double[k];
        double[] precisionAt = new double[k], recallAt = new double[k], ndcgAt = new double[k];

        // The order: the qrels' queries as the file lists them, then the run's queries the qrels do not judge.
        var order = (qrels?.Queries.Select(q => q.QueryId) ?? []).Concat(run.QueryIds.Where(q => qrels?.Find(q) is null));
        foreach (var qid in order)
        {
            var (ranked, removed) = RetrievalMetrics.Deduplicate(run.Find(qid)?.Select(e => e.DocId) ?? []);
            duplicates += removed;
            QueryMetrics? metrics = null;
            if (qrels?.Find(qid) is { } judgments)
            {
                if (judgments.RelevantCount == 0)
                {
                    noRelevant.Add(qid);
                }
                else
                {
                    if (ranked.Count == 0)
                    {
                        noResults.Add(qid);
                    }

                    metrics = RetrievalMetrics.Evaluate(ranked, judgments, k, precisionAt, recallAt, ndcgAt);
                    judged.Add(metrics);
                    for (var i = 0; i < k; i++)
                    {
                        precisionSum[i] += precisionAt[i];
                        recallSum[i] += recallAt[i];
                        ndcgSum[i] += ndcgAt[i];
                    }
                }
            }

            perQuery.Add(new QueryEvaluation(qid, metrics, removed, annRecall?.GetValueOrDefault(qid)));
        }

        var notInQrels = qrels is null ? [] : run.QueryIds.Where(q => qrels.Find(q) is null).ToList();
        CutoffCurve? curve = null;
        if (qrels is not null)
        {
            var n = Math.Max(1, judged.Count);
            curve = new CutoffCurve([.. precisionSum.Select(s => s / n)], [.. recallSum.Select(s => s / n)], [.. ndcgSum.Select(s => s / n)]);
        }

        var recalls = annRecall?.Values.OfType<double>().ToList();
        return new EvalResult(
            k,
            source,
            qrels?.Path,
            qrels is null ? null : RetrievalMetrics.Mean(judged),
            curve,
            recalls is { Count: > 0 } ? recalls.Average() : null,
            recalls?.Count ?? 0,
            perQuery,
            notInQrels,
            noRelevant,
            noResults,
            duplicates,
            null,
            null);
    }

    private static void Notes(EvalOptions options, EvalResult r, ToolReporter io)
    {
        Note(io, r.NotInQrels, "queries of the run are not in the qrels; ignored");
        Note(io, r.NoRelevant, "queries of the qrels have no document graded > 0; left out of the means");
        Note(io, r.NoResults, "judged queries have no results; counted as 0 in every metric");
        if (r.DuplicatesRemoved > 0)
        {
            io.Note(string.Create(CultureInfo.InvariantCulture, $"{r.DuplicatesRemoved} repeated documents removed from ranked lists (each kept at its best rank)"));
        }

        if (options.AnnRecall)
        {
            Note(io, [.. r.PerQuery.Where(q => q.AnnRecall is null).Select(q => q.QueryId)], "queries found nothing in the exact search; left out of ANN recall");
        }

        if (r.RunWritten is not null)
        {
            io.Note($"run written to {r.RunWritten}");
        }
    }

    private static void Note(ToolReporter io, IReadOnlyList<string> ids, string what)
    {
        if (ids.Count == 0)
        {
            return;
        }

        var listed = string.Join(", ", ids.Take(ListedIds));
        io.Note(string.Create(CultureInfo.InvariantCulture, $"{ids.Count} {what}: {listed}{(ids.Count > ListedIds ? ", ..." : "")}"));
    }
}
