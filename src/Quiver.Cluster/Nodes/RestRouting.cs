using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MilvusCode = Quiver.Server.Milvus.MilvusCode;

namespace Quiver.Cluster.Nodes;

/// <summary>The access layer's REST v2 half: every node answers Milvus's RESTful API (<c>POST /v2/vectordb/...</c>)
/// on the same port as gRPC by sending each call, body unparsed, to the shard grain of the collection its body names
/// (<c>collectionName</c>, <c>dbName</c>), whose server runs the standalone endpoint, so every answer (codes, messages,
/// HTTP statuses) is the standalone server's. <c>collections/list</c> is answered from the cluster's catalog, users and
/// roles from the cluster's security state (RestRouting.Security.cs), aliases and databases by the standalone endpoints
/// and import jobs with their RPCs routed as over gRPC (RestRouting.Forward.cs); rename is refused with Milvus code 10,
/// as over gRPC.</summary>
internal sealed partial class RestRouting(IGrainFactory grains, NodeContext node, ILogger<RestRouting> log)
{
    /// <summary>The path prefix of every REST v2 endpoint.</summary>
    public const string Prefix = "/v2/vectordb";

    /// <summary>The largest body a node reads: <c>security.maxMessageBytes</c>, as its gRPC port's message limit and the
    /// standalone server's body limit.</summary>
    private int MaxBodyBytes => node.Config.EffectiveSecurity().MaxMessageBytes;

    /// <summary>Paths that name no collection a shard could serve: refused here rather than run on one shard's engine,
    /// where they would mean something else (a user known to one shard only, a rename the catalog does not follow).</summary>
    private static readonly string[] NotServedPrefixes =
    [
        "/users/", "/roles/",
    ];

    private readonly ILogger _log = log;

    /// <summary>The paths the standalone server serves; any other it answers with HTTP 404 and no body.</summary>
    private static readonly HashSet<string> StandalonePaths = new(Quiver.Server.Rest.MilvusRestV2.Paths, StringComparer.Ordinal);

    /// <summary>Calls that change nothing, so a try that may have reached a node that then died is safe to repeat.</summary>
    private static readonly HashSet<string> ReadOnly = new(StringComparer.Ordinal)
    {
        "/collections/describe", "/collections/has", "/collections/get_stats", "/collections/get_load_state",
        "/collections/load", "/collections/flush", "/entities/query", "/entities/get", "/entities/search",
        "/entities/hybrid_search", "/partitions/list", "/partitions/has", "/partitions/get_stats", "/indexes/describe",
        "/indexes/list",
    };

    /// <summary>Whether the REST call <paramref name="path"/> changes nothing, so a try that may have reached a node that
    /// then died is safe to repeat.</summary>
    internal static bool IsReadOnly(string path) => ReadOnly.Contains(path);

    /// <summary>Maps the REST v2 prefix of <paramref name="app"/> onto this router.</summary>
    public static void Map(WebApplication app) =>
        app.MapPost(Prefix + "/{**path}", http =>
        {
            var router = http.RequestServices.GetRequiredService<RestRouting>();
            return GuardedAsync(http, router.AuditedRunAsync, router._log);
        });

