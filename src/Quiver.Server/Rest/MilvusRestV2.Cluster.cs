using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Quiver.Server.Rest;

/// <summary>Performs one RPC of a REST endpoint in place of the server's own <see cref="Milvus.MilvusGrpcService"/>
/// handler (a cluster node routes it to the shards): the request as the endpoint built it, the RPC's response.</summary>
internal delegate Task<IMessage> RestRpcForward(string rpc, IMessage request, ServerCallContext context);

internal static partial class MilvusRestV2
{
    /// <summary>Runs the endpoint at <paramref name="path"/> (with <see cref="Prefix"/>) exactly as the standalone server
    /// does, over the services of <paramref name="http"/>'s request (a cluster node serves its users and roles this
    /// way). False, with nothing answered, when no endpoint has that path.</summary>
    internal static async Task<bool> RunEndpointAsync(HttpContext http, string path)
    {
        foreach (var (known, endpoint) in Endpoints)
        {
            if (Prefix + known == path)
            {
                await RunAsync(http, path, endpoint).ConfigureAwait(false);
                return true;
            }
        }
        return false;
    }

    /// <summary>As <see cref="RunEndpointAsync(HttpContext, string)"/>, the endpoint's RPCs performed by
    /// <paramref name="forward"/> after the pipeline's gate, limits and metrics: the body read, every parameter refused
    /// and every answer printed as the standalone server does (a cluster node serves aliases and databases this way).</summary>
    internal static Task<bool> RunEndpointAsync(HttpContext http, string path, RestRpcForward forward)
    {
        http.Items[RestRequest.ForwardKey] = forward;
        return RunEndpointAsync(http, path);
    }
}
