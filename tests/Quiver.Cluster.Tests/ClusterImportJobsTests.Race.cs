using System.Collections.Concurrent;
using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;
using Quiver.Server.Import;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Two nodes taking one import job over at once on nats-server 2.9.10, whose compare-and-set checks the
/// expected revision before the replicated write (nats-server issue 4320), so that two writes made against one revision
/// can both be stored (<see cref="HeldWrites"/> holds each record write after that check and stores it when the test
/// says, in the order the test chooses).</summary>
public sealed partial class ClusterImportJobsTests
{
    /// <summary>The job of a node that stalled after its first batch (and that nodes A and B count as gone) is read by
    /// A and B at once. Both takeovers pass the server's pre-check; A's is stored first, then A marks the job importing
    /// (passing the pre-check too), then B's takeover is stored, then (if B was told it took the job) B's mark, then A's.
    /// Oracle: only A runs the job (the stand-in records each run), B's read answers A's record, and the job ends
    /// Completed with every row once. With plain compare-and-set records (before landed values) both nodes were told
    /// they took the job, and both ran it.</summary>
    [NatsFact]
    public async Task TwoNodesTakingAJobOverAtOnce_WithBothWritesStored_OneRunsIt()
    {
        using var dataDead = new TempFolder("quiver-import-jobs");
        using var dataA = new TempFolder("quiver-import-jobs");
        using var dataB = new TempFolder("quiver-import-jobs");
        var name = NatsFixture.Unique("imports");
        // The revisions a reader walks back through when a value did not land (as a node opens the bucket).
        await KvBuckets.OpenAsync(nats.KeyValue, ClusterImports.Bucket(name), 3, TimeSpan.FromSeconds(30), CancellationToken.None, KvLandedKey.History);
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = new ConcurrentQueue<string>();
        ImportRun Recorded(string node) => (job, opened, writes, afterBatch, ct) =>
        {
            runs.Enqueue(node);
            return Counting()(job, opened, writes, afterBatch, ct);
        };

        var held = new HeldWrites();
        await using var dead = await StartAsync(dataDead, s => s, Stalls(stalled), name, "node-dead");
        var id = await SubmitAsync(dead.Imports);
        await stalled.Task.WaitAsync(JobTimeout);
        bool Gone(string node) => node == "node-dead";
        await using var a = await StartAsync(dataA, s => held.Over(s, "node-a"), Recorded("node-a"), name, "node-a", Gone);
        await using var b = await StartAsync(dataB, s => held.Over(s, "node-b"), Recorded("node-b"), name, "node-b", Gone);
        using var safety = new CancellationTokenSource(JobTimeout);

        var readA = a.Imports.GetAsync(id, safety.Token);
        var readB = b.Imports.GetAsync(id, safety.Token);
        var takeA = await held.ArrivedAsync("node-a", safety.Token);
        var takeB = await held.ArrivedAsync("node-b", safety.Token);
        await held.StoreAsync(takeA);
        var markA = await held.ArrivedAsync("node-a", safety.Token);
        await held.StoreAsync(takeB);
        var answerA = await readA;
        var answerB = await readB;
        if (answerB?.Node == "node-b")
        {
            // B was told it took the job: its worker marks it importing against its takeover, which passes the pre-check.
            var markB = await held.ArrivedAsync("node-b", safety.Token);
            await held.StoreAsync(markA);
            await held.StoreAsync(markB);
        }
        else
        {
            await held.StoreAsync(markA);
        }

        await held.OpenAsync();
        var done = await FinishedAsync(a.Imports, id);
        await a.DisposeAsync();
        await b.DisposeAsync();
        Assert.Equal(["node-a"], runs);
        Assert.Equal(("node-a", "node-a"), (answerA?.Node, answerB?.Node));
        Assert.Equal(("node-a", BulkImportState.Completed, Batches * BatchRows, (string?)null), (done.Node, done.State, done.ImportedRows, done.Reason));
    }

