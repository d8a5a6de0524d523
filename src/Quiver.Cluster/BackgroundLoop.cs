namespace Quiver.Cluster;

/// <summary>Stopping a background loop that runs until its token is cancelled (a KV watch, a log follower).</summary>
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
}
