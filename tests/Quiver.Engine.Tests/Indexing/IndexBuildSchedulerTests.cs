using System.Collections.Concurrent;
using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>The engine's queue of index jobs: builds one at a time, loads of index files in lanes of their own (one per
/// lane key: the engine's is a field of a collection) that never wait behind a build (a reopened segment with a file gets
/// its index while a build runs) nor behind another lane's load while one of the bounded slots is free, each lane in the
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
        var load1 = scheduler.Queue("load 1", Job("load 1"), loadLane: "l");
        var build2 = scheduler.Queue("build 2", Job("build 2"));
        var load2 = scheduler.Queue("load 2", Job("load 2"), loadLane: "l");
        Assert.Null(scheduler.Queue("build 1", Job("build 1 again")));
        var build3 = scheduler.Queue("build 3", Job("build 3"));

        // Both loads end while the build still runs.
        await Task.WhenAll(load1!, load2!).WaitAsync(Guard);
        Assert.Equal(["running", "load 1", "load 2"], order);
        Assert.False(first!.IsCompleted);
        Assert.Equal(4, scheduler.Pending);
        Assert.False(scheduler.IsPending("load 1"));

        // A load key that ended may be queued again.
        var again = scheduler.Queue("load 1", Job("load 1 again"), loadLane: "l");
        await again!.WaitAsync(Guard);

        release.SetResult();
        await Task.WhenAll(first, build1!, build2!, build3!).WaitAsync(Guard);
        Assert.Equal(["running", "load 1", "load 2", "load 1 again", "build 1", "build 2", "build 3"], order);
        Assert.Equal(0, scheduler.Pending);
    }

    /// <summary>Three load lanes, each with a held load, and a second load queued behind lane "a"'s, at most two loads at
    /// once: two lanes' loads run, the third lane's waits for a slot, not for a lane; when lane "a"'s load ends, the slot
    /// goes to a waiting load, and every load ends in its lane's order.</summary>
    [Fact]
    public async Task LoadsOfDifferentLanes_RunAtOnce_UpToTheBound_EachLaneInOrder()
    {
        await using var scheduler = new IndexBuildScheduler(maxParallelLoads: 2);
        var order = new ConcurrentQueue<string>();
        var releases = new Dictionary<string, TaskCompletionSource>();
        var running = 0;
        var most = 0;
        Func<CancellationToken, Task> Held(string name)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            releases[name] = release;
            return async token =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                order.Enqueue(name);
                await release.Task.WaitAsync(token);
                Interlocked.Decrement(ref running);
            };
        }

        var a1 = scheduler.Queue("a1", Held("a1"), loadLane: "a");
        var a2 = scheduler.Queue("a2", Held("a2"), loadLane: "a");
        var b1 = scheduler.Queue("b1", Held("b1"), loadLane: "b");
        var c1 = scheduler.Queue("c1", Held("c1"), loadLane: "c");

        // Two loads run (the bound) and one waits at the head of its lane for a slot; a2 waits behind a1 in lane "a".
        await UntilAsync(() => Volatile.Read(ref running) == 2 && scheduler.LoadsWaitingForSlot == 1);
        Assert.Equal(2, Volatile.Read(ref most));
        var started = order.ToArray();
        Assert.DoesNotContain("a2", started);

        // Release the running loads one by one until all four have run; each lane keeps its order.
        while (order.Count < 4 || Volatile.Read(ref running) > 0)
        {
            var next = order.FirstOrDefault(n => !releases[n].Task.IsCompleted);
            if (next is null)
            {
                await Task.Delay(1, CancellationToken.None);
                continue;
            }

            releases[next].SetResult();
        }

        await Task.WhenAll(a1!, a2!, b1!, c1!).WaitAsync(Guard);
        Assert.Equal(2, Volatile.Read(ref most));
        var done = order.ToArray();
        Assert.True(Array.IndexOf(done, "a1") < Array.IndexOf(done, "a2"), string.Join(", ", done));
        Assert.Equal(0, scheduler.Pending);

        // A lane that emptied takes a load of its key again.
        var again = scheduler.Queue("a3", _ => Task.CompletedTask, loadLane: "a");
        await again!.WaitAsync(Guard);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var was && was != seen)
        {
            seen = was;
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(Guard);
        while (!condition())
        {
            Assert.False(guard.IsCancellationRequested, "gave up waiting");
            await Task.Delay(1, CancellationToken.None);
        }
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
