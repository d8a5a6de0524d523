using System.Diagnostics;
using System.Globalization;
using Quiver.Client;
using Quiver.Indexing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Tune;

/// <summary>What <c>quiver tune</c> does.</summary>
public sealed record TuneOptions
{
    /// <summary>The folder or server.</summary>
    public required TargetSpec Target { get; init; }

    /// <summary>The collection to tune.</summary>
    public required string Collection { get; init; }

    /// <summary>The vector field; default the collection's only one.</summary>
    public string? Field { get; init; }

    /// <summary>Top-k of the searches and the k of recall@k; default 10.</summary>
    public int K { get; init; } = 10;

    /// <summary>Query vectors in all, split into a tuning half and a held-out half; default 200.</summary>
    public int Queries { get; init; } = 200;

    /// <summary>Take the queries from this file (<c>.npy</c>, <c>.fvecs</c>, <c>.jsonl</c>) instead of the collection.</summary>
    public string? QueryFile { get; init; }

    /// <summary>Seed of the query sample.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Recall@k to reach (default 0.95 unless <see cref="TargetLatencyMs"/> is given).</summary>
    public double? TargetRecall { get; init; }

    /// <summary>p95 latency in milliseconds to stay within; the most accurate setting that does is chosen.</summary>
    public double? TargetLatencyMs { get; init; }

    /// <summary>A filter expression applied to every search (exact and approximate).</summary>
    public string? Filter { get; init; }

    /// <summary>Store the chosen setting as the field's default search parameters.</summary>
    public bool Save { get; init; }

    /// <summary>Untimed searches before each setting's timed ones; default 10.</summary>
    public int Warmup { get; init; } = 10;
}

/// <summary>One setting of the sweep as measured on the tuning queries. Latencies are of single-query calls through
/// the client (embedded: in-process; remote: including the network); QPS is one client issuing one query at a time.</summary>
/// <param name="Params">The parameters the sweep set, e.g. <c>{"ef": 64}</c>.</param>
/// <param name="Effective">What the searches ran with as JSON: the field's default search parameters overlaid with <paramref name="Params"/>.</param>
/// <param name="Recall">recall@k against the exact answers.</param>
/// <param name="P50Ms">Median latency, ms.</param>
/// <param name="P95Ms">95th-percentile latency, ms.</param>
/// <param name="P99Ms">99th-percentile latency, ms.</param>
/// <param name="Qps">Queries per second.</param>
/// <param name="MeetsTarget">True when the setting meets the target.</param>
/// <param name="Chosen">True for the setting chosen.</param>
public sealed record TuneRun(
    IReadOnlyDictionary<string, int> Params, string Effective, double Recall, double P50Ms, double P95Ms, double P99Ms, double Qps, bool MeetsTarget, bool Chosen);

/// <summary>What <c>quiver tune</c> found. <see cref="Met"/> is false when no setting meets the target, or the chosen
/// one falls short on the held-out queries.</summary>
public sealed record TuneResult
{
    /// <summary>The collection tuned.</summary>
    public required string Collection { get; init; }

    /// <summary>The vector field tuned.</summary>
    public required string Field { get; init; }

    /// <summary>The field's index type, or null when it has none.</summary>
    public string? IndexType { get; init; }

    /// <summary>The index's build parameters, or null when it has no index.</summary>
    public IReadOnlyDictionary<string, string>? IndexParams { get; init; }

    /// <summary>The index's distance metric.</summary>
    public MetricType Metric { get; init; }

    /// <summary>Top-k of the sweep's searches (recall@k).</summary>
    public int K { get; init; }

    /// <summary>False for FLAT or no index: every search is exact, there is nothing to tune.</summary>
    public bool Tunable { get; init; }

    /// <summary>"collection" (sampled rows) or the query file.</summary>
    public string QuerySource { get; init; } = "";

    /// <summary>True when each query's own row was left out of its answers (queries drawn from the collection).</summary>
    public bool SelfExcluded { get; init; }

    /// <summary>Queries the sweep chose on.</summary>
    public int TuningQueries { get; init; }

    /// <summary>Queries the choice was checked on, apart from the tuning ones.</summary>
    public int HeldOutQueries { get; init; }

    /// <summary>"recall" or "latency".</summary>
    public string Goal { get; init; } = "recall";

    /// <summary>The recall@k or p95 milliseconds to meet.</summary>
    public double Target { get; init; }

