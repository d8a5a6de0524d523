using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The keys allocator of auto_id collections on several shards (and of import job ids), <see cref="AutoIds"/>,
/// when NATS.Net's KV get is answered by a replica that has not applied the allocator's writes
/// (<see cref="ClusterImportJobsTests.LaggingReplica"/>; <see cref="KvStaleReadTests"/> shows such a replica). Oracle:
/// the blocks follow one another from the start value, none handed out twice.</summary>
[Collection("Nats")]
public sealed class AutoIdsTests(NatsFixture nats)
{
    /// <summary>A safety net for a loaded machine, never a measure: an allocator that reads a lagging replica's "not
    /// found" tries to create the key again and again for as long as the replica lags (here, for good).</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromMinutes(2);

    [NatsFact]
    public async Task Reservations_WhileTheReplicaAGetReachesHoldsNoneOfThem_EachTakeTheNextBlock()
    {
        var storage = NatsFixture.Unique("ids");
        async Task<INatsKVStore> OpenAsync(string name, CancellationToken ct) =>
            ClusterImportJobsTests.LaggingReplica.Lagging(await AutoIds.OpenAsync(nats.KeyValue, name, 3, ct));
        var node = new AutoIds(nats.KeyValue, 3, start: 1, open: OpenAsync);
        var other = new AutoIds(nats.KeyValue, 3, start: 1, open: OpenAsync);
        using var safety = new CancellationTokenSource(Safety);

        // Each take uses up a whole block, so each reserves anew: the first creates the key, the others update it.
        var first = await node.TakeAsync(storage, AutoIds.Block, safety.Token);
        var second = await node.TakeAsync(storage, AutoIds.Block, safety.Token);
        var third = await other.TakeAsync(storage, 5, safety.Token);
        var fourth = await node.TakeAsync(storage, 5, safety.Token);

        Assert.Equal((1L, 1L + AutoIds.Block, 1L + 2 * AutoIds.Block, 1L + 3 * AutoIds.Block), (first, second, third, fourth));
    }

    /// <summary>Reservers racing as on nats-server 2.9.10: in each round every reserver drops its block (so each
    /// reserves anew) and takes 1, 2 or 3 blocks' worth of keys; each reserver's first write of the round is held until
    /// every reserver's has arrived, then they are stored one after another in a seeded order. Each held write is
    /// either pre-checked (its expected revision compared when it arrived, then stored whatever landed before it, as
    /// 2.9.10 does: issue 4320) or checked when stored (as 2.9.21 does). Oracle: no key is handed out twice, over every
    /// round. The allocator before landed values failed this: a stored stale update carrying a smaller block set the
    /// key back below a block already kept.</summary>
    [NatsFact]
    public async Task RacingReservations_WithStaleUpdatesStored_NeverHandOutAKeyTwice()
    {
        const int Reservers = 4;
        const int Rounds = 24;
        var storage = NatsFixture.Unique("race");
        var race = new Race(Reservers, new Random(17));
        var nodes = Enumerable.Range(0, Reservers).Select(i => new AutoIds(nats.KeyValue, 3, start: 1, open: async (name, ct) =>
            RacingWrites.Over(await AutoIds.OpenAsync(nats.KeyValue, name, 3, ct), race, i))).ToArray();
        var sizes = new Random(37);
        var taken = new List<(long First, long End, int Round, int Reserver)>();
        using var safety = new CancellationTokenSource(Safety);

        for (var round = 0; round < Rounds; round++)
        {
            race.Begin();
            var counts = nodes.Select(_ => AutoIds.Block * sizes.Next(1, 4)).ToArray();
            var firsts = await Task.WhenAll(nodes.Select((node, i) =>
            {
                node.Forget(storage);
                return node.TakeAsync(storage, counts[i], safety.Token);
            }));
            taken.AddRange(firsts.Select((first, i) => (first, first + counts[i], round, i)));
        }

        var sorted = taken.OrderBy(t => t.First).ToList();
        for (var i = 1; i < sorted.Count; i++)
        {
            Assert.True(sorted[i - 1].End <= sorted[i].First,
                $"keys [{sorted[i - 1].First}, {sorted[i - 1].End}) (round {sorted[i - 1].Round}, reserver {sorted[i - 1].Reserver}) and [{sorted[i].First}, {sorted[i].End}) (round {sorted[i].Round}, reserver {sorted[i].Reserver}) overlap");
        }

        Assert.True(race.PreChecked > 0 && race.CheckedWhenStored > 0, $"pre-checked {race.PreChecked}, checked when stored {race.CheckedWhenStored}");
    }

