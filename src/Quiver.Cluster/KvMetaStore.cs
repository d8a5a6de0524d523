using System.Text.Json;
using NATS.Client.KeyValueStore;
using Quiver.Catalog;

namespace Quiver.Cluster;

/// <summary>The catalog and segment manifests as one key of a JetStream key-value bucket, replaced by compare-and-set on
/// the key's revision: a write succeeds only if nobody wrote the key since this store last read or wrote it, so two
/// nodes that both believe they own the data cannot overwrite each other's manifest (the later one is refused and stops).
/// The value is the manifest's JSON (docs/format-manifest.md); JetStream keeps its own checksums. Reads go to the
/// bucket's stream leader (<see cref="KvLeaderReads"/>), so a shard that moves reads the manifest its previous owner
/// last wrote, never an older copy from a lagging replica. A write that got no answer, or whose retry by the NATS client
/// was refused as stale because the first attempt was stored, is settled by reading the key: it stands when the key
/// holds exactly these bytes. Thread-safe.</summary>
internal sealed class KvMetaStore : IMetaStore
{
    private readonly INatsKVStore _store;
    private readonly string _key;
    private readonly TimeSpan _retryTimeout;
    private readonly Lock _gate = new();
    private ulong _revision;

    private KvMetaStore(INatsKVStore store, string key, TimeSpan retryTimeout)
    {
        _store = store;
        _key = key;
        _retryTimeout = retryTimeout;
    }

    /// <summary>The key's revision this store last read or wrote; 0 before the first write.</summary>
    public ulong Revision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>Opens (creating if missing, <see cref="KvBuckets"/>) bucket <paramref name="bucket"/> with
    /// <paramref name="replicas"/> replicas and history 1, keeping the manifest under <paramref name="key"/>.</summary>
    public static async Task<KvMetaStore> OpenAsync(INatsKVContext kv, string bucket, string key, int replicas = 3, TimeSpan? retryTimeout = null, CancellationToken ct = default)
    {
        var timeout = retryTimeout ?? TimeSpan.FromSeconds(60);
        var store = await KvBuckets.OpenAsync(kv, bucket, replicas, timeout, ct).ConfigureAwait(false);
        return new KvMetaStore(store, key, timeout);
    }

    /// <summary>A store over a bucket already open (tests put a store that loses answers in between).</summary>
    internal static KvMetaStore Over(INatsKVStore store, string key, TimeSpan retryTimeout) => new(store, key, retryTimeout);

    /// <inheritdoc/>
    public ManifestData? Read()
    {
        lock (_gate)
        {
            var entry = Retry.UntilAsync(_retryTimeout, c => KvLeaderReads.GetAsync(_store, _key, 0, c), CancellationToken.None).GetAwaiter().GetResult();
            if (entry.Value is not { } value)
            {
                _revision = 0;
                return null;
            }

            _revision = entry.Revision;
            try
            {
                return JsonSerializer.Deserialize<ManifestData>(value, ManifestFile.Json) ?? throw new JsonException("null manifest");
            }
            catch (JsonException ex)
            {
                throw new CorruptionException(Where, $"manifest JSON is invalid: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Replaces the manifest if its key is still at <see cref="Revision"/>. Throws <see cref="QuiverException"/>
    /// with <see cref="QuiverErrorCode.Unavailable"/> when another writer changed it first, and with
    /// <see cref="QuiverErrorCode.Capacity"/> when the manifest is larger than the server takes in one message.</summary>
    public void Write(ManifestData manifest)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestFile.Json);
        lock (_gate)
        {
            var expected = _revision;
            _revision = Retry.UntilAsync(_retryTimeout, async c =>
            {
                try
                {
                    return expected == 0
                        ? await _store.CreateAsync(_key, body, cancellationToken: c).ConfigureAwait(false)
                        : await _store.UpdateAsync(_key, body, expected, cancellationToken: c).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NatsKVCreateException or NatsKVWrongLastRevisionException)
                {
                    // Stale: another node wrote the key, or this is the NATS client's retry of this very write, stored
                    // without an answer reaching it (the key then holds these bytes).
                    var now = await KvLeaderReads.GetAsync(_store, _key, 0, c).ConfigureAwait(false);
                    if (now.Revision > expected && now.Value is { } stored && stored.AsSpan().SequenceEqual(body))
                    {
                        return now.Revision;
                    }

                    throw new QuiverException(QuiverErrorCode.Unavailable,
                        $"the manifest at {Where} changed after revision {expected}: another node wrote it, so this one stops writing", ex);
                }
                catch (NATS.Client.Core.NatsPayloadTooLargeException ex)
                {
                    throw new QuiverException(QuiverErrorCode.Capacity,
                        $"the manifest is {body.Length} bytes, more than the NATS server takes in one message (max_payload)", ex);
                }
            }, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    private string Where => $"kv://{_store.Bucket}/{_key}";
}
