using System.Diagnostics;

namespace Quiver.Bench;

/// <summary><c>ingest</c>: rows per second of <c>QuiverEngine.InsertAsync</c> (rows) into a fresh embedded folder under one
/// fsync policy, with C tasks inserting concurrently (C &gt; 1 lets the WAL share one fsync among writers: group
/// commit). Rows are seeded random vectors plus two small scalars, generated before the clock starts. The folder is
/// on the real disk (the system temp folder unless <c>--dir</c>), and is deleted afterwards.</summary>
internal static class IngestBench
{
    private const string Collection = "ingest";

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("dim", "rows", "batch", "policy", "clients", "dir", "seed", "json");
        var dim = args.Int("dim", 768);
        var rows = args.Int("rows", 50_000);
        var batch = args.Int("batch", 100);
        var clients = args.Int("clients", 1);
        var seed = args.Int("seed", 42);
        var policy = Enum.Parse<DurabilityMode>(args.Text("policy", "Always"), ignoreCase: true);
        var parent = args.Text("dir") ?? Path.GetTempPath();
        if (rows < 1 || batch < 1 || clients < 1 || dim < 1)
        {
            throw new ArgumentException("--rows, --batch, --clients and --dim must be positive");
        }

        var report = new Report();
        report.Set("benchmark", "ingest");
        report.Set("machine", Report.Machine());
        report.Set("dim", dim);
        report.Set("rows", rows);
        report.Set("batch", batch);
        report.Set("clients", clients);
        report.Set("policy", policy.ToString());
        Console.WriteLine($"ingest: {rows} rows x {dim}-d float32 + 2 scalars, batch {batch}, {clients} client(s), durability {policy}");

        // Every batch is built before the clock starts: the figure is the engine's, not the generator's.
        var batches = MakeBatches(rows, batch, dim, seed);
        var folder = Path.Combine(parent, "quiver-bench-ingest-" + Guid.NewGuid().ToString("N"));
        report.Set("folder", folder);
        try
        {
            var options = new QuiverOptions { Durability = policy };
            await using var engine = await QuiverEngine.OpenAsync(folder, options);
            await engine.CreateCollectionAsync(Collection, Schema(dim));

            var next = -1;
            var start = Stopwatch.GetTimestamp();
            var workers = new Task[clients];
            for (var c = 0; c < clients; c++)
            {
                workers[c] = Task.Run(async () =>
                {
                    // Clients take batches from one shared queue, so they all stay busy to the end.
                    for (var b = Interlocked.Increment(ref next); b < batches.Count; b = Interlocked.Increment(ref next))
                    {
                        await engine.InsertAsync(Collection, batches[b]);
                    }
                });
            }

            await Task.WhenAll(workers);
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

            var info = await engine.DescribeCollectionAsync(Collection);
            if (info.RowCount != rows)
            {
                Console.Error.WriteLine($"check: FAILED, {info.RowCount} rows in the collection, expected {rows}");
                return 1;
            }

            var vectorBytes = (double)rows * dim * sizeof(float);
            report.Print("seconds", seconds, "s", "F2");
            report.Print("rows_per_second", rows / seconds, "rows/s", "F0");
            report.Print("vector_mb_per_second", vectorBytes / seconds / 1e6, "MB/s (vector data, 1 MB = 1e6 bytes)");
            report.Print("batches_per_second", batches.Count / seconds, "calls/s", "F0");
            Console.WriteLine($"check: {info.RowCount} rows in the collection, as inserted: OK");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        report.WriteJson(args.Text("json"));
        return 0;
    }

    private static CollectionSchema Schema(int dim) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("category", DataType.Int32),
            FieldSchema.Scalar("price", DataType.Float),
            FieldSchema.Vector("embedding", dim, MetricType.L2),
        ],
    };

    private static List<IReadOnlyList<IReadOnlyDictionary<string, object?>>> MakeBatches(int rows, int batch, int dim, int seed)
    {
        var rng = new Random(seed);
        var batches = new List<IReadOnlyList<IReadOnlyDictionary<string, object?>>>((rows + batch - 1) / batch);
        for (var start = 0; start < rows; start += batch)
        {
            var n = Math.Min(batch, rows - start);
            var list = new Row[n];
            for (var i = 0; i < n; i++)
            {
                var v = new float[dim];
                for (var d = 0; d < dim; d++)
                {
                    v[d] = (float)((rng.NextDouble() * 2) - 1);
                }

                list[i] = new Row
                {
                    ["id"] = (long)(start + i),
                    ["category"] = rng.Next(16),
                    ["price"] = (float)(rng.NextDouble() * 100),
                    ["embedding"] = v,
                };
            }

            batches.Add(list);
        }

        return batches;
    }
}
