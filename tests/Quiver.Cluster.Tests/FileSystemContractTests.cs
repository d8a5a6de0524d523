using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>What the engine relies on from any <see cref="IFileSystem"/>, in the order it uses it: write-temp, sync,
/// rename over, sync the folder; list by pattern in ordinal order; read, map, length; delete a file and a folder tree.
/// Run against the local file system and the object-store file system.</summary>
public abstract class FileSystemContractTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-fs");

    /// <summary>A file system whose files live under <paramref name="root"/>; <paramref name="name"/> names its storage.</summary>
    private protected abstract Task<IFileSystem> OpenAsync(string root, string name);

    protected string Root => _dir.Path;

    protected static byte[] Bytes(int n, int seed) => [.. Enumerable.Range(0, n).Select(i => (byte)((i * 7) + seed))];

    /// <summary>The engine's durable replace: write a temp file, fsync it, rename it over the target, fsync the folder.</summary>
    private protected static void WriteDurably(IFileSystem fs, string path, byte[] data) => AtomicFile.WriteAllBytes(fs, path, data);

    [NatsFact]
    public async Task Files_WrittenRenamedListedReadMappedAndDeleted()
    {
        var fs = await OpenAsync(Root, NatsFixture.Unique("fs"));
        var seg = Path.Combine(Root, "collections", "c1", "segments");
        fs.CreateDirectory(seg);
        Assert.True(fs.DirectoryExists(seg));
        WriteDurably(fs, Path.Combine(seg, "b.qseg"), Bytes(5000, 1));
        WriteDurably(fs, Path.Combine(seg, "a.qseg"), Bytes(300, 2));
        WriteDurably(fs, Path.Combine(seg, "a.qdel"), Bytes(10, 3));
        WriteDurably(fs, Path.Combine(seg, "a.qseg"), Bytes(400, 4));

        Assert.Equal(["a.qdel", "a.qseg", "b.qseg"], fs.ListFiles(seg).Select(Path.GetFileName));
        Assert.Equal(["a.qseg", "b.qseg"], fs.ListFiles(seg, "*.qseg").Select(Path.GetFileName));
        Assert.Equal(["a.qdel", "a.qseg"], fs.ListFiles(seg, "a.*").Select(Path.GetFileName));
        Assert.Equal(["c1"], fs.ListDirectories(Path.Combine(Root, "collections")).Select(Path.GetFileName));
        Assert.Equal(400, fs.GetLength(Path.Combine(seg, "a.qseg")));
        Assert.False(fs.FileExists(Path.Combine(seg, "a.qseg" + AtomicFile.TempSuffix)));

        using (var s = fs.OpenRead(Path.Combine(seg, "a.qseg")))
        {
            var read = new byte[s.Length];
            s.ReadExactly(read);
            Assert.Equal(Bytes(400, 4), read);
        }

        using (var map = fs.MapReadOnly(Path.Combine(seg, "b.qseg")))
        {
            Assert.Equal(Bytes(5000, 1), map.Span(0, 5000).ToArray());
        }

        fs.Delete(Path.Combine(seg, "a.qdel"));
        fs.Delete(Path.Combine(seg, "missing"));
        Assert.False(fs.FileExists(Path.Combine(seg, "a.qdel")));
        Assert.Equal(["a.qseg", "b.qseg"], fs.ListFiles(seg).Select(Path.GetFileName));

        fs.DeleteDirectory(Path.Combine(Root, "collections", "c1"));
        Assert.False(fs.FileExists(Path.Combine(seg, "a.qseg")));
        Assert.Empty(fs.ListDirectories(Path.Combine(Root, "collections")));
        Assert.Empty(fs.ListFiles(seg));
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class PhysicalFileSystemContractTests : FileSystemContractTests
{
    private protected override Task<IFileSystem> OpenAsync(string root, string name) => Task.FromResult<IFileSystem>(PhysicalFileSystem.Instance);
}

[Collection("Nats")]
public sealed class ObjectStoreFileSystemContractTests(NatsFixture nats) : FileSystemContractTests
{
    private protected override async Task<IFileSystem> OpenAsync(string root, string name) =>
        await ObjectStoreFileSystem.OpenAsync(await nats.Objects.CreateObjectStoreAsync(new NATS.Client.ObjectStore.NatsObjConfig(name) { NumberOfReplicas = 3 }), root, "node");

    /// <summary>A node that starts on an empty cache folder (a shard that moved) sees every file synced by another node,
    /// byte for byte, and nothing that was deleted or never synced.</summary>
    [NatsFact]
    public async Task SyncedFiles_AreSeenAndReadByANewNodeWithAnEmptyCache()
    {
        var bucket = NatsFixture.Unique("fs");
        var store = await nats.Objects.CreateObjectStoreAsync(new NATS.Client.ObjectStore.NatsObjConfig(bucket) { NumberOfReplicas = 3 });
        using var cacheA = new TempFolder("quiver-cache");
        using var cacheB = new TempFolder("quiver-cache");
        var a = await ObjectStoreFileSystem.OpenAsync(store, cacheA.Path, "shard-1");
        var segA = Path.Combine(cacheA.Path, "segments");
        a.CreateDirectory(segA);
        var big = Bytes(3 << 20, 9);
        WriteDurably(a, Path.Combine(segA, "1.qseg"), big);
        WriteDurably(a, Path.Combine(segA, "2.qseg"), Bytes(100, 1));
        a.Delete(Path.Combine(segA, "2.qseg"));
        using (var unsynced = a.Create(Path.Combine(segA, "3.qseg")))
        {
            unsynced.Write(Bytes(10, 1));
        }

        using var cacheC = new TempFolder("quiver-cache");
        var other = await ObjectStoreFileSystem.OpenAsync(store, cacheC.Path, "shard-2");
        Assert.Empty(other.ListFiles(Path.Combine(cacheC.Path, "segments")));

        var b = await ObjectStoreFileSystem.OpenAsync(store, cacheB.Path, "shard-1");
        var segB = Path.Combine(cacheB.Path, "segments");
        Assert.True(b.DirectoryExists(segB));
        Assert.Equal(["1.qseg"], b.ListFiles(segB).Select(Path.GetFileName));
        Assert.Equal(big.Length, b.GetLength(Path.Combine(segB, "1.qseg")));
        Assert.Equal(0, b.Downloads);
        using (var map = b.MapReadOnly(Path.Combine(segB, "1.qseg")))
        {
            Assert.True(big.AsSpan().SequenceEqual(map.Span(0, big.Length)));
        }

        Assert.Equal(1, b.Downloads);
        Assert.True(File.Exists(Path.Combine(segB, "1.qseg")));
    }
}
