using System.Buffers.Binary;
using System.IO.Compression;

namespace Quiver.Bench;

/// <summary>Reads Fashion-MNIST image files in the IDX format (big-endian header: magic 0x00000803, count, rows,
/// columns; then count*rows*columns unsigned bytes), gzipped (<c>.gz</c>, as Debian ships them) or plain. Pixels become
/// float32 values 0..255, as FAISS users load them with <c>astype('float32')</c>.</summary>
internal static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    public const int Dimension = 28 * 28;

    /// <summary>The 60,000 training images, row-major.</summary>
    public static float[] Train(string folder, out int count) => Read(Find(folder, "train-images-idx3-ubyte"), out count);

    /// <summary>The 10,000 test images, row-major.</summary>
    public static float[] Test(string folder, out int count) => Read(Find(folder, "t10k-images-idx3-ubyte"), out count);

    private static string Find(string folder, string name)
    {
        foreach (var candidate in new[] { Path.Combine(folder, name + ".gz"), Path.Combine(folder, name) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name}(.gz) not found in {folder}; run scripts/bench-setup.sh (Debian dataset-fashion-mnist)");
    }

    private static float[] Read(string path, out int count)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        Span<byte> header = stackalloc byte[16];
        stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadInt32BigEndian(header);
        count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        var rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        var cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (magic != 0x0803 || rows * cols != Dimension || count <= 0)
        {
            throw new InvalidDataException($"{path}: not an IDX3 file of 28x28 images (magic {magic:X}, {count} x {rows} x {cols})");
        }

        var pixels = new byte[count * Dimension];
        stream.ReadExactly(pixels);
        var values = new float[pixels.Length];
        for (var i = 0; i < pixels.Length; i++)
        {
            values[i] = pixels[i];
        }

        return values;
    }
}
