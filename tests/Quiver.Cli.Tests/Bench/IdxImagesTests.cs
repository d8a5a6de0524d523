using System.Buffers.Binary;
using System.IO.Compression;
using Quiver.Testing;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Bench;

/// <summary>The one IDX image reader (<see cref="IdxImages"/>) that <c>quiver bench ann</c>'s fashion-mnist data set and
/// the benchmark harness's <c>flat</c> share: files written here byte by byte, read back as the pixel values, plain and
/// gzipped; damaged files refused naming the problem; and no second reader of the format in the CLI or bench/.</summary>
public sealed class IdxImagesTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-idx");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Read_PlainAndGzipped_GivesEveryPixelAsAFloat_RowMajor()
    {
        // 5 images of 3 x 4 pixels, every byte value from 0 to 255 appearing somewhere.
        var pixels = Enumerable.Range(0, 5 * 12).Select(i => (byte)((i * 37) % 256)).ToArray();
        pixels[7] = 255;
        pixels[8] = 0;
        var file = Idx(0x0803, 5, 3, 4, pixels);
        File.WriteAllBytes(_dir.Sub("plain"), file);
        using (var gz = new GZipStream(File.Create(_dir.Sub("zipped.gz")), CompressionLevel.Optimal))
        {
            gz.Write(file);
        }

        foreach (var path in new[] { _dir.Sub("plain"), _dir.Sub("zipped.gz") })
        {
            var values = IdxImages.Read(path, out var count, out var dimension);
            Assert.Equal((5, 12), (count, dimension));
            Assert.Equal(pixels.Select(b => (float)b), values);
        }
    }

    [Fact]
    public void Find_PrefersTheGzippedFile_AndNamesBothWhenNeitherIsThere()
    {
        var file = Idx(0x0803, 1, 1, 2, [10, 20]);
        File.WriteAllBytes(_dir.Sub("images"), file);
        Assert.Equal(_dir.Sub("images"), IdxImages.Find(_dir.Path, "images"));
        var plainOnly = IdxImages.Read(_dir.Path, "images", out _, out _);
        Assert.Equal([10f, 20f], plainOnly);

        using (var gz = new GZipStream(File.Create(_dir.Sub("images.gz")), CompressionLevel.Fastest))
        {
            gz.Write(Idx(0x0803, 1, 1, 2, [30, 40]));
        }

        Assert.Equal(_dir.Sub("images.gz"), IdxImages.Find(_dir.Path, "images"));
        Assert.Equal([30f, 40f], IdxImages.Read(_dir.Path, "images", out _, out _));

        var missing = Assert.Throws<QuiverException>(() => IdxImages.Find(_dir.Path, "absent"));
        Assert.Equal(QuiverErrorCode.NotFound, missing.Code);
        Assert.Contains(_dir.Sub("absent") + "(.gz): not found", missing.Message);
    }

    [Theory]
    [InlineData(0x0801, 2, 2, 2, 8, "not an IDX3 file")]  // IDX1 (labels), not images
    [InlineData(0x0803, 0, 2, 2, 0, "not an IDX3 file")]  // no images
    [InlineData(0x0803, 2, 0, 2, 0, "not an IDX3 file")]  // no rows
    [InlineData(0x0803, 2, 2, -1, 0, "not an IDX3 file")] // negative columns
    [InlineData(0x0803, 3, 2, 2, 11, "truncated: fewer than the 3 x 4 pixels")]
    [InlineData(0x0803, 3, 2, 2, -1, "shorter than the 16-byte IDX3 header")]
    public void Read_DamagedFile_IsRefusedNamingThePathAndTheProblem(int magic, int count, int rows, int columns, int pixels, string problem)
    {
        var bytes = pixels < 0 ? new byte[9] : Idx(magic, count, rows, columns, new byte[pixels]);
        var path = _dir.Sub("damaged");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<QuiverException>(() => IdxImages.Read(path, out _, out _));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
    }

    /// <summary>Issue 15: benchmark code duplicated between src/Quiver.Cli/Bench and bench/ lives in one place. The IDX
    /// format (its magic number, its big-endian header, its file names) and a .fvecs row loop (a read of each row's
    /// dimension word, then the row's bytes) appear nowhere in either but in the toolbox's readers
    /// (<see cref="IdxImages"/>, <see cref="VectorFile"/>).</summary>
    [Fact]
    public void NoSecondReader_OfIdxOrVecsFiles_InTheCliOrTheBenchHarness()
    {
        // The one copy left: ScaleBench streams a 10M-row base file row by row into the engine (its own owner's file
        // in session 28); VectorFile.ReadFloats(start, count, ...) does the same and can replace it.
        string[] known = ["bench/Quiver.Bench/ScaleBench.cs"];
        var folders = new[] { "src/Quiver.Cli", "bench/Quiver.Bench" }.Select(f => Path.Combine(RepositoryRoot.Path, f));
        var copies = folders
            .SelectMany(f => Directory.EnumerateFiles(f, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f =>
            {
                var text = File.ReadAllText(f);
                return text.Contains("0x0803", StringComparison.Ordinal) || text.Contains("idx3-ubyte\"", StringComparison.Ordinal)
                    || text.Contains("ReadInt32BigEndian", StringComparison.Ordinal)
                    || (text.Contains(".ReadExactly(", StringComparison.Ordinal) && text.Contains("MemoryMarshal.AsBytes", StringComparison.Ordinal));
            })
            .Select(f => Path.GetRelativePath(RepositoryRoot.Path, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Except(known)
            .ToList();
        Assert.Empty(copies);
    }

    private static byte[] Idx(int magic, int count, int rows, int columns, byte[] pixels)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }
}
