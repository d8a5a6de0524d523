using System.Diagnostics;
using System.Globalization;

namespace Quiver.Bench;

/// <summary>
/// <c>loadlanes</c>: what a load lane per vector field buys after a reopen. One collection with two vector fields, each
/// with an IVF_FLAT index over the same sealed segments: <c>big</c> (<c>--big-dim</c>, its index files hold every vector,
/// so each takes a while to map and checksum) and <c>small</c> (<c>--small-dim</c>). The big field's index is created
/// first, so its loads are queued first at the open. <c>--build true</c> writes the folder once (<c>--segments</c> sealed
/// segments of <c>--rows</c> rows in all, seeded vectors). Each round opens the folder and at once searches the small
/// field (the default <see cref="QuiverOptions.IndexLoadWait"/>: the search waits for that field's loads), then the big
/// field: the times from the start of the open to each answer, and the segments each answer walked through an index
/// (every sealed segment, or the search was not served by its index); pass the build's
/// <c>--big-dim</c>/<c>--small-dim</c> to every run. Run the same bench code against two engines (one
/// load lane for all fields, a lane per field) alternately on one folder.
/// </summary>
internal static class LoadLanesBench
{
    private const string Collection = "lanes";
    private const int Batch = 2_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("dir", "build", "rows", "segments", "big-dim", "small-dim", "rounds", "label");
        var folder = args.Text("dir") ?? throw new ArgumentException("--dir is required");
        if (args.Text("build") == "true")
        {
            await BuildAsync(folder, args.Int("rows", 200_000), args.Int("segments", 4), args.Int("big-dim", 384), args.Int("small-dim", 16));
        }

        var label = args.Text("label", "run");
        for (var r = 0; r < args.Int("rounds", 2); r++)
        {
            await RoundAsync(folder, label, r, args.Int("big-dim", 384), args.Int("small-dim", 16));
        }

        return 0;
    }

    private static async Task BuildAsync(string folder, int rows, int segments, int bigDim, int smallDim)
    {
        var options = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false };
        options = options with { SegmentSealBytes = options.SegmentMaxBytes };
        var started = Stopwatch.GetTimestamp();
        await using var engine = await QuiverEngine.OpenAsync(folder, options);
        await engine.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("big", bigDim, MetricType.L2), FieldSchema.Vector("small", smallDim, MetricType.L2)],
        });
        var rng = new Random(42);
        var perSegment = (rows + segments - 1) / segments;
        for (int first = 0, n; first < rows; first += n)
        {
            // A batch never crosses a segment boundary, so each flush seals exactly perSegment rows.
            n = Math.Min(Math.Min(Batch, rows - first), perSegment - (first % perSegment));
            var ids = new long[n];
            var big = new float[n * bigDim];
            var small = new float[n * smallDim];
            for (var i = 0; i < n; i++)
            {
                ids[i] = first + i;
            }

            Fill(rng, big);
            Fill(rng, small);
            await engine.InsertAsync(Collection, new ColumnBatch(n)
                .Add(new FieldColumn { Name = "id", Longs = ids })
                .Add(new FieldColumn { Name = "big", Vectors = big })
                .Add(new FieldColumn { Name = "small", Vectors = small }));
            if ((first + n) % perSegment == 0 || first + n == rows)
            {
                await engine.FlushAsync(Collection);
            }
        }

        foreach (var (field, nlist) in new[] { ("big", "256"), ("small", "16") })
        {
            await engine.CreateIndexAsync(Collection, new IndexDefinition
            {
                FieldName = field, IndexType = "IVF_FLAT", Params = new Dictionary<string, string> { ["nlist"] = nlist },
            });
        }

        await engine.WaitForIndexAsync(Collection);
        var sealedSegments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"built {folder}: {rows} rows, {sealedSegments} sealed segments, big {bigDim}-d, small {smallDim}-d, IVF_FLAT each, {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s"));
    }

    private static void Fill(Random rng, float[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = rng.NextSingle();
        }
    }

    private static async Task RoundAsync(string folder, string label, int round, int bigDim, int smallDim)
    {
        var rng = new Random(round);
        var options = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false };
        var started = Stopwatch.GetTimestamp();
        await using var engine = await QuiverEngine.OpenAsync(folder, options);
        var openMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var small = await engine.SearchAsync(Collection, Request(rng, "small", smallDim));
        var smallMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var big = await engine.SearchAsync(Collection, Request(rng, "big", bigDim));
        var bigMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var sealedSegments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label} round {round}: open {openMs:F1} ms; small-field search answered {smallMs:F0} ms after the open start " +
            $"({small.Stats()!.IndexedSegments}/{sealedSegments} segments through its index); big-field search {bigMs:F0} ms " +
            $"({big.Stats()!.IndexedSegments}/{sealedSegments})"));
    }

    private static SearchRequest Request(Random rng, string field, int dim)
    {
        var q = new float[dim];
        Fill(rng, q);
        return new SearchRequest { Vectors = [q], AnnsField = field, Limit = 10, SearchParams = new Dictionary<string, string> { ["nprobe"] = "8" } };
    }
}
