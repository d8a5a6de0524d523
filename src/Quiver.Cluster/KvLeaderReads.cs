using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>One stored value of a KV key as the bucket's stream leader answers it.</summary>
/// <param name="Value">The value; null when the key was never written or its latest entry is a delete or purge.</param>
/// <param name="Revision">The entry's revision (the stream sequence); 0 when the key was never written.</param>
/// <param name="Deleted">True when the entry is a delete or purge marker.</param>
internal readonly record struct KvRead(byte[]? Value, ulong Revision, bool Deleted);

/// <summary>KV reads answered by the bucket's stream leader. NATS.Net reads a KV key through JetStream's direct get
/// when the bucket allows it (every bucket it creates does), and a direct get is answered by whichever replica the
/// request reaches first, a follower that may not have applied the latest writes yet: a node could then miss a
/// collection another node created and acknowledged a moment ago, or settle a write's outcome on a revision its
/// replica does not hold yet. The stream's message-get API (<c>$JS.API.STREAM.MSG.GET</c>) is answered by the leader
/// alone, which holds every acknowledged write. One request per read, as a direct get; the stream handle is looked
/// up once per bucket.</summary>
internal static class KvLeaderReads
{
    /// <summary>JetStream's error code for "no message found".</summary>
    private const int NoMessage = 10037;

    /// <summary>Each connection's stream handles by bucket (released with the connection's context).</summary>
    private static readonly ConditionalWeakTable<INatsJSContext, ConcurrentDictionary<string, Task<INatsJSStream>>> Streams = new();

    /// <summary>The latest entry of <paramref name="key"/> or, with <paramref name="revision"/>, the entry stored at
    /// that revision exactly (a value of the key stored at another revision, or nothing there: null value, revision 0).</summary>
    public static async Task<KvRead> GetAsync(INatsKVStore store, string key, ulong revision = 0, CancellationToken ct = default)
    {
        var subject = $"$KV.{store.Bucket}.{key}";
        var request = revision == 0 ? new StreamMsgGetRequest { LastBySubj = subject } : new StreamMsgGetRequest { Seq = revision, NextBySubj = subject };
        var read = await ReadAsync(store, subject, request, ct).ConfigureAwait(false);
        return revision != 0 && read.Revision != revision ? default : read;
    }

    /// <summary>The first entry of <paramref name="key"/> stored at a revision from <paramref name="from"/> to
    /// <paramref name="until"/> (revision 0: none is). Read revision by revision: on nats-server 2.9.10 a message get by
    /// sequence with <c>next_by_subj</c> did not answer a key's later entry when another key's message stood at that
    /// sequence (ClusterImportJobsTests, several jobs in one bucket), and the bucket's keys share its sequence numbers. Costs one leader get per revision in the range.</summary>
    public static async Task<KvRead> NextAsync(INatsKVStore store, string key, ulong from, ulong until, CancellationToken ct = default)
    {
        for (var revision = from; revision <= until; revision++)
        {
            if (await GetAsync(store, key, revision, ct).ConfigureAwait(false) is { Revision: not 0 } found)
            {
                return found;
            }
        }

        return default;
    }

    private static async Task<KvRead> ReadAsync(INatsKVStore store, string subject, StreamMsgGetRequest request, CancellationToken ct)
    {
        StreamMsgGetResponse response;
        try
        {
            var stream = await StreamAsync(store, ct).ConfigureAwait(false);
            response = await stream.GetAsync(request, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404 && ex.Error.ErrCode == NoMessage)
        {
            return default;
        }

        var message = response.Message;
        if (message.Subject != subject)
        {
            return default;
        }

        var seq = (ulong)message.Seq;
        if (message.Hdrs is { Length: > 0 } headers && IsDeleteMarker(Convert.FromBase64String(headers)))
        {
            return new KvRead(null, seq, Deleted: true);
        }

        return new KvRead(message.Data.ToArray(), seq, Deleted: false);
    }

    /// <summary>The latest value of <paramref name="key"/>; null when it was never written or was deleted.</summary>
    public static async Task<byte[]?> ValueAsync(INatsKVStore store, string key, CancellationToken ct) =>
        (await GetAsync(store, key, 0, ct).ConfigureAwait(false)).Value;

    /// <summary>True when a stored message's headers (as the message-get API returns them, base64 decoded) mark a KV
    /// delete or purge (<c>KV-Operation: DEL</c> or <c>PURGE</c>).</summary>
    internal static bool IsDeleteMarker(ReadOnlyMemory<byte> headers)
    {
        if (headers.IsEmpty)
        {
            return false;
        }

        foreach (var line in Encoding.ASCII.GetString(headers.Span).Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals("KV-Operation", StringComparison.OrdinalIgnoreCase))
            {
                var operation = line.AsSpan(colon + 1).Trim();
                return operation.Equals("DEL", StringComparison.OrdinalIgnoreCase) || operation.Equals("PURGE", StringComparison.OrdinalIgnoreCase);
            }
        }

        return false;
    }

    private static Task<INatsJSStream> StreamAsync(INatsKVStore store, CancellationToken ct)
    {
        var js = store.JetStreamContext;
        var streams = Streams.GetOrCreateValue(js);
        var lookup = streams.GetOrAdd(store.Bucket, bucket => js.GetStreamAsync($"KV_{bucket}", cancellationToken: CancellationToken.None).AsTask());
        if (lookup.IsFaulted || lookup.IsCanceled)
        {
            // A lookup that failed (no leader yet, a server restarting) is not kept: the next read asks again.
            streams.TryRemove(new KeyValuePair<string, Task<INatsJSStream>>(store.Bucket, lookup));
        }

        return lookup.WaitAsync(ct);
    }
}
