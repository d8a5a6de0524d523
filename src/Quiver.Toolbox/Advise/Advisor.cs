using System.Diagnostics;
using System.Globalization;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Toolbox.Tune;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Advise;

/// <summary>What <c>quiver advise</c> does. The data comes from <see cref="Collection"/> (through <see cref="Target"/>),
/// from <see cref="VectorsPath"/>, or, with neither, from synthetic clustered vectors of <see cref="Dimension"/>
/// (then <see cref="Rows"/> is required and the advice says so).</summary>
public sealed record AdviseOptions
{
    /// <summary>The folder or server of <see cref="Collection"/>.</summary>
    public TargetSpec? Target { get; init; }

    /// <summary>Sample this collection's rows.</summary>
    public string? Collection { get; init; }

    /// <summary>The vector field (default: the collection's only one).</summary>
    public string? Field { get; init; }

    /// <summary>Sample this vector file (<c>.npy</c>, <c>.fvecs</c>, <c>.bvecs</c>, <c>.jsonl</c>).</summary>
    public string? VectorsPath { get; init; }

    /// <summary>Planned rows (default: the collection's or file's size).</summary>
    public long? Rows { get; init; }

    /// <summary>Dimension: checked against the data, or the dimension of synthetic data.</summary>
    public int? Dimension { get; init; }

    /// <summary>Metric (default: the field's; L2 for a file).</summary>
    public MetricType? Metric { get; init; }

    /// <summary>Memory the index may take, in bytes; null: no limit. The command passes the engine's default
    /// (<see cref="IndexMemoryBudget.Default"/>) when none is given.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Where <see cref="MemoryBudgetBytes"/> came from, for the report (e.g. "the engine's default").</summary>
    public string? MemoryBudgetSource { get; init; }

    /// <summary>recall@k to reach; default 0.95.</summary>
    public double TargetRecall { get; init; } = 0.95;

    /// <summary>Expected p99 latency (ms) at the planned size to stay within; null: none.</summary>
    public double? TargetLatencyMs { get; init; }

    /// <summary>Rows the candidate indexes are built on; default 20,000.</summary>
    public int Sample { get; init; } = 20_000;

    /// <summary>Query vectors, drawn apart from the sample rows; default 200.</summary>
    public int Queries { get; init; } = 200;

    /// <summary>Top-k and the k of recall@k; default 10.</summary>
    public int K { get; init; } = 10;

    /// <summary>Seed of the sample and the builds.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Threads for builds and ground truth; default the processor count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>One index type considered, measured on the sample and extrapolated to the planned rows.</summary>
public sealed record AdviceCandidate
{
    /// <summary>"HNSW M=16", "IVF_SQ8".</summary>
    public required string Name { get; init; }

    /// <summary>The index type to create: FLAT, HNSW, IVF_FLAT, IVF_SQ8 or IVF_PQ.</summary>
    public required string IndexType { get; init; }

    /// <summary>Build parameters to create the index with at the planned size.</summary>
    public required IReadOnlyDictionary<string, int> BuildParams { get; init; }

    /// <summary>Search parameters to use at the planned size (IVF <c>nprobe</c> keeps the sample's probed fraction).</summary>
    public IReadOnlyDictionary<string, int> SearchParams { get; init; } = new Dictionary<string, int>();

    /// <summary>Build parameters on the sample (IVF <c>nlist</c> about 4 √sample).</summary>
    public required IReadOnlyDictionary<string, int> SampleBuildParams { get; init; }

    /// <summary>The cheapest search setting meeting the recall target on the sample (or the most accurate tried).</summary>
    public IReadOnlyDictionary<string, int> SampleSearchParams { get; init; } = new Dictionary<string, int>();

    /// <summary>recall@k on the sample: the figure the advice assumes at the planned size.</summary>
    public double SampleRecall { get; init; }

    /// <summary>Median search latency on the sample, in milliseconds.</summary>
    public double SampleP50Ms { get; init; }

    /// <summary>99th-percentile search latency on the sample, in milliseconds.</summary>
    public double SampleP99Ms { get; init; }

    /// <summary>Seconds the index took to build on the sample.</summary>
    public double BuildSeconds { get; init; }

    /// <summary>Index memory at the planned size (<see cref="IndexMemory.Estimate"/> per segment, summed).</summary>
    public long IndexBytes { get; init; }

