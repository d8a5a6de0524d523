namespace Quiver.Cluster;

/// <summary>Background loops that run until their token is cancelled (a KV watch, a log follower, a periodic sweep):
/// running one periodically, and stopping one.</summary>
internal static class BackgroundLoop
{
    /// <summary>Cancels <paramref name="stop"/>, waits for <paramref name="loop"/> to end (its cancellation is the
    /// expected end, not an error; any other failure propagates) and disposes <paramref name="stop"/>.</summary>
    public static async Task StopAsync(CancellationTokenSource stop, Task loop)
    {
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }

    /// <summary>Runs <paramref name="pass"/> every <paramref name="every"/> on average (each pause drawn between half and
    /// one and a half times it, so that nodes started together do not run together) until <paramref name="ct"/> is
    /// cancelled; a pass that fails (NATS unreachable for longer than its retries) is handed to <paramref name="failed"/>
    /// and the next one runs. Answers the loop's task (for <see cref="StopAsync"/>).</summary>
    public static Task Jittered(TimeSpan every, Func<CancellationToken, Task> pass, Action<Exception> failed, CancellationToken ct)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(async () =>
            {
                while (true)
                {
                    await Task.Delay(every * (0.5 + Random.Shared.NextDouble()), ct).ConfigureAwait(false);
                    try
                    {
                        await pass(ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException && !ct.IsCancellationRequested)
                    {
                        failed(e);
                    }
                }
            }, ct);
        }
    }
}
