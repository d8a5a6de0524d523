using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Bench;

/// <summary>What <c>quiver bench ann</c> runs. Paths are vector files (<see cref="VectorFile"/>).</summary>
/// <param name="Base">The vectors to index.</param>
/// <param name="Queries">The query vectors (same dimension).</param>
/// <param name="GroundTruth">Exact neighbour ids per query (at least <paramref name="K"/> per row); null: computed here.</param>
/// <param name="Metric">Distance of the index and of the ground truth.</param>
/// <param name="Kind">The index type, built through <see cref="IndexFactory"/>.</param>
/// <param name="BuildParams">Build parameters (<c>{"M":16,"efConstruction":200}</c>).</param>
/// <param name="SearchParams">One search setting per run (<c>{"ef":64}</c>), in order.</param>
/// <param name="K">Neighbours per query (top-k, and the k of recall@k).</param>
/// <param name="Threads">Search threads (1: one query at a time).</param>
/// <param name="BuildThreads">Threads the index build may use.</param>
/// <param name="Batch">Queries per timed unit (1: one query per unit); see <see cref="SearchTimer"/>.</param>
/// <param name="MaxQueries">Use only the first N queries (0: all).</param>
/// <param name="Warmup">Untimed queries before each setting, shared among the threads.</param>
/// <param name="Json">Where to write the JSON result, or null.</param>
/// <param name="SaveGroundTruth">Where to write the ground truth computed here (<c>.ivecs</c> or <c>.npy</c>), or null.</param>
/// <param name="SaveIndex">Where to write the index file (its size is reported), or null.</param>
internal sealed record AnnOptions(
    string Base,
    string Queries,
    string? GroundTruth,
    MetricType Metric,
    IndexKind Kind,
    IndexParameters BuildParams,
    IReadOnlyList<IndexParameters> SearchParams,
    int K = 10,
    int Threads = 1,
    int BuildThreads = 1,
    int Batch = 1,
    int MaxQueries = 0,
    int Warmup = 1000,
    string? Json = null,
    string? SaveGroundTruth = null,
    string? SaveIndex = null);

/// <summary>One search setting's figures.</summary>
internal sealed record AnnRun(IndexParameters Params, double Recall, SearchMeasurement Measurement);

/// <summary>What one <c>quiver bench ann</c> measured: the JSON the peers write too.</summary>
internal sealed record AnnResult(
    AnnOptions Options, int Rows, int Dimension, int Queries, double BuildSeconds, long IndexBytes, long? IndexFileBytes, long PeakRssBytes,
    double GroundTruthSeconds, IReadOnlyList<AnnRun> Runs, double BuildCpuSeconds = 0);

/// <summary>The recall-vs-speed harness: loads the data, builds one index through <see cref="IndexFactory"/>, sweeps
/// the search settings and reports recall@k, QPS and latency percentiles per setting. Works for every
/// <see cref="IndexKind"/> the factory builds.</summary>
internal static class AnnBenchmark
{
    /// <summary>Runs the benchmark; prints progress to <paramref name="log"/> and the table to <paramref name="output"/>.</summary>
    public static AnnResult Run(AnnOptions options, TextWriter output, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.K < 1 || options.Threads < 1 || options.BuildThreads < 1 || options.Batch < 1 || options.MaxQueries < 0 || options.Warmup < 0)
        {
            Throw.Invalid("--k, --threads, --build-threads and --batch must be at least 1; --max-queries and --warmup at least 0");
        }

        // Parameters are checked against the base file's dimension before anything is loaded, so a typo fails fast.
        using (var header = VectorFile.Open(options.Base))
        {
            IndexFactory.Validate(options.Kind, options.Metric, options.BuildParams, header.Dimension);
        }

        IReadOnlyList<IndexParameters> searchParams = options.SearchParams.Count == 0 ? [IndexParameters.Empty] : options.SearchParams;
        var parsed = searchParams.Select(AnnSearchParams.Parse).ToArray();

        var store = LoadBase(options.Base, out var rows, out var dim);
        var view = store.View(rows);
        var queries = VectorFile.ReadFloats(options.Queries, options.MaxQueries, out var nq, out var queryDim);
        if (queryDim != dim)
        {
            throw VectorFile.Error(options.Queries, $"queries have dimension {queryDim} but the base vectors ({options.Base}) have {dim}");
        }

        if (options.K > rows)
        {
            Throw.Invalid($"--k {options.K} exceeds the {rows} base vectors");
        }

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data: {rows} x {dim} base vectors, {nq} queries, {options.Metric}, k={options.K}"));
        var (truth, truthK, gtSeconds) = LoadOrComputeTruth(options, view, queries, nq, log, cancellationToken);

