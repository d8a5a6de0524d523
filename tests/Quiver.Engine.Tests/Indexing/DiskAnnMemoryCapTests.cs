using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Issue 13's test for DISKANN: a collection several times larger than a memory cap on the searching process
/// answers at recall ≥ 0.95. This process builds and indexes the collection (uncapped) and computes the exact answers;
/// a child (<c>Quiver.CrashHost capped-search</c>) reopens it and searches under the cap.
/// <para>The cap is a memory cgroup (<see cref="MemoryCgroup"/>, a child of this process's own) whose limit covers the
/// whole child: anonymous memory, runtime and code, and the page cache it reads the segment and index files into (their
/// pages are dropped from the cache first, so the child is charged for what it reads). Past the limit the kernel
/// reclaims the child's file pages, and kills it if anonymous memory alone exceeds the limit: the test asserts no OOM
/// kill and a clean exit. Where no cgroup can be created (not Linux, no memory controller, no permission), the cap
/// falls back to the managed heap (<c>DOTNET_GCHeapHardLimit</c>) plus a check that the child's anonymous resident
/// memory stays below half the vectors, and the test's output says why.</para></summary>
public sealed class DiskAnnMemoryCapTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new("quiver-diskann-cap");

    public void Dispose() => _dir.Dispose();

    [Fact]
    [Trait("Category", "Long")]
    public async Task CollectionSeveralTimesTheCap_AnswersAtRecall95()
    {
        const int dim = 256;
        const int limit = 10;
        // The cap covers the whole child, runtime included: at 32 MiB it was OOM-killed, so 64 MiB (128 in the long tier).
        // The collection on disk (vectors, the index with its own copy of them, WAL) is 2.8x (3.7x) the cap: 75,000 x
        // 1 KiB rows = 73 MiB of vectors, 181 MiB on disk; 200,000 rows = 195 MiB, about 480 MiB on disk.
        var rows = TestTier.Pick(75_000, 200_000);
        long cap = TestTier.Pick(64, 128) << 20;
        const int nq = 40;
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", dim, MetricType.L2)] };
        var truth = new List<HashSet<long>>();
        float[][] queries;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", schema);
            // One seeded set; its last nq rows are held out as the queries, so queries and data share a distribution.
            var data = Embedded(51, rows + nq, dim);
            const int batch = 5_000;
            for (var start = 0; start < rows; start += batch)
            {
                var first = start;
                await db.InsertAsync("c", [.. Enumerable.Range(first, Math.Min(batch, rows - first)).Select(i => new Row { ["id"] = (long)i, ["v"] = data.AsSpan(i * dim, dim).ToArray() })]);
            }

            queries = [.. Enumerable.Range(rows, nq).Select(i => data.AsSpan(i * dim, dim).ToArray())];

            await db.FlushAsync("c");
            await db.CreateIndexAsync("c", new IndexDefinition
            {
                FieldName = "v",
                IndexType = "DISKANN",
                Params = new Dictionary<string, string>
                {
                    ["max_degree"] = TestTier.Pick(16, 32).ToString(CultureInfo.InvariantCulture),
                    ["search_list_size"] = TestTier.Pick(32, 64).ToString(CultureInfo.InvariantCulture),
                    ["search_cache_budget_gb_ratio"] = "0",
                },
            });
            await db.WaitForIndexAsync("c");
            foreach (var q in queries)
            {
                var exact = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = limit, SearchParams = new Dictionary<string, string> { ["exact"] = "true" } });
                truth.Add([.. exact.Hits[0].Select(h => (long)h.Id)]);
            }
        }

        var onDisk = Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var vectorBytes = (long)rows * dim * sizeof(float);
        Assert.True(vectorBytes >= cap && onDisk >= 5 * cap / 2, $"the vectors ({vectorBytes} bytes) and the collection ({onDisk}) must be larger than the cap ({cap})");

        var queryFile = Path.Combine(_dir.Path, "queries.f32");
        await File.WriteAllBytesAsync(queryFile, MemoryMarshal.AsBytes(queries.SelectMany(q => q).ToArray().AsSpan()).ToArray());
        using var cgroup = MemoryCgroup.TryCreate(cap, out var why);
        if (cgroup is null)
        {
            output.WriteLine($"no cgroup cap here ({why}): capping the managed heap with DOTNET_GCHeapHardLimit instead");
        }
        else
        {
            MemoryCgroup.DropPageCache(_dir.Path);
        }

        var lines = await RunChildAsync(cap, cgroup, _dir.Path, queryFile, dim, limit, searchList: 100);
        var index = lines.Single(l => l.StartsWith("INDEX ", StringComparison.Ordinal)).Split(' ');
        Assert.Equal("0", index[1]);
        var hits = lines.Where(l => l.StartsWith("HITS ", StringComparison.Ordinal)).ToList();
        Assert.Equal(queries.Length, hits.Count);
        double sum = 0;
        for (var q = 0; q < hits.Count; q++)
        {
            var ids = hits[q].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.Parse(s, CultureInfo.InvariantCulture));
            sum += ids.Count(truth[q].Contains) / (double)limit;
        }

        var recall = sum / hits.Count;
        var mem = lines.Single(l => l.StartsWith("MEM ", StringComparison.Ordinal)).Split(' ').Skip(1).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var capText = cgroup is null ? $"GC heap cap {cap >> 20} MiB" : $"cgroup memory cap {cap >> 20} MiB (peak charged {cgroup.PeakBytes >> 20} MiB, OOM kills {cgroup.OomKills})";
        var report = $"rows {rows}, vectors {vectorBytes >> 20} MiB, collection on disk {onDisk >> 20} MiB, {capText}: "
            + $"recall@{limit} {recall:F3}, RssAnon {mem[0] >> 20} MiB, RssFile {mem[1] >> 20} MiB, VmHWM {mem[2] >> 20} MiB, GC heap {mem[3] >> 20} MiB, major faults {mem[4]}";
        output.WriteLine(report);
        Assert.True(recall >= 0.95, report);
        if (cgroup is null)
        {
            Assert.True(mem[3] <= cap, report);
            Assert.True(mem[0] < vectorBytes / 2, report);
        }
        else
        {
            Assert.Equal(0, cgroup.OomKills);
            Assert.True(cgroup.PeakBytes <= cap, report);
        }
    }

    /// <summary>Rows like embeddings: a 64-cluster mixture in 16 dimensions mapped into <paramref name="dim"/> by a fixed
    /// random matrix, plus a little noise. Gaussian blobs of full dimension 256 would make every point of a blob about
    /// equally far from a query, which is a test of distance concentration, not of the index.</summary>
    private static float[] Embedded(int seed, int count, int dim)
    {
        const int latent = 16;
        var z = IndexTestKit.Clustered(seed, count, latent, clusters: 64);
        var rng = new Random(seed + 1);
        var map = new float[dim * latent];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = (float)((rng.NextDouble() * 2) - 1) / 4;
        }

        var data = new float[count * dim];
        for (var r = 0; r < count; r++)
        {
            var zr = z.AsSpan(r * latent, latent);
            for (var d = 0; d < dim; d++)
            {
                data[(r * dim) + d] = Quiver.Distance.VectorMath.Dot(zr, map.AsSpan(d * latent, latent)) + (float)((rng.NextDouble() - 0.5) * 0.01);
            }
        }

        return data;
    }

    private static async Task<List<string>> RunChildAsync(long cap, MemoryCgroup? cgroup, string folder, string queryFile, int dim, int limit, int searchList)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Quiver.CrashHost.dll");
        Assert.True(File.Exists(host), $"the host was not built next to the tests: {host}");
        string[] args = [host, "capped-search", folder, "c", queryFile, dim.ToString(CultureInfo.InvariantCulture), limit.ToString(CultureInfo.InvariantCulture), searchList.ToString(CultureInfo.InvariantCulture)];
        var (file, arguments) = cgroup is null ? ("dotnet", args) : cgroup.Wrap("dotnet", args);
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        if (cgroup is null)
        {
            start.Environment["DOTNET_GCHeapHardLimit"] = cap.ToString("x", CultureInfo.InvariantCulture);
        }
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await child.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill();
            throw;
        }

        var output = await stdout;
        Assert.True(child.ExitCode == 0, $"child exited {child.ExitCode}: {await stderr}\n{output}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}
