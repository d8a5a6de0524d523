using System.Text;
using System.Text.Json.Nodes;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>The shard's saved load state (<see cref="ShardHost.SaveLoadStateAsync"/>), which a shard that moves and every
/// replica open with. A load and a release run concurrently on a shard (its grain is reentrant); the oracle is the
/// shard's own server: after both, KV holds exactly the server's load-state file, and a shard opened again over the same
/// storage (a moved shard) reports the collection as the server last had it.</summary>
[Collection("Nats")]
public sealed class ShardLoadStateTests(NatsFixture nats)
{
    private const string Key = "default/items";

    /// <summary>A load's save is held back just before it writes KV, and a release runs meanwhile. Before the fix the
    /// release's save wrote "released", then the held save wrote "loaded" over it: KV said loaded while the server had
    /// released the collection, and the shard reopened loaded.</summary>
    [NatsFact]
    public async Task ALoadSaveOvertakenByARelease_LeavesTheReleaseInKv_AndAMovedShardReleased()
    {
        using var data = new TempFolder("quiver-load-state");
        var node = ShardRest.Node("ls", data.Path, nats.JetStream);
        var shard = await ShardHost.OpenAsync(node, Key, null, CancellationToken.None);
        var meta = await node.KeyValue.GetStoreAsync($"{ShardKeys.Storage(node.Config.Cluster, Key)}-meta");
        try
        {
            await RestAsync(shard, "/collections/create", ShardRest.Create("items"));
            await RestAsync(shard, "/collections/release", new JsonObject { ["collectionName"] = "items" });

            var loadAtPut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var releaseStepped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var puts = 0;
            shard.LoadStateStep = async step =>
            {
                if (step == "put" && Interlocked.Increment(ref puts) == 1)
                {
                    // The load's save: held until the release has either saved (no turn taking) or waits for its turn.
                    loadAtPut.TrySetResult();
                    await goOn.Task;
                    return;
                }

                if (loadAtPut.Task.IsCompleted && !goOn.Task.IsCompleted && step is "waiting" or "saved")
                {
                    releaseStepped.TrySetResult();
                }
            };

            var load = RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
            await loadAtPut.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var release = RestAsync(shard, "/collections/release", new JsonObject { ["collectionName"] = "items" });
            // The release either stepped in its save (saved, or waits for the load's) or found nothing to write.
            await Task.WhenAny(releaseStepped.Task, release).WaitAsync(TimeSpan.FromMinutes(2));
            goOn.TrySetResult();
            await Task.WhenAll(load, release).WaitAsync(TimeSpan.FromMinutes(2));

            Assert.Equal("LoadStateNotLoad", await LoadStateAsync(shard));
            var file = Path.Combine(data.Path, "shards");
            var serverState = Directory.GetFiles(file, "server-load-state.json", SearchOption.AllDirectories) is [var only] ? await File.ReadAllBytesAsync(only) : [];
            var saved = await meta.GetEntryAsync<byte[]>(ShardHost.LoadStateKey);
            Assert.Equal(Encoding.UTF8.GetString(serverState), Encoding.UTF8.GetString(saved.Value ?? []));
        }
        finally
        {
            await shard.DisposeAsync();
        }

        // The shard moves: it opens with the load state saved in KV, which must be the release.
        await using var moved = await ShardHost.OpenAsync(node, Key, null, CancellationToken.None);
        Assert.Equal("LoadStateNotLoad", await LoadStateAsync(moved));
    }

    private static async Task<string> LoadStateAsync(ShardHost shard)
    {
        var answer = await RestAsync(shard, "/collections/get_load_state", new JsonObject { ["collectionName"] = "items" });
        return answer["data"]!["loadState"]!.GetValue<string>();
    }

    private static Task<JsonNode> RestAsync(ShardHost shard, string path, JsonObject body) => ShardRest.CallAsync(shard, path, body);
}
