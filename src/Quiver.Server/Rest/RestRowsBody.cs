using System.Text.Json;
using Quiver.Wire;

namespace Quiver.Server.Rest;

/// <summary>
/// The body of an insert or upsert without a document over its rows: the <c>data</c> array stays UTF-8 text for
/// <see cref="Wire.RestJsonReader.Read(CollectionSchema, ReadOnlySpan{byte}, int, bool)"/> to read into columns, and only
/// the other top-level members are parsed (with <c>data</c> standing as the number 0 in <see cref="Root"/>).
/// </summary>
/// <param name="Root">The top-level object without its rows.</param>
/// <param name="Rows">The text of the <c>data</c> array.</param>
/// <param name="Count">The number of rows in it (at least one).</param>
internal sealed record RestRowsBody(JsonElement Root, ReadOnlyMemory<byte> Rows, int Count)
{
    /// <summary>The document <see cref="Root"/> belongs to (over a copy of the other members, not over the body), for
    /// the request to dispose when it ends.</summary>
    public JsonDocument? Document { get; init; }

    /// <summary>
    /// Scans <paramref name="body"/> once with <see cref="StrictJsonText"/> (no values built) and returns its rows,
    /// or null when the body needs <see cref="RestBody.Parse"/>: anything that parser would refuse (not UTF-8, malformed,
    /// nested past <see cref="RestBody.MaxDepth"/>, a key twice in one object, not an object) and anything this scan does
    /// not judge itself (an escaped key, an object with more than <see cref="StrictJsonText.MaxKeys"/> keys, nesting past <see cref="StrictJsonText.MaxDepth"/>, no non-empty
    /// <c>data</c> array). So a body this accepts is one that parser accepts, and every refusal keeps its message.
    /// </summary>
    public static RestRowsBody? TryScan(ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        if (span.IsEmpty || !System.Text.Unicode.Utf8.IsValid(span))
        {
            return null;
        }

        var text = new StrictJsonText(span);
        Span<(int, int)> keys = stackalloc (int, int)[StrictJsonText.MaxKeys];
        var keyCount = 0;
        int dataStart = -1, dataEnd = -1, count = 0;
        if (!text.Take((byte)'{') || text.Peek() == (byte)'}')
        {
            return null;
        }

        do
        {
            if (!text.Key(keys, ref keyCount, out var key))
            {
                return null;
            }

            if (!key.SequenceEqual("data"u8))
            {
                if (!text.SkipValue(2))
                {
                    return null;
                }

                continue;
            }

            text.SkipSpace();
            dataStart = text.Position;
            if (!text.Take((byte)'[') || text.Peek() == (byte)']')
            {
                return null;
            }

            do
            {
                if (!text.SkipValue(3))
                {
                    return null;
                }

                count++;
            }
            while (text.Take((byte)','));

            if (!text.Take((byte)']'))
            {
                return null;
            }

            dataEnd = text.Position;
        }
        while (text.Take((byte)','));

        text.SkipSpace();
        if (!text.Take((byte)'}') || dataStart < 0)
        {
            return null;
        }

        text.SkipSpace();
        if (text.Position != span.Length)
        {
            return null;
        }

        // The other members, with the rows replaced by 0, parsed by the parser every body goes through (small now).
        var rest = new byte[span.Length - (dataEnd - dataStart) + 1];
        span[..dataStart].CopyTo(rest);
        rest[dataStart] = (byte)'0';
        span[dataEnd..].CopyTo(rest.AsSpan(dataStart + 1));
        var document = RestBody.ParseDocument(rest);
        return new RestRowsBody(document.RootElement, body[dataStart..dataEnd], count) { Document = document };
    }
}
