using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>REST v2's half of a node's security (<see cref="MilvusRouting"/>'s Security part for gRPC): users and roles
/// are answered here by the standalone server's endpoints over the cluster's state; with authentication on, every other
/// call is authenticated before its body is read and authorized as the RPC its endpoint performs before it is routed.</summary>
internal sealed partial class RestRouting
{
    /// <summary>The RPC each REST endpoint performs, whose privilege it needs (the standalone endpoints' first call).</summary>
    private static readonly Dictionary<string, string> RestRpcs = new(StringComparer.Ordinal)
    {
        ["/collections/create"] = "CreateCollection", ["/collections/describe"] = "DescribeCollection",
        ["/collections/list"] = "ShowCollections", ["/collections/has"] = "HasCollection", ["/collections/drop"] = "DropCollection",
        ["/collections/rename"] = "RenameCollection", ["/collections/get_stats"] = "GetCollectionStatistics",
        ["/collections/get_load_state"] = "GetLoadState", ["/collections/load"] = "LoadCollection",
        ["/collections/release"] = "ReleaseCollection", ["/collections/flush"] = "Flush",
        ["/collections/alter_properties"] = "AlterCollection", ["/collections/drop_properties"] = "AlterCollection",
        ["/collections/fields/add"] = "AddCollectionField", ["/collections/fields/alter_properties"] = "AlterCollectionField",
        ["/entities/insert"] = "Insert", ["/entities/upsert"] = "Upsert", ["/entities/delete"] = "Delete",
        ["/entities/query"] = "Query", ["/entities/get"] = "Query", ["/entities/search"] = "Search",
        ["/entities/hybrid_search"] = "HybridSearch",
        ["/partitions/create"] = "CreatePartition", ["/partitions/drop"] = "DropPartition", ["/partitions/list"] = "ShowPartitions",
        ["/partitions/has"] = "HasPartition", ["/partitions/load"] = "LoadPartitions", ["/partitions/release"] = "ReleasePartitions",
        ["/partitions/get_stats"] = "GetPartitionStatistics",
        ["/indexes/create"] = "CreateIndex", ["/indexes/describe"] = "DescribeIndex", ["/indexes/list"] = "DescribeIndex",
        ["/indexes/drop"] = "DropIndex", ["/indexes/alter_properties"] = "AlterIndex", ["/indexes/drop_properties"] = "AlterIndex",
        ["/aliases/create"] = "CreateAlias", ["/aliases/drop"] = "DropAlias", ["/aliases/list"] = "ListAliases",
        ["/aliases/describe"] = "DescribeAlias", ["/aliases/alter"] = "AlterAlias",
        ["/users/create"] = "CreateCredential", ["/users/drop"] = "DeleteCredential", ["/users/list"] = "ListCredUsers",
        ["/users/describe"] = "SelectUser", ["/users/update_password"] = "UpdateCredential", ["/users/grant_role"] = "OperateUserRole",
        ["/users/revoke_role"] = "OperateUserRole",
        ["/roles/create"] = "CreateRole", ["/roles/drop"] = "DropRole", ["/roles/list"] = "SelectRole", ["/roles/describe"] = "SelectGrant",
        ["/roles/grant_privilege"] = "OperatePrivilege", ["/roles/revoke_privilege"] = "OperatePrivilege",
        ["/databases/create"] = "CreateDatabase", ["/databases/drop"] = "DropDatabase", ["/databases/list"] = "ListDatabases",
        ["/databases/describe"] = "DescribeDatabase", ["/databases/alter"] = "AlterDatabase",
        ["/jobs/import/create"] = "Import", ["/jobs/import/list"] = "ListImportTasks", ["/jobs/import/get_progress"] = "GetImportState",
        ["/jobs/import/describe"] = "GetImportState",
    };

    /// <summary>Answers users and roles calls, and (authentication on) authenticates every other call from its headers.
    /// True when the call was answered here.</summary>
    private async Task<bool> SecureRestAsync(HttpContext http, string path, CancellationToken ct)
    {
        var security = node.Security;
        if ((path.StartsWith("/users/", StringComparison.Ordinal) || path.StartsWith("/roles/", StringComparison.Ordinal))
            && RestRpcs.TryGetValue(path, out var rpc))
        {
            if (SecurityGate.SecurityChanges.Contains(rpc))
            {
                await ChangeAsync(http, path, security, ct).ConfigureAwait(false);
            }
            else
            {
                // A listing answers what is stored, whichever node changed it last (one read of the bucket).
                await security.RefreshAsync(ct).ConfigureAwait(false);
                await MilvusRestV2.RunEndpointAsync(http, Prefix + path).ConfigureAwait(false);
            }

            return true;
        }

        if (!security.Options.AuthEnabled)
        {
            return false;
        }

        var call = CallOf(http, path, "default");
        try
        {
            var gate = http.RequestServices.GetRequiredService<ISecurityGate>();
            try
            {
                await gate.AuthenticateAsync(call, ct).ConfigureAwait(false);
            }
            catch (MilvusException e) when (e.Code == MilvusCode.NeedAuthenticate)
            {
                // A user created through another node a moment ago: read the state before refusing.
                if (!await security.RefreshAsync(ct).ConfigureAwait(false))
                {
                    throw;
                }

                await gate.AuthenticateAsync(call, ct).ConfigureAwait(false);
            }

            http.Items[AuditUserKey] = call.User;
            return false;
        }
        catch (MilvusException e)
        {
            await RefuseAsync(http, e).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>With authentication on, checks the caller's privilege for the RPC <paramref name="path"/> performs on the
    /// body's database and collection (and, for a create that builds indexes and loads, for those steps too, as the
    /// standalone endpoint checks them). True when the call was refused here.</summary>
    private async Task<bool> AuthorizeRestAsync(HttpContext http, string path, byte[] body, string database, string? collection, CancellationToken ct)
    {
        var security = node.Security;
        if ((!security.Options.AuthEnabled && !NodeSecurity.RateLimited(node.Config)) || !RestRpcs.TryGetValue(path, out var rpc))
        {
            return false;
        }

        var gate = http.RequestServices.GetRequiredService<ISecurityGate>();
        try
        {
            var call = CallOf(http, path, database, collection, rpc);
            await MilvusRouting.CheckAsync(security, gate, call, null, ct).ConfigureAwait(false);
            if (NodeSecurity.ClusterRateRefusal(http.RequestServices, call) is { } overRate)
            {
                throw overRate;
            }

            if (path == "/collections/create" && BuildsIndexes(body))
            {
                foreach (var step in new Google.Protobuf.IMessage[]
                {
                    new Protocol.Milvus.CreateIndexRequest { DbName = database, CollectionName = collection ?? "" },
                    new Protocol.Milvus.LoadCollectionRequest { DbName = database, CollectionName = collection ?? "" },
                })
                {
                    gate.AuthorizeStep(call, step.Descriptor.Name.Replace("Request", "", StringComparison.Ordinal), step);
                }
            }

            return false;
        }
        catch (MilvusException e)
        {
            await RefuseAsync(http, e, inCall: true).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Runs a users or roles change through the standalone endpoint until the cluster stores it, the answer held
    /// back until then (a try refused because another node changed the state first is run again, body and all).</summary>
    private static async Task ChangeAsync(HttpContext http, string path, ClusterSecurity security, CancellationToken ct)
    {
        http.Request.EnableBuffering();
        var response = http.Response.Body;
        try
        {
            var answer = await security.ChangeAsync(async () =>
            {
                http.Request.Body.Position = 0;
                var buffer = new MemoryStream();
                http.Response.Body = buffer;
                await MilvusRestV2.RunEndpointAsync(http, Prefix + path).ConfigureAwait(false);
                return buffer;
            }, ct).ConfigureAwait(false);
            http.Response.Body = response;
            answer.Position = 0;
            await answer.CopyToAsync(response, ct).ConfigureAwait(false);
        }
        catch (MilvusException e)
        {
            http.Response.Body = response;
            http.Response.Headers.Remove("Content-Length");
            await RefuseAsync(http, e).ConfigureAwait(false);
        }
    }

    private static CallInfo CallOf(HttpContext http, string path, string database, string? collection = null, string? rpc = null) => new()
    {
        Method = rpc ?? Prefix + path,
        Transport = "rest",
        Credential = RestRequest.BearerToken(http.Request),
        Peer = RestCallContext.PeerOf(http),
        Database = database,
        TargetDatabase = database,
        TargetCollection = collection,
    };

    /// <summary>Answers a refusal as the standalone REST server does: 401 for authentication, 403 for a privilege, else
    /// HTTP 200 with the code; a retriable refusal with <c>Retry-After: 1</c> unless <paramref name="inCall"/> (the
    /// standalone server checks a call's privileges and rate inside the call and answers those without it).</summary>
    private static Task RefuseAsync(HttpContext http, MilvusException e, bool inCall = false)
    {
        if (e.Retriable && !inCall)
        {
            http.Response.Headers.RetryAfter = "1";
        }

        // As read: the refusals here are authentication's (401 either way) or made once the body is read (privileges,
        // rates), as the standalone server makes them.
        return AnswerAsync(http, MilvusRestV2.RefusalStatus(e.Code, bodyRead: true), Error(e.Code, e.Message));
    }

    /// <summary>Whether a create body makes the endpoint build indexes and load (quick setup's <c>dimension</c>, or
    /// <c>indexParams</c>).</summary>
    private static bool BuildsIndexes(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && (json.RootElement.TryGetProperty("dimension", out _)
                    || (json.RootElement.TryGetProperty("indexParams", out var indexes) && indexes.ValueKind == JsonValueKind.Array && indexes.GetArrayLength() > 0));
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
