using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Linq.Expressions;
using System.Text;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;
using Quiver.Typed;

namespace Quiver.VectorData;

/// <summary>
/// Translates the abstraction's LINQ filters to Quiver's (Milvus's) filter language: <c>==</c>, <c>!=</c>, <c>&lt;</c>,
/// <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c> between a property and a value (either side), <c>&amp;&amp;</c>,
/// <c>||</c>, <c>!</c>, a bool property alone, comparison with null (<c>is null</c>), <c>array.Contains(value)</c> on
/// an array property (<c>array_contains</c>) and <c>values.Contains(property)</c> on a captured list (<c>in</c>).
/// Anything else throws <see cref="NotSupportedException"/> naming the expression.
/// </summary>
internal sealed class QuiverFilterTranslator : FilterTranslatorBase
{
    private readonly StringBuilder _out = new();

    public string Translate(LambdaExpression filter, CollectionModel model)
    {
        var body = PreprocessFilter(filter, model, new FilterPreprocessingOptions());
        Translate(body);
        return _out.ToString();
    }

    private void Translate(Expression node)
    {
        switch (node)
        {
            case BinaryExpression { NodeType: ExpressionType.AndAlso or ExpressionType.OrElse } logical:
                _out.Append('(');
                Translate(logical.Left);
                _out.Append(logical.NodeType == ExpressionType.AndAlso ? " and " : " or ");
                Translate(logical.Right);
                _out.Append(')');
                return;
            case BinaryExpression comparison when Operator(comparison.NodeType) is { } op:
                Compare(comparison, op);
                return;
            case UnaryExpression { NodeType: ExpressionType.Not } not:
                _out.Append("not (");
                Translate(not.Operand);
                _out.Append(')');
                return;
            case UnaryExpression { NodeType: ExpressionType.Convert } convert when convert.Type == typeof(bool) || Nullable.GetUnderlyingType(convert.Type) == typeof(bool):
                Translate(convert.Operand);
                return;
            case MethodCallExpression call when TryMatchContains(call, out var source, out var item):
                Contains(source, item, node);
                return;
            case ConstantExpression { Value: bool b }:
                _out.Append(b ? "true" : "false");
                return;
            default:
                if (TryBindProperty(node, out var property) && (Nullable.GetUnderlyingType(property.Type) ?? property.Type) == typeof(bool))
                {
                    _out.Append(property.StorageName).Append(" == true");
                    return;
                }

                throw Unsupported(node);
        }
    }

    private void Compare(BinaryExpression comparison, string op)
    {
        if (Bind(comparison.Left, out var property) && Value(comparison.Right, out var value))
        {
            Emit(property, op, value, comparison);
        }
        else if (Bind(comparison.Right, out property) && Value(comparison.Left, out value))
        {
            Emit(property, Mirror(op), value, comparison);
        }
        else
        {
            throw Unsupported(comparison);
        }
    }

    private void Emit(PropertyModel property, string op, object? value, Expression node)
    {
        if (value is null)
        {
            _out.Append(property.StorageName).Append(op switch
            {
                "==" => " is null",
                "!=" => " is not null",
                _ => throw Unsupported(node),
            });
            return;
        }

        _out.Append(property.StorageName).Append(' ').Append(op).Append(' ');
        Literal(value, node);
    }

    private void Contains(Expression source, Expression item, Expression node)
    {
        if (TryBindProperty(source, out var array) && Value(item, out var element) && element is not null)
        {
            _out.Append("array_contains(").Append(array.StorageName).Append(", ");
            Literal(element, node);
            _out.Append(')');
        }
        else if (Bind(item, out var property) && Value(source, out var values) && values is IEnumerable list and not string)
        {
            _out.Append(property.StorageName).Append(" in [");
            var first = true;
            foreach (var v in list)
            {
                if (!first)
                {
                    _out.Append(", ");
                }

                Literal(v ?? throw Unsupported(node), node);
                first = false;
            }

            _out.Append(']');
        }
        else
        {
            throw Unsupported(node);
        }
    }

    /// <summary>Binds a property, also under a widening conversion C# inserts (a <c>short</c> compared with an
    /// <c>int</c> literal), which the base binder refuses as a cast to another type.</summary>
    private bool Bind(Expression node, [NotNullWhen(true)] out PropertyModel? property) =>
        node is UnaryExpression { NodeType: ExpressionType.Convert } convert && Widening(convert.Operand.Type, convert.Type)
            && TryBindProperty(convert.Operand, out property)
            || TryBindProperty(node, out property);

    /// <summary>True when every value of <paramref name="from"/> is the same value in <paramref name="to"/>, so the
    /// comparison means the same on the stored field (a narrowing cast such as <c>(int)price</c> would not).</summary>
    private static bool Widening(Type from, Type to)
    {
        from = Nullable.GetUnderlyingType(from) ?? from;
        to = Nullable.GetUnderlyingType(to) ?? to;
        return from == to
            || Array.IndexOf(s_widening, from) is var f and >= 0 && Array.IndexOf(s_widening, to) is var t && t > f
            && !(from == typeof(long) && to != typeof(decimal) && to != typeof(long));
    }

    private static readonly Type[] s_widening = [typeof(sbyte), typeof(short), typeof(int), typeof(long), typeof(float), typeof(double), typeof(decimal)];

    private static bool Value(Expression node, out object? value)
    {
        switch (node)
        {
            case ConstantExpression c:
                value = c.Value;
                return true;
            case UnaryExpression { NodeType: ExpressionType.Convert } convert when Value(convert.Operand, out var inner):
                value = inner;
                return true;
            default:
                value = null;
                return false;
        }
    }

    private void Literal(object value, Expression node)
    {
        switch (value)
        {
            case string s:
                _out.Append('"');
                foreach (var ch in s)
                {
                    if (ch is '"' or '\\')
                    {
                        _out.Append('\\');
                    }

                    _out.Append(ch);
                }

                _out.Append('"');
                break;
            case Guid g:
                _out.Append('"').Append(g.ToString("D")).Append('"');
                break;
            case bool b:
                _out.Append(b ? "true" : "false");
                break;
            case DateTime or DateTimeOffset:
                _out.Append(ClrVectors.IsoLiteral(value));
                break;
            case float f when float.IsFinite(f):
                _out.Append(f.ToString("R", CultureInfo.InvariantCulture));
                break;
            case double d when double.IsFinite(d):
                _out.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                _out.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            default:
                throw Unsupported(node);
        }
    }

    private static string? Operator(ExpressionType type) => type switch
    {
        ExpressionType.Equal => "==",
        ExpressionType.NotEqual => "!=",
        ExpressionType.LessThan => "<",
        ExpressionType.LessThanOrEqual => "<=",
        ExpressionType.GreaterThan => ">",
        ExpressionType.GreaterThanOrEqual => ">=",
        _ => null,
    };

    private static string Mirror(string op) => op switch
    {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        _ => op,
    };

    private static NotSupportedException Unsupported(Expression node) =>
        new($"Quiver cannot translate the filter part '{node}': supported are ==, !=, <, <=, >, >= between a property and a value, &&, ||, !, bool properties, null checks, array.Contains(value) and values.Contains(property)");
}