    /// <summary>The filter every search of the sweep ran under, or null.</summary>
    public string? Filter { get; init; }

    /// <summary>The field's default search parameters before the run (JSON), if any.</summary>
    public string? PreviousDefaults { get; init; }

    /// <summary>Every setting tried, cheapest first.</summary>
    public IReadOnlyList<TuneRun> Sweep { get; init; } = [];

    /// <summary>The setting chosen, or null when none meets the target.</summary>
    public TuneRun? Chosen { get; init; }

    /// <summary>recall@k of the chosen setting on the held-out queries.</summary>
    public double? HeldOutRecall { get; init; }

    /// <summary>p95 latency in milliseconds of the chosen setting on the held-out queries.</summary>
    public double? HeldOutP95Ms { get; init; }

    /// <summary>True when the chosen setting also meets the target on the held-out queries.</summary>
    public bool? HeldOutMeetsTarget { get; init; }

    /// <summary>The collection property written with <c>--save</c>, and its value.</summary>
    public string? SavedProperty { get; init; }

    /// <summary>The value written to <see cref="SavedProperty"/>, or null when nothing was saved.</summary>
    public string? SavedValue { get; init; }

    /// <summary>The recall-vs-latency PNG a caller drew (the command line's <c>--plot</c>), or null: the library draws none.</summary>
    public string? PlotPath { get; init; }

    /// <summary>One line saying what happened.</summary>
    public required string Summary { get; init; }

    /// <summary>True when a setting was chosen that meets the target on the held-out queries too, or there is nothing
    /// to tune (an exact index); false when no setting meets the target or the choice falls short on the held-out
    /// queries (<c>quiver tune</c> then exits 2).</summary>
    public bool Met { get; init; }
}

/// <summary><c>quiver tune</c>: sweeps the search parameter of a field's index on the user's own data and picks the
/// cheapest setting meeting a recall target, or the most accurate one meeting a p95 latency target.
/// <para>Queries come from a file or are sampled from the collection (<see cref="VectorSample.FromCollectionAsync"/>);
/// then a query's own row would be its own nearest neighbour, found by every setting, so each search asks for k + 1
/// and drops the query's row (or the last hit) from both the approximate and the exact answer. The queries are split
/// alternately into a tuning half, on which the sweep is measured and the choice made, and a held-out half on which the
/// choice is confirmed. Ground truth is the engine's own exact search (<c>"exact": "true"</c>), with the same filter.</para></summary>
internal static class Tuner
{
    private const int TruthBatch = 64;

    /// <summary>Untimed searches before the sweep starts.</summary>
    private const int FirstWarmup = 50;

