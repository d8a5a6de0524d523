using System.Text;

namespace Quiver.TextAnalysis;

/// <summary>The Porter2 ("Snowball English") stemmer, written from the algorithm's published description: prelude (an
/// initial apostrophe dropped, consonant y marked as Y), regions R1 and R2, steps 0, 1a, 1b, 1c, 2, 3, 4 and 5, and
/// the two exception lists. Expects lower-case input (it runs after the lowercase filter); characters outside a-z and
/// the apostrophe are consonants to it, as in the description. Stateless and thread-safe.</summary>
internal static class EnglishStemmer
{
    // Whole words answered directly, before any step (exception1 of the description).
    private static readonly Dictionary<string, string> Exceptions = new(StringComparer.Ordinal)
    {
        ["skis"] = "ski", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["idly"] = "idl", ["gently"] = "gentl", ["ugly"] = "ugli", ["early"] = "earli", ["only"] = "onli",
        ["singly"] = "singl", ["sky"] = "sky", ["news"] = "news", ["howe"] = "howe", ["atlas"] = "atlas",
        ["cosmos"] = "cosmos", ["bias"] = "bias", ["andes"] = "andes",
    };

    // Words left as they are once step 1a has run (exception2).
    private static readonly HashSet<string> AfterStep1A = new(StringComparer.Ordinal)
    {
        "inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed",
    };

