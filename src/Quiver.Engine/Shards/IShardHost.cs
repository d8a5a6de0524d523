using Quiver.Catalog;
using Quiver.Common;
using Quiver.Storage;

namespace Quiver.Shards;

/// <summary>What a shard needs from the process that hosts it: the file system, options, the clock, ids, and a way to
/// make its metadata durable. The embedded engine is one host; a cluster grain will be another.</summary>
internal interface IShardHost
{
    IFileSystem FileSystem { get; }

    QuiverOptions Options { get; }

    HybridClock Clock { get; }

    /// <summary>Folder that holds every collection's files.</summary>
    string CollectionsRoot { get; }

    /// <summary>Runs index builds and loads in the background for every shard of the host.</summary>
    Indexing.IndexBuildScheduler IndexBuilds { get; }

    /// <summary>What the host's shards hold in memory, against <see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    MemoryLedger Memory { get; }

    /// <summary>Seals the growing segments of every shard of the host that has any (<paramref name="first"/> first), so
    /// that their rows leave memory for mapped files: what a write does before it is refused for memory.</summary>
    Task RelieveMemoryAsync(Shard first, CancellationToken cancellationToken);

    /// <summary>A new id, unique in the data folder, for segments and partitions.</summary>
    long AllocateId();

    /// <summary>Durably records the shard's new metadata (segments, checkpoint, partitions), then runs
    /// <paramref name="commit"/> (which makes it the shard's <see cref="Shard.Meta"/>) before any other metadata write
    /// can start, so a concurrent write never records the shard's stale metadata. Throws if it could not write; then the
    /// previous metadata stays in force on disk and in memory.</summary>
    Task PersistAsync(Shard shard, CollectionMeta meta, Action commit, CancellationToken cancellationToken);
}
