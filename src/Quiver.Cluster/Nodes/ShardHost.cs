using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using NATS.Client.KeyValueStore;
using Quiver.Server.Hosting;

namespace Quiver.Cluster.Nodes;

/// <summary>What a shard grain runs: the shard's engine opened over JetStream (the manifest from KV, sealed segments and
/// indexes from the object store, the rows written since the last checkpoint replayed from the log:
/// <see cref="JetStreamStorage"/>) in a fresh cache folder, served as a Quiver server in the node's process (no listener: <see cref="ShardServer"/>) that only the
/// grain talks to, so every Milvus call means exactly what it means to the standalone server.</summary>
internal sealed class ShardHost : IAsyncDisposable
{
    /// <summary>The key, in the shard's meta bucket, of the server's load state (which collections are loaded), which
    /// the server keeps in a file of the data folder: a shard that moves must stay loaded, as a Milvus collection does.</summary>
    internal const string LoadStateKey = "load-state";

    /// <summary>The server's load-state file in its data folder (Quiver.Server's <c>LoadStates.FileName</c>).</summary>
    private const string LoadStateFile = "server-load-state.json";

    private readonly QuiverServer _server;
    private readonly GrpcChannel _channel;
    private readonly HttpClient _http;
    private readonly INatsKVStore _meta;
    private readonly string _folder;

    /// <summary>The shard's logs as its engine opened them (one per collection it holds), for <see cref="_positions"/>.</summary>
    private readonly List<Quiver.Storage.IWal> _logs;

    /// <summary>Records how far the engine has applied its logs, for <c>status</c> (<see cref="AppliedPositions"/>).</summary>
    private readonly AppliedPositions _positions;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _recording;

    /// <summary>The load state as saved in KV last (or restored from it at open): a load or release that leaves it as it
    /// was writes nothing, so the replicas, which watch the key, see no change.</summary>
    private byte[] _savedLoadState = [];

    /// <summary>One save of the load state at a time (<see cref="SaveLoadStateAsync"/>).</summary>
    private readonly SemaphoreSlim _savingLoadState = new(1, 1);

    private ShardHost(NodeContext node, string key, QuiverServer server, INatsKVStore meta, string folder, List<Quiver.Storage.IWal> logs)
    {
        _server = server;
        _meta = meta;
        _folder = folder;
        _logs = logs;
        _positions = new AppliedPositions(_ => Task.FromResult(node.Placement), AppliedPositions.ShardKey(key), AppliedPositions.SiloOf(node), Positions);
        _recording = Task.Run(() => _positions.LoopAsync(_stop.Token));
        // In-process: no loopback port (ShardServer); the access layer's own deadline (ShardCalls) bounds a call.
        (_channel, _http) = ShardServer.Clients(server);
    }

