using System.Buffers;

namespace Quiver.Storage;

/// <summary>Recovery: reading the log back, validating it and cutting a torn tail.</summary>
internal sealed partial class Wal
{
    /// <summary>Delivers every record with LSN ≥ <paramref name="fromLsn"/> to <paramref name="onRecord"/>, in LSN order,
    /// on the calling thread, then opens the log for appends after the last good record. Call once, before any append.
    /// <para>A torn tail (an incomplete or checksum-failing record at the end of the last file with no valid record after
    /// it) is cut off and reported. Damage followed by a valid record, damage in any other file, an LSN gap, or records
    /// at or after <paramref name="fromLsn"/> that are missing throw <see cref="CorruptionException"/> naming the file and
    /// byte offset; the log is then left unopened.</para></summary>
    /// <param name="fromLsn">The first LSN wanted (a checkpoint's LSN + 1); files wholly before it are not read.</param>
    /// <param name="onRecord">Receives each record; its payload is only valid during the call.</param>
    public WalReadReport Replay(long fromLsn, Action<WalRecord> onRecord)
    {
        ArgumentNullException.ThrowIfNull(onRecord);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromLsn, 1);
        lock (_queueLock)
        {
            if (_state == State.Fresh)
            {
                return ReplayFresh(fromLsn);
            }

            if (_state != State.NeedsReplay)
            {
                throw new InvalidOperationException($"Replay of the WAL in '{_directory}' must come before any append, and only once.");
            }
        }

        Segment[] segments;
        lock (_segmentsLock)
        {
            segments = [.. _segments];
        }

        if (fromLsn < segments[0].FirstLsn)
        {
            Throw.Corrupt(segments[0].Path, $"replay from LSN {fromLsn} was asked for, but the oldest WAL file begins at LSN {segments[0].FirstLsn}: records are missing");
        }

        int start = 0;
        while (start + 1 < segments.Length && segments[start + 1].FirstLsn <= fromLsn)
        {
            start++;
        }

        long expected = segments[start].FirstLsn;
        long delivered = 0;
        long lastLength = 0;
        string? tornFile = null;
        long tornOffset = 0;
        long tornBytes = 0;
        for (int i = start; i < segments.Length; i++)
        {
            var (first, path) = segments[i];
            bool isLast = i == segments.Length - 1;
            if (first != expected)
            {
                Throw.Corrupt(path, $"the file begins at LSN {first}, but the previous file ends at LSN {expected - 1}");
            }

            long fileLength = _fs.GetLength(path);
            if (fileLength > int.MaxValue)
            {
                Throw.Corrupt(path, $"a WAL file of {fileLength} bytes is larger than any this build writes");
            }

            byte[] data = ArrayPool<byte>.Shared.Rent((int)fileLength);
            try
            {
                int length = ReadFully(path, data, (int)fileLength);
                string? headerProblem = WalFormat.CheckFileHeader(data.AsSpan(0, Math.Min(length, WalFormat.FileHeaderSize)), first);
                if (headerProblem is not null)
                {
                    if (!isLast || length > WalFormat.FileHeaderSize)
                    {
                        Throw.Corrupt(path, $"at offset 0: {headerProblem}");
                    }

                    // A crash while a new file was being started: it holds no record, so write its header again.
                    CreateLogFile(_fs, path, first).Dispose();

                    tornFile = path;
                    tornOffset = 0;
                    tornBytes = length;
                    lastLength = WalFormat.FileHeaderSize;
                    break;
                }

                int offset = WalFormat.FileHeaderSize;
                while (offset < length)
                {
                    var rest = data.AsSpan(offset, length - offset);
                    int size = WalFormat.TryReadRecord(rest, out long lsn, out byte type, out string? problem);
                    if (size > 0 && lsn == expected)
                    {
                        if (lsn >= fromLsn)
                        {
                            onRecord(new WalRecord(lsn, type, data.AsMemory(offset + WalFormat.RecordHeaderSize, size - WalFormat.RecordHeaderSize)));
                            delivered++;
                        }

                        expected++;
                        offset += size;
                        continue;
                    }

                    if (size > 0)
                    {
                        Throw.Corrupt(path, $"at offset {offset}: a valid record has LSN {lsn}, expected {expected} (LSNs are consecutive)");
                    }

                    if (!isLast)
                    {
                        Throw.Corrupt(path, $"at offset {offset} (LSN {expected} expected): {problem}; only the last WAL file may end in a torn write");
                    }

                    int later = WalFormat.FindValidRecord(rest[1..], expected);
                    if (later >= 0)
                    {
                        Throw.Corrupt(path, $"at offset {offset} (LSN {expected} expected): {problem}, and a valid record follows at offset {offset + 1 + later}");
                    }

                    tornFile = path;
                    tornOffset = offset;
                    tornBytes = length - offset;
                    break;
                }

                lastLength = tornFile is null ? length : tornOffset;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }

        if (fromLsn > expected)
        {
            Throw.Corrupt(segments[^1].Path, $"replay from LSN {fromLsn} was asked for, but the WAL ends at LSN {expected - 1}: records are missing");
        }

        var (lastFirst, lastPath) = segments[^1];
        var appendFile = _fs.OpenAppend(lastPath);
        try
        {
            if (tornFile is not null && tornOffset > 0)
            {
                appendFile.Truncate(tornOffset);
                appendFile.Sync();
            }
        }
        catch
        {
            appendFile.Dispose();
            throw;
        }

        lock (_queueLock)
        {
            if (_stopping)
            {
                appendFile.Dispose();
                throw new QuiverException(QuiverErrorCode.Unavailable, $"The WAL in '{_directory}' is disposed.");
            }

            _file = appendFile;
            StartAt(lastPath, lastFirst, lastLength, expected);
            _state = State.Running;
            StartWriter();
        }

        return new WalReadReport
        {
            FromLsn = fromLsn,
            RecordsDelivered = delivered,
            NextLsn = expected,
            FilesRead = segments.Length - start,
            TruncatedFile = tornFile,
            TruncatedOffset = tornOffset,
            BytesDropped = tornBytes,
        };
    }

    private WalReadReport ReplayFresh(long fromLsn)
    {
        _state = State.Running;
        if (fromLsn < _fileFirstLsn || fromLsn > _nextLsn)
        {
            Throw.Corrupt(_filePath, $"replay from LSN {fromLsn} was asked for, but the new WAL begins at LSN {_fileFirstLsn}");
        }

        return new WalReadReport { FromLsn = fromLsn, RecordsDelivered = 0, NextLsn = _nextLsn, FilesRead = 0 };
    }

    private int ReadFully(string path, byte[] buffer, int length)
    {
        using var stream = _fs.OpenRead(path);
        int total = 0;
        while (total < length)
        {
            int read = stream.Read(buffer, total, length - total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
