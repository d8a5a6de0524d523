using System.Buffers.Binary;
using System.IO.Compression;

namespace Quiver.Toolbox.Vectors;

/// <summary>Images in the IDX format (MNIST, Fashion-MNIST): a big-endian header (magic 0x00000803, count, rows,
/// columns), then count × rows × columns unsigned bytes, plain or gzipped (<c>.gz</c>, as Debian ships them). Pixels come
/// back as float32 values 0..255, one image per row, as FAISS users load them with <c>astype('float32')</c>.
/// The one reader of these files: <c>quiver bench ann</c>'s <c>fashion-mnist</c> data set (src/Quiver.Cli/Bench) and
/// the benchmark harness's <c>flat</c> (bench/Quiver.Bench) both read through it.</summary>
internal static class IdxImages
{
    /// <summary>Where Debian's dataset-fashion-mnist installs its files.</summary>
    public const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Fashion-MNIST training images' file name (without <c>.gz</c>).</summary>
    public const string FashionMnistTrain = "train-images-idx3-ubyte";

    /// <summary>The Fashion-MNIST test images' file name (without <c>.gz</c>).</summary>
    public const string FashionMnistTest = "t10k-images-idx3-ubyte";

    private const int Magic = 0x0803;

    /// <summary>The file <paramref name="name"/> in <paramref name="folder"/>: <c>name.gz</c> when it is there, else
    /// <c>name</c>; a <see cref="QuiverErrorCode.NotFound"/> error naming both when neither is.</summary>
    public static string Find(string folder, string name)
    {
        foreach (var candidate in new[] { Path.Combine(folder, name + ".gz"), Path.Combine(folder, name) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new QuiverException(QuiverErrorCode.NotFound, $"{Path.Combine(folder, name)}(.gz): not found; run scripts/bench-setup.sh (Debian dataset-fashion-mnist)");
    }

    /// <summary>Reads the images of <paramref name="name"/> in <paramref name="folder"/> (see <see cref="Find"/>).</summary>
    public static float[] Read(string folder, string name, out int count, out int dimension) => Read(Find(folder, name), out count, out dimension);

    /// <summary>Reads every image of the IDX3 file at <paramref name="path"/> (gzipped when its name ends in <c>.gz</c>):
    /// <paramref name="count"/> rows of <paramref name="dimension"/> (rows × columns) floats. A wrong magic number, a
    /// non-positive shape or fewer pixels than the header promises is an <see cref="QuiverErrorCode.InvalidArgument"/>
    /// error whose message starts with the path.</summary>
    public static float[] Read(string path, out int count, out int dimension)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        Span<byte> header = stackalloc byte[16];
        try
        {
            stream.ReadExactly(header);
        }
        catch (EndOfStreamException)
        {
            throw VectorFile.Error(path, "shorter than the 16-byte IDX3 header");
        }

        var magic = BinaryPrimitives.ReadInt32BigEndian(header);
        count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        var rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        var columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (magic != Magic || count <= 0 || rows <= 0 || columns <= 0 || (long)rows * columns > int.MaxValue
            || (long)count * rows * columns > Array.MaxLength)
        {
            throw VectorFile.Error(path, $"not an IDX3 file of unsigned-byte images (magic {magic:X}, {count} images of {rows} x {columns} pixels)");
        }

        dimension = rows * columns;
        var pixels = new byte[(long)count * dimension];
        try
        {
            stream.ReadExactly(pixels);
        }
        catch (EndOfStreamException)
        {
            throw VectorFile.Error(path, $"truncated: fewer than the {count} x {dimension} pixels the header promises");
        }

        var values = new float[pixels.Length];
        for (var i = 0; i < pixels.Length; i++)
        {
            values[i] = pixels[i];
        }

        return values;
    }
}
