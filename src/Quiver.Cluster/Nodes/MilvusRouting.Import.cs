using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>Bulk import on a node (<see cref="ClusterImports"/>): <c>Import</c> checks the collection through the catalog
/// and queues the job on this node, on any shard count; <c>GetImportState</c> and <c>ListImportTasks</c> answer from the
/// cluster's job records, so every node sees every job. Answers and refusals are the standalone server's; a name the
/// catalog does not hold goes to the database's catalog shard, whose server refuses it in the standalone's words.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The collection <paramref name="name"/> names in <paramref name="database"/> (an alias: its collection)
    /// and its shard count, 0 when the catalog holds neither.</summary>
    private async Task<(string Collection, int Shards)> CollectionOfAsync(string database, string name, CancellationToken ct)
    {
        if (!ShardKeys.IsValidName(database) || !ShardKeys.IsValidName(name))
        {
            return (name, 0);
        }

        var shards = await node.Catalog.ShardsAsync(database, name, ct, fresh: true).ConfigureAwait(false);
        if (shards == 0 && await node.Catalog.AliasTargetAsync(database, name, ct).ConfigureAwait(false) is { } aliased)
        {
            return (aliased, await node.Catalog.ShardsAsync(database, aliased, ct, fresh: true).ConfigureAwait(false));
        }

        return (name, shards);
    }

    /// <summary>A call naming a collection the catalog does not hold: a missing database's refusal, else the catalog
    /// shard's server's answer (the standalone server's "collection not found" or bad name).</summary>
    private async Task<byte[]> UnknownCollectionAsync(MethodDescriptor method, byte[] request, string database, CancellationToken ct)
    {
        var valid = ShardKeys.IsValidName(database);
        if (valid && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
        {
            return noDatabase;
        }

        return await InvokeAsync(ShardKeys.Of(valid ? database : "default", ShardKeys.CatalogShard), method, request, database, ct).ConfigureAwait(false);
    }

    private async Task<byte[]> ImportAsync(MethodDescriptor method, ImportRequest parsed, byte[] request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var database = Database(parsed, context);
        var (collection, shards) = await CollectionOfAsync(database, parsed.CollectionName, ct).ConfigureAwait(false);
        if (shards == 0)
        {
            return await UnknownCollectionAsync(method, request, database, ct).ConfigureAwait(false);
        }

        try
        {
            var options = parsed.Options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
            var id = await node.Imports.SubmitAsync(database, collection, parsed.PartitionName, [.. parsed.Files], options,
                partition => HasPartitionAsync(database, collection, partition, context), ct).ConfigureAwait(false);
            var response = new ImportResponse { Status = MilvusStatus.Ok() };
            response.Tasks.Add(id);
            return response.ToByteArray();
        }
        catch (MilvusException ex)
        {
            return StatusAnswer(method, ex.Code, ex.Message, ex.Retriable);
        }
    }

    private async Task<bool> HasPartitionAsync(string database, string collection, string partition, ServerCallContext context)
    {
        var has = MilvusService.Descriptor.FindMethodByName("HasPartition");
        var request = new HasPartitionRequest { DbName = database, CollectionName = collection, PartitionName = partition };
        var answer = BoolResponse.Parser.ParseFrom(await RouteAsync(has, request.ToByteArray(), context, request).ConfigureAwait(false));
        return answer.Status is not { Code: not 0 } && answer.Value;
    }

    private async Task<byte[]> ImportStateAsync(MethodDescriptor method, GetImportStateRequest parsed, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var job = await node.Imports.GetAsync(parsed.Task, ct).ConfigureAwait(false);
        if (job is null || !MayImport(context, job))
        {
            // A job the caller may not see answers as one that does not exist: ids are guessable.
            var refusal = MilvusGrpcService.TaskNotFound(parsed.Task);
            return StatusAnswer(method, refusal.Code, refusal.Message);
        }

        return (await StateOfAsync(job, context)).ToByteArray();
    }

    private async Task<byte[]> ListImportsAsync(MethodDescriptor method, ListImportTasksRequest parsed, byte[] request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var database = Database(parsed, context);
        string? collection = null;
        if (!string.IsNullOrEmpty(parsed.CollectionName))
        {
            (collection, var shards) = await CollectionOfAsync(database, parsed.CollectionName, ct).ConfigureAwait(false);
            if (shards == 0)
            {
                return await UnknownCollectionAsync(method, request, database, ct).ConfigureAwait(false);
            }
        }
        else if (ShardKeys.IsValidName(database) && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
        {
            return noDatabase;
        }

        var response = new ListImportTasksResponse { Status = MilvusStatus.Ok() };
        var jobs = (await node.Imports.ListAsync(database, collection, ct).ConfigureAwait(false)).Where(j => MayImport(context, j))
            .Take(parsed.Limit > 0 ? (int)Math.Min(parsed.Limit, int.MaxValue) : int.MaxValue);
        foreach (var job in jobs)
        {
            response.Tasks.Add(await StateOfAsync(job, context).ConfigureAwait(false));
        }

        return response.ToByteArray();
    }

    /// <summary>A job as the standalone server reports it; the collection id is shard 0's (0 once dropped).</summary>
    private async Task<GetImportStateResponse> StateOfAsync(ClusterImportJob job, ServerCallContext context)
    {
        var describe = MilvusService.Descriptor.FindMethodByName("DescribeCollection");
        var request = new DescribeCollectionRequest { DbName = job.Database, CollectionName = job.Collection };
        var (_, shards) = await CollectionOfAsync(job.Database, job.Collection, context.CancellationToken).ConfigureAwait(false);
        var id = 0L;
        if (shards > 0)
        {
            var described = DescribeCollectionResponse.Parser.ParseFrom(await InvokeAsync(ShardKeys.Of(job.Database, job.Collection), describe, request.ToByteArray(), job.Database, context.CancellationToken).ConfigureAwait(false));
            id = described.Status is { Code: not 0 } ? 0 : described.CollectionID;
        }

        return MilvusGrpcService.ImportStateOf(job.View, id);
    }

    /// <summary>Whether the caller may see <paramref name="job"/>, as on the standalone server: a job is shown to those who
    /// hold the Import privilege on its collection (any caller when authentication is off).</summary>
    private bool MayImport(ServerCallContext context, ClusterImportJob job)
    {
        var security = node.Security;
        if (!security.Options.AuthEnabled)
        {
            return true;
        }

        return CallInfo.Of(context).User is { } user && security.Store.IsPermitted(user, "Collection", "PrivilegeImport", job.Database, [job.Collection]);
    }
}