    /// <summary>Raw vectors at the planned size (memory-mapped from the segment files).</summary>
    public long RawBytes { get; init; }

    /// <summary>What the memory budget is checked against: the index memory, plus the raw vectors for FLAT, which
    /// reads all of them on every search.</summary>
    public long BudgetBytes { get; init; }

    /// <summary>Median search latency expected at the planned size, in milliseconds (<see cref="AdviceResult.LatencyModel"/>).</summary>
    public double ExpectedP50Ms { get; init; }

    /// <summary>99th-percentile search latency expected at the planned size, in milliseconds.</summary>
    public double ExpectedP99Ms { get; init; }

    /// <summary>True when <see cref="SampleRecall"/> reaches the recall target.</summary>
    public bool MeetsRecall { get; init; }

    /// <summary>True when <see cref="ExpectedP99Ms"/> is within the latency target (or none was set).</summary>
    public bool MeetsLatency { get; init; }

    /// <summary>True when <see cref="BudgetBytes"/> is within the memory budget (or none was set).</summary>
    public bool FitsBudget { get; init; }

    /// <summary>False when the index could not be built on the sample (see <see cref="Reason"/>).</summary>
    public bool Measured { get; init; } = true;

    /// <summary>True for the recommended candidate.</summary>
    public bool Chosen { get; init; }

    /// <summary>Why it was or was not chosen.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Meets every constraint.</summary>
    public bool Eligible => Measured && MeetsRecall && MeetsLatency && FitsBudget;
}

/// <summary>What <c>quiver advise</c> recommends and why. <see cref="Recommended"/> is null when no candidate meets the
/// targets (<c>quiver advise</c> then exits 2).</summary>
public sealed record AdviceResult
{
    /// <summary>"collection NAME.FIELD", "file PATH" or "synthetic".</summary>
    public required string Source { get; init; }

    /// <summary>True when no data was given and the measurements are on synthetic clustered vectors.</summary>
    public bool Synthetic { get; init; }

    /// <summary>Rows the advice is for (the collection's, the file's, or as given).</summary>
    public long PlannedRows { get; init; }

    /// <summary>Vector dimension.</summary>
    public int Dimension { get; init; }

    /// <summary>The distance metric.</summary>
    public MetricType Metric { get; init; }

    /// <summary>Rows the candidates were built on.</summary>
    public int SampleRows { get; init; }

    /// <summary>Queries each candidate was measured with.</summary>
    public int Queries { get; init; }

    /// <summary>Top-k of the measured searches (recall@k).</summary>
    public int K { get; init; }

    /// <summary>The recall@k target.</summary>
    public double TargetRecall { get; init; }

    /// <summary>The expected-p99 target in milliseconds, or null for none.</summary>
    public double? TargetLatencyMs { get; init; }

    /// <summary>The index memory budget in bytes, or null for none.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Where the budget came from (given, or the engine's default), when there is one.</summary>
    public string? MemoryBudgetSource { get; init; }

    /// <summary>What AUTOINDEX builds at the planned size under the budget, and why (<see cref="AutoIndex.Resolve(IndexParameters, MetricType, int, int, long, long)"/>).</summary>
    public string AutoIndex { get; init; } = "";

    /// <summary>Sealed segments at the planned size, each with its own index.</summary>
    public long Segments { get; init; }

    /// <summary>Rows per sealed segment at the planned size.</summary>
    public int SegmentRows { get; init; }

    /// <summary>The tutorial's rule of thumb for this size.</summary>
    public required string Scenario { get; init; }

    /// <summary>How sample latencies are projected to the planned size.</summary>
    public string LatencyModel { get; init; } = AdviceModel.LatencyModel;

    /// <summary>Every candidate considered, in the order they were measured.</summary>
    public IReadOnlyList<AdviceCandidate> Candidates { get; init; } = [];

    /// <summary>The recommended candidate, or null when none meets the targets.</summary>
    public AdviceCandidate? Recommended { get; init; }

