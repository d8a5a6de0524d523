using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary><c>Quiver.Cluster apikey create|list|revoke --config FILE</c> (and <c>quiver node apikey ...</c>): the
/// cluster's API keys, as <c>quiver apikey</c> manages a standalone server's. The keys live in the cluster's security
/// state (<see cref="ClusterSecurity"/>), so they are changed while the nodes run: a new key is honoured by every node
/// from the moment it is stored (a node that does not know a credential reads the state again before refusing it), a
/// revoked one on each node when the state's watch delivers the change. Only the key's hash is stored.</summary>
internal static class NodeApiKeys
{
    /// <summary>The usage line.</summary>
    public const string Usage = "apikey create --config FILE --user USER [--name NAME] | apikey list --config FILE | apikey revoke --config FILE ID";

    /// <summary>Runs one command (<paramref name="args"/> after <c>apikey</c>); the exit code: 0 done, 1 refused
    /// (unknown user or key id), 2 a usage mistake.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var (verb, config, user, name, id) = Parse(args);
        if (verb is null || config is null || (verb == "create" && user is null) || (verb == "revoke" && id is null))
        {
            await error.WriteLineAsync("usage: " + Usage).ConfigureAwait(false);
            return 2;
        }

        var settings = NodeConfig.Load(config);
        await using var nats = new NatsConnection(new NatsOpts { Url = settings.Nats, Name = "quiver-apikey", RequestTimeout = TimeSpan.FromSeconds(5) });
        await nats.ConnectAsync().ConfigureAwait(false);
        await using var security = await ClusterSecurity.OpenAsync(new NatsKVContext(new NatsJSContext(nats)), settings, ct).ConfigureAwait(false);
        try
        {
            switch (verb)
            {
                case "create":
                    var (keyId, key) = await security.ChangeAsync(() => Task.FromResult(security.Store.CreateApiKey(user!, name)), ct).ConfigureAwait(false);
                    await output.WriteLineAsync($"id:  {keyId}").ConfigureAwait(false);
                    await output.WriteLineAsync($"key: {key}").ConfigureAwait(false);
                    await error.WriteLineAsync("quiver: store the key now; only its hash is kept").ConfigureAwait(false);
                    return 0;
                case "list":
                    await security.RefreshAsync(ct).ConfigureAwait(false);
                    foreach (var entry in security.Store.ApiKeys())
                    {
                        await output.WriteLineAsync($"{entry.Id}\t{entry.User}\t{entry.Created:u}\t{entry.Name}").ConfigureAwait(false);
                    }

                    return 0;
                default:
                    if (!await security.ChangeAsync(() => Task.FromResult(security.Store.RevokeApiKey(id!)), ct).ConfigureAwait(false))
                    {
                        await error.WriteLineAsync($"quiver: no API key has id '{id}'").ConfigureAwait(false);
                        return 1;
                    }

                    await output.WriteLineAsync("revoked").ConfigureAwait(false);
                    return 0;
            }
        }
        catch (MilvusException e)
        {
            await error.WriteLineAsync("quiver: " + e.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static (string? Verb, string? Config, string? User, string? Name, string? Id) Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is not ("create" or "list" or "revoke"))
        {
            return default;
        }

        string? config = null, user = null, name = null, id = null;
        for (var i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Count:
                    config = args[++i];
                    break;
                case "--user" when i + 1 < args.Count && args[0] == "create":
                    user = args[++i];
                    break;
                case "--name" when i + 1 < args.Count && args[0] == "create":
                    name = args[++i];
                    break;
                case var value when args[0] == "revoke" && id is null && !value.StartsWith("--", StringComparison.Ordinal):
                    id = value;
                    break;
                default:
                    return default;
            }
        }

        return (args[0], config, user, name, id);
    }
}
