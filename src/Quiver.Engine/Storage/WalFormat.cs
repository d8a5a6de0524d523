using System.Buffers.Binary;
using System.Globalization;

namespace Quiver.Storage;

/// <summary>The byte layout of WAL files; see docs/format-wal.md. All integers are little-endian.</summary>
internal static class WalFormat
{
    /// <summary>"QWAL" read as a little-endian u32.</summary>
    public const uint Magic = 0x4C415751;

    public const ushort Version = 1;

    /// <summary>File header: [u32 magic][u16 version][u16 reserved=0][u64 firstLsn][u32 reserved=0][u32 crc32c of bytes 0..19].</summary>
    public const int FileHeaderSize = 24;

    /// <summary>Record header: [u32 payloadLength][u32 crc32c][u64 lsn][u8 type]; the CRC covers bytes 8.. of the record
    /// (lsn, type, payload), which are contiguous.</summary>
    public const int RecordHeaderSize = 21;

    public const int CrcStart = 8;

    public const string Extension = ".wal";

    public const string Pattern = "*.wal";

    public static string FileName(long firstLsn) => firstLsn.ToString("D20", CultureInfo.InvariantCulture) + Extension;

    /// <summary>Parses a WAL file name back to the LSN of its first record.</summary>
    public static bool TryParseFileName(string path, out long firstLsn)
    {
        string name = Path.GetFileName(path);
        firstLsn = 0;
        return name.Length == 20 + Extension.Length
            && name.EndsWith(Extension, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out firstLsn)
            && firstLsn >= 1;
    }

    public static void WriteFileHeader(Span<byte> header, long firstLsn)
    {
        header[..FileHeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], firstLsn);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], Crc32C.Compute(header[..20]));
    }

    /// <summary>Null if the header is good, else what is wrong with it.</summary>
    public static string? CheckFileHeader(ReadOnlySpan<byte> header, long expectedFirstLsn)
    {
        if (header.Length < FileHeaderSize)
        {
            return $"file header is {header.Length} bytes, expected {FileHeaderSize}";
        }

        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        if (crc != Crc32C.Compute(header[..20]))
        {
            return "file header checksum mismatch";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            return "not a Quiver WAL file (bad magic)";
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (version != Version)
        {
            return $"unsupported WAL format version {version} (this build reads {Version})";
        }

        long first = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        return first != expectedFirstLsn ? $"file header says first LSN {first} but the file name says {expectedFirstLsn}" : null;
    }

    /// <summary>Writes one record (header + payload) to <paramref name="destination"/>, which is exactly
    /// <see cref="RecordHeaderSize"/> + payload length bytes.</summary>
    public static void WriteRecord(Span<byte> destination, long lsn, byte type, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], lsn);
        destination[16] = type;
        payload.CopyTo(destination[RecordHeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32C.Compute(destination[CrcStart..]));
    }

    /// <summary>Checks the record at the start of <paramref name="data"/>. Returns its total length, or 0 if the bytes
    /// do not hold a whole record with a matching CRC (<paramref name="reason"/> says why).</summary>
    public static int TryReadRecord(ReadOnlySpan<byte> data, out long lsn, out byte type, out string? reason)
    {
        lsn = 0;
        type = 0;
        if (data.Length < RecordHeaderSize)
        {
            reason = $"incomplete record header ({data.Length} of {RecordHeaderSize} bytes)";
            return 0;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (length > (uint)(data.Length - RecordHeaderSize))
        {
            reason = $"record length {length} runs past the end of the file";
            return 0;
        }

        int total = RecordHeaderSize + (int)length;
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (crc != Crc32C.Compute(data[CrcStart..total]))
        {
            reason = "record checksum mismatch";
            return 0;
        }

        lsn = BinaryPrimitives.ReadInt64LittleEndian(data[8..]);
        type = data[16];
        reason = null;
        return total;
    }

    /// <summary>Looks for a whole, CRC-valid record with an LSN in [<paramref name="minLsn"/>, <paramref name="minLsn"/> +
    /// the most records that could fit] starting at any byte offset of <paramref name="data"/>; -1 if there is none. The
    /// LSN window rejects almost every offset before any CRC is computed.</summary>
    public static int FindValidRecord(ReadOnlySpan<byte> data, long minLsn)
    {
        long maxLsn = minLsn + (data.Length / RecordHeaderSize);
        for (int p = 0; p + RecordHeaderSize <= data.Length; p++)
        {
            var slice = data[p..];
            long lsn = BinaryPrimitives.ReadInt64LittleEndian(slice[8..]);
            if (lsn < minLsn || lsn > maxLsn)
            {
                continue;
            }

            if (TryReadRecord(slice, out _, out _, out _) > 0)
            {
                return p;
            }
        }

        return -1;
    }
}
