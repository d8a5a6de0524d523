using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>The access layer: every node answers Milvus's gRPC <c>MilvusService</c> by routing each call, still
/// serialized, to the shard grain of the collection it names (wherever Orleans placed it), so no node holds state a
/// call needs. Calls that name no collection: <c>Connect</c>, <c>GetVersion</c> and <c>CheckHealth</c> are answered
/// here, <c>ShowCollections</c> from the cluster's catalog and its shards; the rest are refused as not served by a
/// cluster node yet, or, when the standalone server does not serve them either, answered in its words.</summary>
internal sealed partial class MilvusRouting(IGrainFactory grains, NodeContext node)
{
    /// <summary>The gRPC service name of Milvus's API.</summary>
    public const string ServiceName = "milvus.proto.milvus.MilvusService";

    /// <summary>Test seam, null in production: the storage id a collection created through this node gets, from its
    /// name, instead of one the catalog reserves (<see cref="CollectionCatalog.NewIdAsync"/>).</summary>
    internal Func<string, string>? NewStorageId { get; set; }

    /// <summary>Test seam, null in production: awaited with the database, name and storage id of a new collection after
    /// its shards created it, before the catalog records it (<see cref="RecordCreateAsync"/>), so a test can hold two
    /// nodes' creates of one name there together.</summary>
    internal Func<string, string, string, Task>? BeforeRecordCreate { get; set; }

    /// <summary>The storage id of a new collection <paramref name="collection"/> (docs/cluster.md, "Storage ids").</summary>
    internal Task<string> NewIdAsync(string database, string collection, CancellationToken ct) =>
        NewStorageId is { } seam ? Task.FromResult(seam(collection)) : node.Catalog.NewIdAsync(database, collection, ct);

    /// <summary>Gives up the storage id <see cref="NewIdAsync"/> reserved for a create that was refused.</summary>
    internal Task ReleaseIdAsync(string database, string id, CancellationToken ct) =>
        NewStorageId is null ? node.Catalog.ReleaseIdAsync(database, id, ct) : Task.CompletedTask;

    /// <summary>Messages passed through unparsed.</summary>
    public static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>The Milvus protocol level a node reports, the standalone server's (its <c>MilvusGrpcService.MilvusVersion</c>).</summary>
    private const string MilvusVersion = "v2.6.0";

    /// <summary>Calls that change nothing, so a try that may have reached a node that then died is safe to repeat.</summary>
    private static readonly HashSet<string> ReadOnly = new(StringComparer.Ordinal)
    {
        "Search", "Query", "HybridSearch", "DescribeCollection", "HasCollection", "GetLoadState", "GetLoadingProgress",
        "DescribeIndex", "GetIndexState", "GetIndexBuildProgress", "GetCollectionStatistics", "GetPartitionStatistics",
        "ShowPartitions", "HasPartition", "ShowCollections", "GetFlushState", "GetPersistentSegmentInfo",
        "GetQuerySegmentInfo", "LoadCollection", "Flush", "GetReplicas",
    };

    /// <summary>The answer to an RPC naming no collection that a node does not serve yet (docs/errors.md,
    /// <c>cluster-not-served</c>): Milvus code 10 naming the RPC, as the standalone server refuses an RPC it does not serve.</summary>
    internal static byte[] NotServed(MethodDescriptor method) =>
        StatusAnswer(method, global::Quiver.Server.Milvus.MilvusCode.Unimplemented, $"{method.Name} is not served by a Quiver cluster node yet (docs/cluster.md)");

    /// <summary>The answer to a call whose shard did not answer (docs/errors.md, <c>cluster-shard-unreachable</c>):
    /// Milvus code 2, retriable, with <paramref name="reason"/> (<see cref="ShardCalls.Reason"/>).</summary>
    internal static byte[] Unreachable(MethodDescriptor method, string reason) =>
        StatusAnswer(method, global::Quiver.Server.Milvus.MilvusCode.ServiceUnavailable, reason, retriable: true);

