using System.Diagnostics;

namespace Quiver.Bench;

/// <summary><c>vectortypes</c>: search QPS of INT8 and BINARY vector fields against FLOAT, in one run on the same
/// synthetic clustered data through the embedded API (one sealed segment, one query per call, one thread). INT8 rows are
/// the float rows scaled to −127..127; BINARY rows are the signs of <c>--bits</c> seeded random projections of them
/// (HAMMING). Each variant is measured exact (FLAT / BIN_FLAT) and through an index (HNSW for FLOAT and INT8,
/// IVF_FLAT for FLOAT and BIN_IVF_FLAT for BINARY) at the first setting whose recall@k, against that variant's own exact
/// answer, reaches <c>--recall</c>. Timed passes alternate between the variants (best of <c>--rounds</c>, default 3). Ratios are of the same run.</summary>
internal static class VectorTypesBench
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "dim", "bits", "nq", "k", "recall", "rounds", "dir", "json");
        var n = args.Int("rows", 50_000);
        var dim = args.Int("dim", 128);
        var bits = args.Int("bits", 256);
        var nq = args.Int("nq", 200);
        var rounds = args.Int("rounds", 3);
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
            var hnsw = ("HNSW", new Dictionary<string, string>(), "ef", new[] { 10, 16, 24, 32, 48, 64, 96, 128, 192, 256 });
            var ivf = new Dictionary<string, string> { ["nlist"] = "256" };
            int[] probes = [1, 2, 4, 8, 16, 32, 64, 128];
            var int8Field = new FieldSchema { Name = "v", DataType = DataType.Int8Vector, Dimension = dim, Metric = MetricType.L2 };
            var binaryField = new FieldSchema { Name = "v", DataType = DataType.BinaryVector, Dimension = bits, Metric = MetricType.Hamming };
            Variant[] variants =
            [
                await Variant.CreateAsync(db, "float_hnsw", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, hnsw),
                await Variant.CreateAsync(db, "int8_hnsw", int8Field, [.. rows.Select(Int8)], [.. queries.Select(Int8)], hnsw),
                await Variant.CreateAsync(db, "float_ivf_flat", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, ("IVF_FLAT", ivf, "nprobe", probes)),
                await Variant.CreateAsync(db, "binary_bin_ivf_flat", binaryField, [.. rows.Select(Binary)], [.. queries.Select(Binary)], ("BIN_IVF_FLAT", ivf, "nprobe", probes)),
            ];
            foreach (var v in variants)
            {
                await v.CalibrateAsync(db, k, target, report);
            }

            // Timed passes alternate between the variants, best of --rounds each, so that a burst of load on the shared
            // machine does not land on one variant only.
            for (var round = 0; round < rounds; round++)
            {
                foreach (var v in variants)
                {
                    await v.TimeAsync(db, k);
                }
            }

            foreach (var v in variants)
            {
                report.Print($"{v.Name}_exact_qps", v.ExactQps, "q/s");
                report.Print($"{v.Name}_index_qps", v.IndexQps, "q/s");
            }

            report.Print("int8_over_float_exact", variants[1].ExactQps / variants[0].ExactQps, "x", "F2");
            report.Print("binary_over_float_exact", variants[3].ExactQps / variants[0].ExactQps, "x", "F2");
            report.Print("int8_hnsw_over_float_hnsw", variants[1].IndexQps / variants[0].IndexQps, "x", "F2");
            report.Print("binary_ivf_over_float_ivf", variants[3].IndexQps / variants[2].IndexQps, "x", "F2");
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

    /// <summary>One field type with one index: its exact answer, the first index setting reaching the recall target,
    /// and the best exact and indexed QPS over the timed rounds.</summary>
    private sealed class Variant(string name, float[][] queries, string param, int[] values)
    {
        private List<float[]> _truth = [];
        private Dictionary<string, string> _setting = [];

        public string Name => name;

        public double ExactQps { get; private set; }

        public double IndexQps { get; private set; } = double.NaN;

        private static Dictionary<string, string> Exact => new() { ["exact"] = "true" };

        public static async Task<Variant> CreateAsync(
            QuiverEngine db, string name, FieldSchema field, float[][] rows, float[][] queries, (string Type, Dictionary<string, string> Build, string Param, int[] Values) index)
        {
            await db.CreateCollectionAsync(name, new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), field] });
            for (var start = 0; start < rows.Length; start += 5_000)
            {
                await db.InsertAsync(name, [.. Enumerable.Range(start, Math.Min(5_000, rows.Length - start)).Select(i => new Row { ["id"] = (long)i, ["v"] = rows[i] })]);
            }

            await db.FlushAsync(name);
            await db.CreateIndexAsync(name, new IndexDefinition { FieldName = "v", IndexType = index.Type, Metric = field.Metric, Params = index.Build });
            await db.WaitForIndexAsync(name);
            return new Variant(name, queries, index.Param, index.Values);
        }

        public async Task CalibrateAsync(QuiverEngine db, int k, double target, Report report)
        {
            (_, _truth) = await MeasureAsync(db, name, queries, k, Exact);
            foreach (var value in values)
            {
                var setting = new Dictionary<string, string> { [param] = value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                var (_, found) = await MeasureAsync(db, name, queries, k, setting);
                var recall = Recall(_truth, found, k);
                if (recall >= target)
                {
                    _setting = setting;
                    report.Print($"{name}_recall", recall, "", "F3");
                    report.Set($"{name}_{param}", value);
                    return;
                }
            }

            report.Set($"{name}_recall", "below target at every setting");
        }

        public async Task TimeAsync(QuiverEngine db, int k)
        {
            ExactQps = Math.Max(ExactQps, (await MeasureAsync(db, name, queries, k, Exact)).Qps);
            if (_setting.Count > 0)
            {
                var qps = (await MeasureAsync(db, name, queries, k, _setting)).Qps;
                IndexQps = double.IsNaN(IndexQps) ? qps : Math.Max(IndexQps, qps);
            }
        }
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
