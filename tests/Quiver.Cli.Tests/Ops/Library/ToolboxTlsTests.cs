using System.Text.Json;
using Quiver.Cli.Tests.Ops.Import;
using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Backup;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary>A toolbox call that reaches a server over HTTP as well as gRPC (a backup reads each collection's aliases,
/// properties and load state through REST) against a server with TLS whose certificate only a given CA vouches for and
/// that requires client certificates: the HTTP client honours the target's TLS options as the gRPC client does. Oracle:
/// the rows the folder held before the server opened it, equal to the rows restored from the backup.</summary>
public sealed class ToolboxTlsTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-toolbox-tls");

    public void Dispose() => _dir.Dispose();

    private static string Canonical(IEnumerable<Row> rows) =>
        string.Join("\n", rows.Select(r => JsonSerializer.Serialize(new SortedDictionary<string, object?>(r, StringComparer.Ordinal))));

    [Fact]
    public async Task Backup_OfAMutualTlsServer_ByServerTargetAndByOpenClient_HonoursTheTlsOptions()
    {
        var source = _dir.Sub("src");
        await ImpExp.SeedAsync(source, "items", ImpExp.Small(), [.. Enumerable.Range(1, 40).Select(i => new Row
        {
            ["id"] = (long)i, ["name"] = $"n{i}", ["score"] = i * 10L, ["v"] = new[] { i, 0.5f, -1f, 0.25f },
        })]);
        var expected = Canonical(await ImpExp.RowsAsync(source, "items"));

        using var pki = new TestPki();
        using var clientCertificate = pki.Client();
        var (cert, key, ca) = pki.WriteServer(_dir.Path);
        await using var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = source,
            Port = 0,
            Security = { TlsCertificatePath = cert, TlsKeyPath = key, ClientCaPath = ca, RequireClientCertificate = true },
        });
        var address = $"https://127.0.0.1:{server.Port}";

        var byServer = TargetSpec.Server(address) with { ServerCertificateAuthority = pki.Ca, ClientCertificate = clientCertificate };
        var first = await QuiverToolbox.BackupAsync(new BackupOptions(byServer, _dir.Sub("by-server")));
        Assert.Equal(40L, first.Rows);

        await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions
        {
            Address = address, ServerCertificateAuthority = pki.Ca, ClientCertificate = clientCertificate,
        });
        var second = await QuiverToolbox.BackupAsync(new BackupOptions(TargetSpec.Client(client), _dir.Sub("by-client")));
        Assert.Equal(40L, second.Rows);

        foreach (var backup in new[] { "by-server", "by-client" })
        {
            var restoredInto = _dir.Sub("restored-" + backup);
            await QuiverToolbox.RestoreAsync(new RestoreOptions(TargetSpec.Folder(restoredInto), _dir.Sub(backup)));
            Assert.Equal(expected, Canonical(await ImpExp.RowsAsync(restoredInto, "items")));
        }
    }
}
