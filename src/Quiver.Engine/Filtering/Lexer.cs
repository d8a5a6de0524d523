using System.Globalization;
using System.Text;

namespace Quiver.Filtering;

internal enum TokenKind
{
    End,
    Identifier,
    Integer,
    Float,
    String,
    Param,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Power,
    Not,
    And,
    Or,
    In,
    Like,
    Is,
    Null,
    True,
    False,
}

/// <summary>One token. <see cref="Text"/> is the source text (for error messages); <see cref="Value"/> holds the
/// decoded value: a ulong magnitude for integers (the sign is applied by the parser so that long.MinValue parses),
/// a double for floats, the unescaped text for strings, the name for identifiers and parameters.</summary>
internal readonly record struct Token(TokenKind Kind, int Position, string Text, object? Value);

/// <summary>Splits a filter expression into tokens. Keywords are case-insensitive; identifiers may start with '$'
/// so that the dynamic field can be named as <c>$meta</c>.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, text.Length, "", null));
                return tokens;
            }

            var c = text[i];
            var start = i;
            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                tokens.Add(ReadNumber(text, ref i));
                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_' || c == '$')
            {
                i++;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                var word = text[start..i];
                tokens.Add(new Token(Keyword(word), start, word, word));
                continue;
            }

            switch (c)
            {
                case '"':
                case '\'':
                    tokens.Add(ReadString(text, ref i));
                    continue;
                case '{':
                    tokens.Add(ReadParam(text, ref i));
                    continue;
                case '(': tokens.Add(Simple(TokenKind.LParen, start, "(")); i++; continue;
                case ')': tokens.Add(Simple(TokenKind.RParen, start, ")")); i++; continue;
                case '[': tokens.Add(Simple(TokenKind.LBracket, start, "[")); i++; continue;
                case ']': tokens.Add(Simple(TokenKind.RBracket, start, "]")); i++; continue;
                case ',': tokens.Add(Simple(TokenKind.Comma, start, ",")); i++; continue;
                case '+': tokens.Add(Simple(TokenKind.Plus, start, "+")); i++; continue;
                case '-': tokens.Add(Simple(TokenKind.Minus, start, "-")); i++; continue;
                case '/': tokens.Add(Simple(TokenKind.Slash, start, "/")); i++; continue;
                case '%': tokens.Add(Simple(TokenKind.Percent, start, "%")); i++; continue;
                case '*':
                    tokens.Add(Next(text, i, '*') ? Simple(TokenKind.Power, start, "**") : Simple(TokenKind.Star, start, "*"));
                    i += tokens[^1].Text.Length;
                    continue;
                case '<':
                    tokens.Add(Next(text, i, '=') ? Simple(TokenKind.Le, start, "<=") : Simple(TokenKind.Lt, start, "<"));
                    i += tokens[^1].Text.Length;
                    continue;
                case '>':
                    tokens.Add(Next(text, i, '=') ? Simple(TokenKind.Ge, start, ">=") : Simple(TokenKind.Gt, start, ">"));
                    i += tokens[^1].Text.Length;
                    continue;
                case '=':
                    if (!Next(text, i, '='))
                    {
                        throw new FilterException("unexpected '='; use '==' to compare", start, "=");
                    }

                    tokens.Add(Simple(TokenKind.Eq, start, "=="));
                    i += 2;
                    continue;
                case '!':
                    tokens.Add(Next(text, i, '=') ? Simple(TokenKind.Ne, start, "!=") : Simple(TokenKind.Not, start, "!"));
                    i += tokens[^1].Text.Length;
                    continue;
                case '&':
                    if (!Next(text, i, '&'))
                    {
                        throw new FilterException("unexpected '&'; use '&&' or 'and' (bitwise operators are not supported)", start, "&");
                    }

                    tokens.Add(Simple(TokenKind.And, start, "&&"));
                    i += 2;
                    continue;
                case '|':
                    if (!Next(text, i, '|'))
                    {
                        throw new FilterException("unexpected '|'; use '||' or 'or' (bitwise operators are not supported)", start, "|");
                    }

                    tokens.Add(Simple(TokenKind.Or, start, "||"));
                    i += 2;
                    continue;
                default:
                    throw new FilterException($"unexpected character '{c}'", start, c.ToString());
            }
        }
    }

    private static Token Simple(TokenKind kind, int position, string text) => new(kind, position, text, null);

    private static bool Next(string text, int i, char c) => i + 1 < text.Length && text[i + 1] == c;

    private static TokenKind Keyword(string word) => word.ToUpperInvariant() switch
    {
        "AND" => TokenKind.And,
        "OR" => TokenKind.Or,
        "NOT" => TokenKind.Not,
        "IN" => TokenKind.In,
        "LIKE" => TokenKind.Like,
        "IS" => TokenKind.Is,
        "NULL" => TokenKind.Null,
        "TRUE" => TokenKind.True,
        "FALSE" => TokenKind.False,
        _ => TokenKind.Identifier,
    };

    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        var isFloat = false;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (i < text.Length && text[i] == '.')
        {
            isFloat = true;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            isFloat = true;
            i++;
            if (i < text.Length && (text[i] == '+' || text[i] == '-'))
            {
                i++;
            }

            var digits = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (digits == i)
            {
                throw BadNumber(text, start);
            }
        }

        // "12abc", "1.2.3" and "1e5x" are one bad token, not a number followed by something.
        if (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_' || text[i] == '.'))
        {
            throw BadNumber(text, start);
        }

        var s = text[start..i];
        if (isFloat)
        {
            var d = double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(d))
            {
                throw new FilterException("number is out of range", start, s);
            }

            return new Token(TokenKind.Float, start, s, d);
        }

        // The magnitude may be 2^63 when a minus sign precedes it; the parser checks the range.
        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var u) || u > (ulong)long.MaxValue + 1)
        {
            throw new FilterException("integer is out of the Int64 range", start, s);
        }

        return new Token(TokenKind.Integer, start, s, u);
    }

    private static FilterException BadNumber(string text, int start)
    {
        var end = start;
        while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '_' or '.' or '+' or '-'))
        {
            // Only take a sign right after an exponent marker, so that "1e+" is the token but "1-2" is not.
            if (text[end] is '+' or '-' && !(end > start && text[end - 1] is 'e' or 'E'))
            {
                break;
            }

            end++;
        }

        return new FilterException("malformed number", start, text[start..end]);
    }

    private static Token ReadString(string text, ref int i)
    {
        var start = i;
        var quote = text[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length)
            {
                var shown = Utf16Text.Clip(text[start..], 20);
                throw new FilterException("unterminated string", start, shown);
            }

            var c = text[i];
            if (c == quote)
            {
                i++;
                var value = sb.ToString();
                if (Utf16Text.Problem(value) is { } problem)
                {
                    // Stored strings are UTF-8, so such a literal could match nothing, and JSON lookups cannot even
                    // encode it: refuse it here rather than fail deeper.
                    throw new FilterException($"string {problem}", start, text[start..i]);
                }

                return new Token(TokenKind.String, start, text[start..i], value);
            }

            if (c != '\\')
            {
                sb.Append(c);
                i++;
                continue;
            }

            if (i + 1 >= text.Length)
            {
                throw new FilterException("unterminated string", start, text[start..]);
            }

            var e = text[i + 1];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\'': sb.Append('\''); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case '%':
                case '_':
                    // Kept escaped: LIKE reads "\%" and "\_" as literal characters.
                    sb.Append('\\').Append(e);
                    break;
                case 'u':
                    if (i + 6 > text.Length || !ushort.TryParse(text.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        var end = Math.Min(text.Length, i + 6);
                        throw new FilterException("bad \\u escape; expected four hex digits", i, text[i..end]);
                    }

                    sb.Append((char)code);
                    i += 4;
                    break;
                default:
                    throw new FilterException($"unknown escape sequence '\\{e}'", i, "\\" + e);
            }

            i += 2;
        }
    }

    private static Token ReadParam(string text, ref int i)
    {
        var start = i;
        var j = i + 1;
        while (j < text.Length && char.IsWhiteSpace(text[j]))
        {
            j++;
        }

        var nameStart = j;
        if (j < text.Length && (char.IsAsciiLetter(text[j]) || text[j] == '_'))
        {
            j++;
            while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '_'))
            {
                j++;
            }
        }

        var name = text[nameStart..j];
        while (j < text.Length && char.IsWhiteSpace(text[j]))
        {
            j++;
        }

        if (name.Length == 0 || j >= text.Length || text[j] != '}')
        {
            var end = text.IndexOf('}', start);
            var shown = end < 0 ? text[start..Math.Min(text.Length, start + 20)] : text[start..(end + 1)];
            throw new FilterException("malformed template parameter; expected '{name}'", start, shown);
        }

        i = j + 1;
        return new Token(TokenKind.Param, start, text[start..i], name);
    }
}
