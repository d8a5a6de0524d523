using System.Globalization;
using Quiver.Segments;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Bench;

/// <summary>A prepared data set: base vectors, queries and exact L2 ground truth, as files in one folder.</summary>
internal sealed record AnnDataset(string Name, string Folder, int Rows, int Dimension, int Queries, int GroundTruthK)
{
    /// <summary>The base vectors (<c>base.fvecs</c>).</summary>
    public string Base => Path.Combine(Folder, "base.fvecs");

    /// <summary>The query vectors (<c>queries.fvecs</c>).</summary>
    public string QueryFile => Path.Combine(Folder, "queries.fvecs");

    /// <summary>Exact L2 top-<see cref="GroundTruthK"/> ids per query (<c>groundtruth.ivecs</c>).</summary>
    public string GroundTruth => Path.Combine(Folder, "groundtruth.ivecs");
}

/// <summary>The data sets of the ANN benchmark, prepared once into a cache folder and reused while their files are
/// whole (every file opens, and the shapes are the expected ones). Names:
/// <list type="bullet">
/// <item><c>fashion-mnist</c>: the 60,000 training images as base, the 10,000 test images as queries (784-d, pixels as
/// float 0..255), from Debian's dataset-fashion-mnist IDX files.</item>
/// <item><c>synthetic:NxD[:seed]</c> (seed 42 by default): N base vectors and 10,000 queries drawn from one Gaussian
/// mixture, so the data has clusters and a lower intrinsic dimension like real embeddings (see MixtureModel).</item>
/// </list></summary>
internal static class AnnDatasets
{
    /// <summary>Neighbours per query kept in the cached ground truth (recall@k works for any k up to this).</summary>
    public const int GroundTruthK = 100;

    /// <summary>Where Debian's dataset-fashion-mnist installs its files.</summary>
    public const string FashionMnistFolder = IdxImages.FashionMnistFolder;

    private const int SyntheticQueries = 10_000;
    private const int LatentDimensions = 32;
    private const int ChunkRows = 4096;

    /// <summary>Prepares the data set <paramref name="spec"/> under <paramref name="cacheFolder"/> unless it is there and
    /// whole; returns its files.</summary>
    public static AnnDataset Ensure(string spec, string cacheFolder, string fashionMnistFolder, int threads, TextWriter log, CancellationToken cancellationToken = default)
    {
        var (name, rows, dim, seed, queryCount) = ParseSpec(spec);
        var dataset = new AnnDataset(name, Path.Combine(cacheFolder, name), rows, dim, queryCount, GroundTruthK);
        if (IsWhole(dataset))
        {
            log.WriteLine($"data {name}: cached in {dataset.Folder}");
            return dataset;
        }

        Directory.CreateDirectory(dataset.Folder);
        log.WriteLine($"data {name}: preparing in {dataset.Folder}");
        VectorStore store;
        float[] queries;
        if (name == "fashion-mnist")
        {
            var train = IdxImages.Read(fashionMnistFolder, IdxImages.FashionMnistTrain, out var n, out var d);
            queries = IdxImages.Read(fashionMnistFolder, IdxImages.FashionMnistTest, out var nq, out _);
            store = new VectorStore(d, n);
            store.Append(train, 0);
            dataset = dataset with { Rows = n, Dimension = d, Queries = nq };
        }
        else
        {
            var model = new MixtureModel(rows, dim, seed);
            store = new VectorStore(dim, rows);
            model.Generate(rows, 0, threads, (chunk, at) => store.Append(chunk, at));
            queries = new float[queryCount * dim];
            model.Generate(queryCount, 1, threads, (chunk, at) => chunk.CopyTo(queries.AsSpan(at * dim)));
        }

        var view = store.View(dataset.Rows);
        VectorFile.Write(dataset.Base, view.All, dataset.Dimension);
        VectorFile.Write<float>(dataset.QueryFile, queries, dataset.Dimension);
        log.WriteLine($"data {name}: exact L2 top-{GroundTruthK} for {dataset.Queries} queries on {threads} thread(s)");
        var reported = 0;
        var truth = GroundTruth.Compute(view, queries, dataset.Queries, MetricType.L2, GroundTruthK, threads, fraction =>
        {
            var decile = (int)(fraction * 10);
            if (Interlocked.Exchange(ref reported, decile) < decile)
            {
                log.WriteLine($"data {name}: ground truth {decile * 10}%");
            }
        }, cancellationToken);

        // The ground truth goes last: its presence says the other two files were written whole.
        VectorFile.Write<int>(dataset.GroundTruth, truth, GroundTruthK);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data {name}: {dataset.Rows} x {dataset.Dimension} base, {dataset.Queries} queries, written"));
        return dataset;
    }

