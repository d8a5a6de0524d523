using Quiver.Catalog;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>What the engine relies on from any <see cref="IMetaStore"/>: nothing before the first write, then the last
/// manifest written, from this instance and from a new one.</summary>
public abstract class MetaStoreContractTests
{
    private protected abstract Task<IMetaStore> OpenAsync(string name);

    private static ManifestData Manifest(long nextId, string db) => new()
    {
        NextId = nextId,
        LastTimestamp = nextId * 1000,
        Databases = [new DatabaseMeta { Id = 1, Name = "default" }, new DatabaseMeta { Id = nextId - 1, Name = db }],
    };

    [NatsFact]
    public async Task Read_ReturnsTheLastManifestWritten_AcrossInstances()
    {
        var name = NatsFixture.Unique("meta");
        var store = await OpenAsync(name);
        Assert.Null(store.Read());
        store.Write(Manifest(3, "a"));
        store.Write(Manifest(7, "b"));
        var again = await OpenAsync(name);
        var read = again.Read();
        Assert.NotNull(read);
        Assert.Equal(7, read.NextId);
        Assert.Equal(7000, read.LastTimestamp);
        Assert.Equal(["default", "b"], read.Databases.Select(d => d.Name));
        again.Write(Manifest(9, "c"));
        Assert.Equal(9, (await OpenAsync(name)).Read()!.NextId);
    }
}

public sealed class FileMetaStoreContractTests : MetaStoreContractTests, IDisposable
{
    private readonly TempFolder _dir = new("quiver-meta");

    private protected override Task<IMetaStore> OpenAsync(string name)
    {
        var folder = _dir.Sub(name);
        Directory.CreateDirectory(folder);
        return Task.FromResult<IMetaStore>(new FileMetaStore(PhysicalFileSystem.Instance, folder));
    }

    public void Dispose() => _dir.Dispose();
}

[Collection("Nats")]
public sealed class KvMetaStoreContractTests(NatsFixture nats) : MetaStoreContractTests
{
    private protected override async Task<IMetaStore> OpenAsync(string name) => await KvMetaStore.OpenAsync(nats.KeyValue, name, "manifest");

    [NatsFact]
    public async Task Write_AfterAnotherStoreWroteTheKey_IsRefused()
    {
        var bucket = NatsFixture.Unique("meta");
        var a = await KvMetaStore.OpenAsync(nats.KeyValue, bucket, "manifest");
        var b = await KvMetaStore.OpenAsync(nats.KeyValue, bucket, "manifest");
        Assert.Null(a.Read());
        Assert.Null(b.Read());
        a.Write(new ManifestData { NextId = 5 });

        // b read before a's write: creating the key again must not replace a's manifest.
        var ex = Assert.Throws<QuiverException>(() => b.Write(new ManifestData { NextId = 6 }));
        Assert.Equal(QuiverErrorCode.Unavailable, ex.Code);
        Assert.Contains("another node", ex.Message);

        Assert.Equal(5, b.Read()!.NextId);
        b.Write(new ManifestData { NextId = 8 });

        // Now a is the stale one.
        Assert.Throws<QuiverException>(() => a.Write(new ManifestData { NextId = 9 }));
        Assert.Equal(8, a.Read()!.NextId);
    }
}
