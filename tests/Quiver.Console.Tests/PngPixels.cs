using System.Buffers.Binary;
using System.IO.Compression;

namespace Quiver.Console.Tests;

/// <summary>
/// Reads the pixels of a PNG as Chromium writes screenshots (8 bits per channel, RGB or RGBA, not interlaced), so a
/// test can tell a rendered page from a blank one without an imaging library: <see cref="Measure"/> gives the spread
/// of luminance and the number of distinct colours.
/// </summary>
internal static class PngPixels
{
    /// <summary>Decodes <paramref name="png"/> to width, height and RGBA bytes, row by row.</summary>
    public static (int Width, int Height, byte[] Rgba) Decode(byte[] png)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(signature))
        {
            throw new InvalidDataException("not a PNG");
        }
        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        var at = 8;
        while (at + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    if (data[8] != 8 || data[12] != 0)
                    {
                        throw new InvalidDataException($"bit depth {data[8]}, interlace {data[12]}: only 8-bit non-interlaced images are read");
                    }
                    channels = data[9] switch
                    {
                        2 => 3,
                        6 => 4,
                        _ => throw new InvalidDataException($"colour type {data[9]} is not RGB or RGBA"),
                    };
                    break;
                case "IDAT":
                    compressed.Write(data);
                    break;
            }
            at += 12 + length;
        }
        compressed.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }
        var raw = inflated.ToArray();
        var stride = width * channels;
        var previous = new byte[stride];
        var current = new byte[stride];
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            raw.AsSpan((y * (stride + 1)) + 1, stride).CopyTo(current);
            for (var i = 0; i < stride; i++)
            {
                int left = i >= channels ? current[i - channels] : 0;
                int up = previous[i];
                int upLeft = i >= channels ? previous[i - channels] : 0;
                current[i] = (byte)(current[i] + filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) / 2,
                    4 => Paeth(left, up, upLeft),
                    _ => throw new InvalidDataException($"filter {filter} on row {y}"),
                });
            }
            for (var x = 0; x < width; x++)
            {
                var o = (((y * width) + x) * 4);
                rgba[o] = current[x * channels];
                rgba[o + 1] = current[(x * channels) + 1];
                rgba[o + 2] = current[(x * channels) + 2];
                rgba[o + 3] = channels == 4 ? current[(x * channels) + 3] : (byte)255;
            }
            (previous, current) = (current, previous);
        }
        return (width, height, rgba);
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>The standard deviation of luminance (0..255) over every pixel and the number of distinct colours.</summary>
    public static (double LuminanceStdDev, int Colours, int Width, int Height) Measure(byte[] png)
    {
        var (width, height, rgba) = Decode(png);
        double sum = 0, sumSquares = 0;
        var colours = new HashSet<int>();
        for (var o = 0; o < rgba.Length; o += 4)
        {
            var luminance = (0.2126 * rgba[o]) + (0.7152 * rgba[o + 1]) + (0.0722 * rgba[o + 2]);
            sum += luminance;
            sumSquares += luminance * luminance;
            colours.Add((rgba[o] << 16) | (rgba[o + 1] << 8) | rgba[o + 2]);
        }
        var n = (double)width * height;
        var mean = sum / n;
        return (Math.Sqrt(Math.Max(0, (sumSquares / n) - (mean * mean))), colours.Count, width, height);
    }
}
