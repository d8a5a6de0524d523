using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Server.Security;

namespace Quiver.Server.Console;

/// <summary>
/// The web console at <c>/console</c>: the embedded front end (<see cref="ConsoleAssets"/>; <c>GET /</c> redirects
/// there) and the endpoints the REST v2 API lacks: <c>GET /console/api/session</c> (who the credential is and which
/// actions it may take, so that the page offers only those), <c>GET /console/api/metrics</c> (the
/// <see cref="MetricsHistory"/> behind the health charts), <c>GET /console/api/indexes</c> (per-segment build progress
/// and memory, <see cref="ConsoleIndexes"/>), <c>POST /console/api/advise</c> / <c>/console/api/tune</c> (the
/// toolbox's tools, <see cref="ConsoleTools"/>) and <c>GET /console/api/progress</c> (where a running one stands). Everything else the page does is a REST v2 call, so the
/// server authorizes, limits, counts and audits it as any client's. These endpoints take the same
/// <c>Authorization: Bearer</c> credential and pass the same gate (RPC names <c>ConsoleSession</c>,
/// <c>ConsoleMetrics</c>, <c>DescribeIndex</c>, <c>ConsoleAdvise</c>, <c>ConsoleTune</c>, <c>ConsoleProgress</c>); a refused credential answers
/// 401 as REST does.
/// </summary>
internal static class ConsoleEndpoints
{
    /// <summary>The console's path.</summary>
    public const string Prefix = "/console";

    /// <summary>The actions the session endpoint reports on, by the RPC each performs.</summary>
    public static readonly IReadOnlyList<string> Actions =
    [
        "CreateCollection", "DropCollection", "LoadCollection", "ReleaseCollection", "CreateIndex", "DropIndex", "Insert",
        "Delete", "Import", "AlterCollection", "CreateCredential", "CreateRole", "OperateUserRole", "OperatePrivilege", "SelectUser",
    ];

    // The page loads only its own files; its script talks only to this server.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Maps the console's routes and starts its metrics history.</summary>
    public static void MapConsole(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var assets = ConsoleAssets.Load(typeof(ConsoleEndpoints).Assembly);
        app.MapGet("/", http =>
        {
            http.Response.Redirect(Prefix + "/");
            return Task.CompletedTask;
        });
        // Routing ignores a trailing slash: "/console" and "/console/" both land here, and only the first is sent on
        // (the page's relative asset links need the slash).
        app.MapGet(Prefix, http =>
        {
            if (http.Request.Path.Value?.EndsWith('/') == true)
            {
                return ServeAssetAsync(http, assets);
            }
            http.Response.Redirect(Prefix + "/");
            return Task.CompletedTask;
        });
        app.MapGet(Prefix + "/{**path}", http => ServeAssetAsync(http, assets));
        app.MapGet(Prefix + "/api/session", http => RunAsync(http, "ConsoleSession", Session));
        // The page repeats these three while something runs (the charts, an index build, a tool run): they are not
        // counted against the per-user rate (CallInfo.Polling).
        app.MapGet(Prefix + "/api/metrics", http => RunAsync(http, "ConsoleMetrics", Metrics, polling: true));
        // Index detail is what DescribeIndex shows and more: it passes the gate as DescribeIndex on the collection.
        app.MapGet(Prefix + "/api/indexes", http => RunAsync(http, "DescribeIndex", ConsoleIndexes.DescribeAsync, http.Request.Query["collection"].ToString(), polling: true));
        app.MapPost(Prefix + "/api/advise", http => RunAsync(http, "ConsoleAdvise", ConsoleTools.AdviseAsync));
        app.MapPost(Prefix + "/api/tune", http => RunAsync(http, "ConsoleTune", ConsoleTools.TuneAsync));
        app.MapGet(Prefix + "/api/progress", http => RunAsync(http, "ConsoleProgress", ConsoleTools.Progress, polling: true));
    }

