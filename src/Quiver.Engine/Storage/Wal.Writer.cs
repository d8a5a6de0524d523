using System.Diagnostics;

namespace Quiver.Storage;

/// <summary>The writer thread: group commit, fsync policy, rotation and failure handling.</summary>
internal sealed partial class Wal
{
    private const int InitialBufferBytes = 64 * 1024;

    private void WriterLoop()
    {
        try
        {
            while (WaitAndTakeGroup())
            {
                if (_group.Count > 0)
                {
                    if (_group[0].Kind == EntryKind.Rotate)
                    {
                        RotateRequested();
                    }
                    else
                    {
                        WriteGroup();
                    }
                }

                SyncIfDue();
            }

            Shutdown();
        }
        catch (Exception ex)
        {
            // A bug, not an I/O failure (those are handled where they happen): fail loudly, but never leave a task hanging.
            Break(new QuiverException(QuiverErrorCode.Unavailable, $"The WAL writer for '{_directory}' failed: {ex.Message}", ex), groupError: null);
        }
        finally
        {
            try
            {
                _file?.Dispose();
            }
            catch (IOException)
            {
                // Everything that matters was synced or reported already.
            }

            _writerExited.TrySetResult();
        }
    }

    /// <summary>Waits for work and moves the next group into <see cref="_group"/>: appends up to
    /// <see cref="WalOptions.MaxGroupBytes"/>, or a single rotation. False when the writer should stop.</summary>
    private bool WaitAndTakeGroup()
    {
        lock (_queueLock)
        {
            while (_queue.Count == 0)
            {
                if (_stopping || _state == State.Broken)
                {
                    return false;
                }

                int timeout = WaitTimeoutMilliseconds();
                if (timeout == 0)
                {
                    return true;
                }

                _writerWaiting = true;
                Monitor.Wait(_queueLock, timeout);
                _writerWaiting = false;
                if (timeout != Timeout.Infinite)
                {
                    break;
                }
            }

            int bytes = 0;
            while (_queue.TryPeek(out var entry))
            {
                if (entry.Kind == EntryKind.Rotate)
                {
                    if (_group.Count > 0)
                    {
                        break;
                    }

                    _queue.Dequeue();
                    if (entry.TryTake())
                    {
                        _group.Add(entry);
                        break;
                    }

                    continue;
                }

                if (_group.Count > 0 && bytes + entry.Size > _options.MaxGroupBytes)
                {
                    break;
                }

                _queue.Dequeue();
                if (entry.TryTake())
                {
                    _group.Add(entry);
                    bytes += entry.Size;
                }
            }

            return true;
        }
    }

    private int WaitTimeoutMilliseconds()
    {
        if (_options.FsyncPolicy != FsyncPolicy.Interval || !_dirty)
        {
            return Timeout.Infinite;
        }

        var remaining = _options.FsyncInterval - Stopwatch.GetElapsedTime(_lastSyncTimestamp);
        return remaining <= TimeSpan.Zero ? 0 : Math.Max(1, (int)Math.Ceiling(remaining.TotalMilliseconds));
    }