    /// <summary>One line saying what is recommended and why.</summary>
    public required string Summary { get; init; }

}

/// <summary><c>quiver advise</c>: builds each candidate index (FLAT, HNSW at M 16 and 32, IVF_FLAT, IVF_SQ8, IVF_PQ)
/// through <see cref="IndexFactory"/> on a sample of the user's vectors, finds the cheapest search setting meeting
/// the recall target against exact ground truth (<see cref="GroundTruth"/>), times it (<see cref="SearchTimer"/>),
/// extrapolates memory and latency to the planned size with <see cref="AdviceModel"/>, and recommends: FLAT below
/// 10K rows when it qualifies (exact and fast enough); otherwise the qualifying index with the lowest expected p50
/// latency (ties within 10 % go to less memory); FLAT when it is the only one that qualifies.</summary>
internal static class Advisor
{
    private const double Tie = 1.10;

    /// <summary>Runs the advice; writes the result to <paramref name="io"/> (table or JSON) and returns it.</summary>
    public static async Task<AdviceResult> RunAsync(AdviseOptions o, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(o);
        Check(o);
        var data = await LoadAsync(o, io, cancellationToken).ConfigureAwait(false);
        var sample = data.Sample;
        var dim = sample.Dimension;
        if (o.Dimension is { } d && d != dim)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"AdviseOptions.Dimension {d} does not match the data: {data.Source} has dimension {dim}");
        }

