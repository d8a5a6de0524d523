using System.Globalization;
using Quiver.Indexing;
using Quiver.Storage;

namespace Quiver;

/// <summary>When a write is acknowledged relative to the disk.</summary>
public enum DurabilityMode
{
    /// <summary>Default. A write returns only after its WAL record is fsynced; concurrent writes share one fsync (group commit).</summary>
    Always = 0,
    /// <summary>A write returns once its record is written to the OS; the WAL is fsynced every <see cref="QuiverOptions.FsyncInterval"/>.
    /// A machine crash can lose up to that interval; a process crash loses nothing.</summary>
    Interval = 1,
    /// <summary>A write returns once its record is written to the OS, which flushes when it likes.</summary>
    Never = 2,
}

/// <summary>Options for <see cref="QuiverEngine.OpenAsync"/>. Every property has a documented default.</summary>
public sealed record QuiverOptions
{
    /// <summary>Finds the embedder of each TextEmbedding function (<see cref="CollectionFunctionType.TextEmbedding"/>); default null:
    /// collections with such functions are refused. Quiver.Embeddings provides one (a local model, an OpenAI-compatible
    /// service).</summary>
    public ITextEmbedderProvider? TextEmbedders { get; init; }

    /// <summary>WAL fsync policy; default <see cref="DurabilityMode.Always"/>.</summary>
    public DurabilityMode Durability { get; init; } = DurabilityMode.Always;

    /// <summary>With <see cref="DurabilityMode.Interval"/>: time between fsyncs; default 100 ms.</summary>
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A growing segment is sealed (written to an immutable file, then indexed) by a background flush once its
    /// rows take this many bytes (vectors, scalars at their own width, strings and JSON at their length, insert
    /// timestamps); default 64 MiB (131,072 rows of 128-d floats). Growing rows are searched exactly, so this bounds the
    /// exact scan every search pays; compaction then merges sealed segments up to <see cref="SegmentMaxBytes"/>. At least
    /// 1 KiB and at most <see cref="SegmentMaxBytes"/>.</summary>
    public long SegmentSealBytes { get; init; } = 64L << 20;

    /// <summary>Compaction merges small sealed segments into segments of at most this many bytes of live rows (counted as
    /// for <see cref="SegmentSealBytes"/>, sealed segments by their file size less its page checksums); default 1 GiB, Milvus's default maximum
    /// segment size. A search walks one index per segment, so larger segments mean fewer walks; the cost is index build
    /// time and memory per segment, and the memory of one merge (docs/engine.md, "Segment size"). At least 1 KiB and at
    /// most 4 GiB (a vector field of one segment is one array of at most 2^31 floats).</summary>
    public long SegmentMaxBytes { get; init; } = 1L << 30;

    /// <summary>A safety cap on rows per segment whatever their bytes: a growing segment seals, and a merge stops, at this
    /// many rows; default 4,194,304 (2^22). Narrow rows would otherwise put tens of millions of rows in one segment, and an
    /// HNSW index keeps its layer 0 in one block of at most 2 GiB (rows x (padded dimension + 4 x (2M + 1)) bytes):
    /// at the default <see cref="SegmentMaxBytes"/>, 4,194,304 rows fit it up to M = 32 at any width. At least 1 and at
    /// most 2^30.</summary>
    public int SegmentMaxRows { get; init; } = 4_194_304;

    /// <summary>A background flush also runs once the WAL since the last checkpoint exceeds this many bytes, bounding
    /// recovery time; default 256 MiB.</summary>
    public long CheckpointWalBytes { get; init; } = 256L << 20;

    /// <summary>Run background flush and compaction; default true. Tests turn it off to control every step.</summary>
    public bool BackgroundMaintenance { get; init; } = true;

    /// <summary>Sealed segments whose live rows take less than this fraction of <see cref="SegmentMaxBytes"/> (or of
    /// <see cref="SegmentMaxRows"/> rows) are merged by compaction; default 0.5 (Milvus's smallProportion). Between 0
    /// and 1.</summary>
    public double CompactionSmallFraction { get; init; } = 0.5;

