using System.Globalization;

namespace Quiver.Toolbox.Advise;

/// <summary>Byte counts as people write them: <c>4GiB</c>, <c>512 MiB</c>, <c>2GB</c>, <c>1e9</c>. Binary units
/// (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (KB, MB, GB, TB) powers of 1000; a bare number is bytes.</summary>
internal static class ByteSize
{
    private static readonly (string Unit, double Factor)[] Units =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
    ];

    /// <summary>Parses <paramref name="text"/>; <paramref name="what"/> names the option in the error.</summary>
    public static long Parse(string text, string what)
    {
        var t = (text ?? "").Trim();
        foreach (var (unit, factor) in Units)
        {
            if (t.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                return Scale(t[..^unit.Length].Trim(), factor, text!, what);
            }
        }

        return Scale(t, 1, text!, what);
    }

    /// <summary>"1.5 GiB", "640 KiB", "12 B".</summary>
    public static string Format(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        return Math.Abs(bytes) switch
        {
            >= 1L << 40 => string.Create(inv, $"{bytes / (double)(1L << 40):0.##} TiB"),
            >= 1L << 30 => string.Create(inv, $"{bytes / (double)(1L << 30):0.##} GiB"),
            >= 1L << 20 => string.Create(inv, $"{bytes / (double)(1L << 20):0.##} MiB"),
            >= 1L << 10 => string.Create(inv, $"{bytes / 1024.0:0.##} KiB"),
            _ => string.Create(inv, $"{bytes} B"),
        };
    }

    private static long Scale(string number, double factor, string text, string what)
    {
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v <= 0 || v * factor >= long.MaxValue)
        {
            throw new ToolboxException($"{what} '{text}': expected a positive size such as 4GiB, 512MiB or 2GB");
        }

        return (long)(v * factor);
    }
}