        var nq = Math.Min(o.Queries, sample.Count / 5);
        var nBase = sample.Count - nq;
        if (nq < 1 || nBase < Math.Max(o.K, 2))
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                $"{data.Source}: {sample.Count} vectors are too few to measure recall@{o.K} (need at least {Math.Max(5 * o.K, 10)})"));
        }

        var planned = o.Rows ?? data.Population;
        var layout = SegmentLayout.For(planned, dim, data.SegmentMaxRows, data.SegmentMaxBytes);

        // Queries are the first nq vectors of a seeded shuffle; the rest is the base the candidates are built on.
        var order = Enumerable.Range(0, sample.Count).ToArray();
        new Random(o.Seed + 2).Shuffle(order);
        var queries = new float[nq * dim];
        var store = new VectorStore(dim, nBase);
        var chunk = new float[nBase * dim];
        for (var i = 0; i < sample.Count; i++)
        {
            var row = sample.Values.AsSpan(order[i] * dim, dim);
            row.CopyTo(i < nq ? queries.AsSpan(i * dim, dim) : chunk.AsSpan((i - nq) * dim, dim));
        }

        store.Append(chunk, 0);
        var view = store.View(nBase);
        io.Note(string.Create(CultureInfo.InvariantCulture,
            $"advise: {data.Source}: {nBase:N0} sample rows + {nq} queries of dimension {dim}, {data.Metric}; planned {planned:N0} rows in {layout.Segments:N0} segment(s)"));
        var truth = GroundTruth.Compute(view, queries, nq, data.Metric, o.K, o.Threads, cancellationToken: cancellationToken);

        var specs = Specs(nBase, dim, layout);
        var measured = await io.WithProgressAsync("advise: building and measuring candidates", specs.Count, "indexes", h =>
        {
            var list = new List<AdviceCandidate>();
            foreach (var spec in specs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                list.Add(Measure(spec, o, data.Metric, view, queries, nq, truth, layout));
                h.Advance(1);
            }

            return Task.FromResult(list);
        }).ConfigureAwait(false);
        GC.KeepAlive(store);

        var (candidates, chosen) = Choose(measured, planned, o.MemoryBudgetBytes);
        var scenario = AdviceModel.Scenario(planned);
        var summary = chosen is null
            ? "no candidate meets every target: " + string.Join("; ", candidates.Select(c => $"{c.Name}: {c.Reason}"))
            : string.Create(CultureInfo.InvariantCulture,
                $"recommended: {chosen.IndexType} {Json(chosen.BuildParams)}, search {Json(chosen.SearchParams)}: recall@{o.K} {chosen.SampleRecall:0.###} on the sample, expected p50 {chosen.ExpectedP50Ms:0.###} ms / p99 {chosen.ExpectedP99Ms:0.###} ms and {ByteSize.Format(chosen.IndexBytes)} of index memory at {planned:N0} rows");
        var result = new AdviceResult
        {
            Source = data.Source,
            Synthetic = data.Synthetic,
            PlannedRows = planned,
            Dimension = dim,
            Metric = data.Metric,
            SampleRows = nBase,
            Queries = nq,
            K = o.K,
            TargetRecall = o.TargetRecall,
            TargetLatencyMs = o.TargetLatencyMs,
            MemoryBudgetBytes = o.MemoryBudgetBytes,
            MemoryBudgetSource = o.MemoryBudgetBytes is null ? null : o.MemoryBudgetSource ?? "given",
            AutoIndex = AutoIndexChoice(data.Metric, o.MemoryBudgetBytes, layout, dim),
            Segments = layout.Segments,
            SegmentRows = layout.SegmentRows,
            Scenario = scenario,
            Candidates = candidates,
            Recommended = chosen,
            Summary = summary,
        };
        return result;
    }

    private static void Check(AdviseOptions o)
    {
        if (o.Collection is not null && o.VectorsPath is not null)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "give either AdviseOptions.Collection or AdviseOptions.VectorsPath, not both");
        }

        if (o.Collection is null && o.VectorsPath is null && (o.Rows is null || o.Dimension is null))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "give AdviseOptions.Collection or AdviseOptions.VectorsPath to measure on your data, or both AdviseOptions.Rows and AdviseOptions.Dimension to measure on synthetic vectors");
        }

        if (o.Rows is < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"AdviseOptions.Rows must be at least 1, got {o.Rows}");
        }

        if (o.Dimension is < 1 or > 32_768)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"AdviseOptions.Dimension must be in 1..32768, got {o.Dimension}");
        }

        if (!(o.TargetRecall > 0 && o.TargetRecall <= 1))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture, $"AdviseOptions.TargetRecall must be in (0, 1], got {o.TargetRecall}"));
        }

        if (o.TargetLatencyMs is { } l && !(l > 0 && double.IsFinite(l)))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture, $"AdviseOptions.TargetLatencyMs must be a positive number, got {l}"));
        }

        if (o.MemoryBudgetBytes is < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"AdviseOptions.MemoryBudgetBytes must be at least 1, got {o.MemoryBudgetBytes}");
        }

        if (o.Sample < 10 || o.Queries < 1 || o.K < 1 || o.K > 1000 || o.Threads < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "AdviseOptions.Sample must be at least 10, AdviseOptions.Queries and AdviseOptions.Threads at least 1, AdviseOptions.K in 1..1000");
        }
    }

    private sealed record Data(VectorSample Sample, string Source, long Population, MetricType Metric, bool Synthetic, int SegmentMaxRows, long SegmentMaxBytes);

    private static async Task<Data> LoadAsync(AdviseOptions o, ToolReporter io, CancellationToken cancellationToken)
    {
        var engineDefaults = new QuiverOptions();
        var count = o.Sample + o.Queries;
        if (o.Collection is { } name)
        {
            var spec = o.Target ?? throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "AdviseOptions.Collection needs a target (AdviseOptions.Target)");
            await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var info = await target.Client.DescribeCollectionAsync(name, target.Database, cancellationToken).ConfigureAwait(false);
            var field = Tuner.ResolveField(info, o.Field);
            if (o.Metric is { } m && m != field.Metric)
            {
                throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"AdviseOptions.Metric {m} does not match field '{field.Name}', which uses {field.Metric}");
            }

            var sample = await io.WithProgressAsync("advise: sampling rows (key scan)", info.RowCount, "rows", h =>
                VectorSample.FromCollectionAsync(target.Client, name, target.Database, field.Name, field.Dimension!.Value, count, o.Seed, h, cancellationToken))
                .ConfigureAwait(false);
            var options = target.Engine?.Options ?? engineDefaults;
            return new Data(sample, $"collection {name}.{field.Name}", sample.Population, field.Metric, false, options.SegmentMaxRows, options.SegmentMaxBytes);
        }

        if (o.VectorsPath is { } path)
        {
            var sample = VectorSample.FromFile(path, count, o.Seed, null);
            return new Data(sample, $"file {path}", sample.Population, o.Metric ?? MetricType.L2, false, engineDefaults.SegmentMaxRows, engineDefaults.SegmentMaxBytes);
        }

        io.Note("advise: no data given: measuring on synthetic clustered vectors; real data may need other parameters (give AdviseOptions.Collection or AdviseOptions.VectorsPath)");
        var rows = (int)Math.Min(count, o.Rows!.Value + o.Queries);
        var synthetic = Synthetic(Math.Max(rows, 10), o.Dimension!.Value, o.Seed);
        return new Data(synthetic, "synthetic", o.Rows.Value, o.Metric ?? MetricType.L2, true, engineDefaults.SegmentMaxRows, engineDefaults.SegmentMaxBytes);
    }

    /// <summary>Synthetic clustered vectors: <paramref name="count"/> rows around <paramref name="clusters"/> seeded
    /// centres in [-1, 1]^dim, each coordinate off its centre by uniform noise of width <paramref name="spread"/>.</summary>
    internal static VectorSample Synthetic(int count, int dim, int seed, int clusters = 64, double spread = 0.5)
    {
        var rng = new Random(seed);
        var centres = new float[clusters * dim];
        for (var i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        var values = new float[count * dim];
        for (var r = 0; r < count; r++)
        {
            var c = rng.Next(clusters);
            for (var j = 0; j < dim; j++)
            {
                values[(r * dim) + j] = centres[(c * dim) + j] + (float)((rng.NextDouble() - 0.5) * spread);
            }
        }

        return new VectorSample(values, count, dim, null, count);
    }

    private sealed record Spec(IndexKind Kind, string Name, Dictionary<string, int> SampleBuild, Dictionary<string, int> PlannedBuild);

    private static List<Spec> Specs(int sampleRows, int dim, SegmentLayout layout)
    {
        var nlistSample = AdviceModel.Nlist(sampleRows);
        var nlist = AdviceModel.Nlist(layout.LargestRows);
        var pqM = IvfPqIndex.MOf(IndexParameters.Empty, dim);
        Dictionary<string, int> Hnsw(int m) => new() { ["M"] = m, ["efConstruction"] = 200 };
        Dictionary<string, int> Pq(int lists) => new() { ["nlist"] = lists, ["m"] = pqM, ["nbits"] = 8 };
        return
        [
            new(IndexKind.Flat, "FLAT", [], []),
            new(IndexKind.Hnsw, "HNSW M=16", Hnsw(16), Hnsw(16)),
            new(IndexKind.Hnsw, "HNSW M=32", Hnsw(32), Hnsw(32)),
            new(IndexKind.IvfFlat, "IVF_FLAT", new() { ["nlist"] = nlistSample }, new() { ["nlist"] = nlist }),
            new(IndexKind.IvfSq8, "IVF_SQ8", new() { ["nlist"] = nlistSample }, new() { ["nlist"] = nlist }),
            new(IndexKind.IvfPq, "IVF_PQ", Pq(nlistSample), Pq(nlist)),

            // Milvus's defaults; its budget is the resident part (PQ codes and node cache), the rest is read from disk.
            new(IndexKind.DiskAnn, "DISKANN", [], []),
        ];
    }

    private static AdviceCandidate Measure(
        Spec spec, AdviseOptions o, MetricType metric, VectorView view, float[] queries, int nq, int[] truth, SegmentLayout layout)
    {
        var dim = view.Dimension;
        var sampleParams = Params(spec.SampleBuild);
        var plannedParams = Params(spec.PlannedBuild);
        var indexBytes = AdviceModel.IndexBytes(spec.Kind, metric, plannedParams, layout, dim);
        var raw = layout.Rows * dim * sizeof(float);
        var candidate = new AdviceCandidate
        {
            Name = spec.Name,
            IndexType = spec.Kind.ToMilvusName(),
            BuildParams = spec.PlannedBuild,
            SampleBuildParams = spec.SampleBuild,
            IndexBytes = indexBytes,
            RawBytes = raw,
            BudgetBytes = indexBytes + (spec.Kind == IndexKind.Flat ? raw : 0),
        };

        VectorIndex index;
        var started = Stopwatch.GetTimestamp();
        try
        {
            index = IndexFactory.Build(spec.Kind, metric, sampleParams, view, new IndexBuildOptions(Threads: o.Threads, Seed: o.Seed), CancellationToken.None);
        }
        catch (Exception e) when (e is QuiverException or ArgumentException)
        {
            return candidate with { Measured = false, Reason = $"could not be built on the sample: {e.Message}" };
        }

        using (index)
        {
            var buildSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var (setting, recall) = Cheapest(index, spec.Kind, sampleParams, o, queries, nq, truth);
            var parsed = setting.Parse();
            var found = new int[nq * o.K];
            var m = SearchTimer.Run(index, queries, nq, o.K, parsed, 1, 1, Math.Min(nq, 100), found);

            var planned = new Dictionary<string, int>(setting.Values);
            double factor;
            if (spec.Kind is IndexKind.IvfFlat or IndexKind.IvfSq8 or IndexKind.IvfPq)
            {
                var sampleNlist = SweepPlan.Nlist(sampleParams, spec.Kind, view.Count);
                var nlist = spec.PlannedBuild["nlist"];
                var sampleNprobe = setting.Values["nprobe"];
                planned["nprobe"] = AdviceModel.ScaleNprobe(sampleNprobe, sampleNlist, nlist);
                factor = AdviceModel.LatencyFactor(spec.Kind, view.Count, layout, sampleNlist, sampleNprobe, nlist, planned["nprobe"],
                    setting.Values.TryGetValue("refine_k", out var refine) ? refine : 0, o.K);
            }
            else
            {
                factor = AdviceModel.LatencyFactor(spec.Kind, view.Count, layout);
            }

            var p50 = m.P50Micros / 1000;
            var p99 = m.P99Micros / 1000;
            return candidate with
            {
                SearchParams = planned,
                SampleSearchParams = setting.Values,
                SampleRecall = recall,
                SampleP50Ms = p50,
                SampleP99Ms = p99,
                BuildSeconds = buildSeconds,
                ExpectedP50Ms = p50 * factor,
                ExpectedP99Ms = p99 * factor,
                MeetsRecall = recall >= o.TargetRecall,
                MeetsLatency = o.TargetLatencyMs is not { } l || p99 * factor <= l,
                FitsBudget = o.MemoryBudgetBytes is not { } b || candidate.BudgetBytes <= b,
            };
        }
    }

    /// <summary>The cheapest setting of the sweep meeting the recall target: the first on a ladder (extended for
    /// HNSW), for IVF_PQ the lowest by the index's own cost model among each <c>refine_k</c>'s first; when none
    /// does, the most accurate tried.</summary>
    private static (SweepSetting Setting, double Recall) Cheapest(
        VectorIndex index, IndexKind kind, IndexParameters build, AdviseOptions o, float[] queries, int nq, int[] truth)
    {
        if (!SweepPlan.IsTunable(kind))
        {
            var exact = new SweepSetting(new Dictionary<string, int>());
            return (exact, Recall(index, exact.Parse(), queries, nq, o.K, truth));
        }

        var settings = SweepPlan.Settings(kind, build, o.K, index.Count).Concat(SweepPlan.Extension(kind));
        var firsts = new List<(SweepSetting Setting, double Recall)>();
        (SweepSetting Setting, double Recall) best = default;
        var done = new HashSet<int>();
        foreach (var s in settings)
        {
            var group = s.Values.TryGetValue("refine_k", out var r) ? r : 0;
            if (done.Contains(group))
            {
                continue;
            }

            var recall = Recall(index, s.Parse(), queries, nq, o.K, truth);
            if (best.Setting is null || recall > best.Recall)
            {
                best = (s, recall);
            }

            if (recall >= o.TargetRecall)
            {
                firsts.Add((s, recall));
                done.Add(group);
                if (SweepPlan.IsLadder(kind))
                {
                    break;
                }
            }
        }

        return firsts.Count == 0 ? best : firsts.MinBy(f => index.EstimateSearchCost(f.Setting.Parse(), o.K, 1.0));
    }

    private static double Recall(VectorIndex index, AnnSearchParams p, float[] queries, int nq, int k, int[] truth)
    {
        var dim = index.Dimension;
        var found = new int[nq * k];
        Parallel.For(0, nq, () => new IndexHit[k], (q, _, hits) =>
        {
            var n = index.Search(queries.AsSpan(q * dim, dim), k, p, null, hits);
            for (var i = 0; i < k; i++)
            {
                found[(q * k) + i] = i < n ? hits[i].Row : -1;
            }

            return hits;
        }, static _ => { });
        return GroundTruth.Recall(found, truth, k, nq, k);
    }

    /// <summary>What AUTOINDEX would build for this layout under the budget: the engine's own rule, with its HNSW's
    /// resident memory over every planned row.</summary>
    private static string AutoIndexChoice(MetricType metric, long? budget, SegmentLayout layout, int dim)
    {
        var (kind, _) = Indexing.AutoIndex.Resolve(IndexParameters.Empty, metric, layout.LargestRows, dim, budget ?? long.MaxValue, layout.Rows);
        var hnsw = Indexing.AutoIndex.Resolve(IndexParameters.Empty, Math.Max(layout.LargestRows, Indexing.AutoIndex.ExactRows), dim).Params;
        var bytes = ByteSize.Format(Indexing.AutoIndex.EstimateRows(IndexKind.Hnsw, metric, hnsw, layout.Rows, dim));
        var limit = budget is { } b ? ByteSize.Format(b) : "no limit";
        return kind switch
        {
            IndexKind.Flat => string.Create(CultureInfo.InvariantCulture, $"FLAT: segments of {layout.LargestRows:N0} rows are below {Indexing.AutoIndex.ExactRows:N0}, searched exactly"),
            IndexKind.DiskAnn => string.Create(CultureInfo.InvariantCulture, $"DISKANN: its HNSW would keep {bytes} resident over {layout.Rows:N0} rows, above the budget ({limit})"),
            _ => string.Create(CultureInfo.InvariantCulture, $"HNSW {hnsw.ToJson()}: {bytes} resident over {layout.Rows:N0} rows, within the budget ({limit})"),
        };
    }

    /// <summary>Marks the recommendation and gives each candidate its reason.</summary>
    private static (List<AdviceCandidate> Candidates, AdviceCandidate? Chosen) Choose(List<AdviceCandidate> all, long planned, long? budget)
    {
        var eligible = all.Where(c => c.Eligible).ToList();
        var flat = eligible.FirstOrDefault(c => c.IndexType == "FLAT");
        var ann = eligible.Where(c => c.IndexType != "FLAT").ToList();
        AdviceCandidate? chosen;
        string why;
        if (flat is not null && planned < AdviceModel.SmallRows)
        {
            (chosen, why) = (flat, "chosen: below 10K rows FLAT is exact and fast enough");
        }
        else if (ann.Count > 0)
        {
            var fastest = ann.Min(c => c.ExpectedP50Ms);
            chosen = ann.Where(c => c.ExpectedP50Ms <= fastest * Tie).OrderBy(c => c.BudgetBytes).ThenBy(c => c.ExpectedP50Ms).First();
            why = "chosen: fastest expected p50 meeting every target" + (ann.Count > 1 ? " (within 10%: less memory)" : "");
            if (chosen.IndexType == "DISKANN" && budget is { } b)
            {
                // Say why the disk index won: the in-memory ones that would otherwise qualify do not fit.
                var over = all.Where(c => c.Measured && c.MeetsRecall && c.MeetsLatency && !c.FitsBudget).ToList();
                if (over.Count > 0)
                {
                    why = $"chosen: {string.Join(", ", over.Select(c => $"{c.Name} ({ByteSize.Format(c.BudgetBytes)})"))} meet the targets but not the memory budget "
                        + $"({ByteSize.Format(b)}); DISKANN keeps {ByteSize.Format(chosen.BudgetBytes)} resident (PQ codes and node cache) and reads vectors and graph from disk";
                }
            }
        }
        else
        {
            (chosen, why) = (flat, "chosen: the only one meeting every target");
        }

        var result = all.Select(c =>
        {
            if (ReferenceEquals(c, chosen))
            {
                return c with { Chosen = true, Reason = why };
            }

            if (!c.Measured)
            {
                return c;
            }

            var problems = new List<string>();
            if (!c.MeetsRecall)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"recall {c.SampleRecall:0.###} below the target even at {Json(c.SampleSearchParams)}"));
            }

            if (!c.MeetsLatency)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"expected p99 {c.ExpectedP99Ms:0.###} ms over the latency target"));
            }

            if (!c.FitsBudget)
            {
                problems.Add($"needs {ByteSize.Format(c.BudgetBytes)}, over the budget");
            }

            var reason = problems.Count > 0 ? string.Join("; ", problems)
                : c.IndexType == "FLAT" ? "meets the targets, but at this size an index is faster"
                : chosen!.IndexType == "FLAT" ? "meets the targets, but FLAT is exact below 10K rows"
                : c.ExpectedP50Ms > chosen.ExpectedP50Ms * Tie ? $"meets the targets, but {chosen.Name} is faster"
                : $"meets the targets, but {chosen.Name} is as fast and smaller";
            return c with { Reason = reason };
        }).ToList();
        return (result, result.FirstOrDefault(c => c.Chosen));
    }

    private static IndexParameters Params(Dictionary<string, int> values) =>
        new(values.ToDictionary(p => p.Key, p => p.Value.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal));

    private static string Json(IReadOnlyDictionary<string, int> values) => new SweepSetting(values).ToString();
}
