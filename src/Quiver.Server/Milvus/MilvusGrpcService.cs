using Grpc.Core;
using Quiver.Protocol.Milvus;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;
using Quiver.Server.Observability;

namespace Quiver.Server.Milvus;

/// <summary>
/// <c>milvus.proto.milvus.MilvusService</c> over the engine. A transport adapter: it converts Milvus messages to engine
/// calls and back, one partial file per concern (connection, catalog, data, search, indexes, security). Methods it does
/// not override answer a Milvus "unimplemented" status through <see cref="CallPipeline"/>; exceptions a
/// handler throws become error statuses there too. One instance serves every call (a singleton), so handlers keep no
/// per-call state in fields; <see cref="CallInfo.Of"/> gives the call's database and caller. Partial files that need
/// another server service resolve it from <see cref="Services"/>.
/// </summary>
internal sealed partial class MilvusGrpcService(QuiverEngine? engine, ServerOptions options, IServiceProvider services)
    : MilvusService.MilvusServiceBase
{
    /// <summary>The version Quiver reports: the Milvus protocol level it speaks.</summary>
    internal const string MilvusVersion = "v2.6.0";

    /// <summary>The refusal of an engine call on a service built <see cref="WithoutEngine"/>.</summary>
    internal const string NoEngine = "this MilvusGrpcService serves users, roles and grants only and has no engine: a call that needs one must be routed to a shard";

    /// <summary>The engine every handler but the RBAC ones works on; a service built <see cref="WithoutEngine"/> throws
    /// <see cref="InvalidOperationException"/> (<see cref="NoEngine"/>) instead of answering from nothing.</summary>
#pragma warning disable IDE1006 // named as the field it replaced, which every partial file reads
    private QuiverEngine _engine => engine ?? throw new InvalidOperationException(NoEngine);
#pragma warning restore IDE1006
    private readonly ServerOptions _options = options;

    /// <summary>A service that answers Milvus's RBAC RPCs and REST users and roles endpoints only (a cluster node's access
    /// layer, whose collections live in its shards): every handler that needs the engine refuses with
    /// <see cref="NoEngine"/>.</summary>
    internal static MilvusGrpcService WithoutEngine(ServerOptions options, IServiceProvider services) => new(null, options, services);

    /// <summary>The server's services, for partial files that need more than the engine.</summary>
    private IServiceProvider Services { get; } = services;

    /// <summary>The server's recall monitor, or null where none is registered (a cluster node's services): resolved at the
    /// first search, not looked up in the services on every search. A race resolves the same singleton twice.</summary>
    private RecallMonitor? Recall
    {
        get
        {
            if (!Volatile.Read(ref _recallResolved))
            {
                _recall = Services.GetService<RecallMonitor>();
                Volatile.Write(ref _recallResolved, true);
            }
            return _recall;
        }
    }

    private RecallMonitor? _recall;
    private bool _recallResolved;

    /// <summary>Proto schemas by engine schema instance: a schema is immutable and replaced when it changes, so this is
    /// a cache per collection version that needs no invalidation.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<CollectionSchema, Protocol.Schema.CollectionSchema> _protoSchemas = new();

    /// <summary>A collection's current schema in Milvus's form, for the REST adapter's conversions; a missing collection
    /// or database answers as DescribeCollection does (100 / 800).</summary>
    internal Protocol.Schema.CollectionSchema ProtoSchema(string database, string collection)
    {
        var target = Loads.Require(database, collection);
        return ProtoSchema(Collection(target.Name, target.Database));
    }

    /// <summary>The Milvus form of a collection already looked up (<see cref="Collection"/>): no catalog lookup, the
    /// conversion cached per schema instance.</summary>
    internal Protocol.Schema.CollectionSchema ProtoSchema(ResolvedCollection collection)
    {
        var schema = collection.Schema;
        if (_protoSchemas.TryGetValue(schema, out var cached) && cached.Name == collection.Name)
        {
            return cached;
        }

        var proto = SchemaConversion.ToProto(collection.Name, schema, collection.Database);
        _protoSchemas.AddOrUpdate(schema, proto);
        return proto;
    }

    /// <summary>A collection's (or alias's) current schema, as every handler reads it: the engine keeps one immutable
    /// schema instance per collection version and hands it out by a catalog lookup, so no handler builds a description
    /// or copies a schema per call, and a changed schema is seen by the next call. A missing collection or database is
    /// the engine's not-found error (100 / 800).</summary>
    internal CollectionSchema SchemaOf(string collection, string database) => Collection(collection, database).Schema;

    /// <summary>How many times this service has looked a collection's schema up in the engine's catalog
    /// (<see cref="Collection"/>): a count for tests of how many lookups one call costs, as a metric counts calls.</summary>
    internal long SchemaLookups => Interlocked.Read(ref _schemaLookups);

    private long _schemaLookups;

    /// <summary>A collection (or alias) resolved to its name and current schema: the one catalog lookup every handler
    /// makes for the schema (<see cref="SchemaOf"/>), counted in <see cref="SchemaLookups"/>.</summary>
    internal ResolvedCollection Collection(string collection, string database)
    {
        Interlocked.Increment(ref _schemaLookups);
        return _engine.GetCollection(collection, database);
    }

    /// <summary>The database a request names: its own <c>db_name</c> when set, else the connection's (metadata
    /// <c>dbname</c>), else <c>default</c>.</summary>
    private static string Database(string? requestDbName, ServerCallContext context) =>
        !string.IsNullOrEmpty(requestDbName) ? requestDbName : CallInfo.Of(context).Database ?? "default";

    /// <inheritdoc />
    /// <remarks>As Milvus, a connection to a database that does not exist fails here (code 800), not at its first call.</remarks>
    public override async Task<ConnectResponse> Connect(ConnectRequest request, ServerCallContext context)
    {
        if (CallInfo.Of(context).Database is { } db
            && !(await _engine.ListDatabasesAsync(context.CancellationToken).ConfigureAwait(false)).Contains(db))
        {
            throw new MilvusException(MilvusCode.DatabaseNotFound, $"database not found[database={db}]");
        }

        return new ConnectResponse
        {
            Status = MilvusStatus.Ok(),
            ServerInfo = new Protocol.Common.ServerInfo { BuildTags = MilvusVersion, DeployMode = "STANDALONE" },
            Identifier = Random.Shared.NextInt64(1, long.MaxValue),
        };
    }

    /// <inheritdoc />
    public override Task<GetVersionResponse> GetVersion(GetVersionRequest request, ServerCallContext context) =>
        Task.FromResult(new GetVersionResponse { Status = MilvusStatus.Ok(), Version = MilvusVersion });

    /// <inheritdoc />
    public override Task<CheckHealthResponse> CheckHealth(CheckHealthRequest request, ServerCallContext context) =>
        Task.FromResult(new CheckHealthResponse { Status = MilvusStatus.Ok(), IsHealthy = true });
}
