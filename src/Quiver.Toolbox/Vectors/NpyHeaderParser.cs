using System.Globalization;

namespace Quiver.Toolbox.Vectors;

/// <summary>Parses the header of a <c>.npy</c> file: a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (60000, 784), }</c>. Only what NumPy writes there is
/// accepted: string keys, and values that are strings, True/False or tuples of integers.</summary>
internal static class NpyHeaderParser
{
    /// <summary>The dtype descriptor, whether the data is in Fortran order, and the shape; errors name the file.</summary>
    public static (string Descr, bool FortranOrder, long[] Shape) Parse(string path, string header)
    {
        var reader = new Reader(path, header);
        string? descr = null;
        bool? fortran = null;
        long[]? shape = null;
        reader.Expect('{');
        while (!reader.TryTake('}'))
        {
            var key = reader.String();
            reader.Expect(':');
            switch (key)
            {
                case "descr":
                    descr = reader.String();
                    break;
                case "fortran_order":
                    fortran = reader.Boolean();
                    break;
                case "shape":
                    shape = reader.Tuple();
                    break;
                default:
                    throw reader.Fail($"unexpected key '{key}'");
            }

            if (!reader.TryTake(','))
            {
                reader.Expect('}');
                break;
            }
        }

        if (descr is null || fortran is null || shape is null)
        {
            throw reader.Fail("the header lacks one of 'descr', 'fortran_order', 'shape'");
        }

        return (descr, fortran.Value, shape);
    }

    private sealed class Reader(string path, string text)
    {
        private int _position;

        public QuiverException Fail(string problem) =>
            VectorFile.Error(path, $"malformed npy header at character {_position}: {problem} (header: {text.Trim()})");

        public void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw Fail($"expected '{c}'");
            }
        }

        public bool TryTake(char c)
        {
            SkipSpace();
            if (_position < text.Length && text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        public string String()
        {
            SkipSpace();
            if (_position >= text.Length || text[_position] is not ('\'' or '"'))
            {
                throw Fail("expected a quoted string");
            }

            var quote = text[_position++];
            var end = text.IndexOf(quote, _position);
            if (end < 0)
            {
                throw Fail("unterminated string");
            }

            var value = text[_position..end];
            _position = end + 1;
            return value;
        }

        public bool Boolean()
        {
            SkipSpace();
            foreach (var (word, value) in new[] { ("True", true), ("False", false) })
            {
                if (string.CompareOrdinal(text, _position, word, 0, word.Length) == 0)
                {
                    _position += word.Length;
                    return value;
                }
            }

            throw Fail("expected True or False");
        }

        public long[] Tuple()
        {
            Expect('(');
            var values = new List<long>();
            while (!TryTake(')'))
            {
                SkipSpace();
                var start = _position;
                while (_position < text.Length && char.IsAsciiDigit(text[_position]))
                {
                    _position++;
                }

                if (!long.TryParse(text.AsSpan(start, _position - start), NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                {
                    throw Fail("expected a non-negative integer in the shape");
                }

                values.Add(v);
                if (!TryTake(','))
                {
                    Expect(')');
                    break;
                }
            }

            return [.. values];
        }

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }
    }
}
