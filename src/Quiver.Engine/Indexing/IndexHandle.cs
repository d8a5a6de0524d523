namespace Quiver.Indexing;

/// <summary>A built index attached to a sealed segment, reference-counted: the segment holds one reference while the
/// index is attached, and each search holds one while it reads. Detaching (drop index, re-create, segment release)
/// drops the segment's reference, and the index, with any file mapping it owns, is disposed when the last search ends.</summary>
internal sealed class IndexHandle
{
    private readonly Common.MemoryLedger? _ledger;
    private readonly long _charged;
    private int _refs = 1;

    /// <summary>Takes the index, for which the caller has charged <paramref name="chargedBytes"/> to
    /// <paramref name="ledger"/> (<see cref="Common.MemoryLedger.TryConvert"/>); they are taken back when the last
    /// reference is released.</summary>
    public IndexHandle(long indexId, VectorIndex index, bool loadedFromFile, Common.MemoryLedger? ledger = null, long chargedBytes = 0)
    {
        IndexId = indexId;
        Index = index;
        LoadedFromFile = loadedFromFile;
        _ledger = ledger;
        _charged = ledger is null ? 0 : chargedBytes;
    }

    /// <summary>The bytes charged to the engine's memory ledger (the index's memory when it was attached).</summary>
    public long ChargedBytes => _charged;

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
            _ledger?.AddIndex(-_charged);
            Index.Dispose();
        }
    }
}
