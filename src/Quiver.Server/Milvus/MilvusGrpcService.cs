using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;

namespace Quiver.Server.Milvus;

/// <summary>
/// <c>milvus.proto.milvus.MilvusService</c> over the engine. A transport adapter: it converts Milvus messages to engine
/// calls and back, one partial file per concern (connection, catalog, data, search, indexes, security). Methods it does
/// not override answer a Milvus "unimplemented" status through <see cref="UnsupportedRpcInterceptor"/>; exceptions a
/// handler throws become error statuses there too.
/// </summary>
internal sealed partial class MilvusGrpcService(QuiverEngine engine, ServerOptions options) : MilvusService.MilvusServiceBase
{
    /// <summary>The version Quiver reports: the Milvus protocol level it speaks.</summary>
    internal const string MilvusVersion = "v2.6.0";

    private readonly QuiverEngine _engine = engine;
    private readonly ServerOptions _options = options;

    /// <inheritdoc />
    public override Task<ConnectResponse> Connect(ConnectRequest request, ServerCallContext context) =>
        Task.FromResult(new ConnectResponse
        {
            Status = MilvusStatus.Ok(),
            ServerInfo = new Protocol.Common.ServerInfo { BuildTags = MilvusVersion, DeployMode = "STANDALONE" },
            Identifier = Random.Shared.NextInt64(1, long.MaxValue),
        });

    /// <inheritdoc />
    public override Task<GetVersionResponse> GetVersion(GetVersionRequest request, ServerCallContext context) =>
        Task.FromResult(new GetVersionResponse { Status = MilvusStatus.Ok(), Version = MilvusVersion });

    /// <inheritdoc />
    public override Task<CheckHealthResponse> CheckHealth(CheckHealthRequest request, ServerCallContext context) =>
        Task.FromResult(new CheckHealthResponse { Status = MilvusStatus.Ok(), IsHealthy = true });
}
