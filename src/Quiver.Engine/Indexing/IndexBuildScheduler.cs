namespace Quiver.Indexing;

/// <summary>Runs index builds (and loads) of every collection of an engine in the background, one at a time: each build
/// itself uses <see cref="QuiverOptions.IndexBuildThreads"/> threads, so one job at a time keeps every core busy
/// without oversubscribing them, and a large segment does not wait behind many small ones for long. Jobs are
/// deduplicated by key. Loads of index files (<c>load</c> at <see cref="Enqueue"/>) run before every build queued: a
/// load maps a file in a fraction of a second where a build takes minutes, and until its index is attached a segment is
/// searched exactly, so after a reopen every segment with a file gets its index before the first build starts
/// (docs/engine.md, "Index builds"). Disposing cancels the running job and waits for it.</summary>
internal sealed class IndexBuildScheduler : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Queue<(object Key, Func<CancellationToken, Task> Job)> _queue = new();
    private readonly Queue<(object Key, Func<CancellationToken, Task> Job)> _loads = new();
    private readonly HashSet<object> _queued = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _signal = new(0);
    private Task? _worker;
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
            return _queued.Contains(key);
        }
    }

    /// <summary>Queues a job unless one with the same key is queued or running; with <paramref name="load"/> (an index
    /// file to load, not a build) ahead of every build queued, behind the loads queued before it. The job gets the
    /// scheduler's stop token and must handle its own failures (an escaping exception is swallowed so the worker
    /// survives).</summary>
    public void Enqueue(object key, Func<CancellationToken, Task> job, bool load = false)
    {
        lock (_lock)
        {
            if (_disposed || !_queued.Add(key))
            {
                return;
            }

            (load ? _loads : _queue).Enqueue((key, job));
            _worker ??= Task.Run(WorkAsync);

            // Inside the lock: dispose, which takes it too, cannot have disposed the semaphore yet.
            _signal.Release();
        }
    }

    private async Task WorkAsync()
    {
        var token = _stop.Token;
        while (true)
        {
            try
            {
                await _signal.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            (object Key, Func<CancellationToken, Task> Job) item;
            lock (_lock)
            {
                if (!_loads.TryDequeue(out item) && !_queue.TryDequeue(out item))
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
                return;
            }
            catch (Exception)
            {
                // Jobs record their own failures; the worker must outlive any of them.
            }
            finally
            {
                lock (_lock)
                {
                    _queued.Remove(item.Key);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? worker;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            worker = _worker;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (worker is not null)
        {
            try
            {
                await worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Cancelled mid-job.
            }
        }

        _stop.Dispose();
        _signal.Dispose();
    }
}