        log.WriteLine($"build: {options.Kind.ToMilvusName()} {options.BuildParams.ToJson()} on {options.BuildThreads} thread(s)");
        var reported = -1;
        var buildOptions = new IndexBuildOptions(Threads: options.BuildThreads, Progress: fraction =>
        {
            var decile = (int)(fraction * 10);
            if (decile > Volatile.Read(ref reported) && Interlocked.Exchange(ref reported, decile) < decile)
            {
                log.WriteLine($"build: {decile * 10}%");
            }
        });
        var started = Stopwatch.GetTimestamp();
        var cpuBefore = SearchTimer.ProcessCpu();
        var index = IndexFactory.Build(options.Kind, options.Metric, options.BuildParams, view, buildOptions, cancellationToken);
        var buildSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var buildCpuSeconds = (SearchTimer.ProcessCpu() - cpuBefore).TotalSeconds;
        long? fileBytes = options.SaveIndex is { } indexPath ? IndexFactory.Save(index, PhysicalFileSystem.Instance, indexPath) : null;
        if (options.SaveIndex is { } saved && index.ServesFromFile)
        {
            // As the engine does: DISKANN is searched from its file (node block through the map), not from the build.
            index.Dispose();
            index = IndexFactory.Load(IndexFile.Open(PhysicalFileSystem.Instance, saved), view);
        }

