using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>Retries a JetStream request while the cluster cannot answer it yet (no leader during an election, no
/// responders while a server restarts, a timeout), up to a deadline. Any other error is the caller's.</summary>
internal static class Retry
{
    /// <summary>The pause between attempts.</summary>
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(250);

    public static async Task<T> UntilAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> attempt, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await attempt(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsPassing(ex, ct) && clock.Elapsed < timeout)
            {
                await Task.Delay(Pause, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsPassing(ex, ct))
            {
                throw new QuiverException(QuiverErrorCode.Unavailable, $"NATS JetStream did not answer within {timeout.TotalSeconds:0} s: {ex.Message}", ex);
            }
        }
    }

    /// <summary>True for failures that a later attempt may not see: the cluster electing a leader (JetStream answers 503
    /// or 10008 "stream temporarily unavailable"), no responders, timeouts; never the caller's cancellation, and never a
    /// KV compare-and-set refused (the key moved on, or a create found it stored): that is the store's answer, the same on
    /// every attempt, and the caller's to act on. Before, such a refusal inside <see cref="UntilAsync{T}"/> was sent again
    /// for 30 s and then reported as JetStream not answering, so the callers' own handling of it (an import job's record
    /// written by the node that took the job over) never ran.</summary>
    public static bool IsPassing(Exception ex, CancellationToken ct) => ex switch
    {
        OperationCanceledException => !ct.IsCancellationRequested,
        NatsKVWrongLastRevisionException or NatsKVCreateException => false,
        NatsJSApiException api => api.Error.Code is 503 or 408 or 500 || api.Error.ErrCode is 10008,
        NatsException or TimeoutException => true,
        _ => false,
    };
}