    /// <summary>Runs the tuning; writes the result to <paramref name="io"/> (table or JSON) and returns it.</summary>
    public static async Task<TuneResult> RunAsync(TuneOptions o, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(o);
        var targetSpec = TargetSpec.Required(o.Target, "TuneOptions.Target");
        Check(o);
        await using var target = await targetSpec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var info = await client.DescribeCollectionAsync(o.Collection, target.Database, cancellationToken).ConfigureAwait(false);
        var field = ResolveField(info, o.Field);
        var indexes = await client.DescribeIndexesAsync(o.Collection, null, target.Database, cancellationToken).ConfigureAwait(false);
        var index = indexes.FirstOrDefault(i => i.FieldName == field.Name);
        var recallGoal = o.TargetLatencyMs is null;
        var goalValue = o.TargetLatencyMs ?? o.TargetRecall ?? 0.95;
        var baseResult = new TuneResult
        {
            Collection = o.Collection,
            Field = field.Name,
            IndexType = index?.IndexType,
            IndexParams = index?.Params,
            Metric = field.Metric,
            K = o.K,
            Goal = recallGoal ? "recall" : "latency",
            Target = goalValue,
            Filter = string.IsNullOrEmpty(o.Filter) ? null : o.Filter,
            Summary = "",
        };

        if (index is null || !IndexKindNames.TryParse(index.IndexType, out var kind) || !SweepPlan.IsTunable(kind))
        {
            var why = index is null
                ? $"field '{field.Name}' has no index: every search is exact (recall 1), there is nothing to tune"
                : $"field '{field.Name}' has a {index.IndexType} index: every search is exact (recall 1), there is nothing to tune";
            var flat = baseResult with { Tunable = false, Summary = why, Met = true };
            return flat;
        }

        await client.LoadCollectionAsync(o.Collection, target.Database, cancellationToken).ConfigureAwait(false);
        if (index.State == IndexState.InProgress)
        {
            io.Note($"tune: the {index.IndexType} index covers {index.IndexedRows:N0} of {index.TotalRows:N0} sealed rows; waiting for the build to finish");
            await client.WaitForIndexAsync(o.Collection, target.Database, cancellationToken).ConfigureAwait(false);
            index = (await client.DescribeIndexesAsync(o.Collection, index.IndexName, target.Database, cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(i => i.FieldName == field.Name) ?? index;
        }
        else if (index.State == IndexState.Failed)
        {
            io.Note($"tune: warning: the last index build failed ({index.FailReason}); segments without an index are searched exactly, which inflates recall");
        }

        if (info.RowCount > index.TotalRows)
        {
            io.Note(string.Create(CultureInfo.InvariantCulture,
                $"tune: about {info.RowCount - index.TotalRows:N0} of {info.RowCount:N0} rows are in growing segments, which are searched exactly; flush first for figures that hold once they are sealed and indexed"));
        }

        var defaultsKey = SearchRequest.DefaultSearchParamsProperty + field.Name;
        var previous = info.Properties.TryGetValue(defaultsKey, out var prev) ? prev : null;
        var defaults = previous is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(IndexParameters.FromJson(previous, $"collection property '{defaultsKey}'").Values, StringComparer.Ordinal);
        defaults.Remove("exact");

        // The parameters the sweep sets come from the sweep alone: a refine_k or search_k saved by an earlier tune (or
        // left from another index type) would otherwise ride along on every setting and never be measured without.
        foreach (var swept in SearchRequest.IndexSearchParams)
        {
            defaults.Remove(swept);
        }
        if (previous is not null)
        {
            io.Note($"tune: the field's default search parameters {previous} apply to what the sweep does not set");
        }

        var fromCollection = o.QueryFile is null;
        var queries = fromCollection
            ? await io.WithProgressAsync("tune: sampling queries (key scan)", info.RowCount, "rows", h =>
                VectorSample.FromCollectionAsync(client, o.Collection, target.Database, field.Name, field.Dimension!.Value, o.Queries, o.Seed, h, cancellationToken))
                .ConfigureAwait(false)
            : VectorSample.FromFile(o.QueryFile!, o.Queries, o.Seed, field.Name);
        if (queries.Dimension != field.Dimension)
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                $"'{o.QueryFile}': vectors have dimension {queries.Dimension}; field '{field.Name}' has {field.Dimension}"));
        }

        if (queries.Count < 2)
        {
            throw new ToolboxException($"tune needs at least 2 query vectors (a tuning and a held-out half); got {queries.Count} from {(fromCollection ? $"collection '{o.Collection}'" : $"'{o.QueryFile}'")}");
        }

        var tuning = Half(queries, 0);
        var heldOut = Half(queries, 1);
        var build = new IndexParameters(index.Params);
        var plan = SweepPlan.Settings(kind, build, o.K, Math.Max(1, index.TotalRows)).ToList();
        var extension = recallGoal ? SweepPlan.Extension(kind) : [];
        var search = new Searcher(client, o.Collection, target.Database, field.Name, o.K, o.Filter ?? "", fromCollection);
        var ids = new IdMap();
        var warmup = o.Warmup;

        var perSetting = warmup + tuning.Count;
        var total = ((long)queries.Count) + ((long)plan.Count * perSetting) + FirstWarmup;
        var (truthHeld, runs) = await io.WithProgressAsync("tune: exact answers and sweep", total, "searches", async h =>
        {
            var exact = new Dictionary<string, string>(StringComparer.Ordinal) { ["exact"] = "true" };
            var tTune = await search.ExactAsync(tuning, exact, ids, h, cancellationToken).ConfigureAwait(false);
            var tHeld = await search.ExactAsync(heldOut, exact, ids, h, cancellationToken).ConfigureAwait(false);

            // The first setting would otherwise pay for the JIT and cold caches of the whole search path.
            await search.WarmAsync(tuning, Effective(defaults, plan[0]), FirstWarmup, h, cancellationToken, SearchTimer.MinWarmup).ConfigureAwait(false);
            var measured = new List<Measured>();
            var settings = new Queue<SweepSetting>(plan);
            var extended = false;
            while (settings.Count > 0 || (!extended && extension.Count > 0 && !measured.Any(m => m.Recall >= goalValue)))
            {
                if (settings.Count == 0)
                {
                    extended = true;
                    io.Note($"tune: recall@{o.K} {goalValue} not reached by {plan[^1]}; extending the sweep");
                    foreach (var s in extension)
                    {
                        settings.Enqueue(s);
                    }

                    h.SetTotal(h.Total + ((long)extension.Count * perSetting));
                }

                var setting = settings.Dequeue();
                var effective = Effective(defaults, setting);
                var m = await search.MeasureAsync(tuning, effective, warmup, ids, tTune, h, cancellationToken).ConfigureAwait(false);
                measured.Add(m with { Setting = setting, Effective = new IndexParameters(Effective(defaults, setting, forSearch: false)).ToJson() });
                if (extended && m.Recall >= goalValue)
                {
                    h.SetTotal(h.Value);
                    break;
                }
            }

            return (tHeld, measured);
        }).ConfigureAwait(false);

