namespace Quiver.Storage;

/// <summary>One record read back from the log. <see cref="Payload"/> points into a buffer that is reused after the
/// callback returns: copy what you keep.</summary>
/// <param name="Lsn">Log sequence number, consecutive from 1.</param>
/// <param name="Type">The caller-defined record type given to <see cref="Wal.AppendAsync"/>.</param>
/// <param name="Payload">The record's bytes, valid only during the callback.</param>
internal readonly record struct WalRecord(long Lsn, byte Type, ReadOnlyMemory<byte> Payload);

/// <summary>What a <see cref="Wal.Replay"/> found.</summary>
internal sealed class WalReadReport
{
    /// <summary>The first LSN that was asked for.</summary>
    public required long FromLsn { get; init; }

    /// <summary>How many records were handed to the callback.</summary>
    public required long RecordsDelivered { get; init; }

    /// <summary>The LSN the next append gets (the last good record's LSN + 1).</summary>
    public required long NextLsn { get; init; }

    /// <summary>How many log files were read (files wholly before <see cref="FromLsn"/> are skipped unread).</summary>
    public required int FilesRead { get; init; }

    /// <summary>The file whose torn tail was cut off, or null if the log ended cleanly.</summary>
    public string? TruncatedFile { get; init; }

    /// <summary>The byte offset in <see cref="TruncatedFile"/> where the torn tail began (the new file length).</summary>
    public long TruncatedOffset { get; init; }

    /// <summary>How many bytes the torn tail held.</summary>
    public long BytesDropped { get; init; }

    /// <summary>True if a torn tail was cut off.</summary>
    public bool TailTruncated => TruncatedFile is not null;

    /// <inheritdoc/>
    public override string ToString() => TailTruncated
        ? $"replayed {RecordsDelivered} record(s) from LSN {FromLsn} in {FilesRead} file(s); next LSN {NextLsn}; cut a torn tail of {BytesDropped} byte(s) at offset {TruncatedOffset} of '{TruncatedFile}'"
        : $"replayed {RecordsDelivered} record(s) from LSN {FromLsn} in {FilesRead} file(s); next LSN {NextLsn}";
}
