using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Quiver.Cluster.Nodes;
using Quiver.Server.Hosting;
using Quiver.Server.Security;

namespace Quiver.Cluster.Tests;

/// <summary>What a node shares with the standalone server at start and for probes: the binding rule (an address other
/// hosts can reach needs authentication or <c>insecure</c>; the standalone server's own check is the oracle) and
/// <c>GET /healthz</c>.</summary>
public sealed class NodeStartTests
{
    /// <summary>How long a test waits for a condition the node reaches by itself; a safety net, never a sleep.</summary>
    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(240);

    public static TheoryData<string, bool, bool> Bindings()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var address in new[] { "127.0.0.1", "127.0.0.2", "::1", "0.0.0.0", "::", "10.1.2.3", "192.168.0.7" })
        {
            foreach (var auth in new[] { false, true })
            {
                foreach (var insecure in new[] { false, true })
                {
                    data.Add(address, auth, insecure);
                }
            }
        }

        return data;
    }

    /// <summary>A node refuses exactly the bindings the standalone server refuses (its <c>SecurityHosting.CheckBinding</c>
    /// with the same address, authentication and insecure setting), naming the address and the three ways out.</summary>
    [Theory]
    [MemberData(nameof(Bindings))]
    public void Binding_RefusedExactlyAsTheStandaloneServerRefusesIt(string host, bool auth, bool insecure)
    {
        var address = IPAddress.Parse(host);
        var standalone = Record.Exception(() => SecurityHosting.CheckBinding(
            new ServerOptions { Host = host, Insecure = insecure, Security = new SecurityOptions { AuthEnabled = auth } }, address));
        var node = Record.Exception(() => NodeBinding.Check(new NodeConfig { Host = host, AuthEnabled = auth, Insecure = insecure }, address));
        Assert.Equal(standalone is null, node is null);
        if (node is not null)
        {
            var refusal = Assert.IsType<NodeConfigurationException>(node);
            Assert.Equal(
                $"refusing to listen on {address}: it is reachable from other hosts and authentication is off. Turn authentication on " +
                "(\"authEnabled\": true, with a root password), set \"host\" to 127.0.0.1, or set \"insecure\": true to accept " +
                "unauthenticated access from the network", refusal.Message);
        }
    }

    /// <summary>The node program started with a setting that cannot work prints one line naming the problem and exits
    /// with 2, as <c>quiver serve</c> does for the same mistake, before it connects to anything (its NATS address has no
    /// server): 0.0.0.0 without authentication, and a setting the configuration does not have.</summary>
    [Theory]
    [InlineData("host", "0.0.0.0")]
    [InlineData("hots", "127.0.0.1")]
    public async Task NodeProgram_WithASettingThatCannotWork_ExitsTwoWithOneLine(string key, string host)
    {
        using var folder = new Quiver.Testing.TempFolder("quiver-node-bind");
        var config = Path.Combine(folder.Path, "node.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["nats"] = $"nats://127.0.0.1:{NatsCluster.FreePort()}",
            ["dataPath"] = Path.Combine(folder.Path, "data"),
            [key] = host,
            ["milvusPort"] = 0,
            ["siloPort"] = NatsCluster.FreePort(),
        }));
        var (code, stdout, stderr) = await QuiverNodes.RunProgramAsync("node", "--config", config);
        var line = stderr.TrimEnd('\n');
        Assert.True(code == 2, $"exit {code}: {line}");
        Assert.Equal("", stdout);
        Assert.DoesNotContain('\n', line);
        if (key == "host")
        {
            Assert.Equal("quiver node: refusing to listen on 0.0.0.0: it is reachable from other hosts and authentication is off. "
                + "Turn authentication on (\"authEnabled\": true, with a root password), set \"host\" to 127.0.0.1, or set \"insecure\": "
                + "true to accept unauthenticated access from the network", line);
        }
        else
        {
            Assert.StartsWith("quiver node: ", line, StringComparison.Ordinal);
            Assert.Contains("'hots'", line, StringComparison.Ordinal);
        }
    }

    /// <summary>The node program started with a security setting that cannot work (the standalone server's
    /// <see cref="ServerConfigurationException"/>) prints the line <c>quiver serve</c> prints for the same setting, under
    /// its own name, and exits with 2, with no stack trace; the standalone server's <see cref="StartupFailure"/> of the
    /// same settings is the oracle.</summary>
    [Theory]
    [InlineData("requireClientCertificate")]
    [InlineData("missingKey")]
    public async Task NodeProgram_WithASecuritySettingThatCannotWork_PrintsTheStandaloneLine(string setting)
    {
        using var folder = new Quiver.Testing.TempFolder("quiver-node-security");
        var certificate = Path.Combine(folder.Path, "server.pem");
        File.WriteAllText(certificate, "not a certificate");
        Action<SecurityOptions> set = setting == "requireClientCertificate"
            ? s => s.RequireClientCertificate = true
            : s => { s.TlsCertificatePath = certificate; s.TlsKeyPath = Path.Combine(folder.Path, "missing.key"); };
        var standalone = new ServerOptions { DataPath = folder.Sub("standalone"), Host = "127.0.0.1", Port = 0 };
        set(standalone.Security);
        var refusal = await Assert.ThrowsAsync<ServerConfigurationException>(() => QuiverServer.StartAsync(standalone));
        var expected = StartupFailure.Of(refusal, standalone);
        Assert.True(expected.IsConfigurationMistake);

        var security = new SecurityOptions();
        set(security);
        var config = Path.Combine(folder.Path, "node.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["nats"] = $"nats://127.0.0.1:{NatsCluster.FreePort()}",
            ["dataPath"] = Path.Combine(folder.Path, "data"),
            ["host"] = "127.0.0.1",
            ["milvusPort"] = 0,
            ["siloPort"] = NatsCluster.FreePort(),
            ["security"] = setting == "requireClientCertificate"
                ? new Dictionary<string, object?> { ["requireClientCertificate"] = true }
                : new Dictionary<string, object?> { ["tlsCertificatePath"] = security.TlsCertificatePath, ["tlsKeyPath"] = security.TlsKeyPath },
        }));
        var (code, stdout, stderr) = await QuiverNodes.RunProgramAsync("node", "--config", config);
        var line = stderr.TrimEnd('\n');
        Assert.True(code == 2, $"exit {code}: {line}");
        Assert.Equal("", stdout);
        Assert.Equal("quiver node: " + expected.Message, line);
    }

    /// <summary><c>GET /healthz</c> on a node: the standalone server's members with their types, 200 <c>serving</c> with
    /// the cluster's collection count from its catalog and its database count from the default database's catalog shard
    /// (1, the default database, at first; a database created through REST counts); 503 <c>unavailable</c> naming the
    /// NATS connection once every NATS server is gone; 200 again once they are back.</summary>
    [NatsFact]
    public Task Healthz_ServingWithTheCatalogsCount_UnavailableWithoutNats_ServingAgain() => BesideAStandaloneAsync(async (nats, nodes, oracle, http) =>
    {
        var (standaloneStatus, standalone) = await GetAsync(http, $"http://127.0.0.1:{oracle.Port}/healthz");
        Assert.Equal(HttpStatusCode.OK, standaloneStatus);

        // Serving once the default database's catalog shard answers (its first activation may take a while under load).
        var (status, health) = await UntilAsync(http, nodes.Endpoint(0), HttpStatusCode.OK);
        Assert.Equal(1, standalone.GetProperty("databases").GetInt32());
        foreach (var member in standalone.EnumerateObject())
        {
            Assert.True(health.TryGetProperty(member.Name, out var value) && value.ValueKind == member.Value.ValueKind,
                $"the node's /healthz lacks the standalone server's '{member.Name}' ({member.Value.ValueKind}): {health}");
        }

        Assert.Equal("serving", health.GetProperty("status").GetString());
        Assert.Equal(0, health.GetProperty("collections").GetInt32());
        Assert.Equal(1, health.GetProperty("databases").GetInt32());
        Assert.Equal(nodes.SiloEndpoint(0), health.GetProperty("silo").GetString());

        // A database made through another node counts on this one, as one more database counts on a standalone server.
        foreach (var endpoint in new[] { $"127.0.0.1:{oracle.Port}", nodes.Endpoint(0) })
        {
            using var made = await http.PostAsync($"http://{endpoint}/v2/vectordb/databases/create",
                new StringContent("{\"dbName\":\"healthy_db\"}", System.Text.Encoding.UTF8, "application/json"));
            var answer = await made.Content.ReadAsStringAsync();
            Assert.True(answer.Contains("\"code\":0", StringComparison.Ordinal), $"create database through {endpoint}: {answer}");
        }

        (_, standalone) = await GetAsync(http, $"http://127.0.0.1:{oracle.Port}/healthz");
        (status, health) = await GetAsync(http, $"http://{nodes.Endpoint(0)}/healthz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(standalone.GetProperty("databases").GetInt32(), health.GetProperty("databases").GetInt32());
        Assert.Equal(2, health.GetProperty("databases").GetInt32());

        // Two collections, one of 3 shards: the catalog counts collections, not shards.
        foreach (var (name, shards) in new[] { ("healthy_one", 1), ("healthy_three", 3) })
        {
            using var created = await http.PostAsync($"http://{nodes.Endpoint(0)}/v2/vectordb/collections/create",
                new StringContent(JsonSerializer.Serialize(new
                {
                    collectionName = name,
                    schema = new { fields = new object[] { new { fieldName = "id", dataType = "Int64", isPrimary = true }, new { fieldName = "v", dataType = "FloatVector", elementTypeParams = new { dim = 4 } } } },
                    @params = new { shardsNum = shards },
                }), System.Text.Encoding.UTF8, "application/json"));
            var answer = await created.Content.ReadAsStringAsync();
            Assert.True(answer.Contains("\"code\":0", StringComparison.Ordinal), $"create {name}: {answer}\n--- node:\n{nodes.Output(0)}");
        }

        (status, health) = await GetAsync(http, $"http://{nodes.Endpoint(0)}/healthz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, health.GetProperty("collections").GetInt32());

        for (var i = 0; i < 3; i++)
        {
            nats.Kill(i);
        }

        (status, health) = await UntilAsync(http, nodes.Endpoint(0), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unavailable", health.GetProperty("status").GetString());
        // Whichever the node notices first: its client's connection state, or the catalog read that fails before it.
        var error = health.GetProperty("error").GetString()!;
        Assert.True(error.StartsWith("the node's NATS connection is ", StringComparison.Ordinal)
            || error.StartsWith("the cluster's catalog could not be read: ", StringComparison.Ordinal), error);

        // All three at once: one server alone has no JetStream quorum, so waiting for each in turn would wait for ever.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(nats.RestartAsync));

        (_, health) = await UntilAsync(http, nodes.Endpoint(0), HttpStatusCode.OK);
        Assert.Equal("serving", health.GetProperty("status").GetString());
        Assert.False(health.TryGetProperty("error", out _));
        Assert.Equal(2, health.GetProperty("collections").GetInt32());
        Assert.Equal(2, health.GetProperty("databases").GetInt32());
    });

    /// <summary><c>GET /metrics</c> on a node: every process and garbage-collector family the standalone server's
    /// <c>/metrics</c> writes (the same <c>ProcessMetrics</c>), read from the node's own process: it runs with the
    /// conserve-memory level its runtime configuration sets (the test process, whose standalone server answers beside it,
    /// runs without one), and the heap it reports is the sum of its generations (one snapshot of the last collection).</summary>
    [NatsFact]
    public Task Metrics_TheStandalonesProcessFamilies_FromTheNodesOwnProcess_WhichConservesMemory() => BesideAStandaloneAsync(async (_, nodes, oracle, http) =>
    {
        var standalone = await MetricsAsync(http, $"http://127.0.0.1:{oracle.Port}/metrics");
        var node = await MetricsAsync(http, $"http://{nodes.Endpoint(0)}/metrics");

        string[] processFamilies = ["quiver_process_", "quiver_memory_", "quiver_gc_", "quiver_uptime_"];
        var expected = standalone.Keys.Select(Family).Where(f => processFamilies.Any(f.StartsWith)).ToHashSet();
        Assert.Contains("quiver_gc_generation_bytes", expected);
        Assert.Equal(expected.Order(), node.Keys.Select(Family).ToHashSet().Order());
        Assert.Equal(expected.Count, node.Keys.Select(Family).Distinct().Count());

        // An environment's DOTNET_GCConserveMemory (hexadecimal) would override both processes' settings.
        var inherited = Environment.GetEnvironmentVariable("DOTNET_GCConserveMemory") is { } set ? Convert.ToInt64(set, 16) : (long?)null;
        Assert.Equal(inherited ?? 0, standalone["quiver_gc_settings{setting=\"conserve_memory\"}"]);
        Assert.Equal(inherited ?? 7, node["quiver_gc_settings{setting=\"conserve_memory\"}"]);
        Assert.Equal(0, node["quiver_gc_settings{setting=\"server\"}"]);
        Assert.True(node["quiver_process_working_set_bytes"] > 0, "the node reports no working set");
        var generations = node.Where(s => s.Key.StartsWith("quiver_gc_generation_bytes{", StringComparison.Ordinal)).ToList();
        Assert.Equal(["0", "1", "2", "loh", "poh"], generations.Select(g => g.Key.Split('"')[1]));
        if (node["quiver_gc_last_collection_generation"] >= 0)
        {
            Assert.Equal(node["quiver_gc_heap_bytes"], generations.Sum(g => g.Value));
        }

        static string Family(string sample) => sample.Split('{')[0];
    });

    /// <summary><c>quiver node</c>, the CLI's command, which runs the node in the CLI's process (whose runtime
    /// configuration is the standalone server's), runs with the node program's <c>System.GC.ConserveMemory</c> 7
    /// (<see cref="NodeGcSetting"/>), in the process it was started as: it restarts itself in place, so the PID a script
    /// holds is the node's.</summary>
    [Fact]
    public async Task QuiverNode_FromTheCli_ConservesMemoryAsTheNodeProgram_InTheProcessItWasStartedAs()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 1, program: "quiver.dll");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var node = await MetricsAsync(http, $"http://{nodes.Endpoint(0)}/metrics");

        var inherited = Environment.GetEnvironmentVariable(NodeGcSetting.Variable) is { } set ? Convert.ToInt64(set, 16) : (long?)null;
        Assert.Equal(inherited ?? NodeGcSetting.Level, node["quiver_gc_settings{setting=\"conserve_memory\"}"]);
        var ready = nodes.Output(0).Split('\n').Single(l => l.StartsWith("quiver node ready:", StringComparison.Ordinal));
        Assert.EndsWith($", pid {nodes.ProcessId(0)}", ready, StringComparison.Ordinal);
    }

    /// <summary>Runs <paramref name="body"/> with 3 NATS servers, one node over them, a standalone server (the oracle) and
    /// an HTTP client.</summary>
    private static async Task BesideAStandaloneAsync(Func<NatsCluster, QuiverNodes, QuiverServer, HttpClient, Task> body)
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 1);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        await body(nats, nodes, oracle, http);
    }

    /// <summary>The samples of a Prometheus text answer, by name with labels.</summary>
    private static async Task<Dictionary<string, double>> MetricsAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>Asks <c>/healthz</c> until it answers <paramref name="wanted"/> (each answer is a condition the node
    /// reaches by itself), within <see cref="ConditionTimeout"/>.</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Json)> UntilAsync(HttpClient http, string endpoint, HttpStatusCode wanted)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var (status, json) = await GetAsync(http, $"http://{endpoint}/healthz");
            if (status == wanted)
            {
                return (status, json);
            }

            Assert.True(deadline.Elapsed < ConditionTimeout, $"/healthz still answers {status}: {json}");
            await Task.Delay(200);
        }
    }
}
