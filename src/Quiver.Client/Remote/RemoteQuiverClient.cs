using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Quiver.Protocol.Common;
using Status = Quiver.Protocol.Common.Status;
using Quiver.Protocol.Milvus;

namespace Quiver.Client.Remote;

/// <summary>
/// <see cref="IQuiverClient"/> over the Milvus gRPC protocol (<c>milvus.proto.milvus.MilvusService</c>), against Quiver's
/// server or Milvus itself. Credentials go in the <c>authorization</c> metadata (base64 of the token or of
/// <c>user:password</c>, as Milvus's SDKs send them) and the client's database in <c>dbname</c>; a call's own database
/// argument goes in the request's <c>db_name</c>. Collection schemas are cached per database and name for the
/// conversions (rows to columns, keys to filters) and dropped on drop and rename.
/// </summary>
internal sealed partial class RemoteQuiverClient : IQuiverClient
{
    private readonly QuiverClientOptions _options;
    private readonly GrpcChannel? _channel;
    private readonly MilvusService.MilvusServiceClient _milvus;
    private readonly Metadata _headers;
    private readonly ConcurrentDictionary<(string Database, string Collection), RemoteSchema> _schemas = new();

    /// <summary>The options the client was created with (address, credentials, certificates).</summary>
    internal QuiverClientOptions Options => _options;

    /// <summary>Creates the channel; no call is made until <see cref="ConnectAsync"/>.</summary>
    public RemoteQuiverClient(QuiverClientOptions options)
    {
        _options = options;
        if (!Uri.TryCreate(options.Address, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"server address '{options.Address}' must be http://host:port or https://host:port");
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options, address.Scheme == "https"),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageBytes,
            MaxSendMessageSize = options.MaxSendMessageBytes,
        });
        _milvus = new MilvusService.MilvusServiceClient(_channel.Intercept(WellFormedRequests.Instance));
        _headers = CreateHeaders(options);
    }

    /// <summary>A client whose calls go through <paramref name="invoker"/> rather than a channel of its own (a cluster node
    /// runs a bulk-import job's writes through its own routing this way, in process); <paramref name="options"/> gives
    /// the database and the deadline, its address is not used.</summary>
    internal RemoteQuiverClient(QuiverClientOptions options, CallInvoker invoker)
    {
        _options = options;
        _milvus = new MilvusService.MilvusServiceClient(invoker.Intercept(WellFormedRequests.Instance));
        _headers = CreateHeaders(options);
    }

    /// <summary>The metadata every call carries: <c>dbname</c>, and <c>authorization</c> when credentials are set.</summary>
    internal static Metadata CreateHeaders(QuiverClientOptions options)
    {
        var headers = new Metadata { { "dbname", string.IsNullOrEmpty(options.Database) ? QuiverClient.DefaultDatabase : options.Database } };
        var credential = !string.IsNullOrEmpty(options.Token)
            ? options.Token
            : !string.IsNullOrEmpty(options.User) && !string.IsNullOrEmpty(options.Password) ? $"{options.User}:{options.Password}" : null;
        if (credential is not null)
        {
            headers.Add("authorization", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)));
        }

        return headers;
    }

    /// <summary>The HTTP handler a client with <paramref name="options"/> connects through: its TLS settings (CA, pinned
    /// certificate, client certificate, validation skipped) applied when <paramref name="tls"/>. The toolbox's HTTP
    /// client for a server's REST and <c>/metrics</c> endpoints uses the same, so both honour one set of options.</summary>
    internal static SocketsHttpHandler CreateHandler(QuiverClientOptions options, bool tls)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (!tls)
        {
            return handler;
        }

        var ssl = new SslClientAuthenticationOptions();
        if (options.ClientCertificate is { } client)
        {
            ssl.ClientCertificates = [client];
        }

        if (options.SkipCertificateValidation)
        {
            ssl.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (options.ServerCertificateAuthority is not null || options.TrustedServerCertificate is not null)
        {
            var ca = options.ServerCertificateAuthority;
            var pinned = options.TrustedServerCertificate;
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (pinned is not null && certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData))
                || (ca is not null && errors == SslPolicyErrors.RemoteCertificateChainErrors && ChainsTo(certificate, ca));
        }

        handler.SslOptions = ssl;
        return handler;
    }

    private static bool ChainsTo(X509Certificate? certificate, X509Certificate2 authority)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>Calls <c>Connect</c>, which checks the address, the credentials and the database.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var request = new ConnectRequest
        {
            ClientInfo = new ClientInfo
            {
                SdkType = "Quiver.Client (C#)",
                SdkVersion = typeof(RemoteQuiverClient).Assembly.GetName().Version?.ToString() ?? "0",
                LocalTime = DateTimeOffset.Now.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                User = _options.User ?? "",
            },
        };
        await InvokeAsync("Connect", o => _milvus.ConnectAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one unary call with the client's metadata and deadline; maps its status and gRPC failures to
    /// <see cref="QuiverServerException"/>. Cancellation by the caller's token stays an <see cref="OperationCanceledException"/>.</summary>
    private async Task<T> InvokeAsync<T>(string rpc, Func<CallOptions, AsyncUnaryCall<T>> call, Func<T, Status?> status, CancellationToken cancellationToken)
    {
        DateTime? deadline = _options.Timeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + _options.Timeout;
        T response;
        try
        {
            response = await call(new CallOptions(_headers, deadline, cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{rpc} canceled", e, cancellationToken);
        }
        catch (RpcException e)
        {
            throw ServerErrors.FromRpc(e, rpc);
        }

        ServerErrors.ThrowIfError(status(response), rpc);
        return response;
    }

    /// <summary>A call that answers a bare status.</summary>
    private Task<Status> InvokeAsync(string rpc, Func<CallOptions, AsyncUnaryCall<Status>> call, CancellationToken cancellationToken) =>
        InvokeAsync(rpc, call, s => s, cancellationToken);

    /// <summary>The request's <c>db_name</c>: the call's database, or empty for the connection's (metadata <c>dbname</c>).</summary>
    private static string Db(string? database) => database ?? "";

    private (string, string) CacheKey(string? database, string collection) => (database ?? _options.Database, collection);

    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A collection's schema as the client last read it, with the vector fields whose metric the server stated
/// (in the field's index_params or on its index); the client sends only stated metrics.</summary>
internal sealed record RemoteSchema(CollectionSchema Schema, IReadOnlySet<string> StatedMetrics);
