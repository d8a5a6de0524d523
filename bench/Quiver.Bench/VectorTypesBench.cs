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
        args.RejectUnknown("rows", "dim", "bits", "nq", "k", "recall", "rounds", "dir", "json", "variants", "M", "efc", "growing");
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

        Progress($"data generated: {n} rows, {nq} queries");
        try
        {
            await using var db = await QuiverEngine.OpenAsync(folder, new QuiverOptions { BackgroundMaintenance = false });
            // --M / --efc: HNSW build parameters for both HNSW variants (the engine's defaults when not given); a lower
            // efConstruction is what makes two 1M-row builds fit a shared machine's time.
            var hnswBuild = new Dictionary<string, string>();
            foreach (var (option, key) in new[] { ("M", "M"), ("efc", "efConstruction") })
            {
                if (args.Text(option) is { } value)
                {
                    hnswBuild[key] = args.Int(option, 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    report.Set($"hnsw_{key}", value);
                }
            }

            var hnsw = ("HNSW", hnswBuild, "ef", new[] { 10, 16, 24, 32, 48, 64, 96, 128, 192, 256 });
            var ivf = new Dictionary<string, string> { ["nlist"] = "256" };
            int[] probes = [1, 2, 4, 8, 16, 32, 64, 128];
            var int8Field = new FieldSchema { Name = "v", DataType = DataType.Int8Vector, Dimension = dim, Metric = MetricType.L2 };
            var binaryField = new FieldSchema { Name = "v", DataType = DataType.BinaryVector, Dimension = bits, Metric = MetricType.Hamming };
            // --variants: which of these to build (default the first four); the *_flat ones are exact only (no index build),
            // for sizes where an HNSW build does not fit the time at hand.
            // --growing true: the *_flat variants are not flushed, so their exact searches scan a growing segment's rows
            // (while they stay below the 64 MiB seal size).
            var growing = args.Text("growing", "false") == "true";
            report.Set("growing", growing);
            var flat = ("FLAT", new Dictionary<string, string>(), "", Array.Empty<int>());
            var binFlat = ("BIN_FLAT", new Dictionary<string, string>(), "", Array.Empty<int>());
            var wanted = args.Text("variants", "float_hnsw,int8_hnsw,float_ivf_flat,binary_bin_ivf_flat")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var known = new Dictionary<string, Func<Task<Variant>>>
            {
                ["float_hnsw"] = () => Variant.CreateAsync(db, "float_hnsw", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, hnsw),
                ["int8_hnsw"] = () => Variant.CreateAsync(db, "int8_hnsw", int8Field, [.. rows.Select(Int8)], [.. queries.Select(Int8)], hnsw),
                ["float_ivf_flat"] = () => Variant.CreateAsync(db, "float_ivf_flat", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, ("IVF_FLAT", ivf, "nprobe", probes)),
                ["binary_bin_ivf_flat"] = () => Variant.CreateAsync(db, "binary_bin_ivf_flat", binaryField, [.. rows.Select(Binary)], [.. queries.Select(Binary)], ("BIN_IVF_FLAT", ivf, "nprobe", probes)),
                ["float_flat"] = () => Variant.CreateAsync(db, "float_flat", FieldSchema.Vector("v", dim, MetricType.L2), rows, queries, flat, flush: !growing),
                ["int8_flat"] = () => Variant.CreateAsync(db, "int8_flat", int8Field, [.. rows.Select(Int8)], [.. queries.Select(Int8)], flat, flush: !growing),
                ["binary_bin_flat"] = () => Variant.CreateAsync(db, "binary_bin_flat", binaryField, [.. rows.Select(Binary)], [.. queries.Select(Binary)], binFlat, flush: !growing),
            };
            var variants = new List<Variant>();
            foreach (var name in wanted)
            {
                variants.Add(await (known.TryGetValue(name, out var create) ? create : throw new ArgumentException(
                    $"--variants: unknown '{name}' (known: {string.Join(", ", known.Keys)})"))());
            }
            foreach (var v in variants)
            {
                await v.CalibrateAsync(db, k, target, report);
                Progress($"{v.Name}: calibrated");
            }

            // Recall against FLOAT's exact neighbours (same rows, same ids): what a user who stores INT8 or BINARY codes
            // of float embeddings gets of the true top-k, exact and at the calibrated index setting. The recall above is
            // each variant against its own exact answer (how well its index approximates its own metric).
            if (variants.FirstOrDefault(v => v.Name.StartsWith("float_", StringComparison.Ordinal)) is { } floats)
            {
                foreach (var v in variants.Where(v => !v.Name.StartsWith("float_", StringComparison.Ordinal)))
                {
                    report.Print($"{v.Name}_exact_recall_vs_float", IdRecall(floats.ExactIds, v.ExactIds, k), "", "F3");
                    if (v.IndexIds.Count > 0)
                    {
                        report.Print($"{v.Name}_index_recall_vs_float", IdRecall(floats.ExactIds, v.IndexIds, k), "", "F3");
                    }
                }
            }

            // Timed passes alternate between the variants, best of --rounds each, so that a burst of load on the shared
            // machine does not land on one variant only.
            for (var round = 0; round < rounds; round++)
            {
                foreach (var v in variants)
                {
                    await v.TimeAsync(db, k);
                }

                Progress($"timed round {round + 1} of {rounds}");
            }

            foreach (var v in variants)
            {
                report.Print($"{v.Name}_exact_qps", v.ExactQps, "q/s");
                report.Print($"{v.Name}_exact_cpu_ms", v.ExactCpuMs, "ms/query", "F4");
                if (!double.IsNaN(v.IndexQps))
                {
                    report.Print($"{v.Name}_index_qps", v.IndexQps, "q/s");
                    report.Print($"{v.Name}_index_cpu_ms", v.IndexCpuMs, "ms/query", "F4");
                }
            }

            // Ratios of the same run, by wall-clock QPS and by CPU per query (queries per CPU-second; the figure to read
            // on a loaded machine): a pair is printed when both of its variants ran.
            Variant? Of(string name) => variants.FirstOrDefault(v => v.Name == name);
            void Ratio(string label, string a, string b, bool exact)
            {
                if (Of(a) is { } x && Of(b) is { } y)
                {
                    report.Print(label, exact ? x.ExactQps / y.ExactQps : x.IndexQps / y.IndexQps, "x", "F2");
                    report.Print(label + "_by_cpu", exact ? y.ExactCpuMs / x.ExactCpuMs : y.IndexCpuMs / x.IndexCpuMs, "x", "F2");
                }
            }

            var floatExact = Of("float_hnsw") is not null ? "float_hnsw" : Of("float_ivf_flat") is not null ? "float_ivf_flat" : "float_flat";
            Ratio("int8_over_float_exact", Of("int8_hnsw") is not null ? "int8_hnsw" : "int8_flat", floatExact, exact: true);
            Ratio("binary_over_float_exact", Of("binary_bin_ivf_flat") is not null ? "binary_bin_ivf_flat" : "binary_bin_flat", floatExact, exact: true);
            Ratio("int8_hnsw_over_float_hnsw", "int8_hnsw", "float_hnsw", exact: false);
            Ratio("binary_ivf_over_float_ivf", "binary_bin_ivf_flat", "float_ivf_flat", exact: false);
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

        /// <summary>Ids of this variant's exact top-k per query.</summary>
        public List<long[]> ExactIds { get; private set; } = [];

        /// <summary>Ids of the top-k per query at the calibrated index setting (empty without one).</summary>
        public List<long[]> IndexIds { get; private set; } = [];

        public double ExactQps { get; private set; }

        public double IndexQps { get; private set; } = double.NaN;

        /// <summary>Process CPU time per query of the fastest timed exact pass.</summary>
        public double ExactCpuMs { get; private set; } = double.NaN;

        /// <summary>Process CPU time per query of the fastest timed indexed pass.</summary>
        public double IndexCpuMs { get; private set; } = double.NaN;

        private static Dictionary<string, string> Exact => new() { ["exact"] = "true" };

        public static async Task<Variant> CreateAsync(
            QuiverEngine db, string name, FieldSchema field, float[][] rows, float[][] queries, (string Type, Dictionary<string, string> Build, string Param, int[] Values) index,
            bool flush = true)
        {
            await db.CreateCollectionAsync(name, new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), field] });
            for (var start = 0; start < rows.Length; start += 5_000)
            {
                await db.InsertAsync(name, [.. Enumerable.Range(start, Math.Min(5_000, rows.Length - start)).Select(i => new Row { ["id"] = (long)i, ["v"] = rows[i] })]);
            }

            if (flush)
            {
                await db.FlushAsync(name);
            }

            Progress($"{name}: {rows.Length} rows inserted{(flush ? " and flushed" : ", growing")}");
            if (index.Values.Length > 0)
            {
                await db.CreateIndexAsync(name, new IndexDefinition { FieldName = "v", IndexType = index.Type, Metric = field.Metric, Params = index.Build });
                await db.WaitForIndexAsync(name);
                Progress($"{name}: {index.Type} built");
            }

            return new Variant(name, queries, index.Param, index.Values);
        }

        public async Task CalibrateAsync(QuiverEngine db, int k, double target, Report report)
        {
            (_, _truth, _, var exactIds) = await MeasureAsync(db, name, queries, k, Exact);
            ExactIds = exactIds;
            if (values.Length == 0)
            {
                return;
            }

            foreach (var value in values)
            {
                var setting = new Dictionary<string, string> { [param] = value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
                var (_, found, _, foundIds) = await MeasureAsync(db, name, queries, k, setting);
                var recall = Recall(_truth, found, k);
                if (recall >= target)
                {
                    _setting = setting;
                    IndexIds = foundIds;
                    report.Print($"{name}_recall", recall, "", "F3");
                    report.Set($"{name}_{param}", value);
                    return;
                }
            }

            report.Set($"{name}_recall", "below target at every setting");
        }

        public async Task TimeAsync(QuiverEngine db, int k)
        {
            var exact = await MeasureAsync(db, name, queries, k, Exact);
            ExactQps = Math.Max(ExactQps, exact.Qps);
            ExactCpuMs = double.IsNaN(ExactCpuMs) ? exact.CpuMs : Math.Min(ExactCpuMs, exact.CpuMs);
            if (_setting.Count > 0)
            {
                var indexed = await MeasureAsync(db, name, queries, k, _setting);
                IndexQps = double.IsNaN(IndexQps) ? indexed.Qps : Math.Max(IndexQps, indexed.Qps);
                IndexCpuMs = double.IsNaN(IndexCpuMs) ? indexed.CpuMs : Math.Min(IndexCpuMs, indexed.CpuMs);
            }
        }
    }

    private static async Task<(double Qps, List<float[]> Distances, double CpuMs, List<long[]> Ids)> MeasureAsync(
        QuiverEngine db, string collection, float[][] queries, int k, Dictionary<string, string> p)
    {
        // One warm-up pass, then the timed pass.
        for (var i = 0; i < Math.Min(20, queries.Length); i++)
        {
            await db.SearchAsync(collection, new SearchRequest { Vectors = [queries[i]], Limit = k, SearchParams = p });
        }

        var distances = new List<float[]>(queries.Length);
        var ids = new List<long[]>(queries.Length);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var t0 = Stopwatch.GetTimestamp();
        foreach (var q in queries)
        {
            var result = await db.SearchAsync(collection, new SearchRequest { Vectors = [q], Limit = k, SearchParams = p });
            distances.Add([.. result.Hits[0].Select(h => h.Score)]);
            ids.Add([.. result.Hits[0].Select(h => Convert.ToInt64(h.Id, System.Globalization.CultureInfo.InvariantCulture))]);
        }

        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return (queries.Length / seconds, distances, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / queries.Length, ids);
    }

    /// <summary>Recall@k by id: the true top-k ids found, over k (distances of different metrics do not compare).</summary>
    private static double IdRecall(List<long[]> truth, List<long[]> found, int k)
    {
        double hits = 0;
        for (var q = 0; q < truth.Count; q++)
        {
            hits += found[q].Take(k).Count(truth[q].Take(k).Contains);
        }

        return hits / (truth.Count * (double)k);
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

    /// <summary>A timestamped phase line on stderr with the process's CPU time and resident memory, so that a long run
    /// that stops shows where it was and how big it had grown.</summary>
    internal static void Progress(string what)
    {
        using var self = Process.GetCurrentProcess();
        Console.Error.WriteLine(
            $"[{DateTime.UtcNow:HH:mm:ss}] {what} (cpu {self.TotalProcessorTime.TotalSeconds:F0} s, rss {self.WorkingSet64 >> 20} MiB, managed {GC.GetTotalMemory(false) >> 20} MiB)");
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
