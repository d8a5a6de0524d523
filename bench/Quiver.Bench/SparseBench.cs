using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Quiver.Bench;

/// <summary>
/// <c>sparse</c>: sparse inner-product search on one sealed segment, every plan on the same rows and queries in one run:
/// the exact scan (<c>exact</c> = true, the recall oracle), SPARSE_INVERTED_INDEX walked by TAAT_NAIVE, DAAT_WAND and
/// DAAT_MAXSCORE, SPARSE_WAND, and MaxScore with <c>drop_ratio_search</c> 0.2. Rows are seeded synthetic term weights
/// (a skewed vocabulary: dimension ⌊u² × vocab⌋, values in (0, 1]), one query per call. Prints a markdown table of QPS,
/// the ratio to the exact scan, and recall@k against it.
/// </summary>
internal static class SparseBench
{
    private const string Collection = "sparse";

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "vocab", "nnz", "qnnz", "nq", "k", "dir", "md");
        var rows = args.Int("rows", 100_000);
        var vocab = args.Int("vocab", 30_000);
        var nnz = args.Int("nnz", 60);
        var qnnz = args.Int("qnnz", 12);
        var nq = args.Int("nq", 200);
        var k = args.Int("k", 10);
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-sparse-" + Guid.NewGuid().ToString("N"));
        var rng = new Random(42);
        try
        {
            await using var db = await QuiverEngine.OpenAsync(folder, new QuiverOptions { BackgroundMaintenance = false });
            await db.CreateCollectionAsync(Collection, new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.SparseVector("s")] });
            for (var start = 0; start < rows; start += 10_000)
            {
                var batch = Enumerable.Range(start, Math.Min(10_000, rows - start))
                    .Select(i => new Row { ["id"] = (long)i, ["s"] = Vector(rng, vocab, nnz) }).ToList();
                await db.InsertAsync(Collection, batch);
            }

            await db.FlushAsync(Collection);
            var queries = Enumerable.Range(0, nq).Select(_ => Vector(rng, vocab, qnnz)).ToList();
            var md = new StringBuilder();
            md.AppendLine(CultureInfo.InvariantCulture, $"sparse search, {rows:N0} rows (vocabulary {vocab:N0}, {nnz} non-zeros a row), {nq} queries of {qnnz} non-zeros, top-{k}, one sealed segment, one query per call");
            md.AppendLine();
            md.AppendLine("| plan | QPS | vs exact | recall@k | p50 ms |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: |");

            var (exactQps, exactHits, exactP50) = await RunAsync(db, queries, k, new Dictionary<string, string> { ["exact"] = "true" });
            md.AppendLine(CultureInfo.InvariantCulture, $"| exact scan | {exactQps:F0} | 1.00 | 1.000 | {exactP50:F2} |");
            foreach (var (label, type, algo, drop) in new (string, string, string?, string?)[]
            {
                ("SPARSE_INVERTED_INDEX TAAT_NAIVE", "SPARSE_INVERTED_INDEX", "TAAT_NAIVE", null),
                ("SPARSE_INVERTED_INDEX DAAT_WAND", "SPARSE_INVERTED_INDEX", "DAAT_WAND", null),
                ("SPARSE_INVERTED_INDEX DAAT_MAXSCORE", "SPARSE_INVERTED_INDEX", "DAAT_MAXSCORE", null),
                ("SPARSE_WAND", "SPARSE_WAND", null, null),
                ("DAAT_MAXSCORE, drop_ratio_search 0.2", "SPARSE_INVERTED_INDEX", "DAAT_MAXSCORE", "0.2"),
            })
            {
                foreach (var existing in await db.DescribeIndexesAsync(Collection))
                {
                    await db.DropIndexAsync(Collection, existing.IndexName);
                }

                var p = algo is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["inverted_index_algo"] = algo };
                await db.CreateIndexAsync(Collection, new IndexDefinition { FieldName = "s", IndexType = type, Metric = MetricType.IP, Params = p });
                var search = drop is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["drop_ratio_search"] = drop };
                await RunAsync(db, queries.Take(1).ToList(), k, search); // builds the posting lists (first indexed search)
                var (qps, hits, p50) = await RunAsync(db, queries, k, search);
                double found = 0, wanted = 0;
                for (var q = 0; q < nq; q++)
                {
                    var truth = exactHits[q].ToHashSet();
                    wanted += truth.Count;
                    found += hits[q].Count(truth.Contains);
                }

                md.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {qps:F0} | {qps / exactQps:F2} | {(wanted == 0 ? 1 : found / wanted):F3} | {p50:F2} |");
            }

            Console.WriteLine(md.ToString());
            if (args.Text("md") is { } path)
            {
                await File.WriteAllTextAsync(path, md.ToString());
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static SparseVector Vector(Random rng, int vocab, int nnz)
    {
        var pairs = new Dictionary<uint, float>();
        while (pairs.Count < nnz)
        {
            var u = rng.NextDouble();
            pairs[(uint)(u * u * vocab)] = (float)(1 - rng.NextDouble());
        }

        return SparseVector.FromPairs(pairs);
    }

    private static async Task<(double Qps, List<List<object>> Hits, double P50Ms)> RunAsync(
        QuiverEngine db, List<SparseVector> queries, int k, Dictionary<string, string> searchParams)
    {
        var hits = new List<List<object>>(queries.Count);
        var times = new List<double>(queries.Count);
        var total = Stopwatch.StartNew();
        foreach (var q in queries)
        {
            var one = Stopwatch.StartNew();
            var result = await db.SearchAsync(Collection, new SearchRequest { Vectors = [], SparseVectors = [q], Limit = k, SearchParams = searchParams });
            times.Add(one.Elapsed.TotalMilliseconds);
            hits.Add([.. result.Hits[0].Select(h => h.Id)]);
        }

        times.Sort();
        return (queries.Count / total.Elapsed.TotalSeconds, hits, times[times.Count / 2]);
    }
}
