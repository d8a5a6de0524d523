using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Issue 13's test for DISKANN: a collection several times larger than a memory cap on the searching process
/// answers at recall ≥ 0.95. This process builds and indexes the collection (uncapped) and computes the exact answers;
/// a child (<c>Quiver.CrashHost capped-search</c>) reopens it and searches under <c>DOTNET_GCHeapHardLimit</c>.
/// <para>What the cap bounds: the managed heap, where every engine structure lives (PQ codes, node cache, segment
/// norms and columns); the runtime fails an allocation past it, so a search path that loaded the vectors or the graph
/// into memory would fail the child. The vectors and the graph are read through memory maps: file pages in the page
/// cache, which the kernel reclaims under pressure and which no process-level cap counts, so the test also checks the
/// child's anonymous resident memory (RssAnon) stays below the vectors' size.</para></summary>
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
        // Vectors at least 3x the cap: 75,000 x 1 KiB = 73 MiB against 24 MiB, 200,000 (195 MiB) against 64 MiB.
        var rows = TestTier.Pick(75_000, 200_000);
        long cap = TestTier.Pick(24, 64) << 20;
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
        Assert.True(vectorBytes >= 3 * cap, $"the vectors ({vectorBytes} bytes) must be several times the cap ({cap})");

        var queryFile = Path.Combine(_dir.Path, "queries.f32");
        await File.WriteAllBytesAsync(queryFile, MemoryMarshal.AsBytes(queries.SelectMany(q => q).ToArray().AsSpan()).ToArray());
        var lines = await RunChildAsync(cap, _dir.Path, queryFile, dim, limit, searchList: 100);
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
        var report = $"rows {rows}, vectors {vectorBytes >> 20} MiB, collection on disk {onDisk >> 20} MiB, GC heap cap {cap >> 20} MiB: "
            + $"recall@{limit} {recall:F3}, RssAnon {mem[0] >> 20} MiB, RssFile {mem[1] >> 20} MiB, VmHWM {mem[2] >> 20} MiB, GC heap {mem[3] >> 20} MiB";
        output.WriteLine(report);
        Assert.True(recall >= 0.95, report);
        Assert.True(mem[3] <= cap, report);
        Assert.True(mem[0] < vectorBytes / 2, report);
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

    private static async Task<List<string>> RunChildAsync(long cap, string folder, string queryFile, int dim, int limit, int searchList)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Quiver.CrashHost.dll");
        Assert.True(File.Exists(host), $"the host was not built next to the tests: {host}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { host, "capped-search", folder, "c", queryFile, dim.ToString(CultureInfo.InvariantCulture), limit.ToString(CultureInfo.InvariantCulture), searchList.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_GCHeapHardLimit"] = cap.ToString("x", CultureInfo.InvariantCulture);
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