    /// <summary>Sealed segments with at least this fraction of rows deleted are rewritten by compaction; default 0.2.
    /// Greater than 0, at most 1.</summary>
    public double CompactionDeletedFraction { get; init; } = 0.2;

    /// <summary>How long a collection must go without a write before compaction also merges its small sealed segments
    /// that no size tier would yet (Milvus's mix compaction): every small segment of a partition (as for
    /// <see cref="CompactionSmallFraction"/>), oldest first, packed into segments of at most <see cref="SegmentMaxBytes"/>
    /// and <see cref="SegmentMaxRows"/>, each re-indexed before it replaces its sources. Default 60 seconds (Milvus
    /// checks for mix compaction every 60 s); <see cref="TimeSpan.Zero"/> merges small segments whenever compaction runs;
    /// <see cref="Timeout.InfiniteTimeSpan"/> never (size tiers only). Without it, up to three segments per tier wait
    /// for a fourth forever, and every search walks each of their indexes.</summary>
    public TimeSpan CompactionIdleDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Threads each background index build uses; default the number of processors. Builds run one at a time.</summary>
    public int IndexBuildThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>How long a search waits for index files still loading in its collection (after a reopen, or a load
    /// retried) before it searches the segments without their index exactly; default 30 s. A load maps a file in a
    /// fraction of a second where an exact search of a large segment takes seconds, and loads never wait behind
    /// builds. <see cref="TimeSpan.Zero"/>: searches never wait; <see cref="Timeout.InfiniteTimeSpan"/>: until the
    /// loads end. See docs/engine.md, "Index builds".</summary>
    public TimeSpan IndexLoadWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Resident memory, in bytes, that one vector index may take: AUTOINDEX builds HNSW while HNSW's estimated
    /// resident memory over all of the index's sealed rows stays within it, DISKANN (vectors and graph on disk) beyond.
    /// Default <see cref="IndexMemoryBudget.Default"/>: half the memory available to this process (the machine's, or
    /// the cgroup's limit when lower, as the .NET runtime reports it), leaving the rest to the page cache, segments and
    /// requests. At least 1.</summary>
    public long IndexMemoryBudgetBytes { get; init; } = IndexMemoryBudget.Default;

    /// <summary>Bytes the engine may hold in memory over all its collections: the rows of growing segments (counted as
    /// for <see cref="SegmentSealBytes"/>), the vector indexes attached to sealed segments (each its
    /// <c>MemoryBytes</c>), delete marks (44 bytes each) and the rows of merges being written. A write that would pass it
    /// first seals every growing segment of the engine to mapped files (a flush); if it still would not fit, it is
    /// refused whole with <see cref="MemoryQuotaExceededException"/> (Milvus's memory quota error over the wire). An
    /// index build or load that would pass it, and a merge, waits (retried by background maintenance; the index reports
    /// the refusal as its fail reason). Deletes are never refused. Default <see cref="MemoryBudget.Default"/>: three
    /// quarters of the memory available to this process. At least 1. See docs/engine.md, "Memory budget".</summary>
    public long MemoryBudgetBytes { get; init; } = MemoryBudget.Default;

    /// <summary>The clock that stamps writes and decides TTL expiry (<c>collection.ttl.seconds</c>); default the system
    /// clock. Tests pass a clock they move by hand, so that expiry is tested without waiting.</summary>
    internal TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the bytes go; tests pass a fault-injecting file system.</summary>
    internal IFileSystem? FileSystem { get; init; }

    /// <summary>Where the catalog and manifests live; null keeps them in the data folder's MANIFEST file. A cluster host
    /// passes a replicated store (src/Quiver.Cluster).</summary>
    internal Catalog.IMetaStore? MetaStore { get; init; }

    /// <summary>Opens a collection's write-ahead log from its collection id; null keeps it in the collection's wal folder.
    /// A cluster host passes a replicated log (src/Quiver.Cluster).</summary>
    internal Func<long, IWal>? WalFactory { get; init; }

    /// <summary>True: a BM25 search scores with the collection-wide statistics its search parameters carry
    /// (<see cref="SearchRequest.Bm25StatisticsParam"/>), summed over a cluster's shards by the node (src/Quiver.Cluster);
    /// false (default): such a parameter is dropped unread.</summary>
    internal bool SharedBm25Statistics { get; init; }

    /// <summary>Builds a sealed segment's index outside this engine (a cluster's work queue, src/Quiver.Cluster) instead of
    /// in its build lane: called with the build, it completes once the index's file is at
    /// <see cref="Indexing.SegmentIndexBuild.IndexPath"/> in the engine's file system (which the engine then loads and
    /// checks), and throws to fail the build (recorded as the segment's index error and retried by maintenance). Null
    /// (default): the engine builds its indexes itself.</summary>
    internal Func<Indexing.SegmentIndexBuild, CancellationToken, Task>? IndexBuildsElsewhere { get; init; }

    /// <summary>Where a merge of compaction is written instead of in the engine's process (a cluster's work queue): called
    /// with what to write (<see cref="Shards.SegmentMerge"/>: the sources' files and the rows of each to keep), it
    /// completes once the merged segment's file is at <see cref="Shards.SegmentMerge.MergedPath"/> in the engine's file
    /// system (which the engine then opens and checks, and carries the deletes that arrived meanwhile over to), and throws
    /// to fail the merge (its sources stay; maintenance plans it again). Null (default): the engine writes its merges.</summary>
    internal Func<Shards.SegmentMerge, CancellationToken, Task>? MergesElsewhere { get; init; }

    /// <summary>How IVF indexes built by the engine seed their coarse k-means (<see cref="Indexing.IndexBuildOptions.KMeansInit"/>'s
    /// default); tests that compare the two set it.</summary>
    internal Indexing.KMeansInit IvfKMeansInit { get; init; } = Indexing.IndexBuildOptions.Default.KMeansInit;

    /// <summary>Bytes a growing segment's vector chunk aims at (<see cref="Segments.VectorStore.ChunkBytes"/>); tests set
    /// a small one so that a few thousand rows cross many chunk boundaries.</summary>
    internal int GrowingVectorChunkBytes { get; init; } = Segments.VectorStore.ChunkBytes;

    /// <summary>The most <see cref="SegmentMaxBytes"/> may be: one vector field of a full segment is one float array.</summary>
    internal const long SegmentBytesCeiling = 4L << 30;

    /// <summary>The least <see cref="SegmentSealBytes"/> and <see cref="SegmentMaxBytes"/> may be.</summary>
    internal const long SegmentBytesFloor = 1L << 10;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of its documented range.</summary>
    internal void Validate()
    {
        if (SegmentMaxBytes is < SegmentBytesFloor or > SegmentBytesCeiling)
        {
            Bad(nameof(SegmentMaxBytes), $"must be between {SegmentBytesFloor} (1 KiB) and {SegmentBytesCeiling} (4 GiB) bytes, got {SegmentMaxBytes}");
        }

        if (SegmentSealBytes < SegmentBytesFloor || SegmentSealBytes > SegmentMaxBytes)
        {
            Bad(nameof(SegmentSealBytes), $"must be between {SegmentBytesFloor} (1 KiB) and SegmentMaxBytes ({SegmentMaxBytes}) bytes, got {SegmentSealBytes}");
        }

        if (SegmentMaxRows is < 1 or > 1 << 30)
        {
            Bad(nameof(SegmentMaxRows), $"must be between 1 and {1 << 30}, got {SegmentMaxRows}");
        }

        if (!(CompactionSmallFraction is >= 0 and <= 1))
        {
            Bad(nameof(CompactionSmallFraction), $"must be between 0 and 1, got {CompactionSmallFraction}");
        }

        if (!(CompactionDeletedFraction is > 0 and <= 1))
        {
            Bad(nameof(CompactionDeletedFraction), $"must be greater than 0 and at most 1, got {CompactionDeletedFraction}");
        }

        if (CompactionIdleDelay < TimeSpan.Zero && CompactionIdleDelay != Timeout.InfiniteTimeSpan)
        {
            Bad(nameof(CompactionIdleDelay), $"must be zero or more, or Timeout.InfiniteTimeSpan, got {CompactionIdleDelay}");
        }

        if (IndexLoadWait < TimeSpan.Zero && IndexLoadWait != Timeout.InfiniteTimeSpan)
        {
            Bad(nameof(IndexLoadWait), $"must be zero or more, or Timeout.InfiniteTimeSpan, got {IndexLoadWait}");
        }

        if (IndexMemoryBudgetBytes < 1)
        {
            Bad(nameof(IndexMemoryBudgetBytes), $"must be positive, got {IndexMemoryBudgetBytes}");
        }

        if (MemoryBudgetBytes < 1)
        {
            Bad(nameof(MemoryBudgetBytes), $"must be positive, got {MemoryBudgetBytes}");
        }

        if (CheckpointWalBytes < 1)
        {
            Bad(nameof(CheckpointWalBytes), $"must be positive, got {CheckpointWalBytes}");
        }

        static void Bad(string option, string problem) =>
            throw new ArgumentOutOfRangeException(option, string.Create(CultureInfo.InvariantCulture, $"QuiverOptions.{option} {problem}"));
    }
}

/// <summary>The default of <see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
public static class MemoryBudget
{
    /// <summary>The fraction of <see cref="IndexMemoryBudget.AvailableBytes"/> the default budget gives to what it
    /// counts (growing rows, in-memory indexes, delete marks, merges): the last quarter is left to what it does not
    /// (the page cache that serves the mapped segments, scalar indexes, BM25 postings, requests, the runtime's own heap
    /// headroom).</summary>
    public const double DefaultFraction = 0.75;

