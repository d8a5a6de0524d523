using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Tests;

public sealed class ConnectionTests
{
    /// <summary>Only guards against a hang; the call is answered in milliseconds.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CheckHealth_OverGrpc_IsHealthy()
    {
        await using var server = await TestServer.StartAsync();
        var health = await server.Milvus.CheckHealthAsync(new CheckHealthRequest());
        Assert.Equal(0, health.Status.Code);
        Assert.True(health.IsHealthy);
    }

    [Fact]
    public async Task OnePort_ServesGrpcAndHttp1()
    {
        await using var server = await TestServer.StartAsync();
        var version = await server.Milvus.GetVersionAsync(new GetVersionRequest());
        Assert.StartsWith("v2.", version.Version, StringComparison.Ordinal);
        // Plain HTTP/1.1 on the same port reaches the HTTP pipeline (a 404 for an unknown path, not a protocol error).
        using var response = await server.Http.GetAsync(new Uri("/no-such-path", UriKind.Relative));
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task UnsupportedRpc_AnswersMilvusErrorNamingIt()
    {
        await using var server = await TestServer.StartAsync();
        var response = await server.Milvus.GetReplicasAsync(new GetReplicasRequest { CollectionID = 1 });
        Assert.Equal(10, response.Status.Code);
        Assert.Contains("GetReplicas", response.Status.Reason, StringComparison.Ordinal);
        // ... and the server keeps serving.
        Assert.True((await server.Milvus.CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
    }

    /// <summary>An RPC the Milvus proto does not declare (a newer SDK's, or another service's) is not routed to the
    /// gRPC service; the client still gets gRPC's UNIMPLEMENTED, and the connection keeps serving.</summary>
    [Theory]
    [InlineData("milvus.proto.milvus.MilvusService", "NoSuchRpc")]
    [InlineData("milvus.proto.nosuch.OtherService", "Search")]
    public async Task UndeclaredRpc_AnswersGrpcUnimplemented(string service, string method)
    {
        await using var server = await TestServer.StartAsync();
        var bytes = Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var undeclared = new Grpc.Core.Method<byte[], byte[]>(Grpc.Core.MethodType.Unary, service, method, bytes, bytes);
        var call = server.Channel.CreateCallInvoker().AsyncUnaryCall(undeclared, null, new Grpc.Core.CallOptions(), []);
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await call.ResponseAsync.WaitAsync(HangGuard));
        Assert.Equal(Grpc.Core.StatusCode.Unimplemented, refused.StatusCode);
        Assert.True((await server.Milvus.CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
    }

    /// <summary>The Milvus Node.js SDK re-sends a failed call (UNAVAILABLE while the server restarts) without ever ending
    /// the new request stream. Milvus answers a unary call on its one message; so must Quiver, instead of waiting for an
    /// end of stream that never comes until Kestrel faults the connection.</summary>
    [Fact]
    public async Task UnaryCall_MessageWithoutEndOfStream_IsAnswered()
    {
        await using var server = await TestServer.StartAsync();
        using var http = new HttpClient();
        var body = new OpenEndedContent(GrpcFrame(new CheckHealthRequest()));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.Server.Port}/milvus.proto.milvus.MilvusService/CheckHealth")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = body,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(HangGuard);
            var bytes = await response.Content.ReadAsByteArrayAsync().WaitAsync(HangGuard);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
            Assert.True(CheckHealthResponse.Parser.ParseFrom(bytes.AsSpan(5)).IsHealthy);
        }
        finally
        {
            body.End();
        }
    }

    private static byte[] GrpcFrame(IMessage message)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>A request body that sends its bytes and then stays open (no end of stream) until <see cref="End"/>.</summary>
    private sealed class OpenEndedContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly TaskCompletionSource _end = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OpenEndedContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        }

        public void End() => _end.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(_bytes, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await _end.Task.WaitAsync(cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
