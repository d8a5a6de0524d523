using System.Diagnostics;

namespace Quiver.Storage;

/// <summary>The write-ahead log of one shard: an append-only sequence of records with consecutive LSNs from 1, kept in
/// files of a folder of its own, written by one background thread in groups (group commit). See docs/format-wal.md.
/// <para>Lifecycle: <see cref="Open"/>; then <see cref="Replay"/> once if the folder held a log; then appends from any
/// number of threads; then <see cref="DisposeAsync"/>. All members are thread-safe.</para></summary>
internal sealed partial class Wal : IWal
{
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly WalOptions _options;

    // Guards _queue, _state, _broken, _stopping, _writerWaiting; the writer waits on it.
    private readonly object _queueLock = new();
    private readonly Queue<WalEntry> _queue = new();

    // Guards _segments (the files, oldest first; the last one is the file being written).
    private readonly object _segmentsLock = new();
    private readonly List<Segment> _segments = [];

    private readonly TaskCompletionSource _writerExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private State _state;
    private QuiverException? _broken;
    private bool _stopping;
    private bool _writerWaiting;
    private bool _writerStarted;

    // Owned by the writer thread once it runs (by Open/Replay before).
    private readonly List<WalEntry> _group = [];
    private byte[] _buffer = [];
    private WritableFile? _file;
    private string _filePath = "";
    private long _fileFirstLsn;
    private long _fileLength;
    private bool _dirty;
    private long _lastSyncTimestamp;
    private QuiverException? _disposeError;

    // Published for readers of the properties.
    private long _nextLsn;
    private long _lastDurableLsn;
    private long _lastSyncedLsn;

    private Wal(IFileSystem fs, string directory, WalOptions options)
    {
        _fs = fs;
        _directory = directory;
        _options = options;
    }

    private enum State
    {
        NeedsReplay,
        Fresh,
        Running,
        Broken,
        Stopped,
    }

    /// <summary>The LSN the next appended record gets: one past the last record written.</summary>
    public long NextLsn => Volatile.Read(ref _nextLsn);

    /// <summary>The highest LSN that is durable under the fsync policy: written, and under <see cref="FsyncPolicy.Always"/>
    /// fsynced (see <see cref="LastSyncedLsn"/> for the others). Its callback may still be running.</summary>
    public long LastDurableLsn => Volatile.Read(ref _lastDurableLsn);

    /// <summary>The highest LSN known to be fsynced.</summary>
    public long LastSyncedLsn => Volatile.Read(ref _lastSyncedLsn);

    /// <summary>The folder of the log.</summary>
    public string DirectoryPath => _directory;

    /// <summary>Opens the log in <paramref name="directory"/> (created if missing). If the folder holds no log, a first
    /// file starting at <paramref name="firstLsnHint"/> (default 1) is created and the log accepts appends at once;
    /// otherwise the hint is ignored and <see cref="Replay"/> must run before any append. The caller holds the data folder's lock: two
    /// <see cref="Wal"/> objects on one folder corrupt it.</summary>
    public static Wal Open(IFileSystem fs, string directory, WalOptions? options = null, long? firstLsnHint = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= WalOptions.Default;
        options.Validate();
        if (firstLsnHint is < 1)
        {
            Throw.Invalid($"firstLsnHint must be at least 1, got {firstLsnHint}");
        }

        DurableFolders.Create(fs, directory);
        var wal = new Wal(fs, directory, options);
        foreach (string path in fs.ListFiles(directory, WalFormat.Pattern))
        {
            if (!WalFormat.TryParseFileName(path, out long first))
            {
                Throw.Corrupt(path, $"unexpected file in the WAL folder (names are 20-digit LSNs + '{WalFormat.Extension}')");
            }

            wal._segments.Add(new Segment(first, path));
        }

        if (wal._segments.Count == 0)
        {
            long first = firstLsnHint ?? 1;
            string path = Path.Combine(directory, WalFormat.FileName(first));
            wal._file = CreateLogFile(fs, path, first);
            try
            {
                fs.SyncDirectory(directory);
            }
            catch
            {
                wal._file.Dispose();
                throw;
            }

            wal._segments.Add(new Segment(first, path));
            wal.StartAt(path, first, WalFormat.FileHeaderSize, first);
            wal._state = State.Fresh;
            wal.StartWriter();
        }
        else
        {
            wal._state = State.NeedsReplay;
        }

        return wal;
    }

