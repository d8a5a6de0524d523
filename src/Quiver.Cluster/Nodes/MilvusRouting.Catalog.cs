using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>Databases and aliases on a cluster. Databases: the engine of the default database's catalog shard (a single
/// grain, <c>default/0</c>) keeps the list of databases and answers every database call as the standalone server does;
/// each shard of a collection in another database creates that database in its own engine when it activates. Aliases:
/// the cluster's catalog records each alias and its collection (<see cref="CollectionCatalog.AliasTargetAsync"/>), so a
/// call naming an alias is routed, on any node, to the collection's shards, whose engines hold the alias too (it was
/// created on each of them).</summary>
internal sealed partial class MilvusRouting
{
    private static readonly string DefaultCatalogShard = ShardKeys.Of("default", ShardKeys.CatalogShard);

    /// <summary>A database call, answered by the default database's catalog shard; a database that still holds
    /// collections in the cluster's catalog is not dropped (the standalone engine's refusal, word for word).</summary>
    private async Task<byte[]> DatabaseCallAsync(MethodDescriptor method, byte[] request, IMessage? parsed, CancellationToken ct)
    {
        if (method.Name == "DropDatabase")
        {
            var name = Parsed<DropDatabaseRequest>(method, request, parsed).DbName;
            if (ShardKeys.IsValidName(name) && (await node.Catalog.ListAsync(name, ct).ConfigureAwait(false)).Count > 0)
            {
                return EngineRefusal(method, QuiverErrorCode.InvalidArgument, $"database '{name}' still has collections; drop them first");
            }
        }

        return await InvokeAsync(DefaultCatalogShard, method, request, "default", ct).ConfigureAwait(false);
    }

    /// <summary>How many databases the cluster has, as the default database's catalog shard lists them (the count the
    /// standalone server's <c>/healthz</c> reports), or why the shard did not answer.</summary>
    internal async Task<(int Count, string? Error)> DatabaseCountAsync(CancellationToken ct)
    {
        var list = MilvusService.Descriptor.FindMethodByName("ListDatabases");
        try
        {
            var answer = ListDatabasesResponse.Parser.ParseFrom(await InvokeAsync(DefaultCatalogShard, list,
                new ListDatabasesRequest().ToByteArray(), "default", ct).ConfigureAwait(false));
            return IsOk(answer.Status) ? (answer.DbNames.Count, null) : (0, answer.Status.Reason);
        }
        catch (Grpc.Core.RpcException e)
        {
            return (0, e.Status.Detail);
        }
    }

    /// <summary>The refusal of a call in <paramref name="database"/> when it does not exist (as the default database's
    /// catalog shard describes it), else null. The default database always exists.</summary>
    private async Task<byte[]?> MissingDatabaseAsync(MethodDescriptor method, string database, CancellationToken ct)
    {
        if (database == "default")
        {
            return null;
        }

        var describe = MilvusService.Descriptor.FindMethodByName("DescribeDatabase");
        var answer = DescribeDatabaseResponse.Parser.ParseFrom(await InvokeAsync(DefaultCatalogShard, describe,
            new DescribeDatabaseRequest { DbName = database }.ToByteArray(), "default", ct).ConfigureAwait(false));
        return IsOk(answer.Status) ? null : StatusAnswer(method, answer.Status.Code, answer.Status.Reason, answer.Status.Retriable);
    }

