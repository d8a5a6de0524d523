using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Quiver.Protocol.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;

namespace Quiver.Server.Tests.Ops;

/// <summary><c>quiver serve</c> as a real process: settings from its sources, the ready line, the JSON request log,
/// and a graceful SIGTERM.</summary>
public sealed class ServeProcessTests
{
    [Fact]
    public async Task Serve_SigTerm_ExitsZeroAndDataIsIntactOnRestart()
    {
        using var folder = new TempFolder();
        var data = Path.Combine(folder.Path, "data");
        await using (var engine = await QuiverEngine.OpenAsync(data))
        {
            await engine.CreateCollectionAsync("docs", ObservabilityTests.Schema(4));
            await engine.InsertAsync("docs", ObservabilityTests.Rows(0, 100, 4));
        }

        await using (var serve = await ServeProcess.StartAsync(data))
        {
            var (channel, client) = serve.Connect();
            using (channel)
            {
                Assert.True((await client.CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
            }
            using var http = serve.Http();
            var metrics = await MetricsScrape.GetAsync(http);
            Assert.Equal(100, metrics.Value("quiver_collection_rows{database=\"default\",collection=\"docs\"}"));

            var exit = await serve.TerminateAsync(TimeSpan.FromSeconds(60));
            Assert.True(exit == 0, $"exit code {exit}\n{serve.Transcript()}");
        }

        // The folder lock is released and the WAL closed cleanly: no torn tail to repair, every row there.
        await using (var engine = await QuiverEngine.OpenAsync(data))
        {
            Assert.Empty(engine.RecoveryNotes);
            var info = await engine.DescribeCollectionAsync("docs");
            Assert.Equal(100, info.RowCount);
            var rows = await engine.GetAsync("docs", Enumerable.Range(0, 100).Select(i => (object)(long)i).ToList());
            Assert.Equal(100, rows.Count);
        }
    }

    [Fact]
    public async Task Serve_SettingsFromFileEnvironmentAndCommandLine_LogsCallsAsJsonWithRequestIds()
    {
        using var folder = new TempFolder();
        var config = Path.Combine(folder.Path, "quiver.json");
        // The file picks a port that cannot be bound and Text logs; the environment overrides the log format and
        // level; the command line's --port 0 overrides the file's port. Serving at all proves the precedence.
        File.WriteAllText(config, $$"""{ "data": "{{Path.Combine(folder.Path, "from-file")}}", "port": 1, "logFormat": "Text", "logLevel": "Warning" }""");
        var environment = new Dictionary<string, string>
        {
            ["QUIVER_CONFIG"] = config,
            ["QUIVER_LOGFORMAT"] = "Json",
            ["QUIVER_LOGLEVEL"] = "Debug",
        };
        await using var serve = await ServeProcess.StartAsync(dataPath: null, environment: environment);
        Assert.Contains(serve.Output, line => line.Contains(Path.Combine(folder.Path, "from-file"), StringComparison.Ordinal));

        var (channel, client) = serve.Connect();
        using (channel)
        {
            await client.GetVersionAsync(new GetVersionRequest());
        }
        using var http = serve.Http();
        using (var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.Equal(0, await serve.TerminateAsync(TimeSpan.FromSeconds(60)));
        var logs = serve.Output.Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.NotEmpty(logs);
        // Other categories log an event 1 too at Debug (gRPC's binder: "Could not find bind method for
        // MilvusGrpcEndpoint", which MilvusGrpcMethods binds): the call log's event is the one naming the method.
        var call = logs.Single(l => l.GetProperty("EventId").GetInt32() == 1
            && l.TryGetProperty("State", out var state) && state.TryGetProperty("Method", out var method)
            && method.GetString() == "GetVersion");
        Assert.Equal("Debug", call.GetProperty("LogLevel").GetString());
        Assert.Matches("^[0-9a-f]{16}$", call.GetProperty("State").GetProperty("RequestId").GetString());
        Assert.Equal("grpc", call.GetProperty("State").GetProperty("Transport").GetString());
        Assert.DoesNotContain(serve.Output, line => line.Contains("HTTP/2 is not enabled", StringComparison.Ordinal));
    }

    /// <summary>A start-up failure as an operator should see it: the exit code, one line on stderr naming the cause,
    /// no stack trace anywhere.</summary>
    private static string AssertCleanFailure(ServeExit exit, int code, params string[] mentions)
    {
        Assert.True(exit.ExitCode == code, exit.Transcript);
        var line = Assert.Single(exit.Stderr, l => l.Length > 0);
        Assert.StartsWith("quiver serve: ", line, StringComparison.Ordinal);
        foreach (var mention in mentions)
        {
            Assert.True(line.Contains(mention, StringComparison.Ordinal), $"'{mention}' missing in: {line}");
        }
        Assert.DoesNotContain(exit.Stdout.Concat(exit.Stderr), l => l.Contains("   at ", StringComparison.Ordinal));
        return line;
    }

    [Fact]
    public async Task Serve_FolderInUse_ExitsOneSayingSo()
    {
        using var folder = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(folder.Path);
        AssertCleanFailure(await ServeProcess.RunToExitAsync(folder.Path), 1, "in use", "--data");
    }

    [Fact]
    public async Task Serve_PortInUse_ExitsOne_OneLineNamingThePort()
    {
        using var folder = new TempFolder();
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var exit = await ServeProcess.RunToExitAsync(folder.Path, ["--port", port], defaultPort: false);
        AssertCleanFailure(exit, 1, $"127.0.0.1:{port}", "in use", "--port");
    }

    [Fact]
    public async Task Serve_NonLoopbackHostWithoutAuth_ExitsTwo_OneLine()
    {
        // Refused before anything binds: nothing listens beyond loopback.
        using var folder = new TempFolder();
        var exit = await ServeProcess.RunToExitAsync(folder.Path, ["--host", "0.0.0.0"]);
        AssertCleanFailure(exit, 2, "0.0.0.0", "authentication is off", "--insecure");
    }

    [Fact]
    public async Task Serve_AuthWithoutRootPassword_ExitsTwo_OneLine()
    {
        using var folder = new TempFolder();
        var exit = await ServeProcess.RunToExitAsync(folder.Path, ["--set", "Security:AuthEnabled=true"]);
        AssertCleanFailure(exit, 2, "root password", SecurityOptions.RootPasswordVariable);
    }

    [Fact]
    public async Task Serve_WeakTlsCertificate_ExitsTwo_OneLineNamingTheProblem()
    {
        using var folder = new TempFolder();
        using var rsa = System.Security.Cryptography.RSA.Create(1024);
        var (cert, key) = Security.TlsTests.WriteSelfSigned(folder.Path, rsa);
        var exit = await ServeProcess.RunToExitAsync(folder.Sub("data"),
            ["--set", $"Security:TlsCertificatePath={cert}", "--set", $"Security:TlsKeyPath={key}"]);
        AssertCleanFailure(exit, 2, cert, "1024-bit RSA key", "2048");
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Serve_UnreadableDataFolder_ExitsOne_OneLineNamingTheFolder()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("data");
        Directory.CreateDirectory(data);
        ServeExit exit;
        File.SetUnixFileMode(data, UnixFileMode.None);
        try
        {
            // Root reads every folder through its capabilities: as root the server runs without the two that override
            // file permissions, and stays the owner of the checkout, wherever it is (a private temp folder included).
            exit = await ServeProcess.RunToExitAsync(data, withoutPermissionOverride: Environment.IsPrivilegedProcess);
        }
        finally
        {
            File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        AssertCleanFailure(exit, 1, data, "--data");
    }

    [Fact]
    public async Task Serve_BadSetting_ExitsTwo_NamingIt()
    {
        using var folder = new TempFolder();
        var exit = await ServeProcess.RunToExitAsync(folder.Path, ["--set", "Engine:Durability=Sometimes"]);
        AssertCleanFailure(exit, 2, "Durability", "Sometimes");
    }
}
