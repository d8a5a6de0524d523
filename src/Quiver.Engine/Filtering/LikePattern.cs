namespace Quiver.Filtering;

/// <summary>A compiled LIKE pattern: <c>%</c> matches any run of characters (also none), <c>_</c> exactly one
/// character; <c>\%</c>, <c>\_</c> and <c>\\</c> are literal. Prefix, suffix, infix and exact patterns use ordinal
/// string methods; anything else runs a backtracking glob matcher. Case-sensitive. Immutable and thread-safe.</summary>
internal sealed class LikePattern
{
    private enum Shape
    {
        Exact,
        Prefix,
        Suffix,
        Infix,
        General,
    }

    private const char Literal = 'L';
    private const char AnyOne = '_';
    private const char AnyRun = '%';

    private readonly Shape _shape;
    private readonly string _literal = "";

    /// <summary>For <see cref="Shape.General"/>: per position, the kind (Literal, AnyOne, AnyRun) and the character.</summary>
    private readonly char[] _kinds = [];
    private readonly char[] _chars = [];

    public LikePattern(string pattern)
    {
        Pattern = pattern;
        var kinds = new List<char>();
        var chars = new List<char>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length && pattern[i + 1] is '%' or '_' or '\\')
            {
                kinds.Add(Literal);
                chars.Add(pattern[++i]);
            }
            else if (c is '%' or '_')
            {
                // Collapse "%%" runs: they match the same strings as one '%'.
                if (c == '%' && kinds.Count > 0 && kinds[^1] == AnyRun)
                {
                    continue;
                }

                kinds.Add(c);
                chars.Add(c);
            }
            else
            {
                kinds.Add(Literal);
                chars.Add(c);
            }
        }

        var n = kinds.Count;
        var anyOne = kinds.Contains(AnyOne);
        var runs = kinds.Count(k => k == AnyRun);
        var leading = n > 0 && kinds[0] == AnyRun;
        var trailing = n > 0 && kinds[^1] == AnyRun;
        string Lit(int from, int to) => new([.. chars.Skip(from).Take(to - from)]);

        if (!anyOne && runs == 0)
        {
            _shape = Shape.Exact;
            _literal = Lit(0, n);
        }
        else if (!anyOne && runs == 1 && trailing)
        {
            _shape = Shape.Prefix;
            _literal = Lit(0, n - 1);
        }
        else if (!anyOne && runs == 1 && leading)
        {
            _shape = Shape.Suffix;
            _literal = Lit(1, n);
        }
        else if (!anyOne && runs == 2 && leading && trailing && n >= 2)
        {
            _shape = Shape.Infix;
            _literal = Lit(1, n - 1);
        }
        else
        {
            _shape = Shape.General;
            _kinds = [.. kinds];
            _chars = [.. chars];
        }
    }

    /// <summary>The pattern as written (after string-literal unescaping).</summary>
    public string Pattern { get; }

    public bool IsMatch(ReadOnlySpan<char> s) => _shape switch
    {
        Shape.Exact => s.SequenceEqual(_literal),
        Shape.Prefix => s.StartsWith(_literal, StringComparison.Ordinal),
        Shape.Suffix => s.EndsWith(_literal, StringComparison.Ordinal),
        Shape.Infix => s.Contains(_literal, StringComparison.Ordinal),
        _ => GlobMatch(s),
    };

    /// <summary>Greedy glob matching that backtracks only to the last '%': O(len(s) * len(pattern)) worst case.</summary>
    private bool GlobMatch(ReadOnlySpan<char> s)
    {
        int si = 0, pi = 0, starPi = -1, starSi = 0;
        while (si < s.Length)
        {
            if (pi < _kinds.Length && (_kinds[pi] == AnyOne || (_kinds[pi] == Literal && _chars[pi] == s[si])))
            {
                si++;
                pi++;
            }
            else if (pi < _kinds.Length && _kinds[pi] == AnyRun)
            {
                starPi = pi++;
                starSi = si;
            }
            else if (starPi >= 0)
            {
                pi = starPi + 1;
                si = ++starSi;
            }
            else
            {
                return false;
            }
        }

        while (pi < _kinds.Length && _kinds[pi] == AnyRun)
        {
            pi++;
        }

        return pi == _kinds.Length;
    }

    /// <inheritdoc/>
    public override string ToString() => $"like \"{Pattern}\"";
}
