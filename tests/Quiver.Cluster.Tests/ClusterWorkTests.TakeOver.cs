using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

public sealed partial class ClusterWorkTests
{
    /// <summary>A shard's side and two workers for a take-over: <see cref="First"/> is held after its upload, before its
    /// commit, until <see cref="Resume"/>; <see cref="Second"/> counts it gone once <see cref="TakeOverAsync"/> says so.</summary>
    private sealed class TakeOverRig : IAsyncDisposable
    {
        private bool _firstGone;

        public TakeOverRig(ClusterWorkTests tests, string cluster, TempFolder data)
        {
            ShardSide = tests.Work(cluster, data, "node-s", _ => false);
            First = tests.Work(cluster, data, "node-a", _ => false);
            Second = tests.Work(cluster, data, "node-b", node => node == "node-a" && Volatile.Read(ref _firstGone));
            ShardSide.Queued = key => Queued.TrySetResult(key);
            ShardSide.Adopted = job => Adopted.Add(job);
            First.BeforeCommit = async _ =>
            {
                Built.TrySetResult();
                await Resume.Task;
            };
        }

        public ClusterWork ShardSide { get; }

        public ClusterWork First { get; }

        public ClusterWork Second { get; }

        /// <summary>The key of the first job the shard queued.</summary>
        public TaskCompletionSource<string> Queued { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Built { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The jobs whose results the shard adopted.</summary>
        public List<IndexBuildJob> Adopted { get; } = [];

        /// <summary>The first worker takes the job (read by <paramref name="record"/>) and is held before its commit; the second leaves
        /// the job alone while the first counts as alive (checked in the record), and takes it over once the first has left
        /// the cluster. Answers the first's sweep, which ends once <see cref="Resume"/> is set.</summary>
        public async Task<Task> TakeOverAsync(Func<Task<IndexBuildJob>> record, CancellationToken ct)
        {
            var firstSweep = First.SweepAsync(ct);
            await Built.Task.WaitAsync(ct);
            await Second.SweepAsync(ct);
            var held = await record();
            Assert.Equal((WorkState.Taken, "node-a", 1, 0), (held.State, held.Taker, held.Attempt, Second.Built + Second.Merged));
            Volatile.Write(ref _firstGone, true);
            await Second.SweepAsync(ct);
            return firstSweep;
        }

        public async ValueTask DisposeAsync()
        {
            await Second.DisposeAsync();
            await First.DisposeAsync();
            await ShardSide.DisposeAsync();
        }
    }
}
