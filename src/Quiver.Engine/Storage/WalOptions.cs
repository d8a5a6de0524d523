namespace Quiver.Storage;

/// <summary>When the write-ahead log forces its bytes to stable storage, and therefore when an append is acknowledged.</summary>
internal enum FsyncPolicy
{
    /// <summary>An append completes only after its group was fsynced. A crash loses no acknowledged record. The default.</summary>
    Always,

    /// <summary>An append completes once its group was handed to the OS; the log is fsynced every
    /// <see cref="WalOptions.FsyncInterval"/>, on rotation and on dispose. A machine crash (not a process crash) can lose
    /// up to one interval of acknowledged records.</summary>
    Interval,

    /// <summary>An append completes once its group was handed to the OS, which flushes when it likes; fsync only on rotation
    /// and dispose. A process crash loses nothing; a machine crash can lose any acknowledged record since the last
    /// rotation.</summary>
    Never,
}

/// <summary>Settings of one <see cref="Wal"/>. Immutable once the log is open.</summary>
internal sealed class WalOptions
{
    /// <summary>The largest payload of one record: 512 MiB.</summary>
    public const int MaxPayloadBytes = 512 * 1024 * 1024;

    /// <summary>When an append counts as durable. Default <see cref="FsyncPolicy.Always"/>.</summary>
    public FsyncPolicy FsyncPolicy { get; init; } = FsyncPolicy.Always;

    /// <summary>Under <see cref="FsyncPolicy.Interval"/>, the longest time written records stay unsynced. Default 100 ms.</summary>
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A group that would take the current file past this many bytes starts a new file first (a file that holds
    /// no record yet takes the group whatever its size). Default 64 MiB; at least 4 KiB, at most 1 GiB.</summary>
    public long MaxFileBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The most bytes (headers included) written and synced as one group; a single larger record forms a group
    /// on its own. Default 4 MiB; at least 4 KiB.</summary>
    public int MaxGroupBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The default settings.</summary>
    public static WalOptions Default { get; } = new();

    internal void Validate()
    {
        if (MaxFileBytes is < 4096 or > 1L << 30)
        {
            Throw.Invalid($"WalOptions.MaxFileBytes must be between 4 KiB and 1 GiB, got {MaxFileBytes}");
        }

        if (MaxGroupBytes < 4096)
        {
            Throw.Invalid($"WalOptions.MaxGroupBytes must be at least 4 KiB, got {MaxGroupBytes}");
        }

        if (FsyncInterval <= TimeSpan.Zero && FsyncPolicy == FsyncPolicy.Interval)
        {
            Throw.Invalid($"WalOptions.FsyncInterval must be positive, got {FsyncInterval}");
        }

        if (!Enum.IsDefined(FsyncPolicy))
        {
            Throw.Invalid($"WalOptions.FsyncPolicy {FsyncPolicy} is not defined");
        }
    }
}