    /// <summary>Runs <paramref name="run"/>; an exception it did not expect (a bug) is logged and answered as the
    /// standalone server answers one: HTTP 200, Milvus code 65535, "internal error; see the server log" (docs/errors.md,
    /// <c>internal</c>), never an empty HTTP 500. An answer already begun cannot be replaced: the connection is then
    /// aborted.</summary>
    internal static async Task GuardedAsync(HttpContext http, Func<HttpContext, Task> run, ILogger log)
    {
        try
        {
            await run(http).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The caller went away: no one reads an answer.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !http.Response.HasStarted)
        {
            LogUnexpected(log, http.Request.Path.Value ?? "", ex);
            http.Response.Clear();
            await AnswerAsync(http, StatusCodes.Status200OK, Error(MilvusCode.Unexpected, "internal error; see the server log")).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "REST call {Path} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, string path, Exception exception);

    internal async Task RunAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var path = http.Request.Path.Value![Prefix.Length..];
        if (await SecureRestAsync(http, path, ct).ConfigureAwait(false))
        {
            return;
        }

        if (http.Request.ContentLength > MaxBodyBytes)
        {
            // The standalone server's refusal (HTTP 413, code 1102, its message naming the limit).
            await AnswerAsync(http, StatusCodes.Status413PayloadTooLarge, Error(MilvusCode.ParameterTooLarge, Quiver.Server.Rest.RestBody.TooLarge(http.Request.ContentLength.Value, MaxBodyBytes, declared: true).Message)).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(http, ct).ConfigureAwait(false);
        if (body is null)
        {
            await AnswerAsync(http, StatusCodes.Status413PayloadTooLarge, Error(MilvusCode.ParameterTooLarge, Quiver.Server.Rest.RestBody.TooLarge(0, MaxBodyBytes, declared: false).Message)).ConfigureAwait(false);
            return;
        }

        if (!StandalonePaths.Contains(path) || !WellFormed(path, body))
        {
            // A path the standalone server does not serve, or a body every endpoint of it refuses before reading a
            // parameter (empty, not JSON, not UTF-8, a key twice, ...): the catalog shard's server answers exactly as the
            // standalone one does, and no code of the node reads a body it would refuse.
            await SendAsync(http, await ShardCalls.InvokeAsync(grains, ShardKeys.Of("default", ShardKeys.CatalogShard), $"POST {Prefix}{path}", readOnly: true,
                g => g.RestAsync(path, body, false), ct).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (Forwards(path))
        {
            // Aliases and databases: the standalone endpoint, its RPCs routed as over gRPC (RestRouting.Forward.cs).
            await ForwardAsync(http, path, body, ct).ConfigureAwait(false);
            return;
        }

        if (NotServedPrefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
        {
            await AnswerAsync(http, StatusCodes.Status200OK, NotServed(path)).ConfigureAwait(false);
            return;
        }

        var (database, collection) = Names(body);
        if (http.Request.Headers["DB-Name"].ToString() is { Length: > 0 } header && !HasDbName(body))
        {
            // As the standalone server: the body's dbName, else the DB-Name header. The shards' servers see the body only.
            database = header;
            body = WithDbName(body, header);
        }

        http.Items[AuditTargetKey] = (database, collection ?? "");
        if (await AuthorizeRestAsync(http, path, body, database, collection, ct).ConfigureAwait(false))
        {
            return;
        }

        var routing = http.RequestServices.GetRequiredService<MilvusRouting>();
        if (path == "/collections/list" && ShardKeys.IsValidName(database))
        {
            var names = await node.Catalog.ListAsync(database, ct).ConfigureAwait(false);
            await AnswerAsync(http, StatusCodes.Status200OK, new JsonObject { ["code"] = 0, ["data"] = new JsonArray([.. names.Select(n => (JsonNode)n)]) }.ToJsonString()).ConfigureAwait(false);
            return;
        }

        // As over gRPC (MilvusRouting.RouteAsync): a read routes by the entry this node remembers, which names the dropped
        // collection's storage until the watch delivers a drop and create through another node; such a read answered
        // "does not exist" is checked against the catalog's current entry once, and routed again by it when it changed.
        // The entry may be the collection's or its alias's collection's, and the answer that the shards were dropped.
        var used = new MilvusRouting.RememberedEntry();
        var reply = await RouteAsync(http, path, body, database, collection, routing, fresh: false, ct, used).ConfigureAwait(false);
        if (used.Revision > 0 && SaysMissing(path, reply)
            && await node.Catalog.CurrentRevisionAsync(database, used.Collection, ct).ConfigureAwait(false) != used.Revision)
        {
            StaleEntryRetries++;
            reply = await RouteAsync(http, path, body, database, collection, routing, fresh: true, ct).ConfigureAwait(false);
        }

        await SendAsync(http, reply).ConfigureAwait(false);
    }

    /// <summary>How many REST reads were routed again after the entry this node remembered for their collection answered
    /// that it does not exist and the catalog's current entry differed (tests).</summary>
    internal int StaleEntryRetries { get; private set; }

    /// <summary>True when <paramref name="reply"/> to <paramref name="path"/> says the collection does not exist: Milvus
    /// code 100, <c>collections/has</c>'s false, or the refusal of a dropped collection's shard (<see cref="ShardGrain.Dropped"/>).</summary>
    private static bool SaysMissing(string path, RestReply reply)
    {
        // Every REST read by a remembered entry asks this: a body without the digits of code 100 or the dropped shard's
        // words cannot say it, and a search's body is not parsed for nothing (vectorized scans instead).
        if (path != "/collections/has" && reply.Body.AsSpan().IndexOf("100"u8) < 0 && reply.Body.AsSpan().IndexOf("was dropped"u8) < 0)
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(reply.Body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("code", out var code) || !code.TryGetInt32(out var value))
            {
                return false;
            }

            return value == MilvusCode.CollectionNotFound
                || (value != 0 && root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String && ShardGrain.SaysDropped(message.GetString()))
                || (value == 0 && path == "/collections/has" && root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    && data.TryGetProperty("has", out var has) && has.ValueKind == JsonValueKind.False);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Routes a REST call naming <paramref name="collection"/> in <paramref name="database"/> and answers what
    /// is to be sent: reads by the catalog entry this node remembers unless <paramref name="fresh"/>, writes and
    /// collection changes always by the current one. Every key it builds is named from the entry's storage id until it
    /// returns (<see cref="ShardKeys.RouteById"/>).</summary>
    private async Task<RestReply> RouteAsync(HttpContext http, string path, byte[] body, string database, string? collection, MilvusRouting routing, bool fresh, CancellationToken ct, MilvusRouting.RememberedEntry? used = null)
    {
        var allowInt64 = bool.TryParse(http.Request.Headers[RestForward.AllowInt64Header].ToString(), out var allow) && allow;
        var client = MilvusRouting.RestClientOf(http);
        // A call naming no valid or known collection goes to the database's catalog shard, whose engine holds no
        // collection and so answers exactly as the standalone server does (missing parameter, bad name, not found).
        var creates = path == "/collections/create";
        // As over gRPC: reads route by the remembered count, writes and collection changes by the catalog's current one.
        fresh = fresh || !ReadOnly.Contains(path) || path is "/collections/load" or "/collections/flush";
        var valid = collection is not null && ShardKeys.IsValidName(database) && ShardKeys.IsValidName(collection);
        if (valid && !fresh)
        {
            used?.Take(node.Catalog, database, collection!);
        }

        // As over gRPC: a create of a name the catalog holds goes to that collection's shards, whose engines refuse it;
        // a new name gets its storage id once the checks below pass.
        var (shards, id) = !valid ? (0, "")
            : await node.Catalog.EntryAsync(database, collection!, ct, fresh).ConfigureAwait(false);
        var isNew = creates && shards == 0 && valid;
        shards = isNew ? ShardsAsked(body) : shards;
        if (shards == 0 && !creates && valid
            && await node.Catalog.AliasTargetAsync(database, collection!, ct).ConfigureAwait(false) is { } aliased)
        {
            // A body naming an alias goes to its collection's shard, whose engine knows the alias.
            collection = aliased;
            if (!fresh)
            {
                used?.Take(node.Catalog, database, collection);
            }

            (shards, id) = await node.Catalog.EntryAsync(database, collection, ct, fresh).ConfigureAwait(false);
        }

        if (shards > 0 && !isNew)
        {
            await routing.SettleRenameAsync(database, collection!, ct).ConfigureAwait(false);
            // As over gRPC: every key this call builds for the collection is named from its storage id.
            ShardKeys.RouteById(database, collection!, id);
        }

        var known = shards > 0;
        if ((creates || !known) && database != "default" && ShardKeys.IsValidName(database)
            && await MissingDatabaseAsync(database, ct).ConfigureAwait(false) is { } missing)
        {
            // As over gRPC: the databases are the default catalog shard's, so a missing one is refused in its words.
            return Reply(Error(missing.Code, missing.Reason));
        }

        if (creates && collection is not null && ShardKeys.IsValidName(database) && ShardKeys.IsValidName(collection)
            && await node.Catalog.AliasTargetAsync(database, collection, ct).ConfigureAwait(false) is { } aliasOf)
        {
            // The alias lives in its collection's shards, not in the shard a create goes to: the catalog refuses the
            // name in the engine's words, as over gRPC.
            var status = Quiver.Server.Milvus.MilvusStatus.FromException(new QuiverException(QuiverErrorCode.InvalidArgument,
                $"collection name '{collection}' is an alias of collection '{aliasOf}' in database '{database}'"));
            return Reply(Error(status.Code, status.Reason));
        }

        if (isNew && shards > CollectionCatalog.MaxShards)
        {
            return Reply(MilvusRouting.RestTooManyShards(shards));
        }

        if (isNew)
        {
            id = await routing.NewIdAsync(database, collection!, ct).ConfigureAwait(false);
            ShardKeys.RouteById(database, collection!, id);
        }

        if (shards > 1)
        {
            // Rows routed by key and answers merged as over gRPC; reads on replicas when loaded with several
            // (MilvusRouting.Rest.cs, MilvusRouting.RestReplicas.cs, docs/cluster.md).
            var (status, answer) = await routing.RestRoutedAsync(path, body, database, collection!, shards, creates, allowInt64, client,
                c => LevelAsync(body, database, collection!, ShardKeys.Of(database, collection!), c), ct).ConfigureAwait(false);
            if (isNew && !(status == StatusCodes.Status200OK && Succeeded(answer)))
            {
                await routing.ReleaseIdAsync(database, id, ct).ConfigureAwait(false);
            }

            return new RestReply(status, answer);
        }

        var key = ShardKeys.Of(ShardKeys.IsValidName(database) ? database : "default", known ? collection! : ShardKeys.CatalogShard);
        RestReply reply;
        try
        {
            // On a collection loaded with several replicas, reads go to them (RestRouting.Replicas.cs).
            reply = (known ? await ReplicaReadAsync(path, body, database, collection!, key, allowInt64, client, routing, ct).ConfigureAwait(false) : null)
                ?? await ShardCalls.InvokeAsync(grains, key, $"POST {Prefix}{path}", ReadOnly.Contains(path), g => g.RestAsync(path, body, allowInt64), ct).ConfigureAwait(false);
        }
        catch (ShardUnreachableException ex)
        {
            return Reply(Unreachable(ex.Message));
        }
        catch (QuiverException ex)
        {
            // An engine refusal the shard's grain threw rather than answered (a dropped collection's closing grain).
            return Reply(Refusal(ex));
        }

        if (known)
        {
            routing.RecordRestWrite(client, key, reply);
        }

        var succeeded = reply.HttpStatus == StatusCodes.Status200OK && Succeeded(reply.Body);
        if (creates && known && succeeded && await routing.RecordCreateAsync(database, collection!, 1, id, ct).ConfigureAwait(false) is { } lost)
        {
            // Another node's create of the name was recorded first: this one's shard dropped it again.
            reply = new RestReply(StatusCodes.Status200OK, System.Text.Encoding.UTF8.GetBytes(Refusal(lost)), 0);
            succeeded = false;
        }

        if (isNew && !succeeded)
        {
            await routing.ReleaseIdAsync(database, id, ct).ConfigureAwait(false);
        }

        if (!creates && known && succeeded)
        {
            if (path == "/collections/drop")
            {
                await ShardStorage.ForgetAsync(grains, database, collection!, 1).ConfigureAwait(false);
                await node.Catalog.RemoveAsync(database, collection!, ct).ConfigureAwait(false);
                await grains.GetGrain<IReplicaSetGrain>(key).ReleaseAsync(1).WaitAsync(ct).ConfigureAwait(false);
                _replicaCounts.Forget(key);
            }
            else if (path == "/collections/release")
            {
                await grains.GetGrain<IReplicaSetGrain>(key).ReleaseAsync(1).WaitAsync(ct).ConfigureAwait(false);
                _replicaCounts.Forget(key);
            }
            else if (path is "/collections/load" or "/partitions/load")
            {
                // REST's load names no replica number (Milvus's REST v2 has none): the collection keeps the replicas
                // it was loaded with over gRPC, placed again where one is not running.
                await ReplicaLoads.PlaceAsync(grains, node, key, 0, 1, ct).ConfigureAwait(false);
            }
        }

        return reply;
    }

    /// <summary>An answer of HTTP 200 with the JSON body <paramref name="json"/>.</summary>
    private static RestReply Reply(string json) => new(StatusCodes.Status200OK, System.Text.Encoding.UTF8.GetBytes(json));

    private static async Task SendAsync(HttpContext http, RestReply reply)
    {
        http.Response.StatusCode = reply.HttpStatus;
        if (reply.Body.Length > 0)
        {
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(reply.Body, http.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the standalone server's endpoints read <paramref name="body"/> at all (Quiver.Server's
    /// <c>RestBody.Parse</c>, which every endpoint runs first; an insert's or upsert's faster scan, tried first as the
    /// standalone server does, accepts no body that parser refuses).</summary>
    internal static bool WellFormed(string path, byte[] body)
    {
        if (path is "/entities/insert" or "/entities/upsert" && Quiver.Server.Rest.RestRowsBody.TryScan(body) is not null)
        {
            return true;
        }

        try
        {
            // Only the verdict is kept: the document goes back to its pool here, not to the garbage collector.
            Quiver.Server.Rest.RestBody.ParseDocument(body).Dispose();
            return true;
        }
        catch (Quiver.Server.Milvus.MilvusException)
        {
            return false;
        }
    }

    /// <summary>Whether the body names a database (a non-empty <c>dbName</c> string, as the standalone server reads it).</summary>
    private static bool HasDbName(byte[] body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("dbName", out var db) && db.ValueKind == JsonValueKind.String && db.GetString() is { Length: > 0 };
    }

    /// <summary>The body with <c>dbName</c> set to <paramref name="database"/> (the <c>DB-Name</c> header's).</summary>
    private static byte[] WithDbName(byte[] body, string database)
    {
        var json = (JsonObject)JsonNode.Parse(body)!;
        json["dbName"] = database;
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>The status refusing <paramref name="database"/> when the default catalog shard does not hold it, else null.</summary>
    private async Task<Protocol.Common.Status?> MissingDatabaseAsync(string database, CancellationToken ct)
    {
        var request = Google.Protobuf.MessageExtensions.ToByteArray(new Protocol.Milvus.DescribeDatabaseRequest { DbName = database });
        var reply = await ShardCalls.InvokeAsync(grains, ShardKeys.Of("default", ShardKeys.CatalogShard), "DescribeDatabase", readOnly: true,
            g => g.CallAsync("DescribeDatabase", request, "default"), ct).ConfigureAwait(false);
        var status = reply.StatusCode == 0 ? Protocol.Milvus.DescribeDatabaseResponse.Parser.ParseFrom(reply.Response).Status : null;
        return status is null || status.Code == 0 ? null : status;
    }

    /// <summary>The body, or null when it is longer than <see cref="MaxBodyBytes"/>.</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpContext http, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>The database (<c>dbName</c>, default <c>default</c>) and collection (<c>collectionName</c>) a body
    /// names; a body that is not a JSON object names none, and the catalog shard's server answers it.</summary>
    private static (string Database, string? Collection) Names(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return ("default", null);
            }

            var database = json.RootElement.TryGetProperty("dbName", out var db) && db.ValueKind == JsonValueKind.String && db.GetString() is { Length: > 0 } d ? d : "default";
            var collection = json.RootElement.TryGetProperty("collectionName", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            return (database, collection);
        }
        catch (JsonException)
        {
            return ("default", null);
        }
    }

    /// <summary>The <c>params.shardsNum</c> of a create body (1 when absent or not a number: the shard's server then
    /// answers it as the standalone server does).</summary>
    private static int ShardsAsked(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("params", out var p)
                && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("shardsNum", out var n) && n.ValueKind == JsonValueKind.Number
                && n.TryGetInt32(out var shards) ? Math.Max(1, shards) : 1;
        }
        catch (JsonException)
        {
            return 1;
        }
    }

    private static bool Succeeded(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("code", out var code)
                && code.ValueKind == JsonValueKind.Number && code.GetInt32() == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The body answering a path naming no collection that a node does not serve yet (docs/errors.md,
    /// <c>cluster-not-served</c>): Milvus code 10, HTTP 200.</summary>
    internal static string NotServed(string path) => Error(MilvusCode.Unimplemented, $"POST {Prefix}{path} is not served by a Quiver cluster node yet (docs/cluster.md)");

    /// <summary>The body answering a call on a collection with several shards, or a create asking for several
    /// (docs/errors.md, <c>cluster-sharded-not-served</c>): Milvus code 10, HTTP 200.</summary>
    internal static string ShardedNotServed(string path) => Error(MilvusCode.Unimplemented, $"POST {Prefix}{path} is not served on a collection with several shards by a Quiver cluster node yet (docs/cluster.md)");

    /// <summary>The body answering a call whose shard did not answer (docs/errors.md, <c>cluster-shard-unreachable</c>):
    /// Milvus code 2, HTTP 200.</summary>
    internal static string Unreachable(string reason) => Error(MilvusCode.ServiceUnavailable, reason);

    /// <summary>The REST body of the Milvus status the standalone server gives <paramref name="exception"/>.</summary>
    internal static string Refusal(QuiverException exception)
    {
        var status = Quiver.Server.Milvus.MilvusStatus.FromException(exception);
        return Error(status.Code, status.Reason);
    }

    private static string Error(int code, string message) => new JsonObject { ["code"] = code, ["message"] = message }.ToJsonString();

    private static Task AnswerAsync(HttpContext http, int status, string json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(json, http.RequestAborted);
    }
}
