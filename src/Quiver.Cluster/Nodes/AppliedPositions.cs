using System.Text.Json;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>How far a shard's engine or a replica's follower has applied its logs, as it last recorded it in KV for
/// <c>status</c> (<see cref="ClusterStatus"/>): <paramref name="Logs"/> maps each log stream's name to the last sequence
/// applied from it, <paramref name="Silo"/> is the node that recorded it, <paramref name="At"/> when (UTC).</summary>
internal sealed record AppliedRecord(Dictionary<string, long> Logs, string Silo, DateTime At);

/// <summary>Records an <see cref="AppliedRecord"/> under one key, rarely: at most once per <see cref="Interval"/>, and only
/// when a position changed since the last record (an idle shard or a caught-up replica writes nothing). A shard records
/// under <c>applied.{shard key}</c> in the placement bucket, a replica under <c>a.{shard key}.{index}</c> in the replicas
/// bucket (<see cref="ReplicaRecords.AppliedKey"/>). Nothing decides by these records: a report may be up to
/// <see cref="Interval"/> (and a failed write) old.</summary>
internal sealed class AppliedPositions(Func<CancellationToken, Task<INatsKVStore>> store, string key, string silo, Func<Dictionary<string, long>> read)
{
    /// <summary>The least time between two records of one shard or replica.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _turn = new(1, 1);
    private string _recorded = "";
    private long _recordedAt;
    private bool _stopped;

    /// <summary>The silo endpoint (<c>host:port</c>) of <paramref name="node"/>, as the membership table names it.</summary>
    public static string SiloOf(NodeContext node) => $"{node.Config.Host}:{node.Config.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The key of shard <paramref name="shardKey"/>'s record in the placement bucket.</summary>
    public static string ShardKey(string shardKey) => $"applied.{shardKey}";

    /// <summary>Records the positions now if <see cref="Interval"/> has passed since the last record and one changed.</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        if (_recordedAt != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(_recordedAt) < Interval)
        {
            return;
        }

        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var logs = read();
            var text = string.Join(',', logs.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
            if (_stopped || text == _recorded)
            {
                return;
            }

            var value = JsonSerializer.SerializeToUtf8Bytes(new AppliedRecord(logs, silo, DateTime.UtcNow));
            var bucket = await store(ct).ConfigureAwait(false);
            await bucket.PutAsync(key, value, cancellationToken: ct).ConfigureAwait(false);
            _recorded = text;
            _recordedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Records nothing more; returns once a record under way has been written (so that a key deleted after
    /// this is not written again).</summary>
    public async Task StopAsync()
    {
        await _turn.WaitAsync().ConfigureAwait(false);
        _stopped = true;
        _turn.Release();
    }

    /// <summary>Runs <see cref="TickAsync"/> every second until <paramref name="ct"/> is cancelled; a write that fails is
    /// tried again at the next tick.</summary>
    public async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            try
            {
                await TickAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // NATS did not answer: a status report only, tried again next second.
            }
        }
    }
}
