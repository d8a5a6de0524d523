namespace Quiver.Indexing;

/// <summary>Runs index builds and loads of every collection of an engine in the background, in two lanes of one job at
/// a time each. Builds run one at a time: each itself uses <see cref="QuiverOptions.IndexBuildThreads"/> threads, so one
/// keeps every core busy without oversubscribing them, and a large segment does not wait behind many small ones for
/// long. Loads of index files (<c>load</c> at <see cref="Queue"/>) have their own lane: a load maps a file in a
/// fraction of a second where a build takes minutes, and until its index is attached a segment is searched exactly (and
/// a search waits for it, <see cref="QuiverOptions.IndexLoadWait"/>), so a load never waits behind a build, of this
/// collection or another (docs/engine.md, "Index builds"). Jobs are deduplicated by key; each job's completion is a task
/// (<see cref="Queue"/>'s result). Disposing cancels the running jobs and waits for them.</summary>
internal sealed class IndexBuildScheduler : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Lane _builds = new();
    private readonly Lane _loads = new();
    private readonly Dictionary<object, TaskCompletionSource> _queued = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _disposed;

    /// <summary>Jobs queued or running.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _queued.Count;
            }
        }
    }

    /// <summary>True when a job with <paramref name="key"/> is queued or running.</summary>
    public bool IsPending(object key)
    {
        lock (_lock)
        {
            return _queued.ContainsKey(key);
        }
    }

    /// <summary>Queues a job unless one with the same key is queued or running; with <paramref name="load"/> (an index
    /// file to load, not a build) in the loads' lane, behind the loads queued before it. Returns the job's completion,
    /// which ends when the job has ended, whatever its outcome (or when the scheduler is disposed); null when nothing was
    /// queued (a job with that key is queued or running, or the scheduler is disposed). The job gets the scheduler's stop token and must handle its own failures (an
    /// escaping exception is swallowed so the worker survives).</summary>
    public Task? Queue(object key, Func<CancellationToken, Task> job, bool load = false)
    {
        lock (_lock)
        {
            if (_disposed || _queued.ContainsKey(key))
            {
                return null;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _queued.Add(key, done);
            var lane = load ? _loads : _builds;
            lane.Queue.Enqueue((key, job));
            lane.Worker ??= Task.Run(() => WorkAsync(lane));

            // Inside the lock: dispose, which takes it too, cannot have disposed the semaphore yet.
            lane.Signal.Release();
            return done.Task;
        }
    }

    private async Task WorkAsync(Lane lane)
    {
        var token = _stop.Token;
        while (true)
        {
            try
            {
                await lane.Signal.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                CompleteAll();
                return;
            }

            (object Key, Func<CancellationToken, Task> Job) item;
            lock (_lock)
            {
                if (!lane.Queue.TryDequeue(out item))
                {
                    continue;
                }
            }

            try
            {
                await item.Job(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                CompleteAll();
                return;
            }
            catch (Exception)
            {
                // Jobs record their own failures; the worker must outlive any of them.
            }
            finally
            {
                TaskCompletionSource? done;
                lock (_lock)
                {
                    _queued.Remove(item.Key, out done);
                }

                // After the key is gone: whoever waits on the job may queue its key again.
                done?.TrySetResult();
            }
        }
    }

    /// <summary>Ends the completion of every job left (the scheduler is stopping; nothing more runs).</summary>
    private void CompleteAll()
    {
        List<TaskCompletionSource> left;
        lock (_lock)
        {
            left = [.. _queued.Values];
        }

        foreach (var done in left)
        {
            done.TrySetResult();
        }
    }

    /// <summary>As <see cref="Queue"/>, for callers that keep no completion.</summary>
    public void Enqueue(object key, Func<CancellationToken, Task> job, bool load = false) => Queue(key, job, load);

    public async ValueTask DisposeAsync()
    {
        Task?[] workers;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            workers = [_builds.Worker, _loads.Worker];
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var worker in workers)
        {
            if (worker is null)
            {
                continue;
            }

            try
            {
                await worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Cancelled mid-job.
            }
        }

        CompleteAll();
        _stop.Dispose();
        _builds.Signal.Dispose();
        _loads.Signal.Dispose();
    }

    /// <summary>One lane: its queue (under the scheduler's lock), its signal and its worker.</summary>
    private sealed class Lane
    {
        public Queue<(object Key, Func<CancellationToken, Task> Job)> Queue { get; } = new();

        public SemaphoreSlim Signal { get; } = new(0);

        public Task? Worker { get; set; }
    }
}
