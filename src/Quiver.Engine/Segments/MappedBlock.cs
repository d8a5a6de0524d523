using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Storage;

namespace Quiver.Segments;

/// <summary>One block of a mapped segment file, checked against its checksums on first touch rather than at open, so that
/// opening a segment reads only its header and directory. Every way into the block's bytes (<see cref="Memory{T}"/>
/// spans, <see cref="Pointer"/>) verifies the whole block first, so a damaged block is a <see cref="CorruptionException"/>
/// before any of its values is used. A block of format version 4 also carries one CRC-32C per page
/// (<see cref="SegmentFile.PageSize"/> bytes): <see cref="EnsureVerified(long, long)"/> and <see cref="PagedView{T}"/>
/// check only the pages a read touches, so that a binary search over a segment's sorted keys checksums O(log rows) bytes,
/// not the block; so do point reads of a column through <see cref="At{T}"/> and <see cref="Range{T}"/> (a get reads one
/// value of each column), while bulk readers (filters, scans) take the memory's spans and verify the block. A version 3 block has one CRC-32C for the whole block, and a range check verifies all of it. The owning
/// segment keeps the mapping alive; thread-safe (two first touches may both verify).</summary>
internal sealed unsafe class MappedBlock
{
    private static long s_verifiedBytes;

    private readonly byte* _pointer;
    private readonly uint _crc;
    private readonly uint* _pageSums;
    private readonly int _pageShift;
    private readonly string _path;
    private readonly string _name;
    private int _verified;

    // One bit per page of a version 4 block, set once the page matched its checksum; made on the first range check.
    private ulong[]? _pagesVerified;

    // Minus the pages of a version 4 block not verified yet (counts up to 0 as pages are verified one by one).
    private int _pagesLeft;

    /// <summary>A block with one CRC-32C over all its bytes (format version 3 and older).</summary>
    public MappedBlock(byte* pointer, int length, uint crc, string path, string name)
        : this(pointer, length, crc, null, 0, path, name)
    {
    }

    /// <summary>A block with a CRC-32C per page of <c>1 &lt;&lt; pageShift</c> bytes at <paramref name="pageSums"/> (the
    /// last page may be short) and <paramref name="crc"/> over that checksum table (format version 4). A null
    /// <paramref name="pageSums"/> is a whole-block checksum.</summary>
    public MappedBlock(byte* pointer, int length, uint crc, uint* pageSums, int pageShift, string path, string name)
    {
        _pointer = pointer;
        Length = length;
        _crc = crc;
        _pageSums = pageSums;
        _pageShift = pageShift;
        _path = path;
        _name = name;
        _pagesLeft = pageSums is null ? 0 : -PageCount;
    }

    /// <summary>Bytes in the block.</summary>
    public int Length { get; }

    /// <summary>Bytes checksummed by every block of the process so far (for tests and benchmarks: what a read or write
    /// paid in verification). Thread-safe.</summary>
    public static long VerifiedBytes => Interlocked.Read(ref s_verifiedBytes);

    /// <summary>The verified block start.</summary>
    public byte* Pointer
    {
        get
        {
            EnsureVerified();
            return _pointer;
        }
    }

    /// <summary>The verified bytes.</summary>
    public ReadOnlySpan<byte> Bytes => new(Pointer, Length);

    /// <summary>The block start, NOT verified: only for readers that verify the range they read first
    /// (<see cref="PagedView{T}"/>).</summary>
    internal byte* RawStart => _pointer;

    /// <summary>The block as <typeparamref name="T"/> values (its length must be a multiple of their size); every
    /// <c>Span</c> taken from the memory checks that the block was verified.</summary>
    public ReadOnlyMemory<T> Memory<T>()
        where T : unmanaged => new Manager<T>(this).Create();

    /// <summary>The block as <typeparamref name="T"/> values read one at a time, each checking only its own page.</summary>
    public PagedView<T> Paged<T>()
        where T : unmanaged => new(this);

    /// <summary>Values [<paramref name="start"/>, start + <paramref name="length"/>) of <paramref name="memory"/>. When the
    /// memory is a mapped block's (<see cref="Memory{T}"/>), only the pages holding them are verified (the whole block of a
    /// version 3 file), so that a point read of a large column right after an open costs a page, not the column; other
    /// memory (the managed arrays of a growing segment) is read as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<T> Range<T>(ReadOnlyMemory<T> memory, int start, int length)
        where T : unmanaged
    {
        if (!MemoryMarshal.TryGetMemoryManager<T, Manager<T>>(memory, out var manager, out var offset, out var count))
        {
            return memory.Span.Slice(start, length);
        }

        if ((uint)start > (uint)count || (uint)length > (uint)(count - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"values {start}..{(long)start + length} of {count}");
        }

        var block = manager.Block;
        if (length > 0)
        {
            block.EnsureVerified((offset + (long)start) * sizeof(T), (long)length * sizeof(T));
        }

        return new ReadOnlySpan<T>((T*)block._pointer + offset + start, length);
    }

    /// <summary>Value <paramref name="index"/> of <paramref name="memory"/>, verifying only its page when the memory is
    /// mapped (<see cref="Range{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T At<T>(ReadOnlyMemory<T> memory, int index)
        where T : unmanaged => Range(memory, index, 1)[0];

