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

    /// <summary>A new id, unique in the data folder, for segments and partitions.</summary>
    long AllocateId();

    /// <summary>Durably records the shard's new metadata (segments, checkpoint, partitions). Throws if it could not;
    /// then the previous metadata stays in force on disk.</summary>
    Task PersistAsync(Shard shard, CollectionMeta meta, CancellationToken cancellationToken);
}