    /// <summary>The response of <paramref name="method"/> carrying Milvus error <paramref name="code"/> and
    /// <paramref name="reason"/>: the status itself where the RPC answers a bare status, else its <c>status</c> field
    /// (a gRPC status for the few responses without one).</summary>
    internal static byte[] StatusAnswer(MethodDescriptor method, int code, string reason, bool retriable = false)
    {
        var status = global::Quiver.Server.Milvus.MilvusStatus.Error(code, reason, retriable);
        if (method.OutputType == Protocol.Common.Status.Descriptor)
        {
            return status.ToByteArray();
        }

        var response = method.OutputType.Parser.ParseFrom(ByteString.Empty);
        if (method.OutputType.FindFieldByName("status") is not { FieldType: FieldType.Message } field
            || field.MessageType != Protocol.Common.Status.Descriptor)
        {
            throw new RpcException(new Grpc.Core.Status(retriable ? StatusCode.Unavailable : StatusCode.Unimplemented, reason));
        }

        field.Accessor.SetValue(response, status);
        return response.ToByteArray();
    }

    /// <summary>Runs one unary call of <paramref name="method"/>; an engine refusal a shard's grain throws (rather than
    /// answers through its server), such as a call reaching a dropped collection's closing grain, is answered as the
    /// standalone server maps it (<see cref="Refusal"/>).</summary>
    public async Task<byte[]> CallAsync(MethodDescriptor method, byte[] request, ServerCallContext context)
    {
        CurrentClient.Value = ClientOf(context);
        try
        {
            var (refused, message) = await SecurityAsync(method, request, context).ConfigureAwait(false);
            return refused ?? await RouteAsync(method, request, context, message).ConfigureAwait(false);
        }
        catch (QuiverException ex)
        {
            return Refusal(method, ex);
        }
    }

    /// <summary>The response of <paramref name="method"/> carrying the Milvus status the standalone server gives
    /// <paramref name="exception"/> (<see cref="global::Quiver.Server.Milvus.MilvusStatus.FromException"/>), retriable
    /// flag included.</summary>
    internal static byte[] Refusal(MethodDescriptor method, QuiverException exception)
    {
        var status = global::Quiver.Server.Milvus.MilvusStatus.FromException(exception);
        return StatusAnswer(method, status.Code, status.Reason, status.Retriable);
    }