    /// <summary>Throws <see cref="CorruptionException"/> naming the file and block unless the block matches its checksums
    /// (a version 4 block: its checksum table, then every page not verified yet).</summary>
    public void EnsureVerified()
    {
        if (Volatile.Read(ref _verified) != 0)
        {
            return;
        }

        if (_pageSums is null)
        {
            Count(Length);
            if (Crc32C.Compute(new ReadOnlySpan<byte>(_pointer, Length)) != _crc)
            {
                Throw.Corrupt(_path, $"{_name} checksum mismatch");
            }
        }
        else
        {
            var table = new ReadOnlySpan<byte>(_pageSums, PageCount * sizeof(uint));
            Count(table.Length);
            if (Crc32C.Compute(table) != _crc)
            {
                Throw.Corrupt(_path, $"{_name} page checksum table mismatch");
            }

            VerifyPages(0, PageCount - 1);
        }

        Volatile.Write(ref _verified, 1);
    }

    /// <summary>Verifies the pages holding bytes [<paramref name="start"/>, start + <paramref name="length"/>) of the
    /// block (a version 3 block: all of it). The table of page checksums is not checked here: a damaged entry fails its
    /// page, which is reported as damage just the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnsureVerified(long start, long length)
    {
        Debug.Assert(start >= 0 && length > 0 && start + length <= Length);
        if (Volatile.Read(ref _verified) != 0)
        {
            return;
        }

        if (_pageSums is null)
        {
            EnsureVerified();
            return;
        }

        VerifyPages((int)(start >> _pageShift), (int)((start + length - 1) >> _pageShift));
    }

    private int PageCount => (int)(((long)Length + (1L << _pageShift) - 1) >> _pageShift);

    private void VerifyPages(int first, int last)
    {
        var verified = _pagesVerified;
        if (verified is null)
        {
            Interlocked.CompareExchange(ref _pagesVerified, new ulong[(PageCount + 63) >> 6], null);
            verified = _pagesVerified;
        }

        for (var page = first; page <= last; page++)
        {
            var bit = 1UL << (page & 63);
            if ((Volatile.Read(ref verified[page >> 6]) & bit) != 0)
            {
                continue;
            }

            var offset = (long)page << _pageShift;
            var bytes = new ReadOnlySpan<byte>(_pointer + offset, (int)Math.Min(1L << _pageShift, Length - offset));
            Count(bytes.Length);
            if (Crc32C.Compute(bytes) != _pageSums[page])
            {
                Throw.Corrupt(_path, $"{_name} checksum mismatch in page {page} (bytes {offset} to {offset + bytes.Length - 1})");
            }

            // Counted once per page: two first touches of one page may both verify it, only the one that set the bit counts.
            if ((Interlocked.Or(ref verified[page >> 6], bit) & bit) == 0 && Interlocked.Increment(ref _pagesLeft) == 0)
            {
                // Every page matched its checksum (a damaged table entry would have failed its page), so later reads
                // skip the per-page test.
                Volatile.Write(ref _verified, 1);
            }
        }
    }

    private static void Count(long bytes) => Interlocked.Add(ref s_verifiedBytes, bytes);

    /// <summary>Mapped memory as a Memory&lt;T&gt;; read-only in practice (the mapping is), writable only in type.</summary>
    private sealed class Manager<T>(MappedBlock block) : MemoryManager<T>
        where T : unmanaged
    {
        /// <summary>The block the memory reads.</summary>
        public MappedBlock Block => block;

        // Set only while the memory is made: the runtime takes its length from GetSpan(), which would otherwise verify,
        // so that every block handed out as memory at open would be checksummed at open, O(rows), however few of its
        // values are ever read. The manager is not shared yet then.
        private bool _sizing;

        /// <summary>The memory over the block, made without verifying it.</summary>
        public Memory<T> Create()
        {
            _sizing = true;
            try
            {
                return Memory;
            }
            finally
            {
                _sizing = false;
            }
        }

        public override Span<T> GetSpan() => new(_sizing ? block._pointer : block.Pointer, block.Length / sizeof(T));

        public override MemoryHandle Pin(int elementIndex = 0) => new((T*)block.Pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}

/// <summary>A mapped block read as <typeparamref name="T"/> values one at a time, each read verifying only the page it
/// touches (<see cref="MappedBlock.EnsureVerified(long, long)"/>): for probes such as a binary search or a bloom filter
/// test, which read a few values of a large block. Or an in-memory array, for blocks not mapped.</summary>
internal readonly unsafe struct PagedView<T>
    where T : unmanaged
{
    private readonly MappedBlock? _block;
    private readonly ReadOnlyMemory<T> _memory;

    public PagedView(MappedBlock block)
    {
        _block = block;
        Length = block.Length / sizeof(T);
    }

    public PagedView(ReadOnlyMemory<T> memory)
    {
        _memory = memory;
        Length = memory.Length;
    }

    /// <summary>Values in the view.</summary>
    public int Length { get; }

    /// <summary>Value <paramref name="index"/>, its page verified first.</summary>
    public T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_block is null)
            {
                return _memory.Span[index];
            }

            if ((uint)index >= (uint)Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            _block.EnsureVerified((long)index * sizeof(T), sizeof(T));
            return ((T*)_block.RawStart)[index];
        }
    }

    /// <summary>Every value, the whole block verified.</summary>
    public ReadOnlySpan<T> All => _block is null ? _memory.Span : new ReadOnlySpan<T>(_block.Pointer, Length);
}
