using Quiver.Storage;

namespace Quiver;

/// <summary>When a write is acknowledged relative to the disk.</summary>
public enum DurabilityMode
{
    /// <summary>Default. A write returns only after its WAL record is fsynced; concurrent writes share one fsync (group commit).</summary>
    Always = 0,
    /// <summary>A write returns once its record is written to the OS; the WAL is fsynced every <see cref="QuiverOptions.FsyncInterval"/>.
    /// A machine crash can lose up to that interval; a process crash loses nothing.</summary>
    Interval = 1,
    /// <summary>A write returns once its record is written to the OS, which flushes when it likes.</summary>
    Never = 2,
}

/// <summary>Options for <see cref="QuiverEngine.OpenAsync"/>. Every property has a documented default.</summary>
public sealed record QuiverOptions
{
    /// <summary>WAL fsync policy; default <see cref="DurabilityMode.Always"/>.</summary>
    public DurabilityMode Durability { get; init; } = DurabilityMode.Always;

    /// <summary>With <see cref="DurabilityMode.Interval"/>: time between fsyncs; default 100 ms.</summary>
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A growing segment is sealed (written to an immutable file) by a background flush once it holds this
    /// many rows; default 131,072.</summary>
    public int SegmentMaxRows { get; init; } = 131_072;

    /// <summary>A growing segment is also sealed once its vectors take this many bytes; default 512 MiB.</summary>
    public long SegmentMaxVectorBytes { get; init; } = 512L << 20;

    /// <summary>A background flush also runs once the WAL since the last checkpoint exceeds this many bytes, bounding
    /// recovery time; default 256 MiB.</summary>
    public long CheckpointWalBytes { get; init; } = 256L << 20;

    /// <summary>Run background flush and compaction; default true. Tests turn it off to control every step.</summary>
    public bool BackgroundMaintenance { get; init; } = true;

    /// <summary>Sealed segments with fewer live rows than this fraction of <see cref="SegmentMaxRows"/> are merged by
    /// compaction; default 0.5.</summary>
    public double CompactionSmallFraction { get; init; } = 0.5;

    /// <summary>Sealed segments with at least this fraction of rows deleted are rewritten by compaction; default 0.2.</summary>
    public double CompactionDeletedFraction { get; init; } = 0.2;

    /// <summary>Threads each background index build uses; default the number of processors. Builds run one at a time.</summary>
    public int IndexBuildThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Where the bytes go; tests pass a fault-injecting file system.</summary>
    internal IFileSystem? FileSystem { get; init; }
}
