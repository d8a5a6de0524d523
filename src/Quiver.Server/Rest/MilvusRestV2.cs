using System.Collections.Frozen;
using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quiver.Protocol.Common;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using WireConsistency = Quiver.Protocol.Common.ConsistencyLevel;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Server.Rest;

/// <summary>
/// Milvus's RESTful API v2 (<c>POST /v2/vectordb/{category}/{action}</c>), a thin transport adapter over the gRPC
/// handlers as Milvus's own proxy is: each endpoint reads its JSON body, builds the MilvusService request, runs the RPC
/// through the <see cref="CallPipeline"/> (same gate, limits, metrics and error mapping as gRPC) and prints the response
/// as <c>{"code":0,"data":...}</c>, or <c>{"code":&lt;milvus code&gt;,"message":...}</c> on failure. Answers HTTP 200
/// either way, as Milvus does, except authentication failures (401) and refused privileges (403). Every response
/// carries the request id in <c>X-Request-Id</c>. One partial file per category group.
/// </summary>
internal static partial class MilvusRestV2
{
    /// <summary>The path prefix of every endpoint.</summary>
    public const string Prefix = "/v2/vectordb";

    private delegate Task<JsonNode?> Endpoint(RestRequest request);

    private const string InsertPath = Prefix + "/entities/insert";
    private const string UpsertPath = Prefix + "/entities/upsert";

    /// <summary>Maps every REST v2 endpoint onto <paramref name="routes"/>.</summary>
    public static IEndpointRouteBuilder MapMilvusRestV2(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        foreach (var (path, endpoint) in Endpoints)
        {
            routes.MapPost(Prefix + path, http => RunAsync(http, Prefix + path, endpoint));
        }
        return routes;
    }

    /// <summary>The endpoint paths under <see cref="Prefix"/>.</summary>
    public static IEnumerable<string> Paths => Endpoints.Select(e => e.Path);

    private static readonly (string Path, Endpoint Endpoint)[] Endpoints =
    [
        ("/collections/create", CreateCollectionAsync),
        ("/collections/describe", DescribeCollectionAsync),
        ("/collections/list", ListCollectionsAsync),
        ("/collections/has", HasCollectionAsync),
        ("/collections/drop", DropCollectionAsync),
        ("/collections/rename", RenameCollectionAsync),
        ("/collections/get_stats", CollectionStatsAsync),
        ("/collections/get_load_state", LoadStateAsync),
        ("/collections/load", LoadCollectionAsync),
        ("/collections/release", ReleaseCollectionAsync),
        ("/collections/flush", FlushAsync),
        ("/collections/alter_properties", AlterCollectionPropertiesAsync),
        ("/collections/drop_properties", DropCollectionPropertiesAsync),
        ("/collections/fields/add", AddCollectionFieldAsync),
        ("/collections/fields/alter_properties", AlterCollectionFieldPropertiesAsync),
        ("/entities/insert", InsertAsync),
        ("/entities/upsert", UpsertAsync),
        ("/entities/delete", DeleteAsync),
        ("/entities/query", QueryAsync),
        ("/entities/get", GetAsync),
        ("/entities/search", SearchAsync),
        ("/entities/hybrid_search", HybridSearchAsync),
        ("/partitions/create", CreatePartitionAsync),
        ("/partitions/drop", DropPartitionAsync),
        ("/partitions/list", ListPartitionsAsync),
        ("/partitions/has", HasPartitionAsync),
        ("/partitions/load", LoadPartitionsAsync),
        ("/partitions/release", ReleasePartitionsAsync),
        ("/partitions/get_stats", PartitionStatsAsync),
        ("/indexes/create", CreateIndexesAsync),
        ("/indexes/describe", DescribeIndexAsync),
        ("/indexes/list", ListIndexesAsync),
        ("/indexes/drop", DropIndexAsync),
        ("/indexes/alter_properties", AlterIndexPropertiesAsync),
        ("/indexes/drop_properties", DropIndexPropertiesAsync),
        ("/aliases/create", CreateAliasAsync),
        ("/aliases/drop", DropAliasAsync),
        ("/aliases/list", ListAliasesAsync),
        ("/aliases/describe", DescribeAliasAsync),
        ("/aliases/alter", AlterAliasAsync),
        ("/users/create", CreateUserAsync),
        ("/users/drop", DropUserAsync),
        ("/users/list", ListUsersAsync),
        ("/users/describe", DescribeUserAsync),
        ("/users/update_password", UpdatePasswordAsync),
        ("/users/grant_role", GrantRoleAsync),
        ("/users/revoke_role", RevokeRoleAsync),
        ("/roles/create", CreateRoleAsync),
        ("/roles/drop", DropRoleAsync),
        ("/roles/list", ListRolesAsync),
        ("/roles/describe", DescribeRoleAsync),
        ("/roles/grant_privilege", GrantPrivilegeAsync),
        ("/roles/revoke_privilege", RevokePrivilegeAsync),
        ("/databases/create", CreateDatabaseAsync),
        ("/databases/drop", DropDatabaseAsync),
        ("/databases/list", ListDatabasesAsync),
        ("/databases/describe", DescribeDatabaseAsync),
        ("/databases/alter", AlterDatabaseAsync),
        ("/jobs/import/create", CreateImportJobAsync),
        ("/jobs/import/list", ListImportJobsAsync),
        ("/jobs/import/get_progress", ImportJobProgressAsync),
        ("/jobs/import/describe", ImportJobProgressAsync),
    ];