    /// <summary>Routes one unary call of <paramref name="method"/> that passed the gate (a REST endpoint's RPC comes here
    /// after the REST pipeline's gate, RestRouting.Forward.cs); <paramref name="parsed"/> is the request as the gate
    /// parsed it (null: parsed here), so a call is parsed once on its way through the node.</summary>
    internal async Task<byte[]> RouteAsync(MethodDescriptor method, byte[] request, ServerCallContext context, IMessage? parsed = null)
    {
        var ct = context.CancellationToken;
        switch (method.Name)
        {
            case "Connect":
                return new ConnectResponse
                {
                    Status = new Protocol.Common.Status(),
                    ServerInfo = new Protocol.Common.ServerInfo { BuildTags = MilvusVersion, DeployMode = "CLUSTER" },
                    Identifier = Random.Shared.NextInt64(1, long.MaxValue),
                }.ToByteArray();
            case "GetVersion":
                return new GetVersionResponse { Status = new Protocol.Common.Status(), Version = MilvusVersion }.ToByteArray();
            case "CheckHealth":
                return new CheckHealthResponse { Status = new Protocol.Common.Status(), IsHealthy = true }.ToByteArray();
            case "ShowCollections":
            {
                var show = Parsed<ShowCollectionsRequest>(method, request, parsed);
                return await MissingDatabaseAsync(method, string.IsNullOrEmpty(show.DbName) ? CallDatabase(context) : show.DbName, ct).ConfigureAwait(false)
                    ?? await ShowCollectionsAsync(method, show, request, context).ConfigureAwait(false);
            }

            case "RenameCollection":
                return await RenameAsync(method, Parsed<RenameCollectionRequest>(method, request, parsed), request, context).ConfigureAwait(false);
            case "Flush":
                return await FlushAsync(method, Parsed<FlushRequest>(method, request, parsed), context).ConfigureAwait(false);
            case "Import":
                return await ImportAsync(method, Parsed<ImportRequest>(method, request, parsed), request, context).ConfigureAwait(false);
            case "GetImportState":
                return await ImportStateAsync(method, Parsed<GetImportStateRequest>(method, request, parsed), context).ConfigureAwait(false);
            case "ListImportTasks":
                return await ListImportsAsync(method, Parsed<ListImportTasksRequest>(method, request, parsed), request, context).ConfigureAwait(false);
            case "CreateDatabase" or "DropDatabase" or "ListDatabases" or "DescribeDatabase" or "AlterDatabase":
                return await DatabaseCallAsync(method, request, parsed, ct).ConfigureAwait(false);
            default:
                break;
        }

        var message = Parsed<IMessage>(method, request, parsed);
        if (method.Name is "CreateAlias" or "DropAlias" or "DescribeAlias" or "AlterAlias" or "ListAliases"
            && await AliasCallAsync(method, message, Database(message, context), ct).ConfigureAwait(false) is { } aliasAnswer)
        {
            return aliasAnswer;
        }

        if (method.InputType.FindFieldByName("collection_name") is not { FieldType: FieldType.String } field)
        {
            // An RPC the standalone server serves and a node does not yet: Milvus code 10 in the response's status, so an
            // SDK reports a Milvus error naming the RPC rather than a transport failure. One the standalone server does
            // not serve either: the catalog shard's server answers it, in the standalone server's words.
            return StandaloneServes(method.Name)
                ? NotServed(method)
                : await InvokeAsync(ShardKeys.Of("default", ShardKeys.CatalogShard), method, request, "default", ct).ConfigureAwait(false);
        }

        var database = Database(message, context);
        var collection = (string)field.Accessor.GetValue(message);
        // A read routes by the entry this node remembers (of the collection it names, or of its alias's collection), which
        // the catalog's watch keeps current; until the watch delivers a drop and create through another node, that entry
        // names the dropped collection's storage, whose shards answer "does not exist" or, while or after their grains
        // close, that they were dropped. Such an answer to a remembered entry is checked against the catalog's current
        // entry once, and the read routed again by it when the entry changed.
        var used = new RememberedEntry();
        byte[] answer;
        try
        {
            answer = await RouteCollectionAsync(method, request, message, database, collection, context, fresh: false, used).ConfigureAwait(false);
        }
        catch (QuiverException ex) when (used.Revision > 0 && ShardGrain.SaysDropped(ex.Message))
        {
            // A one-shard collection's grain threw it (a sharded one's answer carries it in its status).
            answer = Refusal(method, ex);
        }

        if (used.Revision > 0 && SaysMissing(method, answer)
            && await node.Catalog.CurrentRevisionAsync(database, used.Collection, ct).ConfigureAwait(false) != used.Revision)
        {
            StaleEntryRetries++;
            answer = await RouteCollectionAsync(method, request, message, database, collection, context, fresh: true).ConfigureAwait(false);
        }

        return answer;
    }

    /// <summary>The collection whose remembered catalog entry a read was routed by, with the revision remembered (0: the
    /// read was routed by the current entry, or by none).</summary>
    internal sealed class RememberedEntry
    {
        public string Collection { get; private set; } = "";

        public ulong Revision { get; private set; }

        /// <summary>Notes that the entry of <paramref name="collection"/> is taken from <paramref name="catalog"/>'s memory.</summary>
        public void Take(CollectionCatalog catalog, string database, string collection)
        {
            Collection = collection;
            Revision = catalog.RevisionOf(database, collection);
        }
    }

