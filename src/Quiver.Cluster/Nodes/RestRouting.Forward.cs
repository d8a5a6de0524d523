using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;

namespace Quiver.Cluster.Nodes;

/// <summary>REST v2's alias, database and import-job endpoints on a node: the standalone server's own endpoint reads the body,
/// refuses its parameters and prints the answer, and each RPC it performs is routed as the same gRPC call would be
/// (<see cref="MilvusRouting.RouteAsync"/>: databases on the default database's catalog shard, aliases through the
/// cluster's catalog and the collections' shards, import jobs by <see cref="ClusterImports"/>), so every answer and refusal is the standalone server's.</summary>
internal sealed partial class RestRouting
{
    /// <summary>Whether <paramref name="path"/> is answered by <see cref="ForwardAsync"/>.</summary>
    private static bool Forwards(string path) =>
        path.StartsWith("/aliases/", StringComparison.Ordinal) || path.StartsWith("/databases/", StringComparison.Ordinal)
        || path.StartsWith("/jobs/import/", StringComparison.Ordinal) || path == "/collections/rename";

    /// <summary>Authorizes the call as the RPC its endpoint performs (with authentication on; a refusal is checked again
    /// after reading the cluster's state), then runs the standalone endpoint over <paramref name="body"/> with its RPCs
    /// routed by <see cref="MilvusRouting"/>.</summary>
    private async Task ForwardAsync(HttpContext http, string path, byte[] body, CancellationToken ct)
    {
        var (database, collection) = Names(body);
        if (!HasDbName(body) && http.Request.Headers["DB-Name"].ToString() is { Length: > 0 } header)
        {
            database = header;
        }

        if (await AuthorizeRestAsync(http, path, body, database, collection, ct).ConfigureAwait(false))
        {
            return;
        }

        // The endpoint reads the body again, as the standalone server reads it.
        http.Request.Body = new MemoryStream(body, writable: false);
        var routing = http.RequestServices.GetRequiredService<MilvusRouting>();
        await MilvusRestV2.RunEndpointAsync(http, Prefix + path, async (rpc, request, context) =>
        {
            var method = MilvusService.Descriptor.FindMethodByName(rpc)
                ?? throw new InvalidOperationException($"the REST endpoint {path} performs {rpc}, which MilvusService does not have");
            return method.OutputType.Parser.ParseFrom(await routing.RouteAsync(method, request.ToByteArray(), context, request).ConfigureAwait(false));
        }).ConfigureAwait(false);
    }
}
