using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Quiver.Server.Rest;

/// <summary>
/// The <see cref="ServerCallContext"/> a REST request hands to <see cref="Milvus.MilvusGrpcService"/> handlers, so that
/// the same handler code serves both transports. Request headers come from the HTTP request, cancellation from
/// <see cref="HttpContext.RequestAborted"/>, the peer from the connection; there is no deadline (REST has none). One
/// instance serves every RPC of one HTTP request (an endpoint may perform several); <see cref="Rpc"/> names the RPC in
/// progress. Not thread-safe: the RPCs of a request run one after another.
/// </summary>
internal sealed class RestCallContext : ServerCallContext
{
    private readonly HttpContext _http;
    private readonly Metadata _requestHeaders = [];
    private readonly Metadata _responseTrailers = [];
    private readonly AuthContext _authContext = new(null, []);
    private string _method = "";

    /// <summary>A context over <paramref name="http"/>'s request.</summary>
    public RestCallContext(HttpContext http)
    {
        _http = http;
        foreach (var header in http.Request.Headers)
        {
            var key = header.Key.ToLowerInvariant();
            // gRPC metadata keys ending in -bin carry binary values; HTTP/1.1 headers never do.
            if (key.EndsWith("-bin", StringComparison.Ordinal) || key.StartsWith(':'))
            {
                continue;
            }
            foreach (var value in header.Value)
            {
                _requestHeaders.Add(key, value ?? "");
            }
        }
    }

    /// <summary>The RPC in progress, e.g. <c>Search</c> (the context reports it as
    /// <c>/milvus.proto.milvus.MilvusService/Search</c>, as gRPC would).</summary>
    public string Rpc
    {
        get => _method[(_method.LastIndexOf('/') + 1)..];
        set => _method = "/milvus.proto.milvus.MilvusService/" + value;
    }

    protected override string MethodCore => _method;

    protected override string HostCore => _http.Request.Host.Value ?? "";

    protected override string PeerCore => PeerOf(_http);

    /// <summary>The client's address as gRPC writes a peer (<c>ipv4:1.2.3.4:5678</c>), or <c>unknown</c>.</summary>
    public static string PeerOf(HttpContext http) => http.Connection.RemoteIpAddress is { } ip
        ? $"ipv{(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 6 : 4)}:{ip}:{http.Connection.RemotePort}"
        : "unknown";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders;

    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;

    protected override Metadata ResponseTrailersCore => _responseTrailers;

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => _authContext;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("REST calls cannot propagate a gRPC context");

    /// <summary>Handlers that send response headers get them as HTTP response headers.</summary>
    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        foreach (var entry in responseHeaders)
        {
            if (!entry.IsBinary)
            {
                _http.Response.Headers.Append(entry.Key, entry.Value);
            }
        }
        return Task.CompletedTask;
    }
}