    /// <summary>How many reads were routed again after the entry this node remembered for their collection answered that
    /// it does not exist and the catalog's current entry differed (tests).</summary>
    internal int StaleEntryRetries { get; private set; }

    /// <summary>True when <paramref name="response"/> to <paramref name="method"/> says the collection does not exist: Milvus
    /// code 100 in its status, <c>HasCollection</c>'s false, or the refusal of a dropped collection's shard
    /// (<see cref="ShardGrain.Dropped"/>).</summary>
    private static bool SaysMissing(MethodDescriptor method, byte[] response)
    {
        if (method.OutputType.FullName == Protocol.Common.Status.Descriptor.FullName)
        {
            return Missing(Protocol.Common.Status.Parser.ParseFrom(response));
        }

        if (method.OutputType.FindFieldByName("status") is not { } field)
        {
            return false;
        }

        if (method.Name == "HasCollection")
        {
            var has = BoolResponse.Parser.ParseFrom(response);
            return has.Status is { } refused && !IsOk(refused) ? Missing(refused) : !has.Value;
        }

        // Only the status field is read: a search's results are skipped, not parsed.
        var input = new CodedInputStream(response);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field.FieldNumber && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var status = new Protocol.Common.Status();
                input.ReadMessage(status);
                return Missing(status);
            }

