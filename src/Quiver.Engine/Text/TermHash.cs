using System.Text;

namespace Quiver.TextAnalysis;

/// <summary>The 32-bit number Milvus gives a token: the CRC-32 (IEEE 802.3 polynomial, the zlib/PNG checksum) of the
/// token's first 100 UTF-8 bytes, taken modulo 2^32 - 1. Milvus uses it as the token's dimension in BM25 sparse vectors
/// and reports it from RunAnalyzer with with_hash; Quiver does the same so both agree. Thread-safe.</summary>
public static class TermHash
{
    /// <summary>Bytes of the token that take part (Milvus hashes a prefix of long tokens).</summary>
    public const int PrefixBytes = 100;

    private const uint Polynomial = 0xEDB88320u;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The hash of one token's text.</summary>
    public static uint Of(string term)
    {
        ArgumentNullException.ThrowIfNull(term);
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(term.Length) <= buffer.Length
            ? buffer[..Encoding.UTF8.GetBytes(term, buffer)]
            : Encoding.UTF8.GetBytes(term);
        return Crc32(bytes[..Math.Min(bytes.Length, PrefixBytes)]) % uint.MaxValue;
    }

    /// <summary>The plain CRC-32 (IEEE) of <paramref name="data"/>.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        var state = uint.MaxValue;
        foreach (var b in data)
            state = Table[(byte)(state ^ b)] ^ (state >> 8);
        return ~state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
