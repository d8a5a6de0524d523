using System.Collections.Concurrent;
using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>The engine's queue of index jobs: builds one at a time, loads of index files in a lane of their own that
/// never waits behind a build (a reopened segment with a file gets its index while a build runs), each lane in the
/// order queued, a key queued or running queued once.</summary>
public sealed class IndexBuildSchedulerTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Loads_RunWhileABuildRuns_EachLaneInOrder()
    {
        var order = new ConcurrentQueue<string>();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<CancellationToken, Task> Job(string name) => _ =>
        {
            order.Enqueue(name);
            return Task.CompletedTask;
        };

        await using var scheduler = new IndexBuildScheduler();

        // A build running (its lane busy) while the others are queued.
        var first = scheduler.Queue("running", async token =>
        {
            order.Enqueue("running");
            running.SetResult();
            await release.Task.WaitAsync(token);
        });
        await running.Task.WaitAsync(Guard);
        var build1 = scheduler.Queue("build 1", Job("build 1"));
        var load1 = scheduler.Queue("load 1", Job("load 1"), load: true);
        var build2 = scheduler.Queue("build 2", Job("build 2"));
        var load2 = scheduler.Queue("load 2", Job("load 2"), load: true);
        Assert.Null(scheduler.Queue("build 1", Job("build 1 again")));
        var build3 = scheduler.Queue("build 3", Job("build 3"));

        // Both loads end while the build still runs.
        await Task.WhenAll(load1!, load2!).WaitAsync(Guard);
        Assert.Equal(["running", "load 1", "load 2"], order);
        Assert.False(first!.IsCompleted);
        Assert.Equal(4, scheduler.Pending);
        Assert.False(scheduler.IsPending("load 1"));

        // A load key that ended may be queued again.
        var again = scheduler.Queue("load 1", Job("load 1 again"), load: true);
        await again!.WaitAsync(Guard);

        release.SetResult();
        await Task.WhenAll(first, build1!, build2!, build3!).WaitAsync(Guard);
        Assert.Equal(["running", "load 1", "load 2", "load 1 again", "build 1", "build 2", "build 3"], order);
        Assert.Equal(0, scheduler.Pending);
    }

    [Fact]
    public async Task Dispose_EndsTheCompletionsOfJobsLeft()
    {
        var scheduler = new IndexBuildScheduler();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = scheduler.Queue("held", async token =>
        {
            running.SetResult();
            await Task.Delay(Timeout.Infinite, token);
        });
        var queued = scheduler.Queue("queued", _ => Task.CompletedTask);
        await running.Task.WaitAsync(Guard);
        await scheduler.DisposeAsync();
        await Task.WhenAll(held!, queued!).WaitAsync(Guard);
        Assert.Null(scheduler.Queue("after", _ => Task.CompletedTask));
    }
}
