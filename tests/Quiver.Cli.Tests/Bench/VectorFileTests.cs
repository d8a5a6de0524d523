using System.Buffers.Binary;
using System.Text;
using Quiver.Cli.Bench;
using Quiver.Testing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Bench;

public sealed class VectorFileTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-vecfile");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("v.fvecs")]
    [InlineData("v.npy")]
    public void Floats_RoundTrip(string name)
    {
        var values = Enumerable.Range(0, 5 * 3).Select(i => (i * 0.5f) - 3).ToArray();
        var path = _dir.Sub(name);
        VectorFile.Write<float>(path, values, 3);

        var back = VectorFile.ReadFloats(path, 0, out var count, out var dim);
        Assert.Equal((5, 3), (count, dim));
        Assert.Equal(values, back);

        var firstTwo = VectorFile.ReadFloats(path, 2, out count, out _);
        Assert.Equal(2, count);
        Assert.Equal(values[..6], firstTwo);
    }

    [Theory]
    [InlineData("g.ivecs")]
    [InlineData("g.npy")]
    public void Ints_RoundTrip(string name)
    {
        var values = Enumerable.Range(0, 4 * 7).Select(i => (i * 37) % 101).ToArray();
        var path = _dir.Sub(name);
        VectorFile.Write<int>(path, values, 7);

        Assert.Equal(values, VectorFile.ReadInts(path, 0, out var count, out var dim));
        Assert.Equal((4, 7), (count, dim));
    }

    [Fact]
    public void Int64Npy_ReadsAsInt32Ids()
    {
        var path = _dir.Sub("g64.npy");
        VectorFile.Write<long>(path, new long[] { 1, 2, 3, 4, 5, 6 }, 3);
        Assert.Equal([1, 2, 3, 4, 5, 6], VectorFile.ReadInts(path, 0, out _, out var dim));
        Assert.Equal(3, dim);
    }

    [Theory]
    [InlineData("b.bvecs")]
    [InlineData("b.npy")]
    public void Bytes_ReadAsFloats(string name)
    {
        var path = _dir.Sub(name);
        VectorFile.Write<byte>(path, new byte[] { 0, 1, 255, 7, 8, 9 }, 3);
        Assert.Equal([0f, 1f, 255f, 7f, 8f, 9f], VectorFile.ReadFloats(path, 0, out var count, out _));
        Assert.Equal(2, count);
    }

    [Fact]
    public void Npy_Version2Header_IsRead()
    {
        var path = _dir.Sub("v2.npy");
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
        File.WriteAllBytes(path, Npy(2, header, [1f, 2f, 3f, 4f]));
        Assert.Equal([1f, 2f, 3f, 4f], VectorFile.ReadFloats(path, 0, out _, out _));
    }

    [Fact]
    public void Fvecs_Truncated_NamesFileAndProblem()
    {
        var path = _dir.Sub("t.fvecs");
        VectorFile.Write<float>(path, new float[12], 4);
        using (var f = File.OpenWrite(path))
        {
            f.SetLength(f.Length - 3);
        }

        var e = Assert.Throws<QuiverException>(() => VectorFile.Open(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("dimension 4", e.Message);
    }

    [Fact]
    public void Fvecs_RowOfAnotherDimension_IsAnError()
    {
        var path = _dir.Sub("mixed.fvecs");
        var bytes = new byte[2 * (4 + 8)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, 2);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), 3);
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<QuiverException>(() => VectorFile.ReadFloats(path, 0, out _, out _));
        Assert.Contains("row 2 (at byte offset 12) declares dimension 3", e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Theory]
    [InlineData("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", "dtype '<f2' is not supported")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", "big-endian")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "expected 2-D")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (9, 2), }", "truncated")]
    [InlineData("{'descr': '<f4', 'shape': (2, 2), }", "lacks one of")]
    [InlineData("{'descr': '<f4' 'fortran_order': False}", "malformed npy header")]
    public void Npy_BadHeader_NamesFileAndProblem(string header, string expected)
    {
        var path = _dir.Sub("bad.npy");
        File.WriteAllBytes(path, Npy(1, header + "\n", [1f, 2f, 3f, 4f]));
        var e = Assert.Throws<QuiverException>(() => VectorFile.ReadFloats(path, 0, out _, out _));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Npy_WithoutMagic_IsNotNpy()
    {
        var path = _dir.Sub("text.npy");
        File.WriteAllText(path, "hello, not numpy");
        Assert.Contains("not a NumPy .npy file", Assert.Throws<QuiverException>(() => VectorFile.Open(path)).Message);
    }

    [Fact]
    public void WrongKind_IsRefused()
    {
        var ids = _dir.Sub("ids.ivecs");
        VectorFile.Write<int>(ids, new[] { 1, 2 }, 2);
        Assert.Contains("expected vectors", Assert.Throws<QuiverException>(() => VectorFile.ReadFloats(ids, 0, out _, out _)).Message);

        var vectors = _dir.Sub("v.fvecs");
        VectorFile.Write<float>(vectors, new[] { 1f, 2f }, 2);
        Assert.Contains("expected integer ids", Assert.Throws<QuiverException>(() => VectorFile.ReadInts(vectors, 0, out _, out _)).Message);

        Assert.Contains("unknown extension", Assert.Throws<QuiverException>(() => VectorFile.Open(_dir.Sub("v.csv"))).Message);
        Assert.Contains("no such file", Assert.Throws<QuiverException>(() => VectorFile.Open(_dir.Sub("none.fvecs"))).Message);
    }

    [Fact]
    public void Head_CopiesTheFirstRows()
    {
        var input = _dir.Sub("in.ivecs");
        VectorFile.Write<int>(input, Enumerable.Range(0, 20).ToArray(), 4);
        BenchCommand.Head(input, _dir.Sub("out.npy"), 2);
        Assert.Equal(Enumerable.Range(0, 8).ToArray(), VectorFile.ReadInts(_dir.Sub("out.npy"), 0, out var count, out _));
        Assert.Equal(2, count);
    }

    /// <summary>An .npy file with the given header text (padded as NumPy does) and float32 data.</summary>
    private static byte[] Npy(int major, string header, float[] data)
    {
        var prefix = major == 1 ? 10 : 12;
        var padded = header.TrimEnd('\n');
        padded += new string(' ', (64 - ((prefix + padded.Length + 1) % 64)) % 64) + "\n";
        var bytes = new byte[prefix + padded.Length + (data.Length * 4)];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", bytes.AsSpan(1));
        bytes[6] = (byte)major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)padded.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)padded.Length);
        }

        Encoding.ASCII.GetBytes(padded, bytes.AsSpan(prefix));
        for (var i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(prefix + padded.Length + (i * 4)), data[i]);
        }

        return bytes;
    }

    /// <summary>More than 2^31 bytes of floats in one <c>Append</c> (10M x 128-d is 5 GB): each row is written whole,
    /// where the view of the values as one byte span overflowed (<c>bench data --data synthetic:10000000x128:42</c>
    /// stopped with an OverflowException). The values live in native memory that is never touched except the first and
    /// last rows, so the process does not hold 2 GB; the file does, briefly.</summary>
    [Fact]
    public void Append_MoreThanTwoGigabytesOfFloats_WritesEveryRow()
    {
        const int dim = 1024;
        const int rows = 524_289; // 524,289 x 4 KiB = 2^31 + 4096 bytes
        var bytes = (long)rows * dim * sizeof(float);
        Assert.True(bytes > int.MaxValue);
        var memory = System.Runtime.InteropServices.Marshal.AllocHGlobal((nint)bytes);
        try
        {
            // A span over the native block without an unsafe context: a null reference moved by the block's address.
            var values = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
                ref System.Runtime.CompilerServices.Unsafe.AddByteOffset(ref System.Runtime.CompilerServices.Unsafe.NullRef<float>(), memory),
                rows * dim);
            values[..dim].Fill(1.5f);
            values[^dim..].Fill(-2.5f);
            var path = _dir.Sub("big.fvecs");
            using (var writer = VectorFile.Create(path, VectorElement.Float32, dim))
            {
                writer.Append<float>(values);
                writer.Complete();
            }

            var rowBytes = sizeof(int) + (dim * sizeof(float));
            Assert.Equal((long)rows * rowBytes, new FileInfo(path).Length);
            using var file = File.OpenRead(path);
            var row = new byte[rowBytes];
            file.ReadExactly(row);
            Assert.Equal(dim, BinaryPrimitives.ReadInt32LittleEndian(row));
            Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(row.AsSpan(rowBytes - sizeof(float))));
            file.Seek(-rowBytes, SeekOrigin.End);
            file.ReadExactly(row);
            Assert.Equal(dim, BinaryPrimitives.ReadInt32LittleEndian(row));
            Assert.Equal(-2.5f, BinaryPrimitives.ReadSingleLittleEndian(row.AsSpan(sizeof(int))));
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(memory);
        }
    }
}
