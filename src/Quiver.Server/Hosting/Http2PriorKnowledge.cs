using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Quiver.Server.Hosting;

/// <summary>
/// Lets one cleartext port serve gRPC (HTTP/2 with prior knowledge, as every Milvus SDK connects) and REST (HTTP/1.1),
/// as Milvus does on 19530. Kestrel picks HTTP/1.1 for every cleartext connection on an HTTP/1.1-and-2 endpoint,
/// because without TLS there is no ALPN to choose by; this connection middleware reads the first bytes, and when they
/// are the HTTP/2 client preface (RFC 9113 §3.4) it tells Kestrel to speak HTTP/2 on that connection.
/// </summary>
/// <remarks>
/// Kestrel reads the per-connection protocol choice from its internal <c>HttpProtocolsFeature</c> (the TLS middleware
/// sets it after ALPN). That type is internal, so it is found by reflection once at start-up; if a future Kestrel
/// renames it, <see cref="EnsureAvailable"/> fails the start with a clear error rather than serving the wrong protocol.
/// The bytes read are not consumed: Kestrel's HTTP/2 parser reads the preface itself.
/// </remarks>
internal static class Http2PriorKnowledge
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>How long a new connection may take to send enough bytes to tell HTTP/2 from HTTP/1.1 (Kestrel's
    /// default request-headers timeout).</summary>
    internal static readonly TimeSpan FirstBytesTimeout = TimeSpan.FromSeconds(30);

    private static readonly Type? FeatureType = typeof(KestrelServerOptions).Assembly
        .GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.HttpProtocolsFeature");

    private static readonly ConstructorInfo? FeatureConstructor = FeatureType?.GetConstructor(
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, [typeof(HttpProtocols)]);

    /// <summary>Throws when this Kestrel does not expose the feature the sniffing relies on.</summary>
    public static void EnsureAvailable()
    {
        if (FeatureType is null || FeatureConstructor is null)
        {
            throw new InvalidOperationException(
                "this ASP.NET Core version has no Kestrel HttpProtocolsFeature; gRPC and REST cannot share one cleartext port");
        }
    }

    /// <summary>The connection middleware: selects HTTP/2 for connections that open with the HTTP/2 preface.</summary>
    public static ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (connection.Features.Get<ITlsConnectionFeature>() is null && await StartsWithPrefaceAsync(connection).ConfigureAwait(false))
        {
            connection.Features[FeatureType!] = FeatureConstructor!.Invoke([HttpProtocols.Http2]);
        }
        await next(connection).ConfigureAwait(false);
    };

    private static async Task<bool> StartsWithPrefaceAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var head = new byte[Preface.Length];
        // The sniff runs before Kestrel's HTTP layer and its header timeouts: a client that connects and sends nothing
        // (or part of a preface) would hold the socket forever. It gets FirstBytesTimeout, then the connection closes.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        timeout.CancelAfter(FirstBytesTimeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                connection.Abort(new ConnectionAbortedException("no request bytes within the first-bytes timeout"));
                return false;
            }
            var buffer = result.Buffer;
            var length = (int)Math.Min(buffer.Length, Preface.Length);
            buffer.Slice(0, length).CopyTo(head);
            var matches = head.AsSpan(0, length).SequenceEqual(Preface.AsSpan(0, length));
            var decided = !matches || length == Preface.Length || result.IsCompleted;
            // Consume nothing, so that Kestrel's parser reads these bytes again. Once decided, mark nothing examined
            // either, or the parser's first read would wait for bytes beyond these; until then, wait for more.
            input.AdvanceTo(buffer.Start, decided ? buffer.Start : buffer.End);
            if (decided)
            {
                return matches && length == Preface.Length;
            }
        }
    }
}
