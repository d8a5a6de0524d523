namespace Quiver.Indexing;

/// <summary>Runs index builds and loads of every collection of an engine in the background. Builds run one at a time in
/// one lane: each itself uses <see cref="QuiverOptions.IndexBuildThreads"/> threads, so one keeps every core busy without
/// oversubscribing them, and a large segment does not wait behind many small ones for long. Loads of index files (a
/// <c>loadLane</c> at <see cref="Queue"/>) run in lanes of their own, one per lane key (the engine gives each vector
/// field of each collection its own), one load at a time in each, in the order queued, and at most
/// <see cref="MaxParallelLoads"/> loads at once over all lanes: a load maps a file in a fraction of a second where a build
/// takes minutes, and until its index is attached a segment is searched exactly (and a search on that field waits for
/// it, <see cref="QuiverOptions.IndexLoadWait"/>), so a load never waits behind a build, nor behind another field's load
/// while a slot is free (docs/engine.md, "Index builds"). Jobs are deduplicated by key; each job's completion is a task
/// (<see cref="Queue"/>'s result). Disposing cancels the running jobs and waits for them.</summary>
internal sealed class IndexBuildScheduler : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Lane _builds = new();

    // Load lanes by their key, each while it has a job queued or running (its worker removes it once empty).
    private readonly Dictionary<object, Lane> _loads = [];
    private readonly List<Task> _loadWorkers = [];
    private readonly SemaphoreSlim _loadSlots;
    private readonly Dictionary<object, TaskCompletionSource> _queued = [];
    private readonly CancellationTokenSource _stop = new();
    private int _waitingForSlot;
    private bool _disposed;

    /// <summary>A scheduler running at most <paramref name="maxParallelLoads"/> loads at once (default: the processor
    /// count, at least 2).</summary>
    public IndexBuildScheduler(int maxParallelLoads = 0)
    {
        MaxParallelLoads = maxParallelLoads > 0 ? maxParallelLoads : Math.Max(2, Environment.ProcessorCount);
        _loadSlots = new SemaphoreSlim(MaxParallelLoads);
    }

    /// <summary>Loads that may run at once over all load lanes.</summary>
    public int MaxParallelLoads { get; }

    /// <summary>Loads at the head of their lane waiting for one of the <see cref="MaxParallelLoads"/> slots (for tests).</summary>
    public int LoadsWaitingForSlot => Volatile.Read(ref _waitingForSlot);

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

    /// <summary>Queues a job unless one with the same key is queued or running; with <paramref name="loadLane"/> (an
    /// index file to load, not a build) in that load lane, behind the loads queued in it before. Returns the job's
    /// completion, which ends when the job has ended, whatever its outcome (or when the scheduler is disposed); null when
    /// nothing was queued (a job with that key is queued or running, or the scheduler is disposed). The job gets the
    /// scheduler's stop token and must handle its own failures (an escaping exception is swallowed so the worker
    /// survives).</summary>
    public Task? Queue(object key, Func<CancellationToken, Task> job, object? loadLane = null)
    {
        lock (_lock)
        {
            if (_disposed || _queued.ContainsKey(key))
            {
                return null;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _queued.Add(key, done);
            if (loadLane is null)
            {
                _builds.Queue.Enqueue((key, job));
                _builds.Worker ??= Task.Run(() => WorkAsync(_builds, null));
                _builds.Signal.Release();
                return done.Task;
            }

            if (!_loads.TryGetValue(loadLane, out var lane))
            {
                lane = new Lane();
                _loads.Add(loadLane, lane);
                _loadWorkers.RemoveAll(w => w.IsCompleted);
                lane.Worker = Task.Run(() => WorkAsync(lane, loadLane));
                _loadWorkers.Add(lane.Worker);
            }

            lane.Queue.Enqueue((key, job));

            // Inside the lock: dispose, which takes it too, cannot have disposed the semaphore yet.
            lane.Signal.Release();
            return done.Task;
        }
    }

    /// <summary>Runs a lane's jobs in order; a load lane (<paramref name="loadLane"/> its key) takes a slot for each job
    /// and ends once its queue is empty (a later load of that key starts a new lane).</summary>
    private async Task WorkAsync(Lane lane, object? loadLane)
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

            var slot = false;
            try
            {
                if (loadLane is not null)
                {
                    Interlocked.Increment(ref _waitingForSlot);
                    try
                    {
                        await _loadSlots.WaitAsync(token).ConfigureAwait(false);
                        slot = true;
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _waitingForSlot);
                    }
                }

                await item.Job(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                Finish(item.Key);
                CompleteAll();
                return;
            }
            catch (Exception)
            {
                // Jobs record their own failures; the worker must outlive any of them.
            }
            finally
            {
                if (slot)
                {
                    _loadSlots.Release();
                }
            }

            Finish(item.Key);
            if (loadLane is not null)
            {
                lock (_lock)
                {
                    // Every job queued in the lane released its signal under this lock, so an empty queue here means no
                    // job is left to it: the lane goes, and the next load of its key starts a new one.
                    if (lane.Queue.Count == 0)
                    {
                        _loads.Remove(loadLane);
                        lane.Signal.Dispose();
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Ends a job's completion once its key is gone (whoever waits on the job may queue its key again).</summary>
    private void Finish(object key)
    {
        TaskCompletionSource? done;
        lock (_lock)
        {
            _queued.Remove(key, out done);
        }

        done?.TrySetResult();
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
    public void Enqueue(object key, Func<CancellationToken, Task> job, object? loadLane = null) => Queue(key, job, loadLane);

    public async ValueTask DisposeAsync()
    {
        List<Task?> workers;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            workers = [_builds.Worker, .. _loadWorkers];
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
        _loadSlots.Dispose();
    }

    /// <summary>One lane: its queue (under the scheduler's lock), its signal and its worker.</summary>
    private sealed class Lane
    {
        public Queue<(object Key, Func<CancellationToken, Task> Job)> Queue { get; } = new();

        public SemaphoreSlim Signal { get; } = new(0);

        public Task? Worker { get; set; }
    }
}