        bool Meets(Measured m) => recallGoal ? m.Recall >= goalValue : m.P95Ms <= goalValue;
        var meeting = runs.Where(Meets).ToList();
        Measured? chosen = meeting.Count == 0 ? null
            : !recallGoal ? meeting.OrderByDescending(m => m.Recall).ThenBy(m => m.P95Ms).First()
            : SweepPlan.IsLadder(kind) ? meeting[0]
            : meeting.OrderBy(m => m.P50Ms).First();

        var result = baseResult with
        {
            Tunable = true,
            QuerySource = fromCollection ? "collection" : o.QueryFile!,
            SelfExcluded = fromCollection,
            TuningQueries = tuning.Count,
            HeldOutQueries = heldOut.Count,
            PreviousDefaults = previous,
            Sweep = [.. runs.Select(m => m.ToRun(Meets(m), ReferenceEquals(m, chosen)))],
        };
        result = result with { Chosen = result.Sweep.FirstOrDefault(s => s.Chosen) };

        if (chosen is null)
        {
            var best = recallGoal ? runs.MaxBy(m => m.Recall)! : runs.MinBy(m => m.P95Ms)!;
            var summary = recallGoal
                ? string.Create(CultureInfo.InvariantCulture, $"no setting reaches recall@{o.K} {goalValue}: the best is {best.Recall:0.####} at {best.Setting}; rebuild the index with more effort (e.g. larger M or nlist) or lower the target")
                : string.Create(CultureInfo.InvariantCulture, $"no setting keeps p95 within {goalValue} ms: the fastest is {best.P95Ms:0.###} ms at {best.Setting}");
            result = result with { Summary = summary, Met = false };
        }
        else
        {
            var held = await search.MeasureAsync(heldOut, Effective(defaults, chosen.Setting), 0, ids, truthHeld, null, cancellationToken).ConfigureAwait(false);
            var heldMeets = recallGoal ? held.Recall >= goalValue : held.P95Ms <= goalValue;
            string? savedValue = null;
            if (o.Save && !heldMeets)
            {
                io.Note("tune: not saved: the choice does not hold on the held-out queries");
            }
            else if (o.Save && index.State == IndexState.Failed)
            {
                heldMeets = false;
                io.Note("tune: not saved: the index build failed, so the figures come partly from exact scans");
            }
            else if (o.Save && index.IndexedRows == 0)
            {
                heldMeets = false;
                io.Note("tune: not saved: no row is indexed yet (flush and let the index build first), so the figures are exact scans");
            }
            else if (o.Save)
            {
                savedValue = new IndexParameters(Effective(defaults, chosen.Setting, forSearch: false)).ToJson();
                await client.AlterCollectionPropertiesAsync(
                    o.Collection, new Dictionary<string, string> { [defaultsKey] = savedValue }, null, target.Database, cancellationToken).ConfigureAwait(false);
            }

            var summary = string.Create(CultureInfo.InvariantCulture,
                $"chosen {chosen.Setting}: recall@{o.K} {chosen.Recall:0.####} on {tuning.Count} tuning queries, {held.Recall:0.####} on {heldOut.Count} held-out; p95 {chosen.P95Ms:0.###} ms (held-out {held.P95Ms:0.###} ms)");
            if (!heldMeets)
            {
                io.Note(recallGoal
                    ? $"tune: warning: on the held-out queries the chosen setting falls short of recall@{o.K} {goalValue.ToString(CultureInfo.InvariantCulture)}; consider the next setting of the sweep or more TuneOptions.Queries"
                    : $"tune: warning: on the held-out queries the chosen setting exceeds p95 {goalValue.ToString(CultureInfo.InvariantCulture)} ms");
            }

            result = result with
            {
                HeldOutRecall = held.Recall,
                HeldOutP95Ms = held.P95Ms,
                HeldOutMeetsTarget = heldMeets,
                SavedProperty = o.Save ? defaultsKey : null,
                SavedValue = savedValue,
                Summary = summary,

                // The issue's bar is the held-out queries: a choice that does not hold there is not a result.
                Met = heldMeets,
            };
        }