        using var searched = index;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"build: {buildSeconds:0.00} s ({buildCpuSeconds:0.0} CPU-s), {index.MemoryBytes / 1e6:0.0} MB"));

        var runs = new List<AnnRun>();
        var found = new int[nq * options.K];
        for (var i = 0; i < parsed.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = SearchTimer.Run(index, queries, nq, options.K, parsed[i], options.Threads, options.Batch, Math.Min(options.Warmup, nq), found);
            var recall = GroundTruth.Recall(found, truth, truthK, nq, options.K);
            runs.Add(new AnnRun(searchParams[i], recall, m));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"search {searchParams[i].ToJson()}: recall {recall:0.0000}, {m.Qps:0.0} QPS, {m.CpuMicrosPerQuery:0.0} CPU-us per query"));
        }

        var result = new AnnResult(options, rows, dim, nq, buildSeconds, index.MemoryBytes, fileBytes, PeakRssBytes(), gtSeconds, runs, buildCpuSeconds);
        WriteTable(result, output);
        if (options.Json is { } json)
        {
            WriteJson(result, json);
        }

        GC.KeepAlive(store);
        return result;
    }

    /// <summary>Peak resident set size of this process (VmHWM in /proc/self/status), in bytes; 0 where there is no /proc.</summary>
    public static long PeakRssBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return 0;
        }

        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kb = line["VmHWM:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>Reads a base vector file into a vector store chunk by chunk, so the rows are held once.</summary>
    public static VectorStore LoadBase(string path, out int rows, out int dim)
    {
        using var file = VectorFile.Open(path);
        rows = file.Count;
        dim = file.Dimension;
        var store = new VectorStore(dim, rows);
        var chunkRows = Math.Max(1, (1 << 18) / dim);
        var chunk = new float[chunkRows * dim];
        for (var at = 0; at < rows; at += chunkRows)
        {
            var n = Math.Min(chunkRows, rows - at);
            file.ReadFloats(at, n, chunk);
            store.Append(chunk.AsSpan(0, n * dim), at);
        }

        return store;
    }

    private static (int[] Truth, int TruthK, double Seconds) LoadOrComputeTruth(
        AnnOptions options, VectorView view, float[] queries, int nq, TextWriter log, CancellationToken cancellationToken)
    {
        if (options.GroundTruth is { } path)
        {
            var truth = VectorFile.ReadInts(path, nq, out var rows, out var truthK);
            if (rows < nq)
            {
                throw VectorFile.Error(path, $"has ground truth for {rows} queries; {options.Queries} has {nq}");
            }

            if (truthK < options.K)
            {
                throw VectorFile.Error(path, $"holds top-{truthK} per query; recall@{options.K} needs at least {options.K}");
            }

            foreach (var id in truth)
            {
                if ((uint)id >= (uint)view.Count)
                {
                    throw VectorFile.Error(path, $"id {id} is outside the {view.Count} base vectors of {options.Base}");
                }
            }

            return (truth, truthK, 0);
        }

        var threads = Math.Max(options.BuildThreads, options.Threads);
        log.WriteLine($"ground truth: exact top-{options.K} ({options.Metric}) on {threads} thread(s)");
        var started = Stopwatch.GetTimestamp();
        var computed = GroundTruth.Compute(view, queries, nq, options.Metric, options.K, threads, cancellationToken: cancellationToken);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ground truth: {seconds:0.00} s"));
        if (options.SaveGroundTruth is { } save)
        {
            VectorFile.Write<int>(save, computed, options.K);
            log.WriteLine($"ground truth: saved to {save}");
        }

        return (computed, options.K, seconds);
    }

    private static void WriteTable(AnnResult r, TextWriter output)
    {
        var o = r.Options;
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv,
            $"quiver {o.Kind.ToMilvusName()} {o.BuildParams.ToJson()} {o.Metric}: {r.Rows} x {r.Dimension}, {r.Queries} queries, k={o.K}, {o.Threads} search thread(s), batch {o.Batch}"));
        var file = r.IndexFileBytes is { } f ? string.Create(inv, $", file {f / 1e6:0.0} MB") : "";
        output.WriteLine(string.Create(inv,
            $"build {r.BuildSeconds:0.00} s on {o.BuildThreads} thread(s), index {r.IndexBytes / 1e6:0.0} MB{file}, peak RSS {r.PeakRssBytes / 1e6:0.0} MB"));
        var unit = o.Batch == 1 ? "" : $" (per {o.Batch})";
        var width = Math.Max(20, r.Runs.Max(x => x.Params.ToJson().Length));
        var p50 = "p50 us" + unit;
        var p99 = "p99 us" + unit;
        var latency = Math.Max(12, p50.Length);
        output.WriteLine($"{"params".PadRight(width)} {"recall@" + o.K,10} {"QPS",11} {p50.PadLeft(latency)} {p99.PadLeft(latency)}");
        foreach (var run in r.Runs)
        {
            var m = run.Measurement;
            output.WriteLine(string.Create(inv,
                $"{run.Params.ToJson().PadRight(width)} {run.Recall,10:0.0000} {m.Qps,11:0.0} {m.P50Micros.ToString("0.0", inv).PadLeft(latency)} {m.P99Micros.ToString("0.0", inv).PadLeft(latency)}"));
        }
    }

    /// <summary>Writes the result as the JSON every peer writes: name, index, build_seconds, build_cpu_seconds, index_bytes,
    /// peak_rss_bytes, runs[{params, recall, qps, p50_us, p99_us, cpu_us}] (cpu_us: process CPU per query), plus what
    /// describes the run.</summary>
    public static void WriteJson(AnnResult r, string path)
    {
        var o = r.Options;
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("name", "quiver");
        w.WriteString("index", o.Kind.ToMilvusName());
        w.WriteString("metric", o.Metric.ToString().ToUpperInvariant());
        w.WritePropertyName("build_params");
        w.WriteRawValue(o.BuildParams.ToJson());
        w.WriteNumber("build_seconds", r.BuildSeconds);
        w.WriteNumber("build_cpu_seconds", r.BuildCpuSeconds);
        w.WriteNumber("build_threads", o.BuildThreads);
        w.WriteNumber("index_bytes", r.IndexBytes);
        if (r.IndexFileBytes is { } fileBytes)
        {
            w.WriteNumber("index_file_bytes", fileBytes);
        }

        w.WriteNumber("raw_vector_bytes", (long)r.Rows * r.Dimension * sizeof(float));
        w.WriteNumber("peak_rss_bytes", r.PeakRssBytes);
        w.WriteString("base", o.Base);
        w.WriteNumber("rows", r.Rows);
        w.WriteNumber("dim", r.Dimension);
        w.WriteNumber("queries", r.Queries);
        w.WriteNumber("k", o.K);
        w.WriteNumber("threads", o.Threads);
        w.WriteNumber("batch", o.Batch);
        w.WriteNumber("ground_truth_seconds", r.GroundTruthSeconds);
        w.WriteStartArray("runs");
        foreach (var run in r.Runs)
        {
            w.WriteStartObject();
            w.WritePropertyName("params");
            w.WriteRawValue(run.Params.ToJson());
            w.WriteNumber("recall", run.Recall);
            w.WriteNumber("qps", run.Measurement.Qps);
            w.WriteNumber("p50_us", run.Measurement.P50Micros);
            w.WriteNumber("p99_us", run.Measurement.P99Micros);
            w.WriteNumber("cpu_us", run.Measurement.CpuMicrosPerQuery);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