    /// <summary>Opens the shard with grain key <paramref name="key"/> on this node; <paramref name="timezone"/> is its
    /// database's zone (null: none set), which the engine's database takes so that a collection created in it copies it.</summary>
    public static async Task<ShardHost> OpenAsync(NodeContext node, string key, string? timezone, CancellationToken ct)
    {
        var name = ShardKeys.Storage(node.Config.Cluster, key);
        var folder = Path.Combine(Path.GetFullPath(node.Config.DataPath), "shards", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var engine = await JetStreamStorage.ConfigureAsync(node.JetStream, name, folder, replicas: node.Config.Replicas, ct: ct).ConfigureAwait(false);
            var meta = await node.KeyValue.GetStoreAsync($"{name}-meta", ct).ConfigureAwait(false);
            await RestoreLoadStateAsync(meta, folder, ct).ConfigureAwait(false);
            var logs = new List<Quiver.Storage.IWal>();
            var open = engine.WalFactory!;
            engine = engine with
            {
                SharedBm25Statistics = true,
                // Index builds of sealed segments are jobs any node takes (docs/cluster.md, "Index builds as work").
                IndexBuildsElsewhere = node.Work?.For(name, folder, engine.FileSystem!),
                // So are the merges of compaction (docs/cluster.md, "Compaction as work"); the shard keeps the delete rules.
                MergesElsewhere = node.Work?.MergeFor(name, folder, engine.FileSystem!),
                WalFactory = collectionId =>
                {
                    var log = open(collectionId);
                    lock (logs)
                    {
                        logs.Add(log);
                    }

                    return log;
                },
            };
            var server = await QuiverServer.StartAsync(NodeSecurity.ShardOptions(node.Config, folder, engine), cancellationToken: ct).ConfigureAwait(false);
            var host = new ShardHost(node, key, server, meta, folder, logs);
            var restored = Path.Combine(folder, LoadStateFile);
            host._savedLoadState = File.Exists(restored) ? await File.ReadAllBytesAsync(restored, ct).ConfigureAwait(false) : [];
            var database = key[..key.IndexOf('/', StringComparison.Ordinal)];
            if (database != "default")
            {
                // The shard's engine holds its collection in the database the cluster's catalog names (the catalog shard of
                // the default database keeps the list of databases); "already exists" after a move is the expected answer.
                await host.CallAsync("CreateDatabase", new Protocol.Milvus.CreateDatabaseRequest { DbName = database }.ToByteArray(), "default").ConfigureAwait(false);
            }

            if (timezone is not null)
            {
                var alter = new Protocol.Milvus.AlterDatabaseRequest { DbName = database };
                alter.Properties.Add(new Protocol.Common.KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
                await host.CallAsync("AlterDatabase", alter.ToByteArray(), "default").ConfigureAwait(false);
            }

            return host;
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>Runs one unary Milvus call on the shard's server.</summary>
    public async Task<MilvusReply> CallAsync(string method, byte[] request, string database)
    {
        if (method == ShardBm25.Method)
        {
            return ShardBm25.Answer(_server, request, database);
        }

        var call = new Method<byte[], byte[]>(MethodType.Unary, MilvusRouting.ServiceName, method, MilvusRouting.Bytes, MilvusRouting.Bytes);
        var headers = new Metadata { { "dbname", database } };
        try
        {
            var response = await _channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(headers), request).ConfigureAwait(false);
            if (method is "LoadCollection" or "ReleaseCollection" or "LoadPartitions" or "ReleasePartitions" or "DropCollection")
            {
                await SaveLoadStateAsync().ConfigureAwait(false);
            }

            return new MilvusReply(0, "", response);
        }
        catch (RpcException ex)
        {
            return new MilvusReply((int)ex.StatusCode, ex.Status.Detail, []);
        }
    }

    /// <summary>Runs one REST v2 call (<paramref name="path"/> below <c>/v2/vectordb</c>) on the shard's server, with the
    /// caller's <c>Accept-Type-Allow-Int64</c> (<paramref name="allowInt64"/>); a write answers the engine's clock after
    /// it (<see cref="RestReply.WriteTimestamp"/>).</summary>
    public async Task<RestReply> RestAsync(string path, byte[] body, bool allowInt64)
    {
        var (status, answer) = await RestForward.PostAsync(_http, path, body, allowInt64).ConfigureAwait(false);
        // A create too: REST's quick create (a dimension, no schema) loads the collection, as Milvus's does, and a shard
        // that moves (its node stopped or died, the cluster restored from a backup) must come back loaded.
        if (path is "/collections/create" or "/collections/load" or "/collections/release" or "/partitions/load" or "/partitions/release" or "/collections/drop")
        {
            await SaveLoadStateAsync().ConfigureAwait(false);
        }

        // Read after the answer: the write's own timestamp is at or below it.
        var written = path is "/entities/insert" or "/entities/upsert" or "/entities/delete" ? _server.Engine.LastTimestamp : 0;
        return new RestReply(status, answer, written);
    }

    /// <summary>Stops the server (the engine checkpoints and closes) and removes the cache folder.</summary>
    public async ValueTask DisposeAsync()
    {
        await BackgroundLoop.StopAsync(_stop, _recording).ConfigureAwait(false);
        await _positions.StopAsync().ConfigureAwait(false);
        _channel.Dispose();
        _http.Dispose();
        await _server.DisposeAsync().ConfigureAwait(false);
        _savingLoadState.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>The last sequence the engine applied from each of its logs: the shard appends and then applies, so this is
    /// the last record it wrote or replayed.</summary>
    private Dictionary<string, long> Positions()
    {
        lock (_logs)
        {
            return _logs.OfType<JetStreamWal>().ToDictionary(l => l.StreamName, l => l.NextLsn - 1, StringComparer.Ordinal);
        }
    }

    /// <summary>Writes the shard's saved load state into <paramref name="folder"/> (a shard that moves, and its replicas,
    /// start with the collections loaded that the shard had loaded).</summary>
    internal static async Task RestoreLoadStateAsync(INatsKVStore meta, string folder, CancellationToken ct)
    {
        // Null when never loaded: the server starts with every collection released, as a new Milvus collection is.
        var state = await Retry.UntilAsync(TimeSpan.FromSeconds(30), c => KvLeaderReads.ValueAsync(meta, LoadStateKey, c), ct).ConfigureAwait(false);
        if (state is { Length: > 0 })
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, LoadStateFile), state, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Test seam, null in production: awaited at each step of a save of the load state, named <c>waiting</c>
    /// (another save holds the turn), <c>put</c> (about to write KV) and <c>saved</c> (written), so a test can hold one save
    /// back and let another overtake it.</summary>
    internal Func<string, Task>? LoadStateStep { get; set; }

    /// <summary>Copies the server's load-state file to KV. Loads and releases run concurrently (the shard grain is
    /// reentrant), so the reading of the file, the comparison and the write are one step under
    /// <see cref="_savingLoadState"/>: each save reads the file after the save before it wrote, and the last write is
    /// always the server's latest state. Without it a save that read an older state could write it after a save of a
    /// newer one, leaving KV (what a moved shard and every replica load) behind the server.</summary>
    internal async Task SaveLoadStateAsync()
    {
        if (!await _savingLoadState.WaitAsync(0).ConfigureAwait(false))
        {
            await StepAsync("waiting").ConfigureAwait(false);
            await _savingLoadState.WaitAsync().ConfigureAwait(false);
        }

        try
        {
            var path = Path.Combine(_folder, LoadStateFile);
            var state = File.Exists(path) ? await File.ReadAllBytesAsync(path).ConfigureAwait(false) : [];
            if (state.AsSpan().SequenceEqual(_savedLoadState))
            {
                return;
            }

            await StepAsync("put").ConfigureAwait(false);
            await Retry.UntilAsync(TimeSpan.FromSeconds(30), c => _meta.PutAsync(LoadStateKey, state, cancellationToken: c).AsTask(), CancellationToken.None).ConfigureAwait(false);
            _savedLoadState = state;
            await StepAsync("saved").ConfigureAwait(false);
        }
        finally
        {
            _savingLoadState.Release();
        }
    }

    private Task StepAsync(string step) => LoadStateStep?.Invoke(step) ?? Task.CompletedTask;
}
