using Google.Protobuf;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>The wire forms of GEOMETRY and TIMESTAMPTZ columns read into the engine's: WKB bytes to canonical WKT, and
/// ISO 8601 text (what the SDKs send, in <c>string_data</c>) or UTC microseconds (<c>timestamptz_data</c>) to
/// microseconds. A bad value is named by row and field.</summary>
internal static class ScalarValues
{
    public static long[] TimestamptzColumn(ScalarField s, int rows, Func<int, int> at, bool[]? nulls, string field, string op, TimeZoneInfo? zone = null)
    {
        var result = new long[rows];
        for (var r = 0; r < rows; r++)
        {
            var i = at(r);
            if (i < 0)
            {
                continue;
            }

            string? error;
            if (s.DataCase == ScalarField.DataOneofCase.TimestamptzData)
            {
                result[r] = s.TimestamptzData.Data[i];
                error = Timestamptz.CheckRange(result[r]);
            }
            else
            {
                _ = Timestamptz.TryParse(s.StringData.Data[i], zone, out result[r], out error);
            }

            if (error is not null)
            {
                throw Fail(op, r, field, error);
            }
        }

        return result;
    }

    public static string?[] WkbColumn(IReadOnlyList<ByteString> data, int rows, Func<int, int> at, bool[]? nulls, string field, string op)
    {
        var result = new string?[rows];
        for (var r = 0; r < rows; r++)
        {
            var i = at(r);
            if (i < 0)
            {
                continue;
            }

            var shape = Spatial.Wkb.TryRead(data[i].Span, out var error) ?? throw Fail(op, r, field, error!);
            result[r] = Spatial.Wkt.Write(shape);
        }

        return result;
    }

    private static QuiverException Fail(string op, int row, string field, string error) =>
        new(QuiverErrorCode.InvalidArgument, $"{op}: row {row}, field '{field}': {error}");
}