    /// <summary>Parses <c>fashion-mnist</c> or <c>synthetic:NxD[:seed[:queries]]</c> into the folder name, shape and query
    /// count. A query count other than the default 10,000 (fewer queries make the exact ground truth of a 10M-row set
    /// minutes instead of an hour) is part of the folder name: <c>synthetic-NxD-sS-qQ</c>.</summary>
    public static (string Name, int Rows, int Dimension, int Seed, int Queries) ParseSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "fashion-mnist")
        {
            return (spec, 60_000, 784, 0, 10_000);
        }

        var parts = spec.Split(':');
        if (parts.Length is >= 2 and <= 4 && parts[0] == "synthetic")
        {
            var shape = parts[1].Split('x');
            var seed = 42;
            var queries = SyntheticQueries;
            if (shape.Length == 2
                && int.TryParse(shape[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rows) && rows >= 1
                && int.TryParse(shape[1], NumberStyles.None, CultureInfo.InvariantCulture, out var dim) && dim >= 1 && (long)rows * dim <= int.MaxValue
                && (parts.Length == 2 || int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out seed))
                && (parts.Length < 4 || (int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out queries) && queries >= 1)))
            {
                var suffix = queries == SyntheticQueries ? "" : string.Create(CultureInfo.InvariantCulture, $"-q{queries}");
                return (string.Create(CultureInfo.InvariantCulture, $"synthetic-{rows}x{dim}-s{seed}{suffix}"), rows, dim, seed, queries);
            }
        }

        throw new QuiverException(QuiverErrorCode.InvalidArgument, $"data set '{spec}': expected 'fashion-mnist' or 'synthetic:ROWSxDIM[:SEED[:QUERIES]]' (e.g. synthetic:500000x128:42)");
    }

    private static bool IsWhole(AnnDataset d)
    {
        if (!File.Exists(d.Base) || !File.Exists(d.QueryFile) || !File.Exists(d.GroundTruth))
        {
            return false;
        }

        try
        {
            using var b = VectorFile.Open(d.Base);
            using var q = VectorFile.Open(d.QueryFile);
            using var g = VectorFile.Open(d.GroundTruth);
            return b.Count == d.Rows && b.Dimension == d.Dimension && q.Count == d.Queries && q.Dimension == d.Dimension
                && g.Count == d.Queries && g.Dimension == d.GroundTruthK;
        }
        catch (QuiverException)
        {
            return false;
        }
    }

    /// <summary>A seeded Gaussian mixture: about one cluster per 500 base vectors (16 to 1,024), centres drawn from
    /// N(0, 2²) per coordinate, and each point = its centre + s_c · P·z + 0.1·e, where z ~ N(0, I) in 32 latent
    /// dimensions, P is a fixed random D x 32 projection (entries N(0, 1/32)), s_c a per-cluster scale in [0.5, 1.5] and
    /// e ~ N(0, I) isotropic noise. The clusters make IVF's cells meaningful and the low-rank spread makes the
    /// neighbourhoods graph-searchable, as with real embeddings; the noise keeps exact ties away. Base vectors and
    /// queries come from the same model through separate random streams; every chunk of rows has its own seeded
    /// stream, so the output does not depend on the thread count.</summary>
    private sealed class MixtureModel
    {
        private readonly int _dim;
        private readonly int _seed;
        private readonly int _latent;
        private readonly int _clusters;
        private readonly float[] _centres;
        private readonly float[] _scales;
        private readonly float[] _projection;

        public MixtureModel(int baseRows, int dim, int seed)
        {
            _dim = dim;
            _seed = seed;
            _latent = Math.Min(LatentDimensions, dim);
            _clusters = Math.Clamp(baseRows / 500, 16, 1024);
            var rng = new Random(seed);
            _centres = new float[_clusters * dim];
            for (var i = 0; i < _centres.Length; i++)
            {
                _centres[i] = 2 * Normal(rng);
            }

            _scales = new float[_clusters];
            for (var c = 0; c < _clusters; c++)
            {
                _scales[c] = 0.5f + (float)rng.NextDouble();
            }

            _projection = new float[dim * _latent];
            var sd = 1 / MathF.Sqrt(_latent);
            for (var i = 0; i < _projection.Length; i++)
            {
                _projection[i] = sd * Normal(rng);
            }
        }

        /// <summary>Generates <paramref name="count"/> rows of random stream <paramref name="stream"/> in chunks, handing
        /// each chunk and its first row number to <paramref name="sink"/> (from several threads, disjoint rows).</summary>
        public void Generate(int count, int stream, int threads, Action<float[], int> sink)
        {
            var chunks = (count + ChunkRows - 1) / ChunkRows;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, chunk =>
            {
                var rng = new Random(StreamSeed(_seed, stream, chunk));
                var first = chunk * ChunkRows;
                var n = Math.Min(ChunkRows, count - first);
                var rows = new float[n * _dim];
                var z = new float[_latent];
                for (var r = 0; r < n; r++)
                {
                    var c = rng.Next(_clusters);
                    for (var j = 0; j < _latent; j++)
                    {
                        z[j] = Normal(rng);
                    }

                    var row = rows.AsSpan(r * _dim, _dim);
                    for (var i = 0; i < _dim; i++)
                    {
                        var spread = 0f;
                        var p = _projection.AsSpan(i * _latent, _latent);
                        for (var j = 0; j < _latent; j++)
                        {
                            spread += p[j] * z[j];
                        }

                        row[i] = _centres[(c * _dim) + i] + (_scales[c] * spread) + (0.1f * Normal(rng));
                    }
                }

                sink(rows, first);
            });
        }

        /// <summary>A seed per (seed, stream, chunk) that is the same in every process (HashCode is randomized per
        /// process): SplitMix64's finalizer over the three packed together.</summary>
        private static int StreamSeed(int seed, int stream, int chunk)
        {
            var x = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)stream << 24) ^ (uint)chunk;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return (int)((x ^ (x >> 31)) & int.MaxValue);
        }

        private static float Normal(Random rng)
        {
            // Box-Muller; 1 - u keeps the logarithm finite.
            var u = 1 - rng.NextDouble();
            var v = rng.NextDouble();
            return (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }
    }
}
