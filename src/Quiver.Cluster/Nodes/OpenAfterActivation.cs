namespace Quiver.Cluster.Nodes;

/// <summary>A grain whose host (a shard's engine, a replica's follower) opens after its activation, not within it:
/// Orleans cancels an activation that has not finished within its activation timeout (30 s), and opening over JetStream
/// has taken longer on a loaded machine, so every call sent again started the open anew, to be cancelled in turn. The
/// activation only starts the open (<see cref="OpenAsync"/>), each call waits for <see cref="Opening"/>, and an open that
/// fails deactivates the grain (the calls waiting get the failure as <see cref="GrainBoundary.Wrap"/> gives it), so the
/// next call opens anew. A deactivation stops the open and closes the host; if Orleans stops waiting for it, the host is
/// closed once the open ends.</summary>
internal abstract class OpenAfterActivation<THost> : Grain
    where THost : class, IAsyncDisposable
{
    private readonly CancellationTokenSource _closing = new();

    /// <summary>The open under way or done (a grain closing for good may put a failure in its place).</summary>
    protected Task<THost> Opening { get; set; } = Task.FromException<THost>(new InvalidOperationException("the grain has not activated"));

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Opening = GuardedOpenAsync(this.GetPrimaryKeyString(), _closing.Token);
        return Task.CompletedTask;
    }

    /// <summary>Opens the host of the grain with key <paramref name="key"/>; runs on the grain's scheduler between its
    /// awaits; <paramref name="ct"/> is cancelled by the grain's deactivation.</summary>
    protected abstract Task<THost> OpenAsync(string key, CancellationToken ct);

    /// <summary>Reports an open that failed (not one stopped by the deactivation).</summary>
    protected abstract void OnOpenFailed(string key, Exception exception);

    /// <summary>Called with the host before the deactivation closes it.</summary>
    protected virtual void OnClosing(THost host)
    {
    }

    /// <inheritdoc/>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _closing.CancelAsync().ConfigureAwait(true);
        try
        {
            var host = await Opening.WaitAsync(cancellationToken).ConfigureAwait(true);
            OnClosing(host);
            await host.DisposeAsync().ConfigureAwait(true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Orleans stops waiting for the deactivation: the open (told to stop) closes its host once it ends.
            _ = Opening.ContinueWith(t => t.Result.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
        }
        catch (Exception)
        {
            // The open failed or was stopped: it closed what it had opened.
        }
    }

    private async Task<THost> GuardedOpenAsync(string key, CancellationToken ct)
    {
        try
        {
            return await OpenAsync(key, ct).ConfigureAwait(true);
        }
        catch (Exception ex)
        {
            if (!ct.IsCancellationRequested && ex is not GrainMovingException)
            {
                // (A grain that is moving was told to migrate by its open: its deactivation is under way.)
                OnOpenFailed(key, ex);
                DeactivateOnIdle();
            }

            throw GrainBoundary.Wrap(ex);
        }
    }
}

/// <summary>An open that stopped because its grain is moving to another node (it asked Orleans to migrate it): the calls
/// waiting on it get a cancellation (<see cref="GrainBoundary.Wrap"/>), which the access layer sends again.</summary>
internal sealed class GrainMovingException(string message) : OperationCanceledException(message);