    /// <summary>The alias calls a node answers from the catalog or splits into calls on the collections' shards:
    /// <c>DropAlias</c>, <c>DescribeAlias</c>, <c>AlterAlias</c>, <c>ListAliases</c> of a whole database, and the checks
    /// of <c>CreateAlias</c> that only the catalog can make (an alias naming another shard's collection, an alias taken
    /// by another collection). Null when the call is routed as any call naming its collection.</summary>
    private async Task<byte[]?> AliasCallAsync(MethodDescriptor method, IMessage message, string database, CancellationToken ct)
    {
        if (message is DropAliasRequest or DescribeAliasRequest or ListAliasesRequest { CollectionName.Length: 0 }
            && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
        {
            // As the standalone server: the database is checked first.
            return noDatabase;
        }

        var alias = message switch
        {
            CreateAliasRequest create => create.Alias,
            DropAliasRequest drop => drop.Alias,
            DescribeAliasRequest describe => describe.Alias,
            AlterAliasRequest alter => alter.Alias,
            _ => null,
        };
        if (!ShardKeys.IsValidName(database) || (alias is not null && !ShardKeys.IsValidName(alias)))
        {
            // A name the catalog cannot hold as a key, so no alias has it: a create or alter goes to the collection's
            // shard, whose engine refuses the name in its words; a drop or describe answers that it does not exist.
            return message is DropAliasRequest or DescribeAliasRequest ? AliasMissing(method, alias!, database) : null;
        }

        switch (message)
        {
            case CreateAliasRequest create:
                if (await AliasConflictAsync(method, create.Alias, database, ct).ConfigureAwait(false) is { } conflict)
                {
                    return conflict;
                }

                return await node.Catalog.AliasTargetAsync(database, create.Alias, ct).ConfigureAwait(false) is { } taken
                    ? StatusAnswer(method, MilvusCode.AliasAlreadyExists, $"alias '{create.Alias}' already exists in database '{database}' (on collection '{taken}')")
                    : null;
            case DropAliasRequest drop:
            {
                if (await node.Catalog.AliasTargetAsync(database, drop.Alias, ct).ConfigureAwait(false) is not { } target)
                {
                    return AliasMissing(method, drop.Alias, database);
                }

                var answer = await EveryShardAsync(method, message.ToByteArray(), database, target, ct).ConfigureAwait(false);
                if (Succeeded(answer))
                {
                    await node.Catalog.RemoveAliasAsync(database, drop.Alias, ct).ConfigureAwait(false);
                }

                return answer;
            }

            case DescribeAliasRequest describe:
                return await node.Catalog.AliasTargetAsync(database, describe.Alias, ct).ConfigureAwait(false) is { } described
                    ? new DescribeAliasResponse { Status = new Protocol.Common.Status(), DbName = database, Alias = describe.Alias, Collection = described }.ToByteArray()
                    : AliasMissing(method, describe.Alias, database);
            case ListAliasesRequest { CollectionName.Length: 0 }:
            {
                var list = new ListAliasesResponse { Status = new Protocol.Common.Status(), DbName = database };
                list.Aliases.AddRange(await node.Catalog.AliasesAsync(database, null, ct).ConfigureAwait(false));
                return list.ToByteArray();
            }

            case AlterAliasRequest alter:
                return await AlterAliasAsync(method, alter, database, ct).ConfigureAwait(false);
            default:
                return null;
        }
    }

    /// <summary>Moves an alias to another collection: dropped on the old collection's shards, created on the new one's.</summary>
    private async Task<byte[]?> AlterAliasAsync(MethodDescriptor method, AlterAliasRequest alter, string database, CancellationToken ct)
    {
        if (await AliasConflictAsync(method, alter.Alias, database, ct).ConfigureAwait(false) is { } conflict)
        {
            return conflict;
        }

        if (!ShardKeys.IsValidName(alter.CollectionName) || await node.Catalog.ShardsAsync(database, alter.CollectionName, ct).ConfigureAwait(false) == 0)
        {
            // The new collection does not exist (checked before the alias, as the standalone server does): the catalog
            // shard answers.
            return null;
        }

        if (await node.Catalog.AliasTargetAsync(database, alter.Alias, ct).ConfigureAwait(false) is not { } old)
        {
            return AliasMissing(method, alter.Alias, database);
        }

        if (old == alter.CollectionName)
        {
            // Nothing moves: the collection's shards answer.
            return null;
        }

        var dropped = await EveryShardAsync(MilvusService.Descriptor.FindMethodByName("DropAlias"),
            new DropAliasRequest { DbName = database, Alias = alter.Alias }.ToByteArray(), database, old, ct).ConfigureAwait(false);
        if (!Succeeded(dropped))
        {
            return dropped;
        }

        var created = await EveryShardAsync(MilvusService.Descriptor.FindMethodByName("CreateAlias"),
            new CreateAliasRequest { DbName = database, CollectionName = alter.CollectionName, Alias = alter.Alias }.ToByteArray(), database, alter.CollectionName, ct).ConfigureAwait(false);
        if (Succeeded(created))
        {
            await node.Catalog.SetAliasAsync(database, alter.Alias, alter.CollectionName, ct).ConfigureAwait(false);
        }
        else
        {
            await node.Catalog.RemoveAliasAsync(database, alter.Alias, ct).ConfigureAwait(false);
        }

        return created;
    }

    /// <summary>Runs a call answering a bare status on every shard of <paramref name="collection"/>: the first failure,
    /// else shard 0's answer.</summary>
    private async Task<byte[]> EveryShardAsync(MethodDescriptor method, byte[] request, string database, string collection, CancellationToken ct)
    {
        var (known, id) = await node.Catalog.EntryAsync(database, collection, ct).ConfigureAwait(false);
        ShardKeys.RouteById(database, collection, id);
        var shards = Math.Max(1, known);
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => InvokeAsync(ShardKeys.Of(database, collection, s), method, request, database, ct))).ConfigureAwait(false);
        return answers.FirstOrDefault(a => !Succeeded(a)) ?? answers[0];
    }

    /// <summary>The standalone server's refusal of an alias named like a collection (of any shard), else null.</summary>
    private async Task<byte[]?> AliasConflictAsync(MethodDescriptor method, string alias, string database, CancellationToken ct) =>
        ShardKeys.IsValidName(alias) && await node.Catalog.ShardsAsync(database, alias, ct).ConfigureAwait(false) > 0
            ? StatusAnswer(method, MilvusCode.AliasCollectionNameConflict, $"alias '{alias}' conflicts with the collection of that name in database '{database}'")
            : null;

    /// <summary>The standalone server's answer naming an alias that does not exist.</summary>
    private static byte[] AliasMissing(MethodDescriptor method, string alias, string database) =>
        StatusAnswer(method, MilvusCode.AliasNotFound, $"alias '{alias}' does not exist in database '{database}'");

    /// <summary>The standalone server's answer to the engine refusing with <paramref name="code"/> and
    /// <paramref name="message"/> (its code mapping, its words), for a check only the cluster's catalog can make.</summary>
    private static byte[] EngineRefusal(MethodDescriptor method, QuiverErrorCode code, string message)
    {
        var status = MilvusStatus.FromException(new QuiverException(code, message));
        return StatusAnswer(method, status.Code, status.Reason);
    }
}
