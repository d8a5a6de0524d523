using System.Diagnostics;

namespace Quiver.Bench;

/// <summary><c>vectortypes</c>: search QPS of INT8 and BINARY vector fields against FLOAT, in one run on the same
/// synthetic clustered data through the embedded API (one sealed segment, one query per call, one thread). INT8 rows are
/// the float rows scaled to −127..127; BINARY rows are the signs of <c>--bits</c> seeded random projections of them
/// (HAMMING). Each variant is measured exact (FLAT / BIN_FLAT) and through an index (HNSW for FLOAT and INT8,
/// IVF_FLAT for FLOAT and BIN_IVF_FLAT for BINARY) at the first setting whose recall@k, against that variant's own exact
/// answer, reaches <c>--recall</c>. Ratios are of the same run.</summary>
internal static class VectorTypesBench
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "dim", "bits", "nq", "k", "recall", "dir", "json");
        var n = args.Int("rows", 50_000);
        var dim = args.Int("dim", 128);
        var bits = args.Int("bits", 256);
        var nq = args.Int("nq", 200);
        var k = args.Int("k", 10);
        var target = double.Parse(args.Text("recall", "0.95"), System.Globalization.CultureInfo.InvariantCulture);
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-vt-" + Guid.NewGuid().ToString("N"));
        var report = new Report();
        report.Set("benchmark", "vectortypes");
        report.Set("machine", Report.Machine());
        report.Set("rows", n);
        report.Set("dim", dim);
        report.Set("bits", bits);

        var rng = new Random(42);
        var centers = Enumerable.Range(0, 64).Select(_ => Gaussian(rng, dim, 1f)).ToArray();
        float[] Row() { var c = centers[rng.Next(centers.Length)]; var g = Gaussian(rng, dim, 0.35f); for (var i = 0; i < dim; i++) g[i] += c[i]; return g; }
        var rows = Enumerable.Range(0, n).Select(_ => Row()).ToArray();
        var queries = Enumerable.Range(0, nq).Select(_ => Row()).ToArray();
        var scale = 127f / rows.Max(r => r.Max(MathF.Abs));
        float[] Int8(float[] v) => [.. v.Select(x => MathF.Round(x * scale))];
        var planes = Enumerable.Range(0, bits).Select(_ => Gaussian(rng, dim, 1f)).ToArray();
        float[] Binary(float[] v)
        {
            var bytes = new float[bits / 8];
            for (var b = 0; b < bits; b++)
            {
                var dot = 0f;
                for (var i = 0; i < dim; i++)
                {
                    dot += planes[b][i] * v[i];
                }

                if (dot > 0)
                {
                    bytes[b / 8] += 1 << (b % 8);
                }
            }

            return bytes;
        }

        try
        {
            await using var db = await QuiverEngine.OpenAsync(folder, new QuiverOptions { BackgroundMaintenance = false });
            var f = await VariantAsync(db, "float", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, k, report, target,
                [("HNSW", [], "ef", [10, 16, 24, 32, 48, 64, 96, 128]), ("IVF_FLAT", new() { ["nlist"] = "256" }, "nprobe", [1, 2, 4, 8, 16, 32, 64])]);
            var i8 = await VariantAsync(db, "int8", new FieldSchema { Name = "v", DataType = DataType.Int8Vector, Dimension = dim, Metric = MetricType.L2 },
                [.. rows.Select(Int8)], [.. queries.Select(Int8)], k, report, target, [("HNSW", [], "ef", [10, 16, 24, 32, 48, 64, 96, 128])]);
            var bin = await VariantAsync(db, "binary", new FieldSchema { Name = "v", DataType = DataType.BinaryVector, Dimension = bits, Metric = MetricType.Hamming },
                [.. rows.Select(Binary)], [.. queries.Select(Binary)], k, report, target, [("BIN_IVF_FLAT", new() { ["nlist"] = "256" }, "nprobe", [1, 2, 4, 8, 16, 32, 64])]);
            report.Print("int8_flat_over_float_flat", i8["FLAT"] / f["FLAT"], "x", "F2");
            report.Print("binary_flat_over_float_flat", bin["FLAT"] / f["FLAT"], "x", "F2");
            report.Print("int8_hnsw_over_float_hnsw", i8["HNSW"] / f["HNSW"], "x", "F2");
            report.Print("binary_ivf_over_float_ivf", bin["BIN_IVF_FLAT"] / f["IVF_FLAT"], "x", "F2");
            report.WriteJson(args.Text("json"));
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

    /// <summary>One field type: exact QPS, then per index the QPS at the first setting reaching the recall target
    /// (NaN when none does). Returns QPS by index type, FLAT for the exact scan.</summary>
    private static async Task<Dictionary<string, double>> VariantAsync(
        QuiverEngine db, string name, FieldSchema field, float[][] rows, float[][] queries, int k, Report report, double target,
        (string Type, Dictionary<string, string> Build, string Param, int[] Values)[] indexes)
    {
        var qps = new Dictionary<string, double>();
        var collection = "vt_" + name;
        await db.CreateCollectionAsync(collection, new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), field] });
        for (var start = 0; start < rows.Length; start += 5_000)
        {
            await db.InsertAsync(collection, [.. Enumerable.Range(start, Math.Min(5_000, rows.Length - start)).Select(i => new Row { ["id"] = (long)i, ["v"] = rows[i] })]);
        }

        await db.FlushAsync(collection);
        var exact = new Dictionary<string, string> { ["exact"] = "true" };
        var (flatQps, truth) = await MeasureAsync(db, collection, queries, k, exact);
        qps["FLAT"] = flatQps;
        report.Print($"{name}_flat_qps", flatQps, "q/s");
        foreach (var (type, build, param, values) in indexes)
        {
            await db.CreateIndexAsync(collection, new IndexDefinition { FieldName = "v", IndexType = type, Metric = field.Metric, Params = build });
            await db.WaitForIndexAsync(collection);
            qps[type] = double.NaN;
            foreach (var value in values)
            {
                var (q, found) = await MeasureAsync(db, collection, queries, k, new Dictionary<string, string> { [param] = value.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                var recall = Recall(truth, found, k);
                if (recall >= target)
                {
                    qps[type] = q;
                    report.Print($"{name}_{type.ToLowerInvariant()}_qps", q, "q/s");
                    report.Print($"{name}_{type.ToLowerInvariant()}_recall", recall, "", "F3");
                    report.Set($"{name}_{type.ToLowerInvariant()}_{param}", value);
                    break;
                }
            }

            await db.DropIndexAsync(collection);
        }

        await db.DropCollectionAsync(collection);
        return qps;
    }

    private static async Task<(double Qps, List<float[]> Distances)> MeasureAsync(
        QuiverEngine db, string collection, float[][] queries, int k, Dictionary<string, string> p)
    {
        // One warm-up pass, then the timed pass.
        for (var i = 0; i < Math.Min(20, queries.Length); i++)
        {
            await db.SearchAsync(collection, new SearchRequest { Vectors = [queries[i]], Limit = k, SearchParams = p });
        }

        var distances = new List<float[]>(queries.Length);
        var t0 = Stopwatch.GetTimestamp();
        foreach (var q in queries)
        {
            var result = await db.SearchAsync(collection, new SearchRequest { Vectors = [q], Limit = k, SearchParams = p });
            distances.Add([.. result.Hits[0].Select(h => h.Score)]);
        }

        return (queries.Length / Stopwatch.GetElapsedTime(t0).TotalSeconds, distances);
    }

    /// <summary>Recall@k by distance (ties count as found): hits at most the true k-th distance, over k.</summary>
    private static double Recall(List<float[]> truth, List<float[]> found, int k)
    {
        double hits = 0;
        for (var q = 0; q < truth.Count; q++)
        {
            var bound = truth[q][^1] * (1 + 1e-6f);
            hits += Math.Min(k, found[q].Count(d => d <= bound));
        }

        return hits / (truth.Count * (double)k);
    }

    private static float[] Gaussian(Random rng, int dim, float sigma)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = sigma * (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }

        return v;
    }
}
