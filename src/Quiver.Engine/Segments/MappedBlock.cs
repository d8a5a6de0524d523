using System.Buffers;
using Quiver.Storage;

namespace Quiver.Segments;

/// <summary>One block of a mapped segment file, checked against its CRC-32C on first touch rather than at open, so that
/// opening a segment reads only its header and directory. Every way into the block's bytes (<see cref="Memory{T}"/>
/// spans, <see cref="Pointer"/>) verifies first, so a damaged block is a <see cref="CorruptionException"/> before any of
/// its values is used. The owning segment keeps the mapping alive; thread-safe (two first touches may both verify).</summary>
internal sealed unsafe class MappedBlock
{
    private readonly byte* _pointer;
    private readonly uint _crc;
    private readonly string _path;
    private readonly string _name;
    private int _verified;

    public MappedBlock(byte* pointer, int length, uint crc, string path, string name)
    {
        _pointer = pointer;
        Length = length;
        _crc = crc;
        _path = path;
        _name = name;
    }

    /// <summary>Bytes in the block.</summary>
    public int Length { get; }

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

    /// <summary>The block as <typeparamref name="T"/> values (its length must be a multiple of their size); every
    /// <c>Span</c> taken from the memory checks that the block was verified.</summary>
    public ReadOnlyMemory<T> Memory<T>()
        where T : unmanaged => new Manager<T>(this).Create();

    /// <summary>Throws <see cref="CorruptionException"/> naming the file and block unless the block matches its checksum.</summary>
    public void EnsureVerified()
    {
        if (Volatile.Read(ref _verified) != 0)
        {
            return;
        }

        if (Crc32C.Compute(new ReadOnlySpan<byte>(_pointer, Length)) != _crc)
        {
            Throw.Corrupt(_path, $"{_name} checksum mismatch");
        }

        Volatile.Write(ref _verified, 1);
    }

    /// <summary>Mapped memory as a Memory&lt;T&gt;; read-only in practice (the mapping is), writable only in type.</summary>
    private sealed class Manager<T>(MappedBlock block) : MemoryManager<T>
        where T : unmanaged
    {
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
