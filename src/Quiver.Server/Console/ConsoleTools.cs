using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;

namespace Quiver.Server.Console;

/// <summary>
/// <c>POST /console/api/advise</c> and <c>POST /console/api/tune</c>: runs the toolbox's <c>advise</c> or <c>tune</c>
/// (<see cref="IConsoleToolbox"/>) on one collection and answers its JSON result. The body is
/// <c>{"collection": C, "field": F?, "targetRecall": 0.95?, "k": 10?, "sample": N?, "save": false?, "runId": R?}</c>. The
/// collection must be loaded (code 101 otherwise, as a query would answer). The tool runs as a client of this server with
/// the caller's credential, so it can do only what the caller may (a reader can tune but not <c>save</c>); over TLS it
/// trusts exactly this server's own certificate and presents <see cref="ConsoleOptions.ClientCertificatePath"/> (a server
/// that requires client certificates and has none for its tools refuses both with code 10). With a <c>runId</c> the caller can follow the run's stages meanwhile
/// (<see cref="Progress"/>). One tool runs at a time (a second request waits for the first): each builds indexes or runs
/// hundreds of searches, and two at once would measure each other.
/// </summary>
internal static class ConsoleTools
{
    /// <summary>The largest body accepted, in bytes.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>Largest sample the console may ask for (rows for advise, queries for tune).</summary>
    public const int MaxSample = 100_000;

    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>Runs advise for the request's body.</summary>
    public static Task<JsonObject> AdviseAsync(HttpContext http, CallInfo call) => RunAsync(http, call, advise: true);

    /// <summary>Runs tune for the request's body.</summary>
    public static Task<JsonObject> TuneAsync(HttpContext http, CallInfo call) => RunAsync(http, call, advise: false);

    private static async Task<JsonObject> RunAsync(HttpContext http, CallInfo call, bool advise)
    {
        var name = advise ? "advise" : "tune";
        var body = await ReadBodyAsync(http, name).ConfigureAwait(false);
        var collection = body["collection"] is JsonValue c && c.TryGetValue<string>(out var text) && text.Length > 0
            ? text
            : throw new MilvusException(MilvusCode.ParameterMissing, $"console {name}: the body has no collection");
        var request = new ConsoleToolCall(
            ServerUri(http),
            call.Credential,
            call.TargetDatabase,
            collection,
            body["field"] is JsonValue f && f.TryGetValue<string>(out var field) && field.Length > 0 ? field : null,
            Number(body, "targetRecall", name, 0.95, v => v > 0 && v <= 1, "in (0, 1]"),
            (int)Number(body, "k", name, 10, v => v >= 1 && v <= 1000 && v == Math.Floor(v), "an integer in 1..1000"),
            (int)Number(body, "sample", name, advise ? 20_000 : 200, v => v >= 2 && v <= MaxSample && v == Math.Floor(v), $"an integer in 2..{MaxSample}"),
            body["save"] is JsonValue s && s.TryGetValue<bool>(out var save) && save);
        var runId = body["runId"] is null ? null
            : body["runId"] is JsonValue r && r.TryGetValue<string>(out var id) && ConsoleToolRuns.IsValidId(id) ? id
            : throw new MilvusException(MilvusCode.ParameterInvalid,
                $"console {name}: runId must be 1 to {ConsoleToolRuns.MaxRunIdLength} letters, digits, '-' or '_', got {body["runId"]!.ToJsonString()}");
        // What this server cannot run at all is said before what the caller could change (load the collection).
        var clientCertificate = ClientCertificate(http, name);
        RequireLoaded(http, call, collection, name);
        var toolbox = http.RequestServices.GetRequiredService<ServerOptions>().Console.Toolbox
            ?? throw new MilvusException(MilvusCode.Unimplemented,
                $"console {name}: this server runs without the toolbox's tools (start it with quiver serve, which provides them)");
        var progress = new ConsoleToolProgress();
        var runs = http.RequestServices.GetRequiredService<ConsoleToolRuns>();
        if (runId is not null)
        {
            runs.Add(runId, call.User, progress);
        }
        try
        {
            await OneAtATime.WaitAsync(http.RequestAborted).ConfigureAwait(false);
            try
            {
                progress.Started();
                request = request with { Progress = progress, ServerCertificate = ServerCertificate(http), ClientCertificate = clientCertificate };
                var result = advise
                    ? await toolbox.AdviseAsync(request, http.RequestAborted).ConfigureAwait(false)
                    : await toolbox.TuneAsync(request, http.RequestAborted).ConfigureAwait(false);
                return new JsonObject { ["result"] = result };
            }
            finally
            {
                OneAtATime.Release();
            }
        }
        finally
        {
            if (runId is not null)
            {
                runs.Remove(runId, progress);
            }
        }
    }