        return result;
    }

    private static void Check(TuneOptions o)
    {
        if (o.K < 1 || o.K >= SearchRequest.MaxTopK)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"TuneOptions.K must be in 1..{SearchRequest.MaxTopK - 1}, got {o.K}");
        }

        if (o.Warmup < 0)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"TuneOptions.Warmup must be 0 or more, got {o.Warmup}");
        }

        if (o.Queries < 2)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"TuneOptions.Queries must be at least 2 (a tuning and a held-out half), got {o.Queries}");
        }

        if (o.TargetRecall is not null && o.TargetLatencyMs is not null)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "give either TuneOptions.TargetRecall or TuneOptions.TargetLatencyMs, not both");
        }

        if (o.TargetRecall is { } r && !(r > 0 && r <= 1))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture, $"TuneOptions.TargetRecall must be in (0, 1], got {r}"));
        }

        if (o.TargetLatencyMs is { } l && !(l > 0 && double.IsFinite(l)))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture, $"TuneOptions.TargetLatencyMs must be a positive number, got {l}"));
        }
    }

    /// <summary>The vector field named, or the collection's only one.</summary>
    internal static FieldSchema ResolveField(CollectionInfo info, string? name)
    {
        var vectors = info.Schema.Fields.Where(f => f.IsVector).ToList();
        if (name is not null)
        {
            var f = info.Schema.Fields.FirstOrDefault(x => x.Name == name)
                ?? throw new ToolboxException($"collection '{info.Name}' has no field '{name}'");
            return f.IsVector ? f : throw new ToolboxException($"field '{name}' of collection '{info.Name}' is {f.DataType}, not a vector field");
        }

        return vectors.Count switch
        {
            1 => vectors[0],
            0 => throw new ToolboxException($"collection '{info.Name}' has no vector field"),
            _ => throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"collection '{info.Name}' has {vectors.Count} vector fields ({string.Join(", ", vectors.Select(v => v.Name))}); name one with TuneOptions.Field"),
        };
    }

    /// <summary>The field's defaults overlaid with the setting; for a search also <c>exact: false</c>, so a default of
    /// exact search cannot hide the index.</summary>
    private static Dictionary<string, string> Effective(Dictionary<string, string> defaults, SweepSetting setting, bool forSearch = true)
    {
        var p = new Dictionary<string, string>(defaults, StringComparer.Ordinal);
        foreach (var (name, value) in setting.AsText())
        {
            p[name] = value;
        }

        if (forSearch)
        {
            p["exact"] = "false";
        }

        return p;
    }

    private static VectorSample Half(VectorSample all, int parity)
    {
        var rows = Enumerable.Range(0, all.Count).Where(i => i % 2 == parity).ToArray();
        var values = new float[rows.Length * all.Dimension];
        for (var i = 0; i < rows.Length; i++)
        {
            all.Values.AsSpan(rows[i] * all.Dimension, all.Dimension).CopyTo(values.AsSpan(i * all.Dimension));
        }

        return new VectorSample(values, rows.Length, all.Dimension, all.Keys is null ? null : [.. rows.Select(r => all.Keys[r])], all.Population);
    }

    /// <summary>One setting's figures.</summary>
    private sealed record Measured(double Recall, double P50Ms, double P95Ms, double P99Ms, double Qps)
    {
        public SweepSetting Setting { get; init; } = null!;

        public string Effective { get; init; } = "";

        public TuneRun ToRun(bool meets, bool chosen) => new(Setting.Values, Effective, Recall, P50Ms, P95Ms, P99Ms, Qps, meets, chosen);
    }

    /// <summary>Primary keys (long or string) numbered densely, so recall can be counted by <see cref="GroundTruth.Recall"/>.</summary>
    private sealed class IdMap
    {
        private readonly Dictionary<object, int> _ids = [];

        public int this[object key]
        {
            get
            {
                if (!_ids.TryGetValue(key, out var id))
                {
                    id = _ids.Count;
                    _ids.Add(key, id);
                }

                return id;
            }
        }
    }

    /// <summary>Runs the searches of one tuning through the client.</summary>
    private sealed class Searcher(IQuiverClient client, string collection, string? database, string field, int k, string filter, bool selfExclude)
    {
        private int Limit => selfExclude ? k + 1 : k;

        /// <summary>The exact top-k of every query, as dense ids (-1 where fewer than k rows match).</summary>
        public async Task<int[]> ExactAsync(VectorSample queries, Dictionary<string, string> exact, IdMap ids, ProgressHandle progress, CancellationToken cancellationToken)
        {
            var truth = new int[queries.Count * k];
            for (var at = 0; at < queries.Count; at += TruthBatch)
            {
                var n = Math.Min(TruthBatch, queries.Count - at);
                var request = Request([.. Enumerable.Range(at, n).Select(queries.Vector)], exact);
                var result = await client.SearchAsync(collection, request, database, cancellationToken).ConfigureAwait(false);
                for (var q = 0; q < n; q++)
                {
                    Keep(result.Hits[q], queries.Keys?[at + q], ids, truth.AsSpan((at + q) * k, k));
                }

                progress.Advance(n);
            }

            return truth;
        }

        /// <summary>Searches each query alone (after <paramref name="warmup"/> untimed ones) and measures recall and latency.</summary>
        public async Task<Measured> MeasureAsync(
            VectorSample queries, Dictionary<string, string> p, int warmup, IdMap ids, int[] truth, ProgressHandle? progress, CancellationToken cancellationToken)
        {
            await WarmAsync(queries, p, warmup, progress, cancellationToken).ConfigureAwait(false);
            var found = new int[queries.Count * k];
            var ticks = new long[queries.Count];
            long totalTicks = 0;
            for (var q = 0; q < queries.Count; q++)
            {
                var request = Request([queries.Vector(q)], p);
                var start = Stopwatch.GetTimestamp();
                var result = await client.SearchAsync(collection, request, database, cancellationToken).ConfigureAwait(false);
                ticks[q] = Stopwatch.GetTimestamp() - start;
                totalTicks += ticks[q];
                Keep(result.Hits[0], queries.Keys?[q], ids, found.AsSpan(q * k, k));
                progress?.Advance(1);
            }

            Array.Sort(ticks);
            var recall = GroundTruth.Recall(found, truth, k, queries.Count, k);
            var seconds = (double)totalTicks / Stopwatch.Frequency;
            return new Measured(recall, Ms(SearchTimer.Percentile(ticks, 50)), Ms(SearchTimer.Percentile(ticks, 95)), Ms(SearchTimer.Percentile(ticks, 99)),
                seconds > 0 ? queries.Count / seconds : 0);
        }

        /// <summary>Runs <paramref name="count"/> untimed single-query searches, and for at least
        /// <paramref name="minTime"/> (the JIT promotes hot methods to their optimized tier only after a quiet delay).</summary>
        public async Task WarmAsync(
            VectorSample queries, Dictionary<string, string> p, int count, ProgressHandle? progress, CancellationToken cancellationToken, TimeSpan minTime = default)
        {
            var started = Stopwatch.GetTimestamp();
            for (var w = 0; w < count || Stopwatch.GetElapsedTime(started) < minTime; w++)
            {
                await client.SearchAsync(collection, Request([queries.Vector(w % queries.Count)], p), database, cancellationToken).ConfigureAwait(false);
                if (w < count)
                {
                    progress?.Advance(1);
                }
            }
        }

        private SearchRequest Request(IReadOnlyList<float[]> vectors, Dictionary<string, string> p) => new()
        {
            Vectors = vectors,
            AnnsField = field,
            Limit = Limit,
            Filter = filter,
            SearchParams = p,
        };

        /// <summary>The first k hits, leaving out the query's own row (or, when it is not among the hits, the k+1-th).</summary>
        private void Keep(IReadOnlyList<SearchHit> hits, object? self, IdMap ids, Span<int> output)
        {
            output.Fill(-1);
            var skipped = !selfExclude;
            var n = 0;
            foreach (var hit in hits)
            {
                if (!skipped && self is not null && hit.Id.Equals(self))
                {
                    skipped = true;
                    continue;
                }

                if (n == k)
                {
                    break;
                }

                output[n++] = ids[hit.Id];
            }
        }

        private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
    }
}
