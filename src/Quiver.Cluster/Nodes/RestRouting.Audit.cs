using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>The audit log of a node's REST calls (<see cref="MilvusRouting"/>'s Audit part for gRPC): every completed
/// schema change is recorded with its outcome under the RPC its endpoint performs, as the standalone server records it.
/// Users and roles calls run the standalone endpoints, whose call pipeline records them itself.</summary>
internal sealed partial class RestRouting
{
    /// <summary>The key in <see cref="HttpContext.Items"/> of the call's database and collection, set once the call was
    /// authenticated and its body read (a call refused before then is not a completed change).</summary>
    private const string AuditTargetKey = "quiver.audit.target";

    /// <summary>The key in <see cref="HttpContext.Items"/> of the authenticated caller's name.</summary>
    private const string AuditUserKey = "quiver.audit.user";

    /// <summary>Runs <see cref="RunAsync"/>, its answer held back for a change so that its outcome can be recorded.</summary>
    private async Task AuditedRunAsync(HttpContext http)
    {
        var audit = http.RequestServices.GetRequiredService<AuditLog>();
        var path = http.Request.Path.Value![Prefix.Length..];
        if (!audit.Enabled || !RestRpcs.TryGetValue(path, out var rpc) || !AuditLog.ChangeMethods.Contains(rpc)
            || path.StartsWith("/users/", StringComparison.Ordinal) || path.StartsWith("/roles/", StringComparison.Ordinal))
        {
            await RunAsync(http).ConfigureAwait(false);
            return;
        }

        var response = http.Response.Body;
        using var answer = new MemoryStream();
        http.Response.Body = answer;
        try
        {
            await RunAsync(http).ConfigureAwait(false);
        }
        finally
        {
            http.Response.Body = response;
        }

        if (http.Items.TryGetValue(AuditTargetKey, out var seen) && seen is (string database, string collection))
        {
            audit.Record(new CallInfo
            {
                Method = rpc,
                Transport = "rest",
                Database = database,
                Peer = RestCallContext.PeerOf(http),
                User = http.Items.TryGetValue(AuditUserKey, out var user) ? user as string : null,
                TargetDatabase = database,
                TargetCollection = collection.Length > 0 ? collection : null,
            }, Outcome(answer.GetBuffer().AsSpan(0, (int)answer.Length)));
        }

        answer.Position = 0;
        await answer.CopyToAsync(response, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The audit outcome of a REST answer: <c>ok</c> for code 0, else the code and message.</summary>
    private static string Outcome(ReadOnlySpan<byte> answer)
    {
        try
        {
            var reader = new Utf8JsonReader(answer);
            using var json = JsonDocument.ParseValue(ref reader);
            var code = json.RootElement.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 0;
            return AuditLog.OutcomeOf(code, code != 0 && json.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null);
        }
        catch (JsonException)
        {
            return AuditLog.OutcomeOf(MilvusCode.Unexpected, "unreadable answer");
        }
    }
}
