using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;
using X86Sse42 = System.Runtime.Intrinsics.X86.Sse42;

namespace Quiver.Storage;

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF), the checksum
/// of every Quiver on-disk record. Uses the SSE4.2 / ARMv8 CRC instructions when present, else a table. Thread-safe.</summary>
internal static class Crc32C
{
    private const uint Polynomial = 0x82F63B78u;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Extends a finished CRC-32C <paramref name="crc"/> (of some prefix) over <paramref name="data"/>, so that
    /// <c>Append(Compute(a), b) == Compute(a + b)</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (X86Sse42.X64.IsSupported)
        {
            return ~AppendSse42(~crc, data);
        }

        if (ArmCrc32.Arm64.IsSupported)
        {
            return ~AppendArm64(~crc, data);
        }

        return ~AppendTable(~crc, data);
    }

    /// <summary>The portable path, exposed so that tests compare it with the hardware path.</summary>
    internal static uint AppendScalar(uint crc, ReadOnlySpan<byte> data) => ~AppendTable(~crc, data);

    private static uint AppendSse42(uint state, ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        ulong wide = state;
        for (; i <= length - 8; i += 8)
        {
            wide = X86Sse42.X64.Crc32(wide, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i)));
        }

        state = (uint)wide;
        for (; i < length; i++)
        {
            state = X86Sse42.Crc32(state, Unsafe.Add(ref start, i));
        }

        return state;
    }

    private static uint AppendArm64(uint state, ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        for (; i <= length - 8; i += 8)
        {
            // The instruction consumes the value least-significant byte first, which is file order only on little-endian.
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i, 8));
            state = ArmCrc32.Arm64.ComputeCrc32C(state, word);
        }

        for (; i < length; i++)
        {
            state = ArmCrc32.ComputeCrc32C(state, Unsafe.Add(ref start, i));
        }

        return state;
    }

    private static uint AppendTable(uint state, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        foreach (byte b in data)
        {
            state = table[(byte)(state ^ b)] ^ (state >> 8);
        }

        return state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