    /// <summary>Queues a record. The returned task completes with the record's LSN once it is durable under the
    /// <see cref="WalOptions.FsyncPolicy"/>; before that, on the writer thread and in exact LSN order,
    /// <paramref name="onDurable"/> runs with the LSN. If <paramref name="onDurable"/> throws, the task faults with that
    /// exception (the record stays in the log). The payload must not change until the task completes. If
    /// <paramref name="ct"/> fires before the record is written it is dropped and the task is cancelled; afterwards it
    /// is too late. A failed write faults the task with a <see cref="QuiverException"/> (<see cref="QuiverErrorCode.Capacity"/>
    /// on a full disk, else <see cref="QuiverErrorCode.Unavailable"/>) and consumes no LSN.</summary>
    /// <param name="type">Caller-defined record type, stored with the record.</param>
    /// <param name="payload">The record bytes, at most <see cref="WalOptions.MaxPayloadBytes"/>.</param>
    /// <param name="onDurable">Runs on the writer thread in LSN order before the task completes; keep it short.</param>
    /// <param name="ct">Cancels the append while it still waits in the queue.</param>
    public Task<long> AppendAsync(byte type, ReadOnlyMemory<byte> payload, Action<long>? onDurable = null, CancellationToken ct = default)
    {
        if (payload.Length > WalOptions.MaxPayloadBytes)
        {
            Throw.Invalid($"WAL record payload is {payload.Length} bytes; the limit is {WalOptions.MaxPayloadBytes}");
        }

        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<long>(ct);
        }

