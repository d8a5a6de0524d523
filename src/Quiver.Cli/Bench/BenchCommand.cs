using System.CommandLine;
using System.Text.Json;
using Quiver.Indexing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Bench;

/// <summary><c>quiver bench</c>: the recall-vs-speed harness (<c>ann</c>), its data preparation (<c>data</c>) and a
/// file helper (<c>head</c>). See bench/README.md.</summary>
internal static class BenchCommand
{
    private const string DefaultCache = "bench/data";

    /// <summary>The <c>bench</c> command group.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks: ANN recall vs speed through the index factory, and its data sets.");
        bench.Subcommands.Add(CreateAnn());
        bench.Subcommands.Add(CreateData());
        bench.Subcommands.Add(CreateHead());
        bench.Subcommands.Add(EmbeddingBenchmark.Create());
        return bench;
    }

    private static Command CreateAnn()
    {
        var baseFile = new Option<string?>("--base") { Description = "Base vectors (.fvecs, .bvecs, .npy)." };
        var queries = new Option<string?>("--queries") { Description = "Query vectors (.fvecs, .bvecs, .npy), same dimension as --base." };
        var truth = new Option<string?>("--groundtruth") { Description = "Exact neighbour ids per query (.ivecs, .npy). Default: computed exactly here." };
        var saveTruth = new Option<string?>("--save-groundtruth") { Description = "Write the computed ground truth here (.ivecs, .npy) to reuse it." };
        var data = new Option<string?>("--data") { Description = "Instead of the files: a prepared data set, 'fashion-mnist' or 'synthetic:NxD[:seed]' (see 'bench data')." };
        var cache = CacheOption();
        var fmnist = FashionMnistOption();
        var metric = new Option<string>("--metric") { Description = "L2, IP or COSINE.", DefaultValueFactory = _ => "L2" };
        var index = new Option<string>("--index") { Description = "Index type (FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY, DISKANN).", DefaultValueFactory = _ => "FLAT" };
        var build = new Option<string?>("--build") { Description = "Build parameters as a JSON object, e.g. '{\"M\":16,\"efConstruction\":200}'." };
        var search = new Option<string?>("--search") { Description = "Search settings as a JSON list of objects, one run each, e.g. '[{\"ef\":10},{\"ef\":40}]'." };
        var k = new Option<int>("--k") { Description = "Neighbours per query; recall@k.", DefaultValueFactory = _ => 10 };
        var threads = new Option<int>("--threads") { Description = "Search threads, each running one query (or one batch) at a time.", DefaultValueFactory = _ => 1 };
        var buildThreads = new Option<int?>("--build-threads") { Description = "Threads of the index build and ground truth. Default: --threads." };
        var batch = new Option<int>("--batch") { Description = "Queries per timed unit (throughput of N one-query calls per unit); latencies are per unit.", DefaultValueFactory = _ => 1 };
        var maxQueries = new Option<int>("--max-queries") { Description = "Use only the first N queries (0: all).", DefaultValueFactory = _ => 0 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed queries before each search setting (each thread also warms up for at least 0.5 s).", DefaultValueFactory = _ => 1000 };
        var json = new Option<string?>("--json") { Description = "Write the result as JSON here." };
        var saveIndex = new Option<string?>("--save-index") { Description = "Write the index file here and report its size." };

        var command = new Command("ann", "Build one index over base vectors and measure recall@k, QPS and latency for each search setting.");
        foreach (var o in new Option[] { baseFile, queries, truth, saveTruth, data, cache, fmnist, metric, index, build, search, k, threads, buildThreads, batch, maxQueries, warmup, json, saveIndex })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, ct) => Task.FromResult(Guard("bench ann", () =>
        {
            var t = parse.GetValue(threads);
            var bt = parse.GetValue(buildThreads) ?? t;
            string? basePath = parse.GetValue(baseFile), queryPath = parse.GetValue(queries), truthPath = parse.GetValue(truth);
            var metricType = ParseMetric(parse.GetValue(metric)!);
            if (parse.GetValue(data) is { } spec)
            {
                if (basePath is not null || queryPath is not null)
                {
                    Throw.Invalid("give either --data or --base and --queries, not both");
                }

                var set = AnnDatasets.Ensure(spec, parse.GetValue(cache)!, parse.GetValue(fmnist)!, bt, Console.Error, ct);
                (basePath, queryPath) = (set.Base, set.QueryFile);

                // The cached ground truth is L2; other metrics compute their own.
                truthPath ??= metricType == MetricType.L2 ? set.GroundTruth : null;
            }

            if (basePath is null || queryPath is null)
            {
                Throw.Invalid("--base and --queries (or --data) are required");
            }

            if (!IndexKindNames.TryParse(parse.GetValue(index), out var kind))
            {
                Throw.Invalid($"--index '{parse.GetValue(index)}': unknown index type; expected FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY or DISKANN");
            }

            var options = new AnnOptions(
                basePath, queryPath, truthPath, metricType, kind,
                IndexParameters.FromJson(parse.GetValue(build), "--build"),
                ParseSearchList(parse.GetValue(search)),
                K: parse.GetValue(k), Threads: t, BuildThreads: bt, Batch: parse.GetValue(batch), MaxQueries: parse.GetValue(maxQueries),
                Warmup: parse.GetValue(warmup), Json: parse.GetValue(json), SaveGroundTruth: parse.GetValue(saveTruth), SaveIndex: parse.GetValue(saveIndex));
            AnnBenchmark.Run(options, Console.Out, Console.Error, ct);
        })));
        return command;
    }

    private static Command CreateData()
    {
        var sets = new Option<string[]>("--data")
        {
            Description = "Data sets to prepare: 'fashion-mnist', 'synthetic:NxD[:seed]'.",
            DefaultValueFactory = _ => ["fashion-mnist", "synthetic:500000x128:42"],
            AllowMultipleArgumentsPerToken = true,
        };
        var cache = CacheOption();
        var fmnist = FashionMnistOption();
        var threads = new Option<int>("--threads") { Description = "Threads for generation and ground truth.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command(
            "data",
            "Prepare the ANN data sets (base.fvecs, queries.fvecs, exact L2 top-100 groundtruth.ivecs) once, in the cache folder. Prints one line per set: name, folder, rows, dimension, queries (tab-separated).");
        command.Options.Add(sets);
        command.Options.Add(cache);
        command.Options.Add(fmnist);
        command.Options.Add(threads);
        command.SetAction((parse, ct) => Task.FromResult(Guard("bench data", () =>
        {
            foreach (var spec in parse.GetValue(sets)!)
            {
                var set = AnnDatasets.Ensure(spec, parse.GetValue(cache)!, parse.GetValue(fmnist)!, parse.GetValue(threads), Console.Error, ct);
                Console.Out.WriteLine($"{set.Name}\t{Path.GetFullPath(set.Folder)}\t{set.Rows}\t{set.Dimension}\t{set.Queries}");
            }
        })));
        return command;
    }

    private static Command CreateHead()
    {
        var input = new Argument<string>("input") { Description = "A vector file (.fvecs, .ivecs, .bvecs, .npy)." };
        var output = new Argument<string>("output") { Description = "Where to write its first rows (same element type; any of the formats)." };
        var rows = new Option<int>("--rows") { Description = "How many rows.", Required = true };
        var command = new Command("head", "Copy the first N rows of a vector file, e.g. to run peers on fewer queries.");
        command.Arguments.Add(input);
        command.Arguments.Add(output);
        command.Options.Add(rows);
        command.SetAction(parse => Guard("bench head", () => Head(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(rows))));
        return command;
    }

    /// <summary>Copies the first <paramref name="rows"/> rows of <paramref name="input"/> to <paramref name="output"/>.</summary>
    public static void Head(string input, string output, int rows)
    {
        using var file = VectorFile.Open(input);
        if (file.IsInteger)
        {
            var values = VectorFile.ReadInts(input, rows, out _, out var dim);
            VectorFile.Write<int>(output, values, dim);
        }
        else
        {
            var values = VectorFile.ReadFloats(input, rows, out _, out var dim);
            VectorFile.Write<float>(output, values, dim);
        }
    }

    /// <summary>Parses <c>--search</c>: a JSON list of objects (or one object); empty means one run with defaults.</summary>
    public static IReadOnlyList<IndexParameters> ParseSearchList(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"--search: not valid JSON: {e.Message}");
        }

        using (doc)
        {
            return doc.RootElement.ValueKind switch
            {
                JsonValueKind.Object => [IndexParameters.FromJson(json, "--search")],
                JsonValueKind.Array => [.. doc.RootElement.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.Object
                    ? IndexParameters.FromJson(e.GetRawText(), $"--search[{i}]")
                    : throw new QuiverException(QuiverErrorCode.InvalidArgument, $"--search[{i}]: expected a JSON object, got {e.ValueKind}"))],
                _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"--search: expected a JSON list of objects, got {doc.RootElement.ValueKind}"),
            };
        }
    }

    /// <summary>Parses L2, IP or COSINE (any case).</summary>
    public static MetricType ParseMetric(string text) => text.ToUpperInvariant() switch
    {
        "L2" => MetricType.L2,
        "IP" => MetricType.IP,
        "COSINE" => MetricType.Cosine,
        _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"--metric '{text}': expected L2, IP or COSINE"),
    };

    private static Option<string> CacheOption() =>
        new("--data-dir") { Description = "Cache folder of the prepared data sets.", DefaultValueFactory = _ => DefaultCache };

    private static Option<string> FashionMnistOption() =>
        new("--fashion-mnist-dir") { Description = "Folder of the Fashion-MNIST IDX files.", DefaultValueFactory = _ => AnnDatasets.FashionMnistFolder };

    /// <summary>Runs a command body; an expected failure prints one line and exits 2.</summary>
    private static int Guard(string name, Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (QuiverException e)
        {
            Console.Error.WriteLine($"quiver {name}: error: {e.Message}");
            return 2;
        }
    }
}
