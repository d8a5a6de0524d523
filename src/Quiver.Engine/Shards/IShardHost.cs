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

    /// <summary>A new id, unique in the data folder, for segments and partitions.</summary>
    long AllocateId();

    /// <summary>Durably records the shard's new metadata (segments, checkpoint, partitions), then runs
    /// <paramref name="commit"/> (which makes it the shard's <see cref="Shard.Meta"/>) before any other metadata write
    /// can start, so a concurrent write never records the shard's stale metadata. Throws if it could not write; then the
    /// previous metadata stays in force on disk and in memory.</summary>
    Task PersistAsync(Shard shard, CollectionMeta meta, Action commit, CancellationToken cancellationToken);
}
