namespace Quiver.Catalog;

/// <summary>Where the catalog and segment manifests live: the seam a cluster host backs with etcd or similar.
/// <see cref="FileMetaStore"/> keeps them in the data folder's MANIFEST file.</summary>
internal interface IMetaStore
{
    /// <summary>The last manifest written, or null for a new data folder.</summary>
    ManifestData? Read();

    /// <summary>Replaces the manifest durably and atomically: afterwards <see cref="Read"/> returns it, even after a crash.</summary>
    void Write(ManifestData manifest);
}

/// <summary>The manifest as one atomically replaced file (docs/format-manifest.md).</summary>
internal sealed class FileMetaStore(Storage.IFileSystem fs, string folder) : IMetaStore
{
    public ManifestData? Read() => ManifestFile.Read(fs, folder);

    public void Write(ManifestData manifest) => ManifestFile.Write(fs, folder, manifest);
}
