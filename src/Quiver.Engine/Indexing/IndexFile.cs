using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Quiver.Storage;

namespace Quiver.Indexing;

/// <summary>How a block is laid out and checked (the flags word of its directory entry holds <see cref="VerifiedOnRead"/>).</summary>
[Flags]
internal enum BlockOptions
{
    /// <summary>64-byte aligned, checksum verified when the file is opened.</summary>
    None = 0,

    /// <summary>Checksum written but not verified at open; the index validates every value it reads from the block.</summary>
    VerifiedOnRead = 1,

    /// <summary>Starts on a <see cref="IndexFile.SectorSize"/> boundary (layout only; not stored).</summary>
    SectorAligned = 2,
}

/// <summary>A producer of one block's bytes, called once while the file is written (so large blocks are not copied).</summary>
internal delegate ReadOnlySpan<byte> BlockSource();

/// <summary>Collects the named blocks of an index file and writes it durably. The layout (docs/format-index.md): a 64-byte
/// header, a directory of 48-byte entries, then the blocks, each 64-byte aligned with its own CRC-32C.</summary>
internal sealed class IndexFileWriter
{
    private readonly List<(string Name, long Length, BlockSource Source, BlockOptions Options)> _blocks = [];

    public IndexFileWriter(IndexKind kind, MetricType metric, int dimension, int count, IndexParameters buildParams)
    {
        Kind = kind;
        Metric = metric;
        Dimension = dimension;
        Count = count;
        var json = Encoding.UTF8.GetBytes(buildParams.ToJson());
        Add<byte>("params", json);
    }

    public IndexKind Kind { get; }

    public MetricType Metric { get; }

    public int Dimension { get; }

    public int Count { get; }

    /// <summary>Adds a block from a byte span producer; <paramref name="length"/> must equal what it returns.</summary>
    public void Add(string name, long length, BlockSource source) => Add(name, length, source, BlockOptions.None);

    /// <summary>Adds a block with layout options: <see cref="BlockOptions.SectorAligned"/> starts it on a 4 KiB boundary of
    /// the file (for indexes that read it a sector at a time), <see cref="BlockOptions.VerifiedOnRead"/> leaves its
    /// checksum out of the check at open (its reader validates what it reads instead), so that opening does not read it.</summary>
    public void Add(string name, long length, BlockSource source, BlockOptions options)
    {
        if (Encoding.ASCII.GetByteCount(name) > IndexFile.NameSize || name.Any(c => c > 127))
        {
            throw new ArgumentException($"block name '{name}' must be ASCII of at most {IndexFile.NameSize} bytes", nameof(name));
        }

        if (_blocks.Any(b => b.Name == name))
        {
            throw new ArgumentException($"block '{name}' added twice", nameof(name));
        }

        if (length is < 0 or > int.MaxValue)
        {
            throw new QuiverException(
                QuiverErrorCode.Capacity, $"index block '{name}' would be {length} bytes; a block holds at most {int.MaxValue} (use smaller segments or parameters)");
        }

        _blocks.Add((name, length, source, options));
    }

    /// <summary>Adds an array of unmanaged values as a block.</summary>
    public void Add<T>(string name, T[] values)
        where T : unmanaged => Add(name, (ReadOnlyMemory<T>)values.AsMemory());

    /// <summary>Adds a memory region of unmanaged values as a block.</summary>
    public void Add<T>(string name, ReadOnlyMemory<T> values)
        where T : unmanaged => Add(name, (long)values.Length * Unsafe.SizeOf<T>(), () => MemoryMarshal.AsBytes(values.Span));

