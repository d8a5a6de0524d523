namespace Quiver.Indexing;

/// <summary>A built index attached to a sealed segment, reference-counted: the segment holds one reference while the
/// index is attached, and each search holds one while it reads. Detaching (drop index, re-create, segment release)
/// drops the segment's reference, and the index, with any file mapping it owns, is disposed when the last search ends.</summary>
internal sealed class IndexHandle
{
    private int _refs = 1;

    public IndexHandle(long indexId, VectorIndex index, bool loadedFromFile)
    {
        IndexId = indexId;
        Index = index;
        LoadedFromFile = loadedFromFile;
    }

    /// <summary>The <see cref="Catalog.IndexMeta.Id"/> this index was built for.</summary>
    public long IndexId { get; }

    public VectorIndex Index { get; }

    /// <summary>True when it came from its file at open rather than from a build in this process.</summary>
    public bool LoadedFromFile { get; }

    public bool TryAcquire() => Common.RefCount.TryAcquire(ref _refs);

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Index.Dispose();
        }
    }
}
