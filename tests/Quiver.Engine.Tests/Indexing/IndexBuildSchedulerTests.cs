using System.Collections.Concurrent;
using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>The engine's one-at-a-time queue of index jobs: loads of index files run before the builds queued ahead of
/// them (a reopened segment with a file gets its index before the first build starts), each kind in the order queued.</summary>
public sealed class IndexBuildSchedulerTests
{
    [Fact]
    public async Task Loads_RunBeforeTheBuildsQueuedAheadOfThem_EachKindInOrder()
    {
        var order = new ConcurrentQueue<string>();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var last = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<CancellationToken, Task> Job(string name) => _ =>
        {
            order.Enqueue(name);
            return Task.CompletedTask;
        };

        await using var scheduler = new IndexBuildScheduler();

        // A build running (the worker busy) while the others are queued, so the queue decides what comes next.
        scheduler.Enqueue("running", async _ =>
        {
            order.Enqueue("running");
            running.SetResult();
            await release.Task;
        });
        await running.Task.WaitAsync(TimeSpan.FromMinutes(2));
        scheduler.Enqueue("build 1", Job("build 1"));
        scheduler.Enqueue("load 1", Job("load 1"), load: true);
        scheduler.Enqueue("build 2", Job("build 2"));
        scheduler.Enqueue("load 2", Job("load 2"), load: true);
        scheduler.Enqueue("load 1", Job("load 1 again"), load: true);
        scheduler.Enqueue("build 3", _ =>
        {
            order.Enqueue("build 3");
            last.SetResult();
            return Task.CompletedTask;
        });
        Assert.Equal(6, scheduler.Pending);

        release.SetResult();
        await last.Task.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(["running", "load 1", "load 2", "build 1", "build 2", "build 3"], order);
    }
}
