using System.Collections;
using System.Globalization;
using System.Text;

namespace Quiver;

/// <summary>The members of the records a user prints (<c>Console.WriteLine(info)</c>): a record's generated
/// <c>ToString</c> prints a list or a dictionary as its type name (<c>System.Collections.Immutable.ImmutableArray`1[...]</c>);
/// these write their items instead, <c>[a, b]</c> and <c>{k = v}</c>.</summary>
internal static class RecordText
{
    /// <summary>Appends <c>, name = value</c> (no comma first when <paramref name="first"/>), a sequence as its items.</summary>
    public static StringBuilder Member(this StringBuilder builder, string name, object? value, bool first = false)
    {
        if (!first)
        {
            builder.Append(", ");
        }

        builder.Append(name).Append(" = ");
        return Value(builder, value);
    }

    private static StringBuilder Value(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                return builder.Append("null");
            case string text:
                return builder.Append(text);
            case IEnumerable<KeyValuePair<string, string>> map:
                builder.Append('{');
                var firstPair = true;
                foreach (var (key, item) in map)
                {
                    builder.Append(firstPair ? "" : ", ").Append(key).Append(" = ").Append(item);
                    firstPair = false;
                }

                return builder.Append('}');
            case IEnumerable items:
                builder.Append('[');
                var firstItem = true;
                foreach (var item in items)
                {
                    builder.Append(firstItem ? "" : ", ");
                    Value(builder, item);
                    firstItem = false;
                }

                return builder.Append(']');
            case IFormattable formattable:
                return builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
            default:
                return builder.Append(value);
        }
    }
}