    private void WriteGroup()
    {
        int bytes = 0;
        foreach (var entry in _group)
        {
            bytes += entry.Size;
        }

        if (_fileLength > WalFormat.FileHeaderSize && _fileLength + bytes > _options.MaxFileBytes)
        {
            var error = Rotate();
            if (error is not null)
            {
                FaultGroup(error);
                return;
            }
        }

        if (_buffer.Length < bytes)
        {
            _buffer = new byte[Math.Max(bytes, Math.Max(InitialBufferBytes, Math.Min(_buffer.Length * 2, _options.MaxGroupBytes)))];
        }

        long lsn = _nextLsn;
        int position = 0;
        foreach (var entry in _group)
        {
            entry.Lsn = lsn++;
            int size = entry.Size;
            WalFormat.WriteRecord(_buffer.AsSpan(position, size), entry.Lsn, entry.Type, entry.Payload.Span);
            position += size;
        }

        long before = _fileLength;
        try
        {
            _file!.Write(_buffer, 0, position);
            if (_options.FsyncPolicy == FsyncPolicy.Always)
            {
                SyncFile();
            }
            else
            {
                _file.Flush();
            }
        }
        catch (Exception ex)
        {
            WriteFailed(before, ex);
            return;
        }
        finally
        {
            if (_buffer.Length > _options.MaxGroupBytes)
            {
                // A single huge record grew the buffer; do not keep it.
                _buffer = [];
            }
        }

        _fileLength += position;
        long last = lsn - 1;
        Volatile.Write(ref _nextLsn, lsn);
        if (_options.FsyncPolicy == FsyncPolicy.Always)
        {
            Volatile.Write(ref _lastSyncedLsn, last);
            _lastSyncTimestamp = Stopwatch.GetTimestamp();
        }
        else
        {
            _dirty = true;
        }

        Volatile.Write(ref _lastDurableLsn, last);

        // The engine applies each write to memory in its callback, so they run here, in LSN order, before any task
        // completes; a throwing callback faults only its own record.
        foreach (var entry in _group)
        {
            if (entry.OnDurable is { } onDurable)
            {
                try
                {
                    onDurable(entry.Lsn);
                }
                catch (Exception ex)
                {
                    entry.TrySetException(ex);
                }
            }
        }

        foreach (var entry in _group)
        {
            entry.TrySetResult(entry.Lsn);
        }

        _group.Clear();
    }

    private void RotateRequested()
    {
        var entry = _group[0];
        var error = Rotate();
        if (_state == State.Broken)
        {
            return;
        }

        _group.Clear();
        if (error is null)
        {
            entry.TrySetResult(_nextLsn);
        }
        else
        {
            entry.TrySetException(error);
        }
    }

    /// <summary>Fsyncs the current file and starts a new one named by the next LSN (unless the current one holds no
    /// record). Returns null on success, else the error for the requester; if the log cannot be kept consistent it is
    /// broken and the group faulted.</summary>
    private QuiverException? Rotate()
    {
        if (_dirty && !SyncNow())
        {
            return _broken;
        }

        long first = _nextLsn;
        if (first == _fileFirstLsn)
        {
            return null;
        }

        string path = Path.Combine(_directory, WalFormat.FileName(first));
        WritableFile next;
        try
        {
            next = CreateLogFile(_fs, path, first);
        }
        catch (Exception ex)
        {
            return RotateFailed(path, ex);
        }

        try
        {
            _fs.SyncDirectory(_directory);
        }
        catch (Exception ex)
        {
            next.Dispose();
            return RotateFailed(path, ex);
        }

        var old = _file!;
        _file = next;
        _filePath = path;
        _fileFirstLsn = first;
        _fileLength = WalFormat.FileHeaderSize;
        lock (_segmentsLock)
        {
            _segments.Add(new Segment(first, path));
        }

        old.Dispose();
        return null;
    }

    private QuiverException? RotateFailed(string path, Exception ex)
    {
        var error = new QuiverException(ErrorCodeFor(ex), $"Starting the WAL file '{path}' failed: {ex.Message}", ex);
        try
        {
            // A leftover file named by an LSN the old file goes on to hold would read as a gap on recovery, so its removal
            // must be durable before any more records are written.
            _fs.Delete(path);
            _fs.SyncDirectory(_directory);
            return error;
        }
        catch (Exception undo)
        {
            Break(new QuiverException(QuiverErrorCode.Unavailable,
                $"The WAL in '{_directory}' could not remove the half-made file '{path}': {undo.Message}", new AggregateException(ex, undo)), error);
            return error;
        }
    }

