using System.Buffers.Binary;
using Quiver.Indexing;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>What review found: index files that pass their checksums but are malformed, keys that must be exact so
/// segments merge correctly, and a failed segment build that must surface instead of hanging a wait.</summary>
public sealed class IndexRobustnessTests : IDisposable
{
    private const int Dim = 16;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Rewrites a block of an index file with <paramref name="change"/> and fixes every checksum, as a faulty
    /// writer (not a disk error) would leave it.</summary>
    internal static void Tamper(string path, string block, Action<Span<byte>> change, Action<Span<byte>>? changeEntry = null)
    {
        var bytes = File.ReadAllBytes(path);
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var directory = bytes.AsSpan(IndexFile.HeaderSize, count * IndexFile.EntrySize);
        for (var i = 0; i < count; i++)
        {
            var e = directory.Slice(i * IndexFile.EntrySize, IndexFile.EntrySize);
            if (System.Text.Encoding.ASCII.GetString(e[..IndexFile.NameSize]).TrimEnd('\0') != block)
            {
                continue;
            }

            var offset = (int)BinaryPrimitives.ReadInt64LittleEndian(e[24..]);
            var length = (int)BinaryPrimitives.ReadInt64LittleEndian(e[32..]);
            var data = bytes.AsSpan(offset, length);
            change(data);
            BinaryPrimitives.WriteUInt32LittleEndian(e[40..], Crc32C.Compute(data));
            changeEntry?.Invoke(e);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(48), Crc32C.Compute(directory));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(52), Crc32C.Compute(bytes.AsSpan(0, 52)));
        File.WriteAllBytes(path, bytes);
    }

    private string Save(VectorIndex index)
    {
        var path = Path.Combine(_dir.Path, $"{Guid.NewGuid():N}.qidx");
        IndexFactory.Save(index, PhysicalFileSystem.Instance, path);
        return path;
    }

    private static VectorIndex Build(string type, string json, float[] data, MetricType metric = MetricType.L2)
    {
        IndexKindNames.TryParse(type, out var kind);
        return IndexFactory.Build(kind, metric, IndexParameters.FromJson(json), IndexTestKit.View(data, Dim), IndexBuildOptions.Default, default);
    }

    [Fact]
    public void BlockOffsetThatWouldOverflow_IsCorruption_NotAWildRead()
    {
        var data = IndexTestKit.Clustered(1, 500, Dim);
        using var index = Build("IVF_FLAT", """{"nlist":8}""", data);
        var path = Save(index);
        Tamper(path, "ivf_ids", _ => { }, e => BinaryPrimitives.WriteInt64LittleEndian(e[24..], long.MaxValue - 8));
        var ex = Assert.Throws<CorruptionException>(() => { IndexFile.Open(PhysicalFileSystem.Instance, path).Dispose(); });
        Assert.Contains("ivf_ids", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnnoyForestWithALinkCycle_IsCorruption_NotAHungSearch()
    {
        var data = IndexTestKit.Clustered(2, 2000, Dim);
        using var index = Build("ANNOY", """{"n_trees":2}""", data);
        var path = Save(index);
        Tamper(path, "annoy_children", b =>
        {
            // Node 0's children both become node 0.
            BinaryPrimitives.WriteInt32LittleEndian(b, 0);
            BinaryPrimitives.WriteInt32LittleEndian(b[4..], 0);
        });
        var ex = Assert.Throws<CorruptionException>(() => { IndexFactory.Load(IndexFile.Open(PhysicalFileSystem.Instance, path), index.Raw).Dispose(); });
        Assert.Contains("ANNOY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PqCodeOutsideItsTable_IsCorruption()
    {
        var data = IndexTestKit.Clustered(3, 1000, Dim);
        using var index = Build("IVF_PQ", """{"nlist":4,"m":4,"nbits":4}""", data);
        var path = Save(index);
        Tamper(path, "pq_codes", b => b[5] = 200);
        var ex = Assert.Throws<CorruptionException>(() => { IndexFactory.Load(IndexFile.Open(PhysicalFileSystem.Instance, path), index.Raw).Dispose(); });
        Assert.Contains("PQ code 200", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("IVF_SQ8", """{"nlist":16}""", MetricType.L2)]
    [InlineData("IVF_SQ8", """{"nlist":16}""", MetricType.Cosine)]
    [InlineData("IVF_PQ", """{"nlist":16,"m":4}""", MetricType.L2)]
    [InlineData("IVF_PQ", """{"nlist":16,"m":4}""", MetricType.IP)]
    [InlineData("HNSW", """{"M":8}""", MetricType.L2)]
    [InlineData("ANNOY", """{"n_trees":4}""", MetricType.L2)]
    public void QuantizedIndexes_ReturnExactKeys_SoSegmentsMergeCorrectly(string type, string json, MetricType metric)
    {
        var data = IndexTestKit.Clustered(4, 3000, Dim);
        using var index = Build(type, json, data, metric);
        var hits = new IndexHit[10];
        foreach (var q in IndexTestKit.Queries(5, 10, Dim))
        {
            var n = index.Search(q, 10, default, null, hits);
            Assert.True(n > 0);
            for (var i = 0; i < n; i++)
            {
                var exact = BruteForce.Score(metric, q, data.AsSpan(hits[i].Row * Dim, Dim));
                var key = metric == MetricType.L2 ? exact : -exact;
                Assert.True(Math.Abs(hits[i].Key - key) <= 1e-3 * Math.Max(1, Math.Abs(key)), $"{type} {metric}: key {hits[i].Key} for row {hits[i].Row}, exact {key}");
                Assert.True(i == 0 || hits[i - 1].Key <= hits[i].Key, "hits must be sorted by key");
            }
        }
    }

    [Fact]
    public async Task OneSegmentsFailedBuild_IsReported_EvenWhenAnotherSegmentSucceeds()
    {
        var fs = new FaultInjectingFileSystem();
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, FileSystem = fs });
        await db.CreateCollectionAsync("c", TestData.ProductSchema(dim: Dim));
        var rng = new Random(1);
        for (var s = 0; s < 2; s++)
        {
            await db.InsertAsync("c", Enumerable.Range(s * 300, 300).Select(i => TestData.ProductRow(rng, i, dim: Dim)).ToList());
            await db.FlushAsync("c");
        }

        var first = db.ShardOf("c").Meta.Segments[0].Id;
        fs.FailRenameTo = p => p.EndsWith($"-{first:D20}.qidx", StringComparison.Ordinal);
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8" } });
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.WaitForIndexAsync("c").WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Contains($"segment {first}", e.Message, StringComparison.Ordinal);
        while (db.GetIndexStatistics("c").PendingJobs > 0)
        {
            await Task.Delay(10);
        }

        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(IndexState.Failed, info.State);
        Assert.Equal(300, info.IndexedRows);

        // Searches stay correct meanwhile: the failed segment is searched exactly.
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = [TestData.Vector(rng, Dim)], Limit = 5 });
        Assert.Equal(5, result.Hits[0].Count);

        // Once the fault is gone, the next flush retries it.
        fs.FailRenameTo = null;
        await db.InsertAsync("c", [TestData.ProductRow(rng, 10_000, dim: Dim)]);
        await db.FlushAsync("c");
        await db.WaitForIndexAsync("c").WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(IndexState.Finished, Assert.Single(await db.DescribeIndexesAsync("c")).State);
    }
}
