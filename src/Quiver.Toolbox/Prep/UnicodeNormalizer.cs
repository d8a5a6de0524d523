using System.Globalization;
using System.Text;

namespace Quiver.Toolbox.Prep;

/// <summary>The four Unicode normalization forms (UAX #15), plus none.</summary>
#if QUIVER_TOOLBOX
public
#else
internal
#endif
enum TextNormalization
{
    /// <summary>Leave the text as it is.</summary>
    None,

    /// <summary>Canonical decomposition then canonical composition: <c>e</c> + U+0301 becomes U+00E9.</summary>
    Nfc,

    /// <summary>Canonical decomposition: U+00E9 becomes <c>e</c> + U+0301.</summary>
    Nfd,

    /// <summary>Compatibility decomposition then canonical composition: the ligature U+FB01 becomes <c>fi</c>.</summary>
    Nfkc,

    /// <summary>Compatibility decomposition.</summary>
    Nfkd,
}

/// <summary>Unicode normalization (UAX #15) in managed code over the tables of <see cref="UnicodeNormalizationData"/>.
/// It exists because the build sets <c>InvariantGlobalization=true</c>, under which <see cref="string.Normalize()"/>
/// returns any non-ASCII string unchanged (no ICU is loaded); turning invariant mode off would make every culture-less
/// string comparison in the process linguistic, engine included. The tables come from one Unicode version, so the
/// output does not depend on the machine. Thread-safe; the tables are parsed once on first use.</summary>
internal static class UnicodeNormalizer
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    private static readonly Lazy<Tables> Data = new(Tables.Parse);

    /// <summary>The Unicode version the normalizer follows.</summary>
    public static string UnicodeVersion => UnicodeNormalizationData.UnicodeVersion;

    /// <summary><paramref name="text"/> in <paramref name="form"/>. Lone surrogates pass through unchanged.</summary>
    public static string Normalize(string text, TextNormalization form)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (form == TextNormalization.None || System.Text.Ascii.IsValid(text))
        {
            return text;
        }

        var tables = Data.Value;
        var compatibility = form is TextNormalization.Nfkc or TextNormalization.Nfkd;
        var points = new List<int>(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }

            Decompose(tables, cp, compatibility, points);
        }

        ReorderCanonically(tables, points);
        if (form is TextNormalization.Nfc or TextNormalization.Nfkc)
        {
            Compose(tables, points);
        }

        var builder = new StringBuilder(points.Count);
        foreach (var cp in points)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                builder.Append((char)cp);
            }
            else
            {
                builder.Append(char.ConvertFromUtf32(cp));
            }
        }

        var result = builder.ToString();
        return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
    }

    private static void Decompose(Tables tables, int cp, bool compatibility, List<int> into)
    {
        var s = cp - HangulSBase;
        if (s is >= 0 and < HangulSCount)
        {
            into.Add(HangulLBase + (s / HangulNCount));
            into.Add(HangulVBase + (s % HangulNCount / HangulTCount));
            if (s % HangulTCount != 0)
            {
                into.Add(HangulTBase + (s % HangulTCount));
            }

            return;
        }

        if ((compatibility && tables.Compatibility.TryGetValue(cp, out var mapping)) || tables.Canonical.TryGetValue(cp, out mapping))
        {
            into.AddRange(mapping);
        }
        else
        {
            into.Add(cp);
        }
    }

    /// <summary>Sorts every run of non-starters by combining class, keeping equal classes in order (insertion sort:
    /// the runs are a few marks long).</summary>
    private static void ReorderCanonically(Tables tables, List<int> points)
    {
        for (var i = 1; i < points.Count; i++)
        {
            var cls = tables.ClassOf(points[i]);
            if (cls == 0)
            {
                continue;
            }

            var j = i;
            while (j > 0 && tables.ClassOf(points[j - 1]) > cls)
            {
                (points[j - 1], points[j]) = (points[j], points[j - 1]);
                j--;
            }
        }
    }

    /// <summary>The canonical composition algorithm of UAX #15: each character joins the last starter unless a
    /// character between them blocks it (class 0, or a class not lower than its own).</summary>
    private static void Compose(Tables tables, List<int> points)
    {
        if (points.Count < 2)
        {
            return;
        }

        var starter = tables.ClassOf(points[0]) == 0 ? 0 : -1;
        var lastClass = starter == 0 ? 0 : 256;
        var written = 1;
        for (var i = 1; i < points.Count; i++)
        {
            var cp = points[i];
            var cls = tables.ClassOf(cp);
            if (starter >= 0 && (lastClass < cls || lastClass == 0) && TryCompose(tables, points[starter], cp, out var composite))
            {
                points[starter] = composite;
                continue;
            }

            if (cls == 0)
            {
                starter = written;
            }

            lastClass = cls;
            points[written++] = cp;
        }

        points.RemoveRange(written, points.Count - written);
    }

    private static bool TryCompose(Tables tables, int first, int second, out int composite)
    {
        var l = first - HangulLBase;
        var v = second - HangulVBase;
        if (l is >= 0 and < HangulLCount && v is >= 0 and < HangulVCount)
        {
            composite = HangulSBase + (((l * HangulVCount) + v) * HangulTCount);
            return true;
        }

        var s = first - HangulSBase;
        var t = second - HangulTBase;
        if (s is >= 0 and < HangulSCount && s % HangulTCount == 0 && t is > 0 and < HangulTCount)
        {
            composite = first + t;
            return true;
        }

        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Tables
    {
        private readonly Dictionary<int, byte> _classes = [];

        public Dictionary<int, int[]> Canonical { get; } = [];

        public Dictionary<int, int[]> Compatibility { get; } = [];

        public Dictionary<long, int> Compositions { get; } = [];

        public int ClassOf(int cp) => cp < 0x300 ? 0 : _classes.GetValueOrDefault(cp);

        public static Tables Parse()
        {
            var tables = new Tables();
            foreach (var (key, value) in Entries(UnicodeNormalizationData.CombiningClasses))
            {
                tables._classes[Hex(key)] = byte.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
            }

            foreach (var (key, value) in Entries(UnicodeNormalizationData.CanonicalDecompositions))
            {
                tables.Canonical[Hex(key)] = Points(value);
            }

            foreach (var (key, value) in Entries(UnicodeNormalizationData.CompatibilityDecompositions))
            {
                tables.Compatibility[Hex(key)] = Points(value);
            }

            foreach (var (key, value) in Entries(UnicodeNormalizationData.Compositions))
            {
                var pair = Points(key);
                tables.Compositions[((long)pair[0] << 21) | (uint)pair[1]] = Hex(value);
            }

            return tables;
        }

        private static IEnumerable<(string Key, string Value)> Entries(string table)
        {
            foreach (var entry in table.Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = entry.IndexOf('=', StringComparison.Ordinal);
                yield return (entry[..eq], entry[(eq + 1)..]);
            }
        }

        private static int[] Points(string hexes) => [.. hexes.Split(' ').Select(Hex)];

        private static int Hex(string hex) => int.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
