namespace Quiver;

/// <summary>Well-formedness of .NET strings. A string with an unpaired UTF-16 surrogate has no UTF-8 form, and stored
/// strings are UTF-8, so such a string is refused wherever it enters: a field value, a filter literal, a template value.</summary>
internal static class Utf16Text
{
    /// <summary>The index of the first unpaired UTF-16 surrogate in <paramref name="s"/>, or -1 when it is well formed.</summary>
    public static int UnpairedSurrogateAt(string s)
    {
        // Most strings hold no surrogate at all: one vectorized scan answers for them.
        var first = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return -1;
        }

        for (var i = first; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The refusal text for <paramref name="s"/> (the caller says what holds it), or null when it is well formed.</summary>
    public static string? Problem(string s) =>
        UnpairedSurrogateAt(s) is var at and >= 0
            ? $"holds an unpaired UTF-16 surrogate (U+{(int)s[at]:X4} at index {at}), which is not a valid string"
            : null;

    /// <summary><paramref name="s"/> for a message: whole when it has at most <paramref name="max"/> characters, else its
    /// first <paramref name="max"/> (one fewer when that would split a surrogate pair) and "...".</summary>
    public static string Clip(string s, int max)
    {
        if (s.Length <= max)
        {
            return s;
        }

        var cut = char.IsHighSurrogate(s[max - 1]) && char.IsLowSurrogate(s[max]) ? max - 1 : max;
        return string.Concat(s.AsSpan(0, cut), "...");
    }
}