    /// <summary>Record writes as nats-server 2.9.10 makes them when they race: an update is checked against the key's
    /// revision as the stream's leader holds it when the update arrives (refused if it differs), then held, and stored
    /// (whatever was stored meanwhile) when the test says (<see cref="StoreAsync"/>); once <see cref="OpenAsync"/>, updates go
    /// straight to the store, as a write that races nothing.</summary>
    internal sealed class HeldWrites
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, Queue<TaskCompletionSource<Held>>> _waiting = [];
        private readonly Dictionary<string, Queue<Held>> _arrived = [];
        private readonly List<Held> _held = [];
        private bool _open;

        /// <summary>One held update.</summary>
        internal sealed record Held(INatsKVStore Inner, string Key, byte[] Value)
        {
            public TaskCompletionSource<ulong> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary><paramref name="inner"/> with its updates going through these held writes, as node <paramref name="node"/>'s.</summary>
        public INatsKVStore Over(INatsKVStore inner, string node) => HookedStore.Over(inner, (store, method, args) =>
            method.Name == nameof(INatsKVStore.UpdateAsync) && args[1] is byte[] value
                ? UpdateAsync(store, node, (string)args[0]!, value, (ulong)args[2]!, (CancellationToken)args[^1]!)
                : null);

        /// <summary>The next update of <paramref name="node"/> that passed the pre-check and is held.</summary>
        public Task<Held> ArrivedAsync(string node, CancellationToken ct)
        {
            lock (_gate)
            {
                if (_arrived.TryGetValue(node, out var queue) && queue.TryDequeue(out var held))
                {
                    return Task.FromResult(held);
                }

                var waiter = new TaskCompletionSource<Held>(TaskCreationOptions.RunContinuationsAsynchronously);
                (_waiting.TryGetValue(node, out var waiting) ? waiting : _waiting[node] = new()).Enqueue(waiter);
                return waiter.Task.WaitAsync(ct);
            }
        }

        /// <summary>Stores a held update unconditionally (its check was passed when it arrived) and answers its writer.</summary>
        public async Task StoreAsync(Held held)
        {
            lock (_gate)
            {
                _held.Remove(held);
            }

            try
            {
                held.Stored.SetResult(await held.Inner.PutAsync(held.Key, held.Value));
            }
            catch (Exception e)
            {
                held.Stored.SetException(e);
                throw;
            }
        }

        /// <summary>From now on updates go straight to the store; the updates still held are stored, in the order they
        /// arrived.</summary>
        public async Task OpenAsync()
        {
            List<Held> left;
            lock (_gate)
            {
                _open = true;
                left = [.. _held];
            }

            foreach (var held in left)
            {
                await StoreAsync(held);
            }
        }

        private async ValueTask<ulong> UpdateAsync(INatsKVStore inner, string node, string key, byte[] value, ulong expected, CancellationToken ct)
        {
            if (IsOpen())
            {
                return await inner.UpdateAsync(key, value, expected, cancellationToken: ct);
            }

            // The pre-check of 2.9.10: against the key as it stands now, before the held updates are stored.
            if ((await KvLeaderReads.GetAsync(inner, key, 0, ct)).Revision != expected)
            {
                throw (Exception)Activator.CreateInstance(typeof(NatsKVWrongLastRevisionException), nonPublic: true)!;
            }

            Held? held = new(inner, key, value);
            lock (_gate)
            {
                if (_open)
                {
                    held = null;
                }
                else
                {
                    _held.Add(held);
                    if (_waiting.TryGetValue(node, out var waiting) && waiting.TryDequeue(out var waiter))
                    {
                        waiter.SetResult(held);
                    }
                    else
                    {
                        (_arrived.TryGetValue(node, out var queue) ? queue : _arrived[node] = new()).Enqueue(held);
                    }
                }
            }

            // Opened meanwhile: the update races nothing.
            return held is null ? await inner.UpdateAsync(key, value, expected, cancellationToken: ct) : await held.Stored.Task;
        }

        private bool IsOpen()
        {
            lock (_gate)
            {
                return _open;
            }
        }
    }
}