    private static async Task ServeAssetAsync(HttpContext http, ConsoleAssets assets)
    {
        var path = (string?)http.Request.RouteValues["path"] ?? "";
        // Routes without a file extension are the page's own (it routes by fragment, but a reload of /console/x works).
        var asset = assets.Find(path.Length == 0 || !path.Contains('.', StringComparison.Ordinal) ? ConsoleAssets.IndexFile : path);
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (asset is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync(assets.Find(ConsoleAssets.IndexFile) is null
                ? "the console was not built into this server (see docs/console.md)"
                : "not found", http.RequestAborted).ConfigureAwait(false);
            return;
        }
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        http.Response.ContentType = asset.ContentType;
        http.Response.ContentLength = asset.Bytes.Length;
        await http.Response.Body.WriteAsync(asset.Bytes, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="work"/> as the call <paramref name="method"/> through the <see cref="CallPipeline"/>
    /// (gate, rate limit, metrics, request log) and answers REST's <c>{"code":0,"data":...}</c> or
    /// <c>{"code":..,"message":..}</c>.</summary>
    private static Task RunAsync(HttpContext http, string method, Func<HttpContext, CallInfo, JsonObject> work, bool polling = false) =>
        RunAsync(http, method, (h, c) => Task.FromResult(work(h, c)), polling: polling);

    /// <summary>As above for work that awaits; <paramref name="collection"/> names the call's collection for the gate;
    /// <paramref name="polling"/> marks a read the page repeats while something runs (<see cref="CallInfo.Polling"/>).</summary>
    private static async Task RunAsync(HttpContext http, string method, Func<HttpContext, CallInfo, Task<JsonObject>> work, string? collection = null,
        bool polling = false)
    {
        var requestId = CallInfo.NewRequestId();
        http.Response.Headers["X-Request-Id"] = requestId;
        http.Response.Headers.CacheControl = "no-store";
        var pipeline = http.RequestServices.GetRequiredService<CallPipeline>();
        var database = http.Request.Query["db"].ToString();
        var call = new CallInfo
        {
            Method = method,
            Transport = "rest",
            RequestId = requestId,
            Credential = RestRequest.BearerToken(http.Request),
            Peer = RestCallContext.PeerOf(http),
            Database = database.Length > 0 ? database : null,
            Polling = polling,
        };
        call.TargetDatabase = call.Database ?? "default";
        call.TargetCollection = string.IsNullOrEmpty(collection) ? null : collection;
        JsonObject? data = null;
        var status = await pipeline.RunAsync(call, call, new RestCallContext(http), async (c, _) =>
        {
            data = await work(http, c).ConfigureAwait(false);
            return MilvusStatus.Ok();
        }).ConfigureAwait(false);
        JsonObject reply;
        if (status.Code == MilvusCode.Success && data is not null)
        {
            reply = new JsonObject { ["code"] = 0, ["data"] = data };
        }
        else
        {
            http.Response.StatusCode = status.Code switch
            {
                MilvusCode.NotAuthenticated or MilvusCode.NeedAuthenticate => StatusCodes.Status401Unauthorized,
                MilvusCode.PrivilegeNotPermitted => StatusCodes.Status403Forbidden,
                _ => StatusCodes.Status200OK,
            };
            reply = new JsonObject { ["code"] = status.Code, ["message"] = status.Reason };
        }
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(reply.ToJsonString(), http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The caller and, for the database and collection of the query (<c>db</c>, <c>collection</c>), whether each
    /// of <see cref="Actions"/> would pass the gate. Only what the page shows: the gate still decides every call.</summary>
    private static JsonObject Session(HttpContext http, CallInfo call)
    {
        var options = http.RequestServices.GetRequiredService<ServerOptions>();
        var store = http.RequestServices.GetService<SecurityStore>();
        var collection = http.Request.Query["collection"].ToString();
        var can = new JsonObject();
        foreach (var action in Actions)
        {
            can[action] = options.Security.AuthEnabled && store is not null && call.User is { } user
                ? Permits(store, user, action, call.TargetDatabase, collection.Length > 0 ? collection : null)
                // With authentication off every call passes except user and role management, which the gate refuses.
                : !PrivilegeTable.ByMethod.TryGetValue(action, out var requirement) || requirement.ObjectType != "User" && !IsSecurityChange(action);
        }
        return new JsonObject
        {
            ["user"] = call.User,
            ["authEnabled"] = options.Security.AuthEnabled,
            ["database"] = call.TargetDatabase,
            ["can"] = can,
        };
    }

    private static bool IsSecurityChange(string action) =>
        action is "CreateCredential" or "CreateRole" or "OperateUserRole" or "OperatePrivilege" or "SelectUser";

    /// <summary>The gate's privilege rule for <paramref name="method"/> (see <see cref="SecurityGate"/>), for display.</summary>
    private static bool Permits(SecurityStore store, string user, string method, string database, string? collection)
    {
        if (!PrivilegeTable.ByMethod.TryGetValue(method, out var requirement))
        {
            return true;
        }
        var level = Privileges.LevelOf(requirement.Privilege);
        var scope = level == PrivilegeLevel.Cluster ? Privileges.Any : database;
        string[] names = requirement.ObjectNameField is null && requirement.ObjectNamesField is null ? [Privileges.Any] : [collection ?? Privileges.Any];
        if (store.IsPermitted(user, requirement.ObjectType, requirement.Privilege, scope, names))
        {
            return true;
        }
        return requirement.ObjectType == "Global" && collection is not null && level == PrivilegeLevel.Collection
            && store.IsPermitted(user, "Collection", requirement.Privilege, scope, [collection]);
    }

    /// <summary>The metrics history and the thresholds to draw.</summary>
    private static JsonObject Metrics(HttpContext http, CallInfo call)
    {
        var history = http.RequestServices.GetRequiredService<MetricsHistory>();
        var options = http.RequestServices.GetRequiredService<ServerOptions>().Console;
        var samples = new JsonArray();
        foreach (var s in history.Samples())
        {
            samples.Add(new JsonObject
            {
                ["t"] = s.UnixMs,
                ["calls"] = s.Calls,
                ["searches"] = s.Searches,
                ["qps"] = s.Qps,
                ["searchQps"] = s.SearchQps,
                ["errorRate"] = s.ErrorRate,
                ["p50"] = s.P50Ms,
                ["p95"] = s.P95Ms,
                ["p99"] = s.P99Ms,
                ["workingSet"] = s.WorkingSetBytes,
                ["gcHeap"] = s.GcHeapBytes,
                ["memoryLimit"] = s.MemoryLimitBytes,
                ["walFsyncs"] = s.WalFsyncs,
                ["rowsWritten"] = s.RowsWritten,
                ["rowsDeleted"] = s.RowsDeleted,
                ["compactionMerges"] = s.CompactionMerges,
                ["compactionRows"] = s.CompactionRows,
                ["recall"] = new JsonObject(s.Recall.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
            });
        }
        var thresholds = new JsonObject();
        foreach (var t in options.Thresholds)
        {
            thresholds[t.Check] = new JsonObject { ["warn"] = t.Warn, ["fail"] = t.Fail, ["badBelow"] = t.BadBelow };
        }
        return new JsonObject
        {
            ["intervalMs"] = options.SampleInterval.TotalMilliseconds,
            ["samples"] = samples,
            ["thresholds"] = thresholds,
        };
    }
}