        var entry = new WalEntry(EntryKind.Append, type, payload, onDurable);
        Enqueue(entry, ct);
        return entry.Task;
    }

    /// <summary>Queues a rotation after every earlier append. When the task completes, every earlier record is fsynced and
    /// its callback has run, and later records go to a new file; the result is that file's first LSN (the next LSN to be
    /// assigned). If the current file holds no record yet, no new file is made. Used for checkpoints.</summary>
    public Task<long> RotateAsync(CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<long>(ct);
        }

        var entry = new WalEntry(EntryKind.Rotate, 0, default, null);
        Enqueue(entry, ct);
        return entry.Task;
    }

    /// <summary>Deletes every file all of whose records have LSNs below <paramref name="lsn"/> (never the file being
    /// written), then fsyncs the folder. Returns how many files were deleted.</summary>
    public int DeleteFilesBefore(long lsn)
    {
        List<string> doomed = [];
        lock (_segmentsLock)
        {
            // A file's records end just before the next file's first LSN.
            int count = 0;
            while (count < _segments.Count - 1 && _segments[count + 1].FirstLsn <= lsn)
            {
                count++;
            }

            for (int i = 0; i < count; i++)
            {
                doomed.Add(_segments[i].Path);
            }

            _segments.RemoveRange(0, count);
        }

        foreach (string path in doomed)
        {
            _fs.Delete(path);
        }

        if (doomed.Count > 0)
        {
            _fs.SyncDirectory(_directory);
        }

        return doomed.Count;
    }

    /// <summary>Paths of the log files, oldest first; the last is the one being written.</summary>
    public IReadOnlyList<string> Files()
    {
        lock (_segmentsLock)
        {
            return _segments.Select(s => s.Path).ToArray();
        }
    }

    /// <summary>Completes every queued append (or faults it if its write fails), fsyncs and closes the file. Appends
    /// after this start throw <see cref="QuiverErrorCode.Unavailable"/>. Throws <see cref="QuiverException"/> if the final
    /// fsync failed, since records acknowledged under a lax policy may then be lost.</summary>
    public async ValueTask DisposeAsync()
    {
        bool first;
        bool writerStarted;
        lock (_queueLock)
        {
            first = !_stopping;
            writerStarted = _writerStarted;
            _stopping = true;
            if (_state is not State.Broken)
            {
                _state = State.Stopped;
            }

            Monitor.PulseAll(_queueLock);
        }

        if (writerStarted)
        {
            await _writerExited.Task.ConfigureAwait(false);
            if (first && _disposeError is not null)
            {
                throw _disposeError;
            }
        }
        else if (first)
        {
            _file?.Dispose();
        }
    }

    private void Enqueue(WalEntry entry, CancellationToken ct)
    {
        if (ct.CanBeCanceled)
        {
            // Registered before the entry is visible to the writer, so that its Unregister always sees the registration.
            entry.RegisterCancellation(ct);
        }

        lock (_queueLock)
        {
            switch (_state)
            {
                case State.Fresh:
                    _state = State.Running;
                    break;
                case State.Running:
                    break;
                default:
                    entry.DisposeRegistration();
                    ThrowNotAccepting();
                    break;
            }

            _queue.Enqueue(entry);
            if (_writerWaiting)
            {
                Monitor.Pulse(_queueLock);
            }
        }
    }

    private void ThrowNotAccepting()
    {
        switch (_state)
        {
            case State.NeedsReplay:
                throw new InvalidOperationException($"The WAL in '{_directory}' holds records: call Replay before appending.");
            case State.Broken:
                throw new QuiverException(QuiverErrorCode.Unavailable, $"The WAL in '{_directory}' stopped accepting writes after an I/O failure it could not undo: {_broken?.Message}", _broken);
            default:
                throw new QuiverException(QuiverErrorCode.Unavailable, $"The WAL in '{_directory}' is disposed.");
        }
    }

    private static WritableFile CreateLogFile(IFileSystem fs, string path, long firstLsn)
    {
        var file = fs.Create(path);
        try
        {
            Span<byte> header = stackalloc byte[WalFormat.FileHeaderSize];
            WalFormat.WriteFileHeader(header, firstLsn);
            file.Write(header);
            file.Sync();
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void StartAt(string path, long fileFirstLsn, long fileLength, long nextLsn)
    {
        _filePath = path;
        _fileFirstLsn = fileFirstLsn;
        _fileLength = fileLength;
        _nextLsn = nextLsn;
        _lastDurableLsn = nextLsn - 1;
        _lastSyncedLsn = nextLsn - 1;
        _lastSyncTimestamp = Stopwatch.GetTimestamp();
    }

    private void StartWriter()
    {
        _writerStarted = true;
        var thread = new Thread(WriterLoop)
        {
            IsBackground = true,
            Name = "quiver-wal-writer",
        };
        thread.Start();
    }

    private readonly record struct Segment(long FirstLsn, string Path);

    private enum EntryKind : byte
    {
        Append,
        Rotate,
    }

    /// <summary>A queued append or rotation; it is its own task source, so an append allocates this and its task only.</summary>
    private sealed class WalEntry(EntryKind kind, byte type, ReadOnlyMemory<byte> payload, Action<long>? onDurable)
        : TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Cancelled = 2;

        private int _state;
        private CancellationTokenRegistration _registration;

        public EntryKind Kind => kind;

        public byte Type => type;

        public ReadOnlyMemory<byte> Payload => payload;

        public Action<long>? OnDurable => onDurable;

        public long Lsn { get; set; }

        public int Size => WalFormat.RecordHeaderSize + payload.Length;

        public void RegisterCancellation(CancellationToken ct) =>
            _registration = ct.UnsafeRegister(static (state, token) => ((WalEntry)state!).Cancel(token), this);

        public void DisposeRegistration() => _registration.Unregister();

        /// <summary>Claims the entry for the writer; false if it was cancelled first.</summary>
        public bool TryTake()
        {
            if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued)
            {
                return false;
            }

            _registration.Unregister();
            return true;
        }

        private void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                TrySetCanceled(token);
            }
        }
    }
}