    /// <summary>The endpoints whose body is read into a pooled buffer (<see cref="RestBody.ReadPooledAsync"/>): reads,
    /// which keep nothing of the body past the request (their values are copied into strings, numbers and engine
    /// requests). Inserts and upserts are pooled too when their rows are read as text (see <see cref="RunAsync"/>);
    /// every other endpoint reads into a buffer of its own and disposes its document when the request ends.</summary>
    internal static readonly FrozenSet<string> PooledBodyPaths = new[]
    {
        Prefix + "/entities/search", Prefix + "/entities/hybrid_search", Prefix + "/entities/query", Prefix + "/entities/get",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>What a request's body holds from the pools (a pooled buffer, a parsed document's value table), given back
    /// when the request's handling ends, after its answer is written.</summary>
    internal sealed class HeldBody : IDisposable
    {
        public PooledBody? Body { get; set; }

        public JsonDocument? Document { get; set; }

        public void Dispose()
        {
            Body?.Dispose();
            Document?.Dispose();
        }
    }

    private static async Task RunAsync(HttpContext http, string path, Endpoint endpoint)
    {
        var requestId = CallInfo.NewRequestId();
        http.Response.Headers["X-Request-Id"] = requestId;
        var services = http.RequestServices;
        var pipeline = services.GetRequiredService<CallPipeline>();
        Action<Utf8JsonWriter> reply;
        var httpStatus = StatusCodes.Status200OK;
        var bodyRead = false;
        long resultBytes = 0;
        using var lease = new InFlightLease(services.GetRequiredService<InFlightBytes>());
        // The body's buffer and document go back to their pools once the answer is written.
        using var held = new HeldBody();
        try
        {
            // The credential is in the headers: it is checked before a byte of the body is read, so a caller without
            // one costs the server no memory whatever size of body it announces.
            await pipeline.AuthenticateAsync(new CallInfo
            {
                Method = path,
                Transport = "rest",
                RequestId = requestId,
                Credential = RestRequest.BearerToken(http.Request),
                Peer = RestCallContext.PeerOf(http),
            }, http.RequestAborted).ConfigureAwait(false);
            var maxBytes = services.GetRequiredService<ServerOptions>().Security.MaxMessageBytes;
            var (body, rows) = await ReadBodyAsync(http, path, maxBytes, lease, held, () => bodyRead = true).ConfigureAwait(false);
            var request = new RestRequest(http, body, services.GetRequiredService<MilvusGrpcService>(), pipeline, requestId) { Rows = rows };
            var data = await endpoint(request).ConfigureAwait(false);
            resultBytes = request.Context.UserState.TryGetValue(CallInfo.Key, out var last) && last is CallInfo call ? call.ResultBytes : 0;
            reply = w => WriteSuccess(w, request, data);
        }
        catch (MilvusException e)
        {
            var error = new JsonObject { ["code"] = e.Code, ["message"] = e.Message };
            reply = w => error.WriteTo(w);
            httpStatus = RefusalStatus(e.Code, bodyRead);
            if (!bodyRead && !HttpProtocol.IsHttp2(http.Request.Protocol) && !HttpProtocol.IsHttp3(http.Request.Protocol)
                && !await DrainSmallBodyAsync(http, services.GetRequiredService<ServerOptions>().Security.MaxMessageBytes).ConfigureAwait(false))
            {
                // The rest of the body is not wanted: close the connection after the answer rather than drain it.
                // (HTTP/2 ends just the stream.)
                http.Response.Headers.Connection = "close";
            }
            if (e.Retriable)
            {
                http.Response.Headers.RetryAfter = "1";
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (IOException) when (!bodyRead)
        {
            return; // the client went away while sending the body
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnexpected(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MilvusRestV2)), http.Request.Path, requestId, e);
            reply = Internal;
        }
        using var buffer = new PooledBufferWriter();
        try
        {
            Write(buffer, reply);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnexpected(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MilvusRestV2)), http.Request.Path, requestId, e);
            buffer.ResetWrittenCount();
            httpStatus = StatusCodes.Status200OK;
            Write(buffer, Internal);
        }
        http.Response.StatusCode = httpStatus;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
        services.GetRequiredService<MemoryReclaimer>().Noted(Math.Max(lease.Held, resultBytes));
    }

    /// <summary>The HTTP status of a refusal with Milvus <paramref name="code"/>: 401 for authentication, 403 for a
    /// privilege, 413 and 429 for a body too large or a limit reached before the body was read, else 200 with the code in
    /// the body, as Milvus answers. A cluster node's REST refusals use it too.</summary>
    internal static int RefusalStatus(int code, bool bodyRead) => code switch
    {
        MilvusCode.NotAuthenticated or MilvusCode.NeedAuthenticate => StatusCodes.Status401Unauthorized,
        MilvusCode.PrivilegeNotPermitted => StatusCodes.Status403Forbidden,
        MilvusCode.ParameterTooLarge when !bodyRead => StatusCodes.Status413PayloadTooLarge,
        MilvusCode.RequestLimitExceeded when !bodyRead => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status200OK,
    };

    /// <summary>Reads and parses the body of a request to <paramref name="path"/>, holding in <paramref name="held"/> what
    /// it takes from the pools (given back when the request ends); <paramref name="read"/> runs once the bytes are in.
    /// Read endpoints, and inserts and upserts whose rows are read as text, read into a pooled buffer; a write body the
    /// scan leaves to the parser gets an array of its own and a document never disposed; any other body an array of its
    /// own and a document disposed with <paramref name="held"/>.</summary>
    internal static async Task<(JsonElement Body, RestRowsBody? Rows)> ReadBodyAsync(HttpContext http, string path, int maxBytes,
        InFlightLease lease, HeldBody held, Action read)
    {
        if (PooledBodyPaths.Contains(path))
        {
            held.Body = await RestBody.ReadPooledAsync(http, maxBytes, lease).ConfigureAwait(false);
            read();
            return (held.Body.Parse(), null);
        }
        if (path is InsertPath or UpsertPath)
        {
            held.Body = await RestBody.ReadPooledAsync(http, maxBytes, lease).ConfigureAwait(false);
            read();
            // An insert or upsert keeps its rows as text, read into columns inside the call. The text reader copies
            // every value it keeps (a JSON field's value becomes a document of its own), so the pooled buffer goes back
            // when the request ends. A body the scan leaves to the parser is parsed whole, and the element reader hands
            // a JSON field's value on as an element over the body's bytes (the engine stores a copy, but nothing in the
            // reader's contract says so): that body, a rare one, gets an array of its own and a document never disposed.
            if (RestRowsBody.TryScan(held.Body.Memory) is { } rows)
            {
                held.Document = rows.Document;
                return (rows.Root, rows);
            }
            lease.Reserve(held.Body.Memory.Length);
            var own = held.Body.Memory.ToArray();
            held.Body.Dispose();
            held.Body = null;
            return (RestBody.Parse(own), null);
        }
        var bytes = await RestBody.ReadAsync(http, maxBytes, lease).ConfigureAwait(false);
        read();
        // Nothing of these bodies is kept past the request (values are copied into strings, numbers and Milvus
        // messages), so the document's value table goes back to the pool when the request ends.
        held.Document = RestBody.ParseDocument(bytes);
        return (held.Document.RootElement, null);
    }

    /// <summary>The most of a refused request's body that is read and dropped so that the connection can answer and
    /// stay open.</summary>
    private const long DrainLimit = 64 * 1024;

    /// <summary>Reads and drops the body of a request refused before its body was read, when it announces at most
    /// <see cref="DrainLimit"/> bytes and no more than <paramref name="maxMessageBytes"/>; returns false for a larger or
    /// unannounced one, whose connection is closed instead.
    /// Closing a connection whose body is still arriving makes the server's TCP stack answer the late bytes with a
    /// reset, which a client can see before it reads the refusal (a 401 becomes "connection reset by peer").</summary>
    private static async Task<bool> DrainSmallBodyAsync(HttpContext http, long maxMessageBytes)
    {
        if (http.Request.ContentLength is not { } length || length > Math.Min(DrainLimit, maxMessageBytes))
        {
            return false;
        }
        try
        {
            await http.Request.Body.CopyToAsync(Stream.Null, http.RequestAborted).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return false;
        }
    }

    private static void Write(PooledBufferWriter buffer, Action<Utf8JsonWriter> reply)
    {
        using var writer = new Utf8JsonWriter(buffer);
        reply(writer);
    }

    private static void Internal(Utf8JsonWriter writer) =>
        new JsonObject { ["code"] = MilvusCode.Unexpected, ["message"] = "internal error; see the server log" }.WriteTo(writer);

    /// <summary><c>{"code":0,"data":...}</c> plus the endpoint's extra members; the data as the endpoint returned it, or
    /// written by its <see cref="RestRequest.WriteData"/>.</summary>
    private static void WriteSuccess(Utf8JsonWriter writer, RestRequest request, JsonNode? data)
    {
        writer.WriteStartObject();
        writer.WriteNumber("code", MilvusCode.Success);
        writer.WritePropertyName("data");
        if (request.WriteData is { } write)
        {
            write(writer);
        }
        else
        {
            (data ?? new JsonObject()).WriteTo(writer);
        }
        foreach (var (key, value) in request.Extra)
        {
            writer.WritePropertyName(key);
            if (value is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                value.WriteTo(writer);
            }
        }
        writer.WriteEndObject();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "unexpected error in REST {Path} (request {RequestId})")]
    private static partial void LogUnexpected(ILogger logger, string path, string requestId, Exception exception);

    // ---- collections ----

    private static async Task<JsonNode?> CreateCollectionAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var db = r.DatabaseOrDefault;
        var schemaJson = r.OptionalObject("schema");
        var quick = schemaJson?["fields"] is not JsonArray { Count: > 0 };
        string? quickVector = null;
        var schema = quick
            ? RestSchema.QuickSchema(r, collection, out quickVector)
            : RestSchema.FullSchema(schemaJson!, collection);
        var parameters = r.OptionalObject("params");
        var create = new CreateCollectionRequest
        {
            DbName = db,
            CollectionName = collection,
            Schema = schema.ToByteString(),
            ShardsNum = parameters?["shardsNum"] is { } shards ? (int)RestRequest.LongOf(shards, "$.params.shardsNum") : 1,
            ConsistencyLevel = parameters?["consistencyLevel"] is { } level
                ? RestSchema.ParseConsistency(RestRequest.ParamText(level), "$.params.consistencyLevel")
                : WireConsistency.Bounded,
        };
        if (schema.Fields.Any(f => f.IsPartitionKey))
        {
            create.NumPartitions = parameters?["partitionsNum"] is { } partitions ? RestRequest.LongOf(partitions, "$.params.partitionsNum") : 64;
        }
        if (parameters?["ttlSeconds"] is { } ttl)
        {
            create.Properties.Add(new KeyValuePair { Key = "collection.ttl.seconds", Value = RestRequest.ParamText(ttl) });
        }
        if (parameters?["partitionKeyIsolation"] is { } isolation)
        {
            create.Properties.Add(new KeyValuePair { Key = "partitionkey.isolation", Value = RestRequest.ParamText(isolation) });
        }

        // Milvus v2.6.0's REST server reads only the params above; ttl_field (entity-level TTL, newer) would be dropped
        // silently there. Passed on as a property, it is refused as gRPC refuses it (1100, naming the alternative).
        if (parameters?["ttl_field"] is { } ttlField)
        {
            create.Properties.Add(new KeyValuePair { Key = "ttl_field", Value = RestRequest.ParamText(ttlField) });
        }

        // Validate the index parameters before anything is created.
        var indexes = new List<CreateIndexRequest>();
        if (quick)
        {
            var index = new CreateIndexRequest { DbName = db, CollectionName = collection, FieldName = quickVector!, IndexName = quickVector! };
            var metric = r.OptionalString("metricType");
            index.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = string.IsNullOrEmpty(metric) ? RestSchema.DefaultMetricType : metric });
            indexes.Add(index);
        }
        else if (r.Body["indexParams"] is JsonArray indexParams)
        {
            for (var i = 0; i < indexParams.Count; i++)
            {
                var path = $"$.indexParams[{i}]";
                var entry = RestRequest.ObjectOf(indexParams[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
                var index = RestSchema.IndexRequest(entry, path, db, collection);
                if (schema.Fields.All(f => f.Name != index.FieldName))
                {
                    throw new MilvusException(MilvusCode.MissingRequiredParameters,
                        $"missing required parameters, error: {path}.fieldName '{index.FieldName}' is not a field of the schema");
                }
                indexes.Add(index);
            }
        }

        // One call (CreateCollection) whose steps build the indexes and load, as Milvus's REST server does.
        await r.CallAsync("CreateCollection", create, async (q, context) =>
        {
            await r.StepAsync("CreateCollection", q, r.Service.CreateCollection).ConfigureAwait(false);
            if (indexes.Count == 0)
            {
                return MilvusStatus.Ok();
            }
            foreach (var index in indexes)
            {
                await r.StepAsync("CreateIndex", index, r.Service.CreateIndex).ConfigureAwait(false);
            }
            return await r.StepAsync("LoadCollection", new LoadCollectionRequest { DbName = db, CollectionName = collection }, r.Service.LoadCollection)
                .ConfigureAwait(false);
        }).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DescribeCollectionAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var db = r.DatabaseOrDefault;
        // One call (DescribeCollection); load state, indexes and aliases are its steps, as Milvus's REST server does.
        var answer = await r.CallAsync("DescribeCollection", new DescribeCollectionRequest { DbName = db, CollectionName = collection },
            async (q, context) => new Answered<JsonObject>(await DescribeStepsAsync(r, q).ConfigureAwait(false))).ConfigureAwait(false);
        return answer.Value;
    }

    private static async Task<JsonObject> DescribeStepsAsync(RestRequest r, DescribeCollectionRequest request)
    {
        var db = request.DbName;
        var collection = request.CollectionName;
        var described = await r.StepAsync("DescribeCollection", request, r.Service.DescribeCollection).ConfigureAwait(false);
        var schema = described.Schema ?? new WireSchema();
        var problems = new List<string>();

        var loadState = await r.TryStepAsync("GetLoadState", new GetLoadStateRequest { DbName = db, CollectionName = collection },
            r.Service.GetLoadState).ConfigureAwait(false);
        var load = Succeeded(loadState.Status, problems) ? RestSchema.EnumName(loadState.State) : "";

        var vectorField = schema.Fields.FirstOrDefault(f => RestSchema.IsVector(f.DataType))?.Name ?? "";
        var indexes = new JsonArray();
        var described2 = await r.TryStepAsync("DescribeIndex", new DescribeIndexRequest { DbName = db, CollectionName = collection, FieldName = vectorField },
            r.Service.DescribeIndex).ConfigureAwait(false);
        if (Succeeded(described2.Status, problems))
        {
            foreach (var index in described2.IndexDescriptions)
            {
                indexes.Add(new JsonObject
                {
                    ["indexName"] = index.IndexName,
                    ["fieldName"] = index.FieldName,
                    ["metricType"] = index.Params.FirstOrDefault(p => p.Key == "metric_type")?.Value ?? RestSchema.DefaultMetricType,
                });
            }
        }

        var aliases = new JsonArray();
        var listed = await r.TryStepAsync("ListAliases", new ListAliasesRequest { DbName = db, CollectionName = collection },
            r.Service.ListAliases).ConfigureAwait(false);
        if (Succeeded(listed.Status, problems))
        {
            foreach (var alias in listed.Aliases)
            {
                aliases.Add(alias);
            }
        }
        if (problems.Count > 0)
        {
            r.Extra["message"] = string.Join("; ", problems);
        }
        return DescribeJson(described, load, indexes, aliases);
    }

    /// <summary>The REST <c>describe</c> data of a collection.</summary>
    internal static JsonObject DescribeJson(DescribeCollectionResponse described, string load, JsonArray indexes, JsonArray aliases)
    {
        var schema = described.Schema ?? new WireSchema();
        return new JsonObject
        {
            ["collectionName"] = described.CollectionName.Length > 0 ? described.CollectionName : schema.Name,
            ["collectionID"] = described.CollectionID,
            ["description"] = schema.Description,
            ["autoId"] = schema.Fields.FirstOrDefault(f => f.IsPrimaryKey)?.AutoID ?? false,
            ["fields"] = new JsonArray(schema.Fields.Where(f => !f.IsDynamic && f.Name != Quiver.CollectionSchema.DynamicFieldName)
                .Select(f => (JsonNode?)RestSchema.FieldJson(f)).ToArray()),
            ["functions"] = new JsonArray(schema.Functions.Select(f => (JsonNode?)new JsonObject
            {
                ["name"] = f.Name,
                ["description"] = f.Description,
                ["type"] = RestSchema.EnumName(f.Type),
                ["id"] = f.Id,
                ["inputFieldNames"] = new JsonArray(f.InputFieldNames.Select(n => (JsonNode?)n).ToArray()),
                ["outputFieldNames"] = new JsonArray(f.OutputFieldNames.Select(n => (JsonNode?)n).ToArray()),
                ["params"] = RestSchema.Pairs(f.Params),
            }).ToArray()),
            ["aliases"] = aliases,
            ["indexes"] = indexes,
            ["load"] = load,
            ["shardsNum"] = described.ShardsNum,
            ["partitionsNum"] = described.NumPartitions,
            ["consistencyLevel"] = RestSchema.EnumName(described.ConsistencyLevel),
            ["enableDynamicField"] = schema.EnableDynamicField,
            ["properties"] = RestSchema.Pairs(described.Properties),
        };
    }

    private static bool Succeeded(Status? status, List<string> problems)
    {
        if (status is null || status.Code == MilvusCode.Success)
        {
            return true;
        }
        problems.Add(status.Reason);
        return false;
    }

    private static async Task<JsonNode?> ListCollectionsAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ShowCollections", new ShowCollectionsRequest { DbName = r.DatabaseOrDefault },
            r.Service.ShowCollections).ConfigureAwait(false);
        return Strings(listed.CollectionNames);
    }

    private static async Task<JsonNode?> HasCollectionAsync(RestRequest r)
    {
        var has = await r.CallAsync("HasCollection",
            new HasCollectionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.HasCollection).ConfigureAwait(false);
        return new JsonObject { ["has"] = has.Value };
    }

    private static async Task<JsonNode?> DropCollectionAsync(RestRequest r)
    {
        await r.CallAsync("DropCollection",
            new DropCollectionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.DropCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> RenameCollectionAsync(RestRequest r)
    {
        var request = new RenameCollectionRequest
        {
            DbName = r.DatabaseOrDefault,
            OldName = r.RequiredString("collectionName"),
            NewName = r.RequiredString("newCollectionName"),
        };
        var newDb = r.OptionalString("newDbName");
        request.NewDBName = string.IsNullOrEmpty(newDb) ? request.DbName : newDb;
        await r.CallAsync("RenameCollection", request, r.Service.RenameCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> CollectionStatsAsync(RestRequest r)
    {
        var stats = await r.CallAsync("GetCollectionStatistics",
            new GetCollectionStatisticsRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.GetCollectionStatistics).ConfigureAwait(false);
        return RowCount(stats.Stats);
    }

    /// <summary><c>{"rowCount": n}</c> from statistics pairs.</summary>
    private static JsonObject RowCount(IEnumerable<KeyValuePair> stats) => new()
    {
        ["rowCount"] = long.TryParse(stats.FirstOrDefault(s => s.Key == "row_count")?.Value,
            System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var rows) ? rows : 0,
    };

    private static async Task<JsonNode?> LoadStateAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var partitions = r.OptionalStrings("partitionNames") ?? [];
        // One call (GetLoadState); the progress is its step.
        var answer = await r.CallAsync("GetLoadState",
            new GetLoadStateRequest { DbName = r.DatabaseOrDefault, CollectionName = collection, PartitionNames = { partitions } },
            async (q, context) =>
            {
                var state = await r.StepAsync("GetLoadState", q, r.Service.GetLoadState).ConfigureAwait(false);
                return new Answered<JsonObject>(state.State switch
                {
                    LoadState.NotExist => throw new MilvusException(MilvusCode.CollectionNotFound, $"collection not found[collection={collection}]"),
                    LoadState.NotLoad => new JsonObject { ["loadState"] = RestSchema.EnumName(state.State) },
                    _ => await LoadProgressAsync(r, q).ConfigureAwait(false),
                });
            }).ConfigureAwait(false);
        return answer.Value;
    }

    private static async Task<JsonObject> LoadProgressAsync(RestRequest r, GetLoadStateRequest request)
    {
        var progress = await r.TryStepAsync("GetLoadingProgress",
            new GetLoadingProgressRequest { DbName = request.DbName, CollectionName = request.CollectionName, PartitionNames = { request.PartitionNames } },
            r.Service.GetLoadingProgress).ConfigureAwait(false);
        var problems = new List<string>();
        var percent = Succeeded(progress.Status, problems) ? progress.Progress : -1;
        if (problems.Count > 0)
        {
            r.Extra["message"] = string.Join("; ", problems);
        }
        return new JsonObject
        {
            ["loadState"] = RestSchema.EnumName(percent >= 100 ? LoadState.Loaded : LoadState.Loading),
            ["loadProgress"] = percent,
        };
    }

    private static async Task<JsonNode?> LoadCollectionAsync(RestRequest r)
    {
        await r.CallAsync("LoadCollection",
            new LoadCollectionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.LoadCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ReleaseCollectionAsync(RestRequest r)
    {
        await r.CallAsync("ReleaseCollection",
            new ReleaseCollectionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.ReleaseCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> FlushAsync(RestRequest r)
    {
        await r.CallAsync("Flush",
            new FlushRequest { DbName = r.DatabaseOrDefault, CollectionNames = { r.RequiredString("collectionName") } },
            r.Service.Flush).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> AlterCollectionPropertiesAsync(RestRequest r)
    {
        var properties = r.OptionalObject("properties") ?? throw RestRequest.Missing("properties", "object");
        await r.CallAsync("AlterCollection",
            new AlterCollectionRequest
            {
                DbName = r.DatabaseOrDefault,
                CollectionName = r.RequiredString("collectionName"),
                Properties = { RestSchema.ToPairs(properties) },
            },
            r.Service.AlterCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropCollectionPropertiesAsync(RestRequest r)
    {
        var keys = r.OptionalStrings("propertyKeys") ?? throw RestRequest.Missing("propertyKeys", "list of strings");
        await r.CallAsync("AlterCollection",
            new AlterCollectionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), DeleteKeys = { keys } },
            r.Service.AlterCollection).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> AlterIndexPropertiesAsync(RestRequest r)
    {
        var properties = r.OptionalObject("properties") ?? throw RestRequest.Missing("properties", "object");
        await r.CallAsync("AlterIndex",
            new AlterIndexRequest
            {
                DbName = r.DatabaseOrDefault,
                CollectionName = r.RequiredString("collectionName"),
                IndexName = r.RequiredString("indexName"),
                ExtraParams = { RestSchema.ToPairs(properties) },
            },
            r.Service.AlterIndex).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropIndexPropertiesAsync(RestRequest r)
    {
        var keys = r.OptionalStrings("propertyKeys") ?? throw RestRequest.Missing("propertyKeys", "list of strings");
        await r.CallAsync("AlterIndex",
            new AlterIndexRequest
            {
                DbName = r.DatabaseOrDefault,
                CollectionName = r.RequiredString("collectionName"),
                IndexName = r.RequiredString("indexName"),
                DeleteKeys = { keys },
            },
            r.Service.AlterIndex).ConfigureAwait(false);
        return null;
    }

    /// <summary>A JSON array of strings.</summary>
    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}