    /// <summary><see cref="DefaultFraction"/> of the memory available to this process, at least 1 byte.</summary>
    public static long Default => Math.Max(1, (long)(IndexMemoryBudget.AvailableBytes * DefaultFraction));
}

/// <summary>What the engine holds in memory against <see cref="QuiverOptions.MemoryBudgetBytes"/>
/// (<see cref="QuiverEngine.GetMemoryUsage"/>).</summary>
/// <param name="BudgetBytes"><see cref="QuiverOptions.MemoryBudgetBytes"/>.</param>
/// <param name="GrowingBytes">Rows of growing segments not yet sealed, over all collections.</param>
/// <param name="IndexBytes">Vector indexes attached to sealed segments (their <c>MemoryBytes</c> when attached) and the
/// BM25 postings of sealed segments (what <see cref="QuiverEngine.DescribeIndexesAsync"/> reports as
/// <c>MemoryBytes</c>), plus what BM25 keeps in their place: a growing segment's postings, and the counts per term of a
/// segment without postings.</param>
/// <param name="ReservedBytes">Rows of writes admitted and not yet applied, and the estimated memory of index builds
/// running.</param>
public sealed record EngineMemoryUsage(long BudgetBytes, long GrowingBytes, long IndexBytes, long ReservedBytes)
{
    /// <summary>Delete marks of every segment, 44 bytes a mark (a sealed segment keeps its marks in memory until a merge
    /// drops the rows).</summary>
    public long DeleteMarkBytes { get; init; }

    /// <summary>Rows that merges (compaction) hold in memory while they write the merged segment.</summary>
    public long MergeBytes { get; init; }

    /// <summary>Scalar indexes of sealed segments, built on a filter's demand and kept while the segment lives (sorted
    /// indexes of numeric fields, inverted indexes of VarChar fields, token indexes of TEXT_MATCH fields).</summary>
    public long ScalarIndexBytes { get; init; }

    /// <summary>Bitmaps of filters scanned over sealed segments, kept for the next read with the same filter (at most 8
    /// bitmaps a segment, one byte a row, and less when the budget has no room for them).</summary>
    public long FilterCacheBytes { get; init; }

    /// <summary><see cref="GrowingBytes"/>, <see cref="IndexBytes"/>, <see cref="DeleteMarkBytes"/>,
    /// <see cref="MergeBytes"/>, <see cref="ScalarIndexBytes"/> and <see cref="FilterCacheBytes"/>: what the engine
    /// holds (reservations not included).</summary>
    public long UsedBytes => GrowingBytes + IndexBytes + DeleteMarkBytes + MergeBytes + ScalarIndexBytes + FilterCacheBytes;
}