    /// <summary>Writes the file to <paramref name="path"/>: temp file, fsync, rename, fsync of the folder. Returns its length.
    /// Each block source is called twice: once for its checksum (the directory precedes the blocks), once to write it.</summary>
    public long WriteTo(IFileSystem fs, string path)
    {
        var directory = new byte[_blocks.Count * IndexFile.EntrySize];
        long offset = IndexFile.HeaderSize + directory.Length;
        var offsets = new long[_blocks.Count];
        for (var i = 0; i < _blocks.Count; i++)
        {
            offset = _blocks[i].Options.HasFlag(BlockOptions.SectorAligned) ? IndexFile.AlignSector(offset) : IndexFile.Align(offset);
            offsets[i] = offset;
            var bytes = _blocks[i].Source();
            if (bytes.Length != _blocks[i].Length)
            {
                throw new InvalidOperationException($"block '{_blocks[i].Name}' produced {bytes.Length} bytes, declared {_blocks[i].Length}");
            }

            var e = directory.AsSpan(i * IndexFile.EntrySize, IndexFile.EntrySize);
            Encoding.ASCII.GetBytes(_blocks[i].Name, e[..IndexFile.NameSize]);
            BinaryPrimitives.WriteInt64LittleEndian(e[24..], offset);
            BinaryPrimitives.WriteInt64LittleEndian(e[32..], bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[40..], Crc32C.Compute(bytes));
            BinaryPrimitives.WriteUInt32LittleEndian(e[44..], (uint)(_blocks[i].Options & BlockOptions.VerifiedOnRead));
            offset += bytes.Length;
        }

        Span<byte> header = stackalloc byte[IndexFile.HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, IndexFile.Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], IndexFile.Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], _blocks.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], (int)Kind);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], (int)Metric);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[48..], Crc32C.Compute(directory));
        BinaryPrimitives.WriteUInt32LittleEndian(header[52..], Crc32C.Compute(header[..52]));

        var tmp = path + ".tmp";
        long written;
        using (var file = fs.Create(tmp))
        {
            file.Write(header);
            file.Write(directory);
            written = IndexFile.HeaderSize + directory.Length;
            Span<byte> zeros = stackalloc byte[IndexFile.SectorSize];
            zeros.Clear();
            for (var i = 0; i < _blocks.Count; i++)
            {
                var pad = (int)(offsets[i] - written);
                file.Write(zeros[..pad]);
                written += pad;
                var bytes = _blocks[i].Source();
                file.Write(bytes);
                written += bytes.Length;
            }

            file.Sync();
        }

        fs.Rename(tmp, path);
        fs.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return written;
    }
}

/// <summary>Constants of the index file format and its reader.</summary>
internal static class IndexFile
{
    public const ulong Magic = 0x31_58_44_49_56_49_55_51; // "QUIVIDX1" little-endian
    public const int Version = 1;
    public const int HeaderSize = 64;
    public const int EntrySize = 48;
    public const int NameSize = 24;
    public const int Alignment = 64;

    /// <summary>The alignment of <see cref="BlockOptions.SectorAligned"/> blocks: a page, and a multiple of disk sectors.</summary>
    public const int SectorSize = 4096;

    public static long Align(long offset) => (offset + Alignment - 1) & ~(long)(Alignment - 1);

    public static long AlignSector(long offset) => (offset + SectorSize - 1) & ~(long)(SectorSize - 1);

    /// <summary>Maps and verifies an index file: header, directory and every block checksum. Any mismatch is a
    /// <see cref="CorruptionException"/> naming the file and block.</summary>
    public static IndexFileReader Open(IFileSystem fs, string path)
    {
        var map = fs.MapReadOnly(path);
        try
        {
            return new IndexFileReader(path, map);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }
}

/// <summary>An open, verified index file. Blocks are views into the mapping, valid until the reader is disposed; an index
/// loaded from the file owns its reader.</summary>
internal sealed unsafe class IndexFileReader : IDisposable
{
    private readonly MappedFile _map;
    private readonly Dictionary<string, (long Offset, int Length)> _blocks = new(StringComparer.Ordinal);

    public IndexFileReader(string path, MappedFile map)
    {
        Path = path;
        _map = map;
        if (map.Length < IndexFile.HeaderSize)
        {
            Throw.Corrupt(path, $"file is {map.Length} bytes, shorter than the {IndexFile.HeaderSize}-byte header");
        }

        var header = map.Span(0, IndexFile.HeaderSize);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != IndexFile.Magic)
        {
            Throw.Corrupt(path, "bad magic number: not a Quiver index file");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[52..]) != Crc32C.Compute(header[..52]))
        {
            Throw.Corrupt(path, "header checksum mismatch");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version != IndexFile.Version)
        {
            Throw.Corrupt(path, $"index file version {version}; this build reads version {IndexFile.Version}");
        }