    /// <summary>An allocator started on a collection whose keys the plain-key allocator of earlier versions handed out
    /// goes on above them. Oracle: the legacy key's value.</summary>
    [NatsFact]
    public async Task AFreshAllocator_OverALegacyOne_StartsAtTheLegacyNextKey()
    {
        var storage = NatsFixture.Unique("legacy");
        var legacy = await KvBuckets.OpenAsync(nats.KeyValue, AutoIds.LegacyBucket(storage), 3, TimeSpan.FromSeconds(30), CancellationToken.None);
        await legacy.CreateAsync("next", System.Text.Encoding.ASCII.GetBytes("123457"));
        using var safety = new CancellationTokenSource(Safety);

        var first = await new AutoIds(nats.KeyValue, 3, start: 1).TakeAsync(storage, 3, safety.Token);
        var second = await new AutoIds(nats.KeyValue, 3, start: 1).TakeAsync(storage, 3, safety.Token);

        Assert.Equal((123457L, 123457L + AutoIds.Block), (first, second));
    }

    /// <summary>One round's racing writes (see the test above).</summary>
    internal sealed class Race(int reservers, Random random)
    {
        private readonly Lock _gate = new();
        private readonly HashSet<int> _arrived = [];
        private readonly List<Func<Task>> _held = [];
        private int _preChecked;
        private int _checkedWhenStored;

        public int PreChecked => Volatile.Read(ref _preChecked);

        public int CheckedWhenStored => Volatile.Read(ref _checkedWhenStored);

        public void Begin()
        {
            lock (_gate)
            {
                _arrived.Clear();
            }
        }

        /// <summary>Stores <paramref name="key"/> = <paramref name="value"/> if the key is at <paramref name="expected"/>
        /// (null: any revision; a create expects 0), as the racing server would; answers the revision stored at.</summary>
        public async ValueTask<ulong> WriteAsync(INatsKVStore inner, int reserver, string key, byte[] value, ulong? expected, bool create = false)
        {
            bool first;
            lock (_gate)
            {
                first = _arrived.Add(reserver);
            }

            if (!first)
            {
                return await StoreAsync(inner, key, value, expected, create);
            }

            // The pre-check of 2.9.10: against the key as it stands now, before the other held writes are stored.
            var head = (await KvLeaderReads.GetAsync(inner, key)).Revision;
            var done = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
            List<Func<Task>>? release = null;
            lock (_gate)
            {
                var preCheck = random.Next(3) != 0;
                Interlocked.Increment(ref preCheck ? ref _preChecked : ref _checkedWhenStored);
                _held.Add(async () =>
                {
                    try
                    {
                        if (!preCheck || expected is null)
                        {
                            done.SetResult(await StoreAsync(inner, key, value, expected, create));
                        }
                        else if (expected == head)
                        {
                            done.SetResult(await inner.PutAsync(key, value));
                        }
                        else
                        {
                            done.SetException((Exception)Activator.CreateInstance(create ? typeof(NatsKVCreateException) : typeof(NatsKVWrongLastRevisionException), nonPublic: true)!);
                        }
                    }
                    catch (Exception e)
                    {
                        done.TrySetException(e);
                    }
                });
                if (_held.Count == reservers)
                {
                    release = [.. _held.OrderBy(_ => random.Next())];
                    _held.Clear();
                }
            }

            if (release is not null)
            {
                foreach (var write in release)
                {
                    await write();
                }
            }

            return await done.Task;
        }

        private static async ValueTask<ulong> StoreAsync(INatsKVStore inner, string key, byte[] value, ulong? expected, bool create) =>
            create ? await inner.CreateAsync(key, value) : expected is { } revision ? await inner.UpdateAsync(key, value, revision) : await inner.PutAsync(key, value);
    }

    /// <summary>A KV store whose creates, updates and puts go through a <see cref="Race"/>.</summary>
    public static class RacingWrites
    {
        internal static INatsKVStore Over(INatsKVStore inner, Race race, int reserver) => HookedStore.Over(inner, (store, method, args) => method.Name switch
        {
            nameof(INatsKVStore.UpdateAsync) => race.WriteAsync(store, reserver, (string)args[0]!, (byte[])args[1]!, (ulong)args[2]!),
            nameof(INatsKVStore.CreateAsync) => race.WriteAsync(store, reserver, (string)args[0]!, (byte[])args[1]!, 0, create: true),
            nameof(INatsKVStore.PutAsync) => race.WriteAsync(store, reserver, (string)args[0]!, (byte[])args[1]!, null),
            _ => null,
        });
    }
}