            input.SkipLastField();
        }

        return false;
    }

    /// <summary>True when <paramref name="status"/> is Milvus's "collection not found" or a dropped shard's refusal.</summary>
    private static bool Missing(Protocol.Common.Status status) =>
        status.Code == global::Quiver.Server.Milvus.MilvusCode.CollectionNotFound || (status.Code != 0 && ShardGrain.SaysDropped(status.Reason));

    /// <summary>Routes a call naming <paramref name="collection"/> in <paramref name="database"/>: reads by the catalog entry
    /// this node remembers unless <paramref name="fresh"/>, writes and collection changes always by the current one.</summary>
    private async Task<byte[]> RouteCollectionAsync(MethodDescriptor method, byte[] request, IMessage message, string database, string collection, ServerCallContext context, bool fresh, RememberedEntry? used = null)
    {
        var ct = context.CancellationToken;
        var creates = method.Name == "CreateCollection";
        var valid = ShardKeys.IsValidName(database) && ShardKeys.IsValidName(collection);
        // Reads route by the count this node remembers (kept current by the catalog's watch); writes and collection
        // changes by the catalog's current value, so a collection dropped and created again with another shard count
        // through another node is never written by the old count.
        fresh = fresh || !ReadOnly.Contains(method.Name) || method.Name == "LoadCollection";
        if (valid && !fresh)
        {
            used?.Take(node.Catalog, database, collection);
        }

        // A create of a name the catalog holds goes to that collection's shards, whose engines refuse it in the
        // standalone's words; a new name gets its storage id once the checks below pass.
        var (shards, id) = !valid ? (0, collection) : await node.Catalog.EntryAsync(database, collection, ct, fresh).ConfigureAwait(false);
        var asked = creates ? Math.Max(1, ((CreateCollectionRequest)message).ShardsNum) : 0;
        var isNew = creates && valid && shards == 0;
        shards = isNew ? asked : shards;
        if (valid && !creates && shards == 0 && await node.Catalog.AliasTargetAsync(database, collection, ct).ConfigureAwait(false) is { } aliased)
        {
            // A call naming an alias goes to its collection's shards, whose engines know the alias.
            collection = aliased;
            if (!fresh)
            {
                used?.Take(node.Catalog, database, collection);
            }

            (shards, id) = await node.Catalog.EntryAsync(database, collection, ct, fresh).ConfigureAwait(false);
        }

        if (valid && shards > 0 && !isNew)
        {
            await SettleRenameAsync(database, collection, ct).ConfigureAwait(false);
            // Every key this call builds for the collection (shard grains, replicas, storage, auto ids) is named from the
            // storage id the catalog gave with the shard count.
            ShardKeys.RouteById(database, collection, id);
        }

        if (creates && asked > CollectionCatalog.MaxShards)
        {
            return TooManyShards(method, asked);
        }

        if (valid && (creates || shards == 0) && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
        {
            return noDatabase;
        }

        if (creates && valid && await node.Catalog.AliasTargetAsync(database, collection, ct).ConfigureAwait(false) is { } aliasOf)
        {
            return EngineRefusal(method, QuiverErrorCode.InvalidArgument, $"collection name '{collection}' is an alias of collection '{aliasOf}' in database '{database}'");
        }

        if (isNew)
        {
            id = await NewIdAsync(database, collection, ct).ConfigureAwait(false);
            ShardKeys.RouteById(database, collection, id);
        }

        if (valid && shards > 0 && !creates && await ReplicaCallAsync(method, message, request, database, collection, shards, context).ConfigureAwait(false) is { } replicaAnswer)
        {
            return replicaAnswer;
        }

        if (shards > 1 && !creates)
        {
            return await ShardedAsync(method, request, message, database, collection, shards, ct).ConfigureAwait(false);
        }

        if (shards > 1)
        {
            var created = await CreateShardedAsync(method, (CreateCollectionRequest)message, request, database, collection, shards, id, ct).ConfigureAwait(false);
            if (isNew && !Succeeded(created))
            {
                await ReleaseIdAsync(database, id, ct).ConfigureAwait(false);
            }

            return created;
        }

        var known = shards > 0;
        var key = ShardKeys.Of(database, known ? collection : ShardKeys.CatalogShard);
        var response = await InvokeAsync(key, method, request, database, ct).ConfigureAwait(false);
        if (creates)
        {
            if (known && Succeeded(response) && await RecordCreateAsync(database, collection, 1, id, ct).ConfigureAwait(false) is { } lost)
            {
                response = Refusal(method, lost);
            }

            if (isNew && !Succeeded(response))
            {
                await ReleaseIdAsync(database, id, ct).ConfigureAwait(false);
            }
        }
        else if (method.Name == "DropCollection" && known && Succeeded(response))
        {
            await ShardStorage.ForgetAsync(grains, database, collection, 1).ConfigureAwait(false);
            await node.Catalog.RemoveAsync(database, collection, ct).ConfigureAwait(false);
            await ReleaseReplicasAsync(key, 1, ct).ConfigureAwait(false);
        }
        else if (method.Name is "ReleaseCollection" && known && Succeeded(response))
        {
            await ReleaseReplicasAsync(key, 1, ct).ConfigureAwait(false);
        }
        else if (method.Name == "CreateAlias" && known && Succeeded(response))
        {
            await node.Catalog.SetAliasAsync(database, ((CreateAliasRequest)message).Alias, collection, ct).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>Each listed shard's own answer, merged: Milvus's response carries parallel repeated fields (names, ids,
    /// timestamps, load percentages), which a protobuf merge concatenates in order.</summary>
    private async Task<byte[]> ShowCollectionsAsync(MethodDescriptor method, ShowCollectionsRequest parsed, byte[] request, ServerCallContext context)
    {
        var database = string.IsNullOrEmpty(parsed.DbName) ? CallDatabase(context) : parsed.DbName;
#pragma warning disable CS0612 // deprecated in the protocol, still sent by SDKs to list given collections
        var given = parsed.CollectionNames;
#pragma warning restore CS0612
        var names = given.Count > 0 ? [.. given] : await node.Catalog.ListAsync(database, context.CancellationToken).ConfigureAwait(false);
        var merged = new ShowCollectionsResponse { Status = new Protocol.Common.Status() };
        foreach (var name in names)
        {
            var (shards, id) = ShardKeys.IsValidName(name) ? await node.Catalog.EntryAsync(database, name, context.CancellationToken).ConfigureAwait(false) : (0, name);
            if (shards > 0)
            {
                await SettleRenameAsync(database, name, context.CancellationToken).ConfigureAwait(false);
            }

            var one = ShowCollectionsResponse.Parser.ParseFrom(await InvokeAsync(ShardKeys.Of(database, shards > 0 ? id : ShardKeys.CatalogShard), method, request, database, context.CancellationToken).ConfigureAwait(false));
            if (!IsOk(one.Status))
            {
                return one.ToByteArray();
            }

            one.Status = null;
            merged.MergeFrom(one);
        }

        return merged.ToByteArray();
    }

    /// <summary>Calls the shard grain <paramref name="key"/> (<see cref="ShardCalls"/>): the shard's answer, its gRPC
    /// failure rethrown, or, when the shard did not answer, Milvus code 2 in the response's status.</summary>
    private async Task<byte[]> InvokeAsync(string key, MethodDescriptor method, byte[] request, string database, CancellationToken ct, string? call = null)
    {
        MilvusReply reply;
        try
        {
            // call: a shard's own call (ShardBm25.Method) answered in method's response type.
            reply = await ShardCalls.InvokeAsync(grains, key, method.Name, ReadOnly.Contains(method.Name), g => g.CallAsync(call ?? method.Name, request, database), ct).ConfigureAwait(false);
        }
        catch (ShardUnreachableException ex)
        {
            return Unreachable(method, ex.Message);
        }

        if (reply.StatusCode != 0)
        {
            throw new RpcException(new Grpc.Core.Status((StatusCode)reply.StatusCode, reply.Detail));
        }

        RecordSessionWrite(key, method, reply.Response);
        return reply.Response;
    }

    /// <summary>Whether the standalone server's service implements <paramref name="rpc"/> (overrides the generated base
    /// method, which answers it as not supported).</summary>
    internal static bool StandaloneServes(string rpc) => typeof(global::Quiver.Server.Milvus.MilvusGrpcService)
        .GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
        .Any(m => m.Name == rpc && m.GetBaseDefinition().DeclaringType == typeof(MilvusService.MilvusServiceBase) && m.DeclaringType != typeof(MilvusService.MilvusServiceBase));

    private static bool Succeeded(byte[] response)
    {
        // CreateCollection and DropCollection answer a bare common.Status.
        var status = Protocol.Common.Status.Parser.ParseFrom(response);
        return IsOk(status);
    }

    private static bool IsOk(Protocol.Common.Status? status) => status is null || status.Code == 0;

    private static string Database(IMessage message, ServerCallContext context) =>
        message.Descriptor.FindFieldByName("db_name") is { FieldType: FieldType.String } field && field.Accessor.GetValue(message) is string { Length: > 0 } db
            ? db
            : CallDatabase(context);

    private static string CallDatabase(ServerCallContext context) => context.RequestHeaders.GetValue("dbname") is { Length: > 0 } db ? db : "default";
}

/// <summary>Puts every unary method of <c>MilvusService</c> on <see cref="MilvusRouting"/>, unparsed: the bytes go to the
/// shard as the client sent them and come back as the shard answered.</summary>
internal sealed class MilvusRoutingMethods : IServiceMethodProvider<MilvusRouting>
{
    /// <inheritdoc/>
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<MilvusRouting> context)
    {
        foreach (var method in MilvusService.Descriptor.Methods.Where(m => !m.IsClientStreaming && !m.IsServerStreaming))
        {
            context.AddUnaryMethod(new Method<byte[], byte[]>(MethodType.Unary, MilvusRouting.ServiceName, method.Name, MilvusRouting.Bytes, MilvusRouting.Bytes), [],
                (routing, request, call) => routing.AuditedCallAsync(method, request, call));
        }
    }
}
