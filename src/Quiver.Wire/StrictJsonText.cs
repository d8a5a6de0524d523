using System.Text.Json;

namespace Quiver.Wire;

/// <summary>
/// A cursor over UTF-8 JSON text that reads a strict subset of JSON by hand, for the REST write path's hot loop: every
/// method either reads exactly what <see cref="Utf8JsonReader"/> (default options) would read or returns false, and a
/// false sends the caller to System.Text.Json for the whole body. What it declines: keys with escapes, objects of more
/// than <see cref="MaxKeys"/> keys, nesting deeper than <see cref="MaxDepth"/>. A duplicate key is reported as false
/// too, so that the parser names it. The text must be valid UTF-8 (checked once by the caller).
/// </summary>
internal ref struct StrictJsonText(ReadOnlySpan<byte> text)
{
    /// <summary>Deepest nesting this cursor follows (the top-level value is depth 1).</summary>
    public const int MaxDepth = 32;

    /// <summary>Most keys per object it compares pairwise for duplicates.</summary>
    public const int MaxKeys = 64;

    private readonly ReadOnlySpan<byte> _text = text;

    /// <summary>The position of the next byte.</summary>
    public int Position { get; set; }

    /// <summary>The whole text.</summary>
    public readonly ReadOnlySpan<byte> Text => _text;

    /// <summary>Skips JSON whitespace (space, tab, line feed, carriage return).</summary>
    public void SkipSpace()
    {
        var p = Position;
        while (p < _text.Length && _text[p] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            p++;
        }

        Position = p;
    }

    /// <summary>True, having consumed it, when the next byte (after whitespace) is <paramref name="b"/>.</summary>
    public bool Take(byte b)
    {
        SkipSpace();
        if (Position < _text.Length && _text[Position] == b)
        {
            Position++;
            return true;
        }

        return false;
    }

    /// <summary>The next byte after whitespace, or 0 at the end.</summary>
    public byte Peek()
    {
        SkipSpace();
        return Position < _text.Length ? _text[Position] : (byte)0;
    }

    /// <summary>A number token (RFC 8259's grammar), its text in <paramref name="number"/>.</summary>
    public bool Number(out ReadOnlySpan<byte> number)
    {
        SkipSpace();
        var start = Position;
        var p = start;
        var t = _text;
        if (p < t.Length && t[p] == (byte)'-')
        {
            p++;
        }

        if (p >= t.Length || !IsDigit(t[p]))
        {
            number = default;
            return false;
        }

        if (t[p] == (byte)'0')
        {
            p++;
        }
        else
        {
            SkipDigits(t, ref p);
        }

        if (p < t.Length && t[p] == (byte)'.')
        {
            p++;
            if (!SkipDigits(t, ref p))
            {
                number = default;
                return false;
            }
        }

        if (p < t.Length && t[p] is (byte)'e' or (byte)'E')
        {
            p++;
            if (p < t.Length && t[p] is (byte)'+' or (byte)'-')
            {
                p++;
            }

            if (!SkipDigits(t, ref p))
            {
                number = default;
                return false;
            }
        }

        // A number must end at a delimiter ("01" and "1x" are not numbers).
        if (p < t.Length && t[p] is not ((byte)',' or (byte)']' or (byte)'}' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r'))
        {
            number = default;
            return false;
        }

        number = t[start..p];
        Position = p;
        return true;
    }

    /// <summary>A string token; <paramref name="content"/> is the text between the quotes (escapes as sent) and
    /// <paramref name="escaped"/> says whether it holds any.</summary>
    public bool String(out ReadOnlySpan<byte> content, out bool escaped)
    {
        escaped = false;
        content = default;
        if (!Take((byte)'"'))
        {
            return false;
        }

        var start = Position;
        var t = _text;
        var p = start;
        while (true)
        {
            var rest = t[p..];
            var stop = rest.IndexOfAny((byte)'"', (byte)'\\');
            if (stop < 0 || rest[..stop].IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0)
            {
                return false;
            }

            p += stop;
            if (t[p] == (byte)'"')
            {
                content = t[start..p];
                Position = p + 1;
                return true;
            }

            escaped = true;
            p++;
            if (p >= t.Length)
            {
                return false;
            }

            switch (t[p])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    p++;
                    break;
                case (byte)'u':
                    if (p + 4 >= t.Length || !IsHex(t[p + 1]) || !IsHex(t[p + 2]) || !IsHex(t[p + 3]) || !IsHex(t[p + 4]))
                    {
                        return false;
                    }

                    p += 5;
                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>The literal <paramref name="word"/> (<c>true</c>, <c>false</c>, <c>null</c>) ending at a delimiter.</summary>
    public bool Literal(ReadOnlySpan<byte> word)
    {
        SkipSpace();
        var t = _text;
        var end = Position + word.Length;
        if (end > t.Length || !t.Slice(Position, word.Length).SequenceEqual(word)
            || (end < t.Length && t[end] is not ((byte)',' or (byte)']' or (byte)'}' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')))
        {
            return false;
        }

        Position = end;
        return true;
    }

    /// <summary>Reads over one value of any kind at nesting <paramref name="depth"/> (1 for a top-level value), checking
    /// it as the parser would (keys once per object included).</summary>
    public bool SkipValue(int depth)
    {
        if (depth > MaxDepth)
        {
            return false;
        }

        switch (Peek())
        {
            case (byte)'{':
                Position++;
                return SkipObjectMembers(depth);
            case (byte)'[':
                Position++;
                if (Take((byte)']'))
                {
                    return true;
                }

                do
                {
                    if (!SkipValue(depth + 1))
                    {
                        return false;
                    }
                }
                while (Take((byte)','));

                return Take((byte)']');
            case (byte)'"':
                return String(out _, out _);
            case (byte)'t':
                return Literal("true"u8);
            case (byte)'f':
                return Literal("false"u8);
            case (byte)'n':
                return Literal("null"u8);
            default:
                return Number(out _);
        }
    }

    /// <summary>The members of an object whose <c>{</c> was just read, through its <c>}</c>.</summary>
    private bool SkipObjectMembers(int depth)
    {
        if (Take((byte)'}'))
        {
            return true;
        }

        Span<(int Start, int Length)> keys = stackalloc (int, int)[MaxKeys];
        var count = 0;
        do
        {
            if (!Key(keys, ref count, out _) || !SkipValue(depth + 1))
            {
                return false;
            }
        }
        while (Take((byte)','));

        return Take((byte)'}');
    }

    /// <summary>A key without escapes, not seen before in this object (<paramref name="keys"/> holds the ones seen),
    /// and the colon after it.</summary>
    public bool Key(scoped Span<(int Start, int Length)> keys, ref int count, out ReadOnlySpan<byte> key)
    {
        if (!String(out key, out var escaped) || escaped || count == keys.Length)
        {
            return false;
        }

        var start = Position - 1 - key.Length;
        for (var i = 0; i < count; i++)
        {
            if (keys[i].Length == key.Length && _text.Slice(keys[i].Start, key.Length).SequenceEqual(key))
            {
                return false;
            }
        }

        keys[count++] = (start, key.Length);
        return Take((byte)':');
    }

    /// <summary>The number <paramref name="number"/> (a JSON number token) as a double, exactly as
    /// <see cref="Utf8JsonReader.TryGetDouble"/> reads it: short decimals (at most 15 significant digits, a power of ten
    /// within 10^±22, both exact in a double, so one correctly rounded multiply or divide gives the correctly rounded
    /// value) by hand, anything else by the reader itself.</summary>
    public static bool TryDouble(ReadOnlySpan<byte> number, out double value)
    {
        var p = 0;
        var negative = number[0] == (byte)'-';
        if (negative)
        {
            p++;
        }

        ulong mantissa = 0;
        var digits = 0;
        var exponent = 0;
        while (p < number.Length && IsDigit(number[p]))
        {
            if (mantissa != 0 || number[p] != (byte)'0')
            {
                mantissa = mantissa * 10 + (ulong)(number[p] - '0');
                digits++;
                if (digits > 15)
                {
                    return Slow(number, out value);
                }
            }

            p++;
        }

        if (p < number.Length && number[p] == (byte)'.')
        {
            p++;
            while (p < number.Length && IsDigit(number[p]))
            {
                if (mantissa != 0 || number[p] != (byte)'0')
                {
                    mantissa = mantissa * 10 + (ulong)(number[p] - '0');
                    digits++;
                }

                exponent--;
                p++;
                if (digits > 15)
                {
                    return Slow(number, out value);
                }
            }
        }

        if (p < number.Length || digits > 15)
        {
            // An exponent, or too many digits.
            return Slow(number, out value);
        }

        if (mantissa == 0)
        {
            value = negative ? -0.0 : 0.0;
            return true;
        }

        if (exponent < -22)
        {
            return Slow(number, out value);
        }

        var magnitude = exponent == 0 ? mantissa : mantissa / PowersOfTen[-exponent];
        value = negative ? -magnitude : magnitude;
        return true;
    }

    private static readonly double[] PowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
        1e21, 1e22,
    ];

    /// <summary>Int64 exactly as <see cref="Utf8JsonReader.TryGetInt64"/> reads the number token.</summary>
    public static bool TryInt64(ReadOnlySpan<byte> number, out long value)
    {
        var reader = new Utf8JsonReader(number);
        reader.Read();
        return reader.TryGetInt64(out value);
    }

    private static bool Slow(ReadOnlySpan<byte> number, out double value)
    {
        var reader = new Utf8JsonReader(number);
        reader.Read();
        return reader.TryGetDouble(out value);
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    /// <summary>Moves <paramref name="p"/> past the digits at it; false when there was none.</summary>
    private static bool SkipDigits(ReadOnlySpan<byte> t, ref int p)
    {
        var start = p;
        while (p < t.Length && IsDigit(t[p]))
        {
            p++;
        }

        return p > start;
    }

    private static bool IsHex(byte b) => IsDigit(b) || (uint)((b | 0x20) - 'a') <= 5;
}