    private void WriteFailed(long lengthBefore, Exception ex)
    {
        var error = new QuiverException(ErrorCodeFor(ex),
            $"Writing {_group.Count} record(s) to the WAL file '{_filePath}' failed; they were not logged: {ex.Message}", ex);
        try
        {
            // Cut the partial group away and make the cut durable, so a crash cannot bring back records we failed.
            _file!.Truncate(lengthBefore);
            SyncFile();
        }
        catch (Exception undo)
        {
            Break(new QuiverException(QuiverErrorCode.Unavailable,
                $"The WAL file '{_filePath}' could not be cut back to {lengthBefore} bytes after a failed write: {undo.Message}",
                new AggregateException(ex, undo)), error);
            return;
        }

        _fileLength = lengthBefore;
        FaultGroup(error);
        lock (_queueLock)
        {
            FaultQueued(error);
        }
    }

    /// <summary>Fsyncs the current file, timing it for <see cref="EngineMetrics.WalFsyncDurationName"/>. Failures
    /// propagate to the caller, which decides what they mean.</summary>
    private void SyncFile()
    {
        var started = Stopwatch.GetTimestamp();
        _file!.Sync();
        EngineMetrics.WalFsynced(started);
    }

    private void SyncIfDue()
    {
        if (_dirty && _options.FsyncPolicy == FsyncPolicy.Interval && Stopwatch.GetElapsedTime(_lastSyncTimestamp) >= _options.FsyncInterval)
        {
            SyncNow();
        }
    }

    /// <summary>Fsyncs written-but-unsynced records. Their appends were acknowledged, so a failure cannot be undone: the
    /// log breaks.</summary>
    private bool SyncNow()
    {
        try
        {
            SyncFile();
        }
        catch (Exception ex)
        {
            Break(new QuiverException(QuiverErrorCode.Unavailable,
                $"Fsync of the WAL file '{_filePath}' failed; records acknowledged since the last fsync may be lost: {ex.Message}", ex), groupError: null);
            return false;
        }

        _dirty = false;
        _lastSyncTimestamp = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastSyncedLsn, _nextLsn - 1);
        return true;
    }

    private void Shutdown()
    {
        if (_state != State.Broken && _dirty && !SyncNow())
        {
            _disposeError = _broken;
        }
    }

    /// <summary>Stops the log for good: faults the current group with <paramref name="groupError"/> (or
    /// <paramref name="error"/>) and everything queued with <paramref name="error"/>; later appends throw.</summary>
    private void Break(QuiverException error, QuiverException? groupError)
    {
        lock (_queueLock)
        {
            _state = State.Broken;
            _broken = error;
            FaultQueued(error);
        }

        FaultGroup(groupError ?? error);
    }

    private void FaultGroup(QuiverException error)
    {
        foreach (var entry in _group)
        {
            entry.TrySetException(error);
        }

        _group.Clear();
    }

    private void FaultQueued(QuiverException error)
    {
        Debug.Assert(Monitor.IsEntered(_queueLock));
        while (_queue.TryDequeue(out var entry))
        {
            if (entry.TryTake())
            {
                entry.TrySetException(error);
            }
        }
    }

    private static QuiverErrorCode ErrorCodeFor(Exception ex) => IsDiskFull(ex) ? QuiverErrorCode.Capacity : QuiverErrorCode.Unavailable;

    /// <summary>ENOSPC/EDQUOT on Unix (the runtime puts errno in HResult), ERROR_DISK_FULL/ERROR_HANDLE_DISK_FULL on Windows.</summary>
    internal static bool IsDiskFull(Exception ex)
    {
        if (ex is not IOException io)
        {
            return false;
        }

        int code = io.HResult;
        if (OperatingSystem.IsWindows())
        {
            return code is unchecked((int)0x80070070) or unchecked((int)0x80070027);
        }

        return code == 28 || (OperatingSystem.IsLinux() && code == 122) || (OperatingSystem.IsMacOS() && code == 69);
    }
}