    // Steps 2, 3 and 4 as (suffix, replacement) lists, longest suffixes first; a null replacement marks a suffix with
    // its own condition.
    private static readonly (string Suffix, string? Replacement)[] Step2Rules =
    [
        ("ization", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"), ("iveness", "ive"),
        ("tional", "tion"), ("biliti", "ble"), ("lessli", "less"), ("entli", "ent"), ("ation", "ate"),
        ("alism", "al"), ("aliti", "al"), ("ousli", "ous"), ("iviti", "ive"), ("fulli", "ful"), ("enci", "ence"),
        ("anci", "ance"), ("abli", "able"), ("izer", "ize"), ("ator", "ate"), ("alli", "al"), ("bli", "ble"),
        ("ogi", null), ("li", null),
    ];

    private static readonly (string Suffix, string? Replacement)[] Step3Rules =
    [
        ("ational", "ate"), ("tional", "tion"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"), ("ative", null),
        ("ical", "ic"), ("ness", ""), ("ful", ""),
    ];

    private static readonly (string Suffix, string? Replacement)[] Step4Rules =
    [
        ("ement", ""), ("ance", ""), ("ence", ""), ("able", ""), ("ible", ""), ("ment", ""), ("ant", ""), ("ent", ""),
        ("ism", ""), ("ate", ""), ("iti", ""), ("ous", ""), ("ive", ""), ("ize", ""), ("ion", null), ("al", ""),
        ("er", ""), ("ic", ""),
    ];

    /// <summary>The stem of one lower-case word. Words of one or two letters come back unchanged.</summary>
    public static string Stem(string word)
    {
        if (Exceptions.TryGetValue(word, out var exception))
            return exception;
        if (word.Length <= 2)
            return word;

        var w = new StringBuilder(word);
        Prelude(w);
        if (w.Length <= 2)
            return Postlude(w);
        var (r1, r2) = Regions(w);

        Step0(w);
        Step1A(w);
        if (AfterStep1A.Contains(w.ToString()))
            return Postlude(w);
        Step1B(w, r1);
        Step1C(w);
        Step2(w, r1);
        Step3(w, r1, r2);
        Step4(w, r2);
        Step5(w, r1, r2);
        return Postlude(w);
    }

    private static bool IsVowel(char c) => c is 'a' or 'e' or 'i' or 'o' or 'u' or 'y';

    private static bool IsDouble(StringBuilder w) =>
        w.Length >= 2 && w[^1] == w[^2] && w[^1] is 'b' or 'd' or 'f' or 'g' or 'm' or 'n' or 'p' or 'r' or 't';

    private static void Prelude(StringBuilder w)
    {
        if (w[0] == '\'')
            w.Remove(0, 1);
        // A y at the start or after a vowel is a consonant: mark it Y so that IsVowel treats it as one.
        for (var i = 0; i < w.Length; i++)
        {
            if (w[i] == 'y' && (i == 0 || IsVowel(w[i - 1])))
                w[i] = 'Y';
        }
    }

    private static string Postlude(StringBuilder w) => w.Replace('Y', 'y').ToString();

    /// <summary>R1 starts after the first non-vowel that follows a vowel (or after gener, commun, arsen); R2 is the same
    /// rule applied inside R1. Either may be empty (its start equals the length).</summary>
    private static (int R1, int R2) Regions(StringBuilder w)
    {
        var s = w.ToString();
        int r1;
        if (s.StartsWith("gener", StringComparison.Ordinal) || s.StartsWith("arsen", StringComparison.Ordinal))
            r1 = 5;
        else if (s.StartsWith("commun", StringComparison.Ordinal))
            r1 = 6;
        else
            r1 = AfterVowelConsonant(s, 0);
        return (r1, AfterVowelConsonant(s, r1));
    }

    private static int AfterVowelConsonant(string s, int from)
    {
        for (var i = from + 1; i < s.Length; i++)
        {
            if (!IsVowel(s[i]) && IsVowel(s[i - 1]))
                return i + 1;
        }
        return s.Length;
    }

    private static bool EndsWith(StringBuilder w, string suffix)
    {
        if (w.Length < suffix.Length)
            return false;
        var offset = w.Length - suffix.Length;
        for (var i = 0; i < suffix.Length; i++)
        {
            if (w[offset + i] != suffix[i])
                return false;
        }
        return true;
    }

    private static void Replace(StringBuilder w, int suffixLength, string replacement)
    {
        w.Length -= suffixLength;
        w.Append(replacement);
    }

    private static bool HasVowel(StringBuilder w, int end)
    {
        for (var i = 0; i < end; i++)
        {
            if (IsVowel(w[i]))
                return true;
        }
        return false;
    }

    /// <summary>Whether the first <paramref name="end"/> characters end in a short syllable: a non-vowel, a vowel, then a
    /// non-vowel other than w, x or Y; or, for a two-letter part, a vowel then a non-vowel.</summary>
    private static bool EndsInShortSyllable(StringBuilder w, int end)
    {
        if (end == 2)
            return IsVowel(w[0]) && !IsVowel(w[1]);
        if (end < 3)
            return false;
        var last = w[end - 1];
        return !IsVowel(w[end - 3]) && IsVowel(w[end - 2]) && !IsVowel(last) && last is not ('w' or 'x' or 'Y');
    }

    private static void Step0(StringBuilder w)
    {
        foreach (var suffix in (ReadOnlySpan<string>)["'s'", "'s", "'"])
        {
            if (EndsWith(w, suffix))
            {
                w.Length -= suffix.Length;
                return;
            }
        }
    }

    private static void Step1A(StringBuilder w)
    {
        if (EndsWith(w, "sses"))
            Replace(w, 4, "ss");
        else if (EndsWith(w, "ied") || EndsWith(w, "ies"))
            Replace(w, 3, w.Length > 4 ? "i" : "ie");
        else if (EndsWith(w, "us") || EndsWith(w, "ss"))
            return;
        else if (EndsWith(w, "s") && HasVowel(w, w.Length - 2))
            w.Length -= 1;
    }

    private static void Step1B(StringBuilder w, int r1)
    {
        foreach (var suffix in (ReadOnlySpan<string>)["eedly", "eed"])
        {
            if (EndsWith(w, suffix))
            {
                if (w.Length - suffix.Length >= r1)
                    Replace(w, suffix.Length, "ee");
                return;
            }
        }
        foreach (var suffix in (ReadOnlySpan<string>)["ingly", "edly", "ing", "ed"])
        {
            if (!EndsWith(w, suffix))
                continue;
            var stem = w.Length - suffix.Length;
            if (!HasVowel(w, stem))
                return;
            w.Length = stem;
            if (EndsWith(w, "at") || EndsWith(w, "bl") || EndsWith(w, "iz"))
                w.Append('e');
            else if (IsDouble(w))
                w.Length -= 1;
            else if (r1 >= w.Length && EndsInShortSyllable(w, w.Length))
                w.Append('e');
            return;
        }
    }

    private static void Step1C(StringBuilder w)
    {
        if (w.Length > 2 && w[^1] is 'y' or 'Y' && !IsVowel(w[^2]))
            w[^1] = 'i';
    }

    /// <summary>Finds the longest suffix of <paramref name="w"/> among <paramref name="rules"/> (listed longest first).
    /// True when there is one and it starts inside the region beginning at <paramref name="region"/>; a longest suffix
    /// outside the region ends the step (shorter ones are not tried), as the description says.</summary>
    private static bool TryLongestInRegion(StringBuilder w, (string Suffix, string? Replacement)[] rules, int region,
        out int start, out string suffix, out string? replacement)
    {
        foreach (var rule in rules)
        {
            if (EndsWith(w, rule.Suffix))
            {
                (suffix, replacement) = rule;
                start = w.Length - suffix.Length;
                return start >= region;
            }
        }
        (start, suffix, replacement) = (0, "", null);
        return false;
    }

    private static void Step2(StringBuilder w, int r1)
    {
        if (!TryLongestInRegion(w, Step2Rules, r1, out var start, out var suffix, out var replacement))
            return;
        if (replacement is not null)
            Replace(w, suffix.Length, replacement);
        else if (suffix == "ogi" && start > 0 && w[start - 1] == 'l')
            Replace(w, 3, "og");
        else if (suffix == "li" && start > 0 && w[start - 1] is 'c' or 'd' or 'e' or 'g' or 'h' or 'k' or 'm' or 'n' or 'r' or 't')
            w.Length = start;
    }

    private static void Step3(StringBuilder w, int r1, int r2)
    {
        if (!TryLongestInRegion(w, Step3Rules, r1, out var start, out var suffix, out var replacement))
            return;
        if (replacement is not null)
            Replace(w, suffix.Length, replacement);
        else if (start >= r2)
            w.Length = start; // ative: deleted only in R2
    }

    private static void Step4(StringBuilder w, int r2)
    {
        if (!TryLongestInRegion(w, Step4Rules, r2, out var start, out _, out var replacement))
            return;
        if (replacement is not null || (start > 0 && w[start - 1] is 's' or 't'))
            w.Length = start; // ion (null replacement): deleted only after s or t
    }

    private static void Step5(StringBuilder w, int r1, int r2)
    {
        if (w.Length == 0)
            return;
        var start = w.Length - 1;
        if (w[^1] == 'e')
        {
            if (start >= r2 || (start >= r1 && !EndsInShortSyllable(w, start)))
                w.Length = start;
        }
        else if (w[^1] == 'l' && start >= r2 && start > 0 && w[start - 1] == 'l')
        {
            w.Length = start;
        }
    }
}
