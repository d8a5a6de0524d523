using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary><c>RenameCollection</c> on a node (docs/cluster.md, "Rename"): the catalog's two writes
/// (<see cref="CollectionCatalog.BeginRenameAsync"/>), the shard side (<see cref="ShardRename"/>), then the catalog's
/// tidy-up (<see cref="CollectionCatalog.FinishRenameAsync"/>). Refusals are the standalone server's: a call the catalog
/// cannot serve goes to an engine that answers it in its words (the catalog shard for a missing source or a bad name,
/// the collection's shard for a rename through an alias), and the catalog's own checks use the engine's messages.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>Test seam, null in production: awaited after the rename's moment and before its shard side, so a test can
    /// stop a renamer there (its node dying) or call another node while the shards still hold the old name.</summary>
    internal Func<Task>? AfterRenameMoment { get; set; }

    private async Task<byte[]> RenameAsync(MethodDescriptor method, RenameCollectionRequest rename, byte[] request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var database = string.IsNullOrEmpty(rename.DbName) ? CallDatabase(context) : rename.DbName;
        var (from, to) = (rename.OldName, rename.NewName);
        var valid = ShardKeys.IsValidName(database) && ShardKeys.IsValidName(from);
        if (valid && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
        {
            return noDatabase;
        }

        var (shards, id) = valid ? await node.Catalog.EntryAsync(database, from, ct, fresh: true).ConfigureAwait(false) : (0, from);
        if (shards == 0)
        {
            if (valid && await node.Catalog.AliasTargetAsync(database, from, ct).ConfigureAwait(false) is { } aliased
                && await node.Catalog.EntryAsync(database, aliased, ct, fresh: true).ConfigureAwait(false) is (> 0, var aliasedId))
            {
                // Through an alias: the collection's shard, whose engine knows the alias, refuses it in its words.
                ShardKeys.RouteById(database, aliased, aliasedId);
                return await InvokeAsync(ShardKeys.Of(database, aliased), method, request, database, ct).ConfigureAwait(false);
            }

            // A bad or missing source: the database's catalog shard, an engine with no collections, answers as the
            // standalone server does (its service looks the source up first).
            return await InvokeAsync(ShardKeys.Of(ShardKeys.IsValidName(database) ? database : "default", ShardKeys.CatalogShard), method, request, database, ct).ConfigureAwait(false);
        }

        if (rename.NewDBName is { Length: > 0 } newDatabase && newDatabase != database)
        {
            return (ShardKeys.IsValidName(newDatabase) ? await MissingDatabaseAsync(method, newDatabase, ct).ConfigureAwait(false) : null)
                ?? RenameAcrossDatabases(method, from, database, newDatabase);
        }

        try
        {
            // The new name is checked next, in the engine's words, as the standalone server's engine checks it.
            SchemaValidator.ValidateName(to, "collection");
        }
        catch (QuiverException ex)
        {
            return Refusal(method, ex);
        }

        while (true)
        {
            if (await node.Catalog.EntryAsync(database, to, ct, fresh: true).ConfigureAwait(false) is (> 0, _))
            {
                return EngineRefusal(method, QuiverErrorCode.AlreadyExists, $"collection '{to}' already exists in database '{database}'");
            }

            if (await node.Catalog.AliasTargetAsync(database, to, ct).ConfigureAwait(false) is { } aliasOf)
            {
                return EngineRefusal(method, QuiverErrorCode.InvalidArgument, $"collection name '{to}' is an alias of collection '{aliasOf}' in database '{database}'");
            }

            var (outcome, count, storage) = await node.Catalog.BeginRenameAsync(database, from, to, ct).ConfigureAwait(false);
            switch (outcome)
            {
                case RenameStart.Started:
                    if (AfterRenameMoment is { } hold)
                    {
                        await hold().ConfigureAwait(false);
                    }

                    await node.Catalog.CompleteRenameAsync(database, from, to, count, storage, ct).ConfigureAwait(false);
                    return new Protocol.Common.Status().ToByteArray();
                case RenameStart.SourceMissing:
                    // Dropped or renamed through another node meanwhile: the catalog shard answers "not found".
                    return await InvokeAsync(ShardKeys.Of(database, ShardKeys.CatalogShard), method, request, database, ct).ConfigureAwait(false);
                default:
                    // The target's key was taken meanwhile (a create through another node: the checks above answer), or the
                    // source is a rename's target not tidied up yet (settled by the next BeginRenameAsync).
                    continue;
            }
        }
    }

    /// <summary>The answer to a rename into another database (docs/errors.md, <c>cluster-rename-database</c>): a
    /// collection's stored things are named from its database and storage id, so moving it between databases would move
    /// its streams and buckets, which a node does not do; Milvus code 10.</summary>
    internal static byte[] RenameAcrossDatabases(MethodDescriptor method, string collection, string database, string newDatabase) =>
        StatusAnswer(method, global::Quiver.Server.Milvus.MilvusCode.Unimplemented,
            $"renaming collection '{collection}' from database '{database}' to database '{newDatabase}' is not served by a Quiver cluster node (its storage is named from its database); rename it within '{database}'");

    /// <summary>Before a call on <paramref name="collection"/> is routed: when this node read its entry from a rename's
    /// pending record past the rename's moment (<see cref="CollectionCatalog.RenamingFrom"/>), the rename is carried to
    /// its end first (<see cref="CollectionCatalog.SettleAsync"/>), so the call never reaches a shard whose engine still
    /// holds the old name.</summary>
    internal async Task SettleRenameAsync(string database, string collection, CancellationToken ct)
    {
        if (node.Catalog.RenamingFrom(database, collection) is not null)
        {
            await node.Catalog.SettleAsync(database, collection, ct).ConfigureAwait(false);
        }
    }
}
