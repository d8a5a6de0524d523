namespace Quiver.Cluster;

/// <summary>Settings of a <see cref="JetStreamWal"/>.</summary>
internal sealed record JetStreamWalOptions
{
    /// <summary>Replicas of the stream; default 3 (a majority of 2 acknowledges each record, one server may be lost).</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>Records published before the first acknowledgement is awaited; default 256. Group commit over the network:
    /// a shard's writers are acknowledged together instead of one round trip each.</summary>
    public int MaxInFlight { get; init; } = 256;

    /// <summary>How long an append, open or purge keeps retrying while the cluster has no leader for the stream; default
    /// 60 s (an election after losing a leader took 6-7 s on this machine). Past it the log stops accepting writes.</summary>
    public TimeSpan RetryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pause between rounds of retried publishes; default 250 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>JetStream's de-duplication window for message IDs; default 2 minutes, longer than any retry.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The largest record payload; default null: the server's max_payload (1 MiB unless configured) less 1 KiB
    /// for the type byte and headers.</summary>
    public int? MaxPayloadBytes { get; init; }
}
