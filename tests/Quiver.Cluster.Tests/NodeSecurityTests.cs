using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Security on cluster nodes as the standalone server has it (docs/cluster.md, "Security on a node"): the
/// node's <c>security</c> settings (TLS with required client certificates, the per-user rate limit, the audit log) and the
/// cluster's API keys (<see cref="NodeApiKeys"/>), on three nodes with a standalone server of the same settings as the
/// oracle of every answer and every audit line.</summary>
public sealed class NodeSecurityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Password = "Cluster-root-42";

    /// <summary>Over mutual TLS on every node: a client without a certificate is refused; missing and wrong credentials,
    /// an API key's denial, the rate limit over gRPC and REST, and a revoked key answer each node as the standalone
    /// server answers (code, message, HTTP status, Retry-After); each node's audit log holds the standalone server's
    /// lines for the same calls (user, transport, method, database, collection, outcome, count).</summary>
    [NatsFact]
    public async Task Nodes_MutualTlsApiKeysRateLimitAndAudit_AnswerAsAStandaloneServer()
    {
        using var pki = new TestPki();
        using var certificates = new TempFolder("quiver-node-tls");
        var (cert, key, ca) = pki.WriteServer(certificates.Path);
        var settings = new SecurityOptions
        {
            TlsCertificatePath = cert,
            TlsKeyPath = key,
            ClientCaPath = ca,
            RequireClientCertificate = true,
            // One counted call per user and node, then refused for 1,000 s: no test step depends on a clock.
            RequestsPerSecondPerUser = 0.001,
            // Every failure on its own line: no aggregation window to wait for.
            AuditAggregateSeconds = 0,
        };
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, settings: new Dictionary<string, object>
        {
            ["authEnabled"] = true,
            ["rootPassword"] = Password,
            ["security"] = new Dictionary<string, object>
            {
                ["tlsCertificatePath"] = cert,
                ["tlsKeyPath"] = key,
                ["clientCaPath"] = ca,
                ["requireClientCertificate"] = true,
                ["requestsPerSecondPerUser"] = 0.001,
                ["auditAggregateSeconds"] = 0,
            },
        });
        using var folder = new TempFolder("quiver-oracle");
        settings.AuthEnabled = true;
        settings.RootPassword = Password;
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0, Security = settings });
        using var client = pki.Client();
        var ports = new[] { oracle.Port }.Concat(Enumerable.Range(0, 3).Select(i => int.Parse(nodes.Endpoint(i).Split(':')[1], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var names = new[] { "standalone", "node 0", "node 1", "node 2" };
        var answers = names.ToDictionary(n => n, _ => new List<string>());

        // Before any key: a client without a certificate, no credential, a wrong password (gRPC and REST). The standalone
        // server and node 0 also create user alice and a collection (the cluster's are one, made through node 0).
        for (var t = 0; t < ports.Length; t++)
        {
            var log = answers[names[t]];
            using var anonymous = Channel(ports[t], pki.Server, null);
            log.Add(await GrpcAsync("no client certificate", () => new MilvusService.MilvusServiceClient(anonymous).CheckHealthAsync(new CheckHealthRequest()).ResponseAsync, transportOnly: true));
            using var channel = Channel(ports[t], pki.Server, client);
            var milvus = new MilvusService.MilvusServiceClient(channel);
            log.Add(await GrpcAsync("no credential", () => milvus.ListDatabasesAsync(new ListDatabasesRequest()).ResponseAsync));
            log.Add(await GrpcAsync("wrong password", () => milvus.ListDatabasesAsync(new ListDatabasesRequest(), Credential("root:wrong-pass")).ResponseAsync));
            log.Add(await RestAsync(ports[t], pki.Server, client, "/collections/has", "root:wrong-pass", """{"collectionName":"audited"}"""));
            if (t <= 1)
            {
                log.Add(await GrpcAsync("create alice", () => milvus.CreateCredentialAsync(new CreateCredentialRequest
                {
                    Username = "alice",
                    Password = Convert.ToBase64String(Encoding.UTF8.GetBytes("Alice-pass-1")),
                }, Credential("root:" + Password)).ResponseAsync));
                log.Add(await GrpcAsync("create collection", () => milvus.CreateCollectionAsync(CreateRequest("audited"), Credential("root:" + Password)).ResponseAsync));
            }
        }

        // A key for alice on each side: the standalone server's store (what `quiver apikey create` writes), the cluster's
        // through the node's command while the nodes run.
        var oracleStore = oracle.Services.GetRequiredService<SecurityStore>();
        var (oracleKeyId, oracleKey) = oracleStore.CreateApiKey("alice", "ci");
        var created = await ApiKeyCommandAsync(nodes, "create", "--config", nodes.ConfigPath(0), "--user", "alice", "--name", "ci");
        var clusterKeyId = Line(created, "id:");
        var clusterKey = Line(created, "key:");

        // With the key: answered as alice; her first counted call is denied (no privilege), the next ones, over REST and
        // gRPC, are over her rate on that node.
        for (var t = 0; t < ports.Length; t++)
        {
            var log = answers[names[t]];
            var apiKey = t == 0 ? oracleKey : clusterKey;
            using var channel = Channel(ports[t], pki.Server, client);
            var milvus = new MilvusService.MilvusServiceClient(channel);
            log.Add(await GrpcAsync("key accepted", () => milvus.GetVersionAsync(new GetVersionRequest(), Credential(apiKey)).ResponseAsync));
            log.Add(await GrpcAsync("key denied", () => milvus.CreateCollectionAsync(CreateRequest("denied"), Credential(apiKey)).ResponseAsync));
            log.Add(await RestAsync(ports[t], pki.Server, client, "/collections/create", apiKey, """{"collectionName":"denied","dimension":4}"""));
            log.Add(await GrpcAsync("key rate", () => milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "audited", Expr = "id > 0" }, Credential(apiKey)).ResponseAsync));
            log.Add(await RestAsync(ports[t], pki.Server, client, "/collections/has", apiKey, """{"collectionName":"audited"}"""));
        }

        // Revoked: the standalone server refuses at once; each node once the state's watch delivered the change.
        Assert.True(oracleStore.RevokeApiKey(oracleKeyId));
        Assert.Contains("revoked", await ApiKeyCommandAsync(nodes, "revoke", "--config", nodes.ConfigPath(1), clusterKeyId), StringComparison.Ordinal);
        Assert.Empty((await ApiKeyCommandAsync(nodes, "list", "--config", nodes.ConfigPath(2))).Trim());
        for (var t = 0; t < ports.Length; t++)
        {
            var log = answers[names[t]];
            var apiKey = t == 0 ? oracleKey : clusterKey;
            using var channel = Channel(ports[t], pki.Server, client);
            var milvus = new MilvusService.MilvusServiceClient(channel);
            string refused;
            var deadline = DateTime.UtcNow.AddMinutes(4); // a safety net only: the loop ends at the first refusal
            while ((refused = await GrpcAsync("revoked key", () => milvus.ListDatabasesAsync(new ListDatabasesRequest(), Credential(apiKey)).ResponseAsync)).Contains("code 0", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{names[t]} still accepts the revoked key");
                await Task.Delay(100);
            }

            log.Add(refused);
            log.Add(await RestAsync(ports[t], pki.Server, client, "/collections/has", apiKey, """{"collectionName":"audited"}"""));
        }

        foreach (var (name, log) in answers)
        {
            output.WriteLine($"{name}:\n  {string.Join("\n  ", log)}");
        }

        var creates = new HashSet<int> { 4, 5 };
        Assert.Equal(answers["standalone"], answers["node 0"]);
        var withoutCreates = answers["standalone"].Where((_, i) => !creates.Contains(i)).ToList();
        Assert.Equal(withoutCreates, answers["node 1"]);
        Assert.Equal(withoutCreates, answers["node 2"]);

        // The audit logs: the standalone server's lines, on node 0 all of them, on nodes 1 and 2 all but the two changes
        // made through node 0. A node that had not received the new key yet refused it once (recorded) before reading the
        // state and accepting it: that line (GetVersion, the key's first use there) is the one allowed difference.
        var expected = Audit(Path.Combine(folder.Path, "security", "audit.jsonl"));
        output.WriteLine("standalone audit:\n  " + string.Join("\n  ", expected));
        for (var i = 0; i < 3; i++)
        {
            var lines = Audit(Path.Combine(nodes.DataPath(i), "security", "audit.jsonl"))
                .Where(l => !l.StartsWith("GetVersion grpc - authentication failed", StringComparison.Ordinal)).ToList();
            output.WriteLine($"node {i} audit:\n  " + string.Join("\n  ", lines));
            Assert.Equal(i == 0 ? expected : expected.Where(l => !l.StartsWith("CreateCredential grpc root ok |", StringComparison.Ordinal) && !l.StartsWith("CreateCollection grpc root ok |", StringComparison.Ordinal)).ToList(), lines);
        }
    }

    /// <summary>A node refuses to start, before it connects to anything, with the standalone server's message for each
    /// TLS setting and request limit that cannot work; the top-level settings repeated under <c>security</c> are
    /// refused naming them. (Request limits other than the defaults are applied: <see cref="NodeLimitsTests"/>.)</summary>
    [Fact]
    public async Task NodeStart_RefusesSecuritySettingsThatCannotWork_WithTheStandaloneMessages()
    {
        using var folder = new TempFolder("quiver-node-config");
        using var pki = new TestPki();
        var (cert, key, ca) = pki.WriteServer(folder.Path);
        var cases = new Action<SecurityOptions>[]
        {
            s => s.RequireClientCertificate = true,
            s => s.ClientCaPath = ca,
            s => { s.TlsCertificatePath = cert; s.TlsKeyPath = Path.Combine(folder.Path, "missing.key"); },
            s => { s.TlsCertificatePath = key; s.TlsKeyPath = key; },
            s => s.MaxMessageBytes = 0,
        };
        foreach (var set in cases)
        {
            var standalone = new ServerOptions { DataPath = folder.Sub("standalone"), Host = "127.0.0.1", Port = 0 };
            set(standalone.Security);
            var expected = await Assert.ThrowsAsync<ServerConfigurationException>(() => QuiverServer.StartAsync(standalone));
            var node = new NodeConfig { Nats = "nats://127.0.0.1:1", DataPath = folder.Sub("node"), MilvusPort = 0 };
            set(node.Security);
            var refused = await Assert.ThrowsAsync<ServerConfigurationException>(() => ClusterNode.StartAsync(node));
            Assert.Equal(expected.Message, refused.Message);
        }

        var doubled = new NodeConfig { Nats = "nats://127.0.0.1:1", DataPath = folder.Sub("node") };
        doubled.Security.AuthEnabled = true;
        var e = await Assert.ThrowsAsync<ServerConfigurationException>(() => ClusterNode.StartAsync(doubled));
        Assert.Contains("set authEnabled and rootPassword at the top level", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The service a node builds for its RBAC handlers has no engine: a call that needs one is refused naming
    /// why, instead of a <see cref="NullReferenceException"/> (or an answer from an engine that holds nothing).</summary>
    [Fact]
    public void NodeRbacService_RefusesEngineCalls_NamingWhy()
    {
        using var services = new ServiceCollection().BuildServiceProvider();
        var service = MilvusGrpcService.WithoutEngine(new ServerOptions(), services);
        var e = Assert.Throws<InvalidOperationException>(() => service.SchemaOf("items", "default"));
        Assert.Equal(MilvusGrpcService.NoEngine, e.Message);
    }

    private static CreateCollectionRequest CreateRequest(string name) => new()
    {
        CollectionName = name,
        Schema = new Protocol.Schema.CollectionSchema
        {
            Name = name,
            Fields =
            {
                new Protocol.Schema.FieldSchema { Name = "id", DataType = Protocol.Schema.DataType.Int64, IsPrimaryKey = true },
                new Protocol.Schema.FieldSchema
                {
                    Name = "v",
                    DataType = Protocol.Schema.DataType.FloatVector,
                    TypeParams = { new Protocol.Common.KeyValuePair { Key = "dim", Value = "4" } },
                },
            },
        }.ToByteString(),
    };

    private static Metadata Credential(string credential) => new() { { "authorization", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)) } };

    private static GrpcChannel Channel(int port, X509Certificate2 server, X509Certificate2? client)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == server.GetCertHashString();
        if (client is not null)
        {
            handler.SslOptions.ClientCertificates = [client];
        }

        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>A gRPC call's answer as text: the gRPC status and detail of a failed call, else the Milvus status.
    /// <paramref name="transportOnly"/>: a refused connection, whose detail names the client's socket error.</summary>
    private static async Task<string> GrpcAsync<T>(string step, Func<Task<T>> call, bool transportOnly = false)
        where T : IMessage
    {
        try
        {
            var response = await call();
            var status = CallPipeline.StatusOf(response);
            return $"{step}: code {status?.Code ?? 0} {status?.Reason} retriable={status?.Retriable ?? false}";
        }
        catch (RpcException e)
        {
            return transportOnly
                ? $"{step}: refused {(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown)}"
                : $"{step}: grpc {e.StatusCode} {e.Status.Detail}";
        }
    }

    private static async Task<string> RestAsync(int port, X509Certificate2 server, X509Certificate2 client, string path, string bearer, string body)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == server.GetCertHashString();
        handler.SslOptions.ClientCertificates = [client];
        using var http = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"https://127.0.0.1:{port}/v2/vectordb{path}"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await http.SendAsync(request);
        var retryAfter = response.Headers.RetryAfter?.ToString() ?? "-";
        return $"REST {path}: HTTP {(int)response.StatusCode} retry-after {retryAfter} {await response.Content.ReadAsStringAsync()}";
    }

    private static async Task<string> ApiKeyCommandAsync(QuiverNodes nodes, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await NodeApiKeys.RunAsync(args, stdout, stderr, CancellationToken.None);
        Assert.True(code == 0, $"apikey {string.Join(' ', args)} exited {code}: {stderr}\n{nodes.Output(0)}");
        return stdout.ToString();
    }

    private static string Line(string text, string prefix) =>
        text.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(prefix, StringComparison.Ordinal))[prefix.Length..].Trim();

    /// <summary>The audit log's lines without what differs between servers (time, request id, the client's port).</summary>
    private static List<string> Audit(string path)
    {
        var lines = new List<string>();
        foreach (var line in File.ReadAllLines(path))
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            lines.Add($"{r.GetProperty("method").GetString()} {r.GetProperty("transport").GetString()} {r.GetProperty("user").GetString() ?? "-"} {r.GetProperty("outcome").GetString()} | " +
                $"db={r.GetProperty("database").GetString()} collection={r.GetProperty("collection").GetString() ?? "-"} count={r.GetProperty("count").GetInt64()}");
        }

        return lines;
    }
}