    /// <summary><c>GET /console/api/progress?run=ID</c>: where the caller's advise or tune run <c>ID</c> stands
    /// (<see cref="ConsoleToolProgress.ToJson"/>); <c>state: "unknown"</c> before it arrived, after it ended, or when another
    /// user started it.</summary>
    public static JsonObject Progress(HttpContext http, CallInfo call)
    {
        var run = http.Request.Query["run"].ToString();
        if (run.Length == 0)
        {
            throw new MilvusException(MilvusCode.ParameterMissing, "console progress: the query parameter run is missing");
        }
        return http.RequestServices.GetRequiredService<ConsoleToolRuns>().Find(run, call.User)?.ToJson(run)
            ?? new JsonObject { ["run"] = run, ["state"] = "unknown" };
    }

    /// <summary>Both tools read the collection with queries and searches, which Milvus answers only on a loaded collection:
    /// refuse up front with the API's own code (101) and say why, rather than after the tool has started.</summary>
    private static void RequireLoaded(HttpContext http, CallInfo call, string collection, string name)
    {
        try
        {
            http.RequestServices.GetRequiredService<LoadStates>().EnsureLoaded(call.TargetDatabase, collection);
        }
        catch (MilvusException e) when (e.Code == MilvusCode.CollectionNotLoaded)
        {
            throw new MilvusException(MilvusCode.CollectionNotLoaded,
                $"console {name}: {e.Message}: {name} reads the collection's rows with queries and searches, which need it loaded (load it first)");
        }
    }

    /// <summary>The client certificate the tool presents when it connects back (<see cref="ConsoleClientCertificate"/>);
    /// on a server that requires one and has none for its tools, the request is refused here, naming the settings,
    /// rather than by the TLS handshake of the tool's first call, which would reach the page as a dropped connection.</summary>
    private static X509Certificate2? ClientCertificate(HttpContext http, string name)
    {
        var certificate = http.RequestServices.GetRequiredService<ConsoleClientCertificate>().Certificate;
        if (certificate is null && http.RequestServices.GetRequiredService<ServerOptions>().Security.RequireClientCertificate)
        {
            throw new MilvusException(MilvusCode.Unimplemented,
                $"console {name}: this server requires client certificates (Security:RequireClientCertificate) and has none for {name} to present " +
                "when it connects back to the server; set Console:ClientCertificatePath and Console:ClientKeyPath to a client certificate from " +
                "the CA of Security:ClientCaPath");
        }
        return certificate;
    }

    /// <summary>The certificate this connection's TLS presented, or null without TLS.</summary>
    private static X509Certificate2? ServerCertificate(HttpContext http) =>
        http.Features.Get<ISslStreamFeature>()?.SslStream.LocalCertificate is { } local ? local as X509Certificate2 ?? new X509Certificate2(local) : null;

    private static async Task<JsonObject> ReadBodyAsync(HttpContext http, string name)
    {
        if (http.Request.ContentLength is > MaxBodyBytes)
        {
            throw new MilvusException(MilvusCode.ParameterTooLarge, $"console {name}: the body is over {MaxBodyBytes} bytes");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await ReadChunkAsync(http, chunk, name).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw new MilvusException(MilvusCode.ParameterTooLarge, $"console {name}: the body is over {MaxBodyBytes} bytes");
            }
        }
        try
        {
            return JsonNode.Parse(buffer.ToArray()) as JsonObject
                ?? throw new MilvusException(MilvusCode.ParameterInvalid, $"console {name}: the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"console {name}: the body is not JSON: {e.Message}");
        }
    }

    /// <summary>The next bytes of the body. A body Kestrel cannot read (a chunk size that is not hexadecimal, fewer bytes
    /// than its <c>Content-Length</c>) is the client's mistake, refused as REST v2 refuses it, not an internal error.</summary>
    private static async Task<int> ReadChunkAsync(HttpContext http, byte[] chunk, string name)
    {
        try
        {
            return await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"console {name}: the body could not be read: {e.Message}");
        }
    }

    private static double Number(JsonObject body, string key, string name, double fallback, Func<double, bool> valid, string expected)
    {
        if (body[key] is null)
        {
            return fallback;
        }
        if (body[key] is JsonValue v && v.TryGetValue<double>(out var d) && valid(d))
        {
            return d;
        }
        throw new MilvusException(MilvusCode.ParameterInvalid,
            string.Create(CultureInfo.InvariantCulture, $"console {name}: {key} must be {expected}, got {body[key]!.ToJsonString()}"));
    }

    /// <summary>This server as the request reached it: the local address and port of the connection.</summary>
    private static string ServerUri(HttpContext http)
    {
        var address = http.Connection.LocalIpAddress ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return string.Create(CultureInfo.InvariantCulture, $"{http.Request.Scheme}://{host}:{http.Connection.LocalPort}");
    }
}