        var blockCount = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        Kind = (IndexKind)BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        Metric = (MetricType)BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        Dimension = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        Count = BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
        if (blockCount < 0 || IndexFile.HeaderSize + ((long)blockCount * IndexFile.EntrySize) > map.Length)
        {
            Throw.Corrupt(path, $"directory of {blockCount} blocks does not fit in the file");
        }

        var directory = map.Span(IndexFile.HeaderSize, (int)((long)blockCount * IndexFile.EntrySize));
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[48..]) != Crc32C.Compute(directory))
        {
            Throw.Corrupt(path, "directory checksum mismatch");
        }

        for (var i = 0; i < blockCount; i++)
        {
            var e = directory.Slice(i * IndexFile.EntrySize, IndexFile.EntrySize);
            var name = Encoding.ASCII.GetString(e[..IndexFile.NameSize]).TrimEnd('\0');
            var offset = BinaryPrimitives.ReadInt64LittleEndian(e[24..]);
            var length = BinaryPrimitives.ReadInt64LittleEndian(e[32..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(e[40..]);
            // Written so that no sum can overflow: a checksum-valid directory from a faulty writer must not point a span
            // outside the mapping.
            if (offset < 0 || length < 0 || length > int.MaxValue || length > map.Length || offset > map.Length - length)
            {
                Throw.Corrupt(path, $"block '{name}' ({offset}+{length}) lies outside the {map.Length}-byte file");
            }

            if (offset % IndexFile.Alignment != 0)
            {
                Throw.Corrupt(path, $"block '{name}' starts at {offset}, not a multiple of {IndexFile.Alignment}");
            }

            var flags = (BlockOptions)BinaryPrimitives.ReadUInt32LittleEndian(e[44..]);
            if ((flags & ~BlockOptions.VerifiedOnRead) != 0)
            {
                Throw.Corrupt(path, $"block '{name}' has unknown flags 0x{(uint)flags:x}");
            }

            if (flags == BlockOptions.None && Crc32C.Compute(map.Span(offset, (int)length)) != crc)
            {
                Throw.Corrupt(path, $"block '{name}' checksum mismatch");
            }

            _blocks[name] = (offset, (int)length);
        }

        BuildParams = IndexParameters.FromJson(Encoding.UTF8.GetString(Block("params")), $"index file '{path}'");
    }

    public string Path { get; }

    public IndexKind Kind { get; }

    public MetricType Metric { get; }

    public int Dimension { get; }

    public int Count { get; }

    public IndexParameters BuildParams { get; }

    public bool Has(string name) => _blocks.ContainsKey(name);

    /// <summary>A block's bytes; a missing block is corruption (the writer always writes what its reader needs).</summary>
    public ReadOnlySpan<byte> Block(string name)
    {
        var (offset, length) = Find(name);
        return new ReadOnlySpan<byte>(_map.Pointer + offset, length);
    }

    /// <summary>A block as unmanaged values; its length must be a multiple of the value size.</summary>
    public ReadOnlySpan<T> Block<T>(string name)
        where T : unmanaged
    {
        var bytes = Block(name);
        if (bytes.Length % sizeof(T) != 0)
        {
            Throw.Corrupt(Path, $"block '{name}' is {bytes.Length} bytes, not a multiple of {sizeof(T)}");
        }

        return MemoryMarshal.Cast<byte, T>(bytes);
    }

    /// <summary>The address of a block in the mapping (64-byte aligned), for indexes that read it in place.</summary>
    public byte* Pointer(string name) => _map.Pointer + Find(name).Offset;

    public void Dispose() => _map.Dispose();

    private (long Offset, int Length) Find(string name)
    {
        if (!_blocks.TryGetValue(name, out var b))
        {
            Throw.Corrupt(Path, $"block '{name}' is missing");
        }

        return b;
    }
}
