using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Quiver;

/// <summary>
/// The engine's own measurements, published on the <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="MeterName"/> so that a host (the server's <c>/metrics</c>, <c>dotnet-counters</c>, OpenTelemetry) can
/// listen without the engine knowing who. Recording is allocation-free: the instruments take no tags, and with no
/// listener attached a record is a field check.
/// </summary>
public static class EngineMetrics
{
    /// <summary>The meter name, <c>Quiver.Engine</c>.</summary>
    public const string MeterName = "Quiver.Engine";

    /// <summary>Histogram of WAL fsync durations in seconds (every fsync of a WAL file: group commits, interval syncs,
    /// rotations, the final one at close).</summary>
    public const string WalFsyncDurationName = "quiver.wal.fsync.duration";

    /// <summary>Counter of rows written by inserts and upserts (counted once durable and applied).</summary>
    public const string RowsWrittenName = "quiver.rows.written";

    /// <summary>Counter of rows deleted (by key or by filter; keys that matched no live row are not counted).</summary>
    public const string RowsDeletedName = "quiver.rows.deleted";

    /// <summary>Counter of compaction merges: each rewrites a group of sealed segments into one.</summary>
    public const string CompactionMergesName = "quiver.compaction.merges";

    /// <summary>Counter of rows the compaction merges read (live and deleted rows of the merged segments).</summary>
    public const string CompactionRowsName = "quiver.compaction.rows";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> WalFsyncDuration =
        Meter.CreateHistogram<double>(WalFsyncDurationName, "s", "Duration of one WAL fsync");

    private static readonly Counter<long> RowsWritten =
        Meter.CreateCounter<long>(RowsWrittenName, "{row}", "Rows written by inserts and upserts");

    private static readonly Counter<long> RowsDeleted =
        Meter.CreateCounter<long>(RowsDeletedName, "{row}", "Rows deleted");

    private static readonly Counter<long> CompactionMerges =
        Meter.CreateCounter<long>(CompactionMergesName, "{merge}", "Compaction merges of sealed segments");

    private static readonly Counter<long> CompactionRows =
        Meter.CreateCounter<long>(CompactionRowsName, "{row}", "Rows of the segments compaction merged");

    /// <summary>Records one fsync that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal static void WalFsynced(long startTimestamp)
    {
        if (WalFsyncDuration.Enabled)
        {
            WalFsyncDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        }
    }

    /// <summary>Records a durable, applied write of <paramref name="rows"/> rows.</summary>
    internal static void Written(long rows, bool delete)
    {
        if (rows > 0)
        {
            (delete ? RowsDeleted : RowsWritten).Add(rows);
        }
    }

    /// <summary>Records one compaction merge of segments holding <paramref name="rows"/> rows.</summary>
    internal static void Compacted(long rows)
    {
        CompactionMerges.Add(1);
        CompactionRows.Add(rows);
    }
}
