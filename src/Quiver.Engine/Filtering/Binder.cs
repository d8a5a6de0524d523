using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Quiver.Filtering;

/// <summary>Turns a syntax tree into a type-checked plan for one schema and one set of template parameters:
/// resolves names (undeclared names go to the dynamic field), substitutes parameters, folds constants, puts
/// constants on the right of comparisons, and picks a column-wise node wherever the operand types allow one.</summary>
internal sealed partial class Binder(CollectionSchema schema, IReadOnlyDictionary<string, object?>? parameters)
{
    private static readonly FieldSchema DynamicField = FieldSchema.Json(CollectionSchema.DynamicFieldName);

    private readonly HashSet<string> _fields = new(StringComparer.Ordinal);

    public BoundFilter BindFilter(FilterExpression expression)
    {
        var root = expression.Root is null ? new ConstPredicate(true) : BindPredicate(expression.Root);
        return new BoundFilter(expression, root, _fields, parameters);
    }

    private static FilterException Error(string message, SyntaxNode at) => new(message, at.Position, at.Token);

    private static FilterException Error(string message, ValueNode at) => new(message, at.Position, at.Token);

    // ---- predicates ----

    /// <summary>Recursive over the tree, whose depth the parser bounds (<see cref="FilterLimits.MaxDepth"/>); and / or
    /// chains of any length are walked with an explicit stack in <see cref="BindLogic"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindPredicate(SyntaxNode node)
    {
        switch (node)
        {
            case ParenSyntax p:
                return BindPredicate(p.Inner);
            case LogicSyntax l:
                return BindLogic(l);
            case UnarySyntax { Op: FilterOp.Not } u:
                var child = BindPredicate(u.Operand);
                return child is ConstPredicate c ? new ConstPredicate(!c.Value) : new NotPredicate(child);
            case BinarySyntax { Op: FilterOp.Eq or FilterOp.Ne or FilterOp.Lt or FilterOp.Le or FilterOp.Gt or FilterOp.Ge } b:
                return BindCompare(b.Op, b.Left, b.Right, b.OpPosition, b.OpToken);
            case RangeSyntax r:
                var lower = BindCompare(r.LowerInclusive ? FilterOp.Le : FilterOp.Lt, r.Lower, r.Middle, r.Middle.Position, r.Middle.Token);
                var upper = BindCompare(r.UpperInclusive ? FilterOp.Le : FilterOp.Lt, r.Middle, r.Upper, r.Middle.Position, r.Middle.Token);
                return MakeAnd([lower, upper]);
            case InSyntax i:
                return BindIn(i);
            case LikeSyntax l:
                return BindLike(l);
            case IsNullSyntax n:
                return BindIsNull(n);
            case CallSyntax call:
                return BindCall(call);
            default:
                var v = BindValue(node);
                switch (v)
                {
                    case ConstNode { Value.Kind: ScalarKind.Bool } cb:
                        return new ConstPredicate(cb.Value.Bool);
                    case FieldNode { Type: FilterType.Bool } f:
                        return new BoolColumnPredicate(f, true);
                    case PathNode { Type: FilterType.Json or FilterType.Bool }:
                        return new RowTruthPredicate(v);
                    default:
                        throw Error($"{Describe(v)} is not a boolean condition", v);
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindLogic(LogicSyntax chain)
    {
        // Flatten nested chains of the same operator, also through parentheses: (a and b) and c is one node.
        var parts = new List<PredicateNode>();
        var stack = new Stack<SyntaxNode>();
        PushReversed(stack, chain.Operands);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            var bare = n;
            while (bare is ParenSyntax p)
            {
                bare = p.Inner;
            }

            if (bare is LogicSyntax inner && inner.Op == chain.Op)
            {
                PushReversed(stack, inner.Operands);
            }
            else
            {
                parts.Add(BindPredicate(n));
            }
        }

        return chain.Op == FilterOp.And ? MakeAnd(parts) : MakeOr(parts);
    }

    private static void PushReversed(Stack<SyntaxNode> stack, IReadOnlyList<SyntaxNode> nodes)
    {
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            stack.Push(nodes[i]);
        }
    }

    private static PredicateNode MakeAnd(List<PredicateNode> parts)
    {
        if (parts.Any(p => p is ConstPredicate { Value: false }))
        {
            return new ConstPredicate(false);
        }

        parts.RemoveAll(p => p is ConstPredicate);
        return parts.Count switch
        {
            0 => new ConstPredicate(true),
            1 => parts[0],
            _ => new AndPredicate(parts),
        };
    }

    private static PredicateNode MakeOr(List<PredicateNode> parts)
    {
        if (parts.Any(p => p is ConstPredicate { Value: true }))
        {
            return new ConstPredicate(true);
        }

        parts.RemoveAll(p => p is ConstPredicate);
        return parts.Count switch
        {
            0 => new ConstPredicate(false),
            1 => parts[0],
            _ => new OrPredicate(parts),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindCompare(FilterOp op, SyntaxNode leftSyntax, SyntaxNode rightSyntax, int opPosition, string opToken)
    {
        var left = BindValue(leftSyntax);
        var right = BindValue(rightSyntax);
        if (left is ConstNode && right is not ConstNode)
        {
            (left, right) = (right, left);
            op = Flip(op);
        }

        CheckComparable(left, right, op, opPosition, opToken);
        if (left is ConstNode lc && right is ConstNode rc)
        {
            return new ConstPredicate(Compare.Scalars(op, lc.Value, rc.Value) == Tri.True);
        }

        if (right is ConstNode c)
        {
            right = RoundForFloatField(left, c);
        }

        if (left.IsColumnar && right.IsColumnar)
        {
            return new NumericComparePredicate(op, left, right);
        }

        if (left is FieldNode { Type: FilterType.String, Index: >= 0 } sf && right is ConstNode { Value.Kind: ScalarKind.String } sc)
        {
            return new StringComparePredicate(sf, op, sc.Value.String);
        }

        if (left is FieldNode { Type: FilterType.Bool, Index: >= 0 } bf && right is ConstNode { Value.Kind: ScalarKind.Bool } bc)
        {
            return new BoolColumnPredicate(bf, op == FilterOp.Eq ? bc.Value.Bool : !bc.Value.Bool);
        }

        return new RowComparePredicate(op, left, right);
    }

    private static FilterOp Flip(FilterOp op) => op switch
    {
        FilterOp.Lt => FilterOp.Gt,
        FilterOp.Le => FilterOp.Ge,
        FilterOp.Gt => FilterOp.Lt,
        FilterOp.Ge => FilterOp.Le,
        _ => op,
    };

    /// <summary>A Float field holds float32 values; compare it with the constant rounded the same way, so that
    /// <c>price == 1.1</c> finds the rows inserted as 1.1.</summary>
    private static ValueNode RoundForFloatField(ValueNode left, ConstNode c)
    {
        if (left is FieldNode { Field.DataType: DataType.Float } && c.Value.Kind == ScalarKind.Double)
        {
            var f = (float)c.Value.Double;
            if (float.IsFinite(f))
            {
                return new ConstNode(c.Position, c.Token, Scalar.OfDouble(f));
            }
        }

        return c;
    }

    private static void CheckComparable(ValueNode left, ValueNode right, FilterOp op, int opPosition, string opToken)
    {
        foreach (var side in (ReadOnlySpan<ValueNode>)[left, right])
        {
            if (side.Type == FilterType.Array)
            {
                throw Error($"{Describe(side)} cannot be compared as a whole; index it (x[0]) or use array_contains / array_length", side);
            }

            if (side.Type == FilterType.List)
            {
                throw Error("a list can only be used with 'in' and the contains functions", side);
            }
        }

        if (left.Type == FilterType.Json || right.Type == FilterType.Json)
        {
            return;
        }

        var ok = (left.IsNumeric && right.IsNumeric) || left.Type == right.Type;
        if (!ok)
        {
            var culprit = right is ConstNode || left is not ConstNode ? right : left;
            throw Error($"cannot compare {Describe(left)} with {Describe(right)}", culprit);
        }

        if (left.Type == FilterType.Bool && op is not (FilterOp.Eq or FilterOp.Ne))
        {
            throw new FilterException("bool values can only be compared with == and !=", opPosition, opToken);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindIn(InSyntax node)
    {
        var value = BindValue(node.Value);
        var list = BindValue(node.List);
        if (list is not ConstNode { Value.Kind: ScalarKind.List } lc)
        {
            throw Error($"'in' needs a list, got {Describe(list)}", list);
        }

        if (value.Type is FilterType.Array or FilterType.List)
        {
            throw Error($"{Describe(value)} cannot be used with 'in'", value);
        }

        var items = lc.Value.Items;
        if (value.Type != FilterType.Json)
        {
            for (var i = 0; i < items.Length; i++)
            {
                if (!Fits(value.Type, items[i]))
                {
                    throw Error($"list item {items[i]} does not match {Describe(value)}", ItemSyntax(node.List, i));
                }

                if (value is FieldNode { Field.DataType: DataType.Float } && items[i].Kind == ScalarKind.Double && float.IsFinite((float)items[i].Double))
                {
                    items[i] = Scalar.OfDouble((float)items[i].Double);
                }
            }
        }

        PredicateNode p;
        if (value is ConstNode vc)
        {
            p = new ConstPredicate(!vc.Value.IsMissing && items.Any(x => Compare.Equal(vc.Value, x)));
        }
        else if (value is FieldNode { Type: FilterType.String, Index: >= 0 } sf)
        {
            p = new StringInPredicate(sf, [.. items.Select(x => x.String)]);
        }
        else if (value.IsColumnar)
        {
            p = new NumericInPredicate(value, items);
        }
        else
        {
            p = new RowInPredicate(value, items);
        }

        return node.Negated ? Negate(p) : p;
    }

    private static SyntaxNode ItemSyntax(SyntaxNode list, int i) => list is ListSyntax ls && i < ls.Items.Count ? ls.Items[i] : list;

    private static PredicateNode Negate(PredicateNode p) => p is ConstPredicate c ? new ConstPredicate(!c.Value) : new NotPredicate(p);

    private static bool Fits(FilterType type, Scalar item) => type switch
    {
        FilterType.Integer or FilterType.Float => item.IsNumber,
        FilterType.String => item.Kind == ScalarKind.String,
        FilterType.Bool => item.Kind == ScalarKind.Bool,
        _ => true,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindLike(LikeSyntax node)
    {
        var value = BindValue(node.Value);
        var pattern = BindValue(node.Pattern);
        if (pattern is not ConstNode { Value.Kind: ScalarKind.String } pc)
        {
            throw Error($"'like' needs a string pattern, got {Describe(pattern)}", pattern);
        }

        var compiled = new LikePattern(pc.Value.String);
        PredicateNode p = value switch
        {
            FieldNode { Type: FilterType.String, Index: >= 0 } f => new StringLikePredicate(f, compiled),
            PathNode { Type: FilterType.Json or FilterType.String } => new RowLikePredicate(value, compiled),
            FieldNode { Index: < 0 } => new RowLikePredicate(value, compiled),
            ConstNode { Value.Kind: ScalarKind.String } c => new ConstPredicate(compiled.IsMatch(c.Value.String)),
            _ => throw Error($"'like' needs a VarChar field or a JSON string; {Describe(value)} is not one", value),
        };
        return node.Negated ? Negate(p) : p;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindIsNull(IsNullSyntax node)
    {
        var value = BindValue(node.Value);
        return value switch
        {
            FieldNode { Index: >= 0 } f => new ColumnIsNullPredicate(f, node.Negated),
            FieldNode or PathNode => new RowIsNullPredicate(value, node.Negated),
            _ => throw Error($"'is null' needs a field or a JSON path, not {Describe(value)}", value),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PredicateNode BindCall(CallSyntax call)
    {
        if (TryBindSpatial(call) is { } spatial)
        {
            return spatial;
        }

        var name = call.Name.ToLowerInvariant();
        if (TextMatchFunctions.Handles(name))
        {
            return TextMatchFunctions.Bind(call, BindValue);
        }

        var mode = name switch
        {
            "json_contains" or "array_contains" => ContainsMode.One,
            "json_contains_all" or "array_contains_all" => ContainsMode.All,
            "json_contains_any" or "array_contains_any" => ContainsMode.Any,
            "array_length" => throw Error("array_length returns a number; compare it, e.g. array_length(tags) == 3", call),
            _ => throw Error($"unknown function '{call.Name}'", call),
        };
        CheckArity(call, 2);
        var target = BindContainer(call, call.Args[0]);
        var arg = BindValue(call.Args[1]);
        if (arg is not ConstNode argc)
        {
            throw Error($"the second argument of {call.Name} must be a constant, not {Describe(arg)}", arg);
        }

        Scalar[] items;
        if (mode == ContainsMode.One)
        {
            items = [argc.Value];
        }
        else if (argc.Value.Kind == ScalarKind.List)
        {
            items = argc.Value.Items;
        }
        else
        {
            throw Error($"the second argument of {call.Name} must be a list", arg);
        }

        if (target is FieldNode { Field: { DataType: DataType.Array, ElementType: { } et } } af)
        {
            var elementType = FieldNode.TypeOf(et);
            foreach (var item in items)
            {
                if (!Fits(elementType, item))
                {
                    throw Error($"value {item} does not match the element type {et} of array field '{af.Name}'", arg);
                }
            }
        }

        return new ContainsPredicate(target, mode, items);
    }

    private static void CheckArity(CallSyntax call, int expected)
    {
        if (call.Args.Count != expected)
        {
            throw Error($"{call.Name} takes {expected} argument{(expected == 1 ? "" : "s")}, got {call.Args.Count}", call);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ValueNode BindContainer(CallSyntax call, SyntaxNode argument)
    {
        var target = BindValue(argument);
        return target switch
        {
            FieldNode { Type: FilterType.Json or FilterType.Array } => target,
            PathNode { Type: FilterType.Json } => target,
            _ => throw Error($"{call.Name} needs a JSON or Array field or a JSON path, not {Describe(target)}", target),
        };
    }

    // ---- values ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ValueNode BindValue(SyntaxNode node)
    {
        switch (node)
        {
            case ParenSyntax p:
                return BindValue(p.Inner);
            case LiteralSyntax l:
                return new ConstNode(l.Position, l.Token, LiteralScalar(l.Value));
            case ListSyntax list:
                var items = new Scalar[list.Items.Count];
                for (var i = 0; i < items.Length; i++)
                {
                    var item = BindValue(list.Items[i]);
                    items[i] = item is ConstNode ic ? ic.Value : throw Error($"list items must be constants, not {Describe(item)}", item);
                }

                return new ConstNode(list.Position, list.Token, Scalar.OfList(items));
            case ParamSyntax p:
                return new ConstNode(p.Position, p.Token, ParamScalar(p));
            case IdentifierSyntax id:
                return ResolveIdentifier(id);
            case IndexSyntax ix:
                return BindIndex(ix);
            case UnarySyntax { Op: FilterOp.Negate or FilterOp.Plus } u:
                var operand = BindValue(u.Operand);
                RequireNumber(operand);
                if (u.Op == FilterOp.Plus)
                {
                    return operand;
                }

                var zero = new ConstNode(u.Position, u.Token, operand.Type == FilterType.Integer ? Scalar.OfLong(0) : Scalar.OfDouble(0));
                return MakeArith(u.Position, u.Token, FilterOp.Sub, zero, operand);
            case BinarySyntax { Op: FilterOp.Add or FilterOp.Sub or FilterOp.Mul or FilterOp.Div or FilterOp.Mod or FilterOp.Pow } b:
                var left = BindValue(b.Left);
                var right = BindValue(b.Right);
                RequireNumber(left);
                RequireNumber(right);
                return MakeArith(b.Position, b.Token, b.Op, left, right);
            case CallSyntax call when call.Name.Equals("array_length", StringComparison.OrdinalIgnoreCase):
                CheckArity(call, 1);
                return new ArrayLengthNode(call.Position, call.Token, BindContainer(call, call.Args[0]));
            case CallSyntax call:
                _ = BindCall(call);
                throw Error($"{call.Name} is a condition and cannot be used as a value", call);
            default:
                throw Error("a condition cannot be used as a value here", node);
        }
    }

    private static ValueNode MakeArith(int position, string token, FilterOp op, ValueNode left, ValueNode right)
    {
        if (left is ConstNode lc && right is ConstNode rc)
        {
            return new ConstNode(position, token, ArithNode.Apply(op, lc.Value, rc.Value));
        }

        var type = left.Type == FilterType.Integer && right.Type == FilterType.Integer && op != FilterOp.Pow
            ? FilterType.Integer
            : FilterType.Float;
        return new ArithNode(position, token, op, left, right, type);
    }

    private static void RequireNumber(ValueNode v)
    {
        if (!v.IsNumeric && v.Type != FilterType.Json)
        {
            throw Error($"arithmetic needs numbers; {Describe(v)} is not one", v);
        }
    }

    private ValueNode ResolveIdentifier(IdentifierSyntax id)
    {
        var index = schema.IndexOf(id.Name);
        if (index >= 0)
        {
            var field = schema.Fields[index];
            if (field.IsVector || field.IsSparseVector)
            {
                throw Error($"vector field '{field.Name}' cannot be used in a filter", id);
            }

            _fields.Add(field.Name);
            return new FieldNode(id.Position, id.Token, index, field);
        }

        if (schema.EnableDynamicField)
        {
            _fields.Add(CollectionSchema.DynamicFieldName);
            var dynamic = new FieldNode(id.Position, id.Token, -1, DynamicField);
            return id.Name == CollectionSchema.DynamicFieldName
                ? dynamic
                : new PathNode(id.Position, id.Token, dynamic, [id.Name], FilterType.Json);
        }

        throw Error($"unknown field '{id.Name}'", id);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ValueNode BindIndex(IndexSyntax ix)
    {
        var target = BindValue(ix.Target);
        switch (target)
        {
            case FieldNode { Type: FilterType.Json } f:
                return new PathNode(ix.Position, ix.Token, f, [ix.Key], FilterType.Json);
            case FieldNode { Type: FilterType.Array } f:
                if (ix.Key is not long)
                {
                    throw new FilterException($"array field '{f.Name}' needs an integer index", ix.KeyPosition, ix.KeyToken);
                }

                return new PathNode(ix.Position, ix.Token, f, [ix.Key], FieldNode.TypeOf(f.Field.ElementType!.Value));
            case PathNode { Type: FilterType.Json } p:
                return new PathNode(ix.Position, ix.Token, p.Field, [.. p.Path, ix.Key], FilterType.Json);
            default:
                throw new FilterException($"only JSON and Array fields can be indexed; {Describe(target)} cannot", ix.KeyPosition, ix.KeyToken);
        }
    }

    private static Scalar LiteralScalar(object value) => value switch
    {
        long l => Scalar.OfLong(l),
        double d => Scalar.OfDouble(d),
        string s => Scalar.OfString(s),
        bool b => Scalar.OfBool(b),
        _ => throw new InvalidOperationException($"unexpected literal {value.GetType()}"),
    };

    /// <summary>The value of a template placeholder as the binder substitutes it; FilterException when it is missing or not
    /// a filter value.</summary>
    public static Scalar ParamValue(ParamSyntax p, IReadOnlyDictionary<string, object?>? parameters)
    {
        if (parameters is null || !parameters.TryGetValue(p.Name, out var value))
        {
            throw new FilterException($"missing template parameter '{p.Name}'", p.Position, p.Token);
        }

        return ConvertParam(value, p, 0);
    }

    private Scalar ParamScalar(ParamSyntax p)
    {
        if (parameters is null || !parameters.TryGetValue(p.Name, out var value))
        {
            throw new FilterException($"missing template parameter '{p.Name}'", p.Position, p.Token);
        }

        return ConvertParam(value, p, 0);
    }

    private static Scalar ConvertParam(object? value, ParamSyntax p, int depth)
    {
        if (depth > FilterLimits.MaxTemplateValueDepth)
        {
            throw new FilterException(
                $"template parameter '{p.Name}' exceeds the nesting depth limit of {FilterLimits.MaxTemplateValueDepth} (FilterLimits.MaxTemplateValueDepth)",
                p.Position,
                p.Token);
        }

        switch (value)
        {
            case null:
                throw new FilterException($"template parameter '{p.Name}' is null; use 'is null' instead", p.Position, p.Token);
            case long l: return Scalar.OfLong(l);
            case int i: return Scalar.OfLong(i);
            case short s: return Scalar.OfLong(s);
            case sbyte sb: return Scalar.OfLong(sb);
            case byte by: return Scalar.OfLong(by);
            case ushort us: return Scalar.OfLong(us);
            case uint ui: return Scalar.OfLong(ui);
            case ulong ul when ul <= long.MaxValue: return Scalar.OfLong((long)ul);
            case double d when double.IsFinite(d): return Scalar.OfDouble(d);
            case float f when float.IsFinite(f): return Scalar.OfDouble(f);
            case double or float:
                throw new FilterException($"template parameter '{p.Name}' is not a finite number (NaN and infinity match no row)", p.Position, p.Token);
            case decimal m: return Scalar.OfDouble((double)m);
            case string str when Utf16Text.Problem(str) is { } problem:
                throw new FilterException($"template parameter '{p.Name}' {problem}", p.Position, p.Token);
            case string str: return Scalar.OfString(str);
            case bool b: return Scalar.OfBool(b);
            case JsonElement je:
                switch (je.ValueKind)
                {
                    case JsonValueKind.String when JsonLimits.Problem(je) is { } problem:
                        // An escape that decodes to an unpaired surrogate, or bytes that are not UTF-8.
                        throw new FilterException($"template parameter '{p.Name}': {problem}", p.Position, p.Token);
                    case JsonValueKind.Number:
                    case JsonValueKind.String:
                    case JsonValueKind.True:
                    case JsonValueKind.False:
                        return Scalar.FromJson(je);
                    case JsonValueKind.Array:
                        return Scalar.OfList([.. je.EnumerateArray().Select(x => ConvertParam(x, p, depth + 1))]);
                    default:
                        break;
                }

                break;
            case IEnumerable e:
                var list = new List<Scalar>();
                foreach (var x in e)
                {
                    list.Add(ConvertParam(x, p, depth + 1));
                }

                return Scalar.OfList([.. list]);
        }

        var what = value is JsonElement j ? $"JSON {j.ValueKind}" : value.GetType().Name;
        throw new FilterException($"template parameter '{p.Name}' has an unsupported value ({what}); use a number, string, bool or a list of them", p.Position, p.Token);
    }

    private static string Describe(ValueNode v) => v switch
    {
        FieldNode { Index: < 0 } => "the dynamic field",
        FieldNode f => $"{f.Field.DataType} field '{f.Name}'",
        PathNode { Type: FilterType.Json } p => $"JSON path {p.Token}",
        PathNode p => $"{p.Field.Field.ElementType} element of array field '{p.Field.Name}'",
        ConstNode c => c.Value.Kind switch
        {
            ScalarKind.Long => $"the integer {c.Value}",
            ScalarKind.Double => $"the number {c.Value}",
            ScalarKind.String => $"the string {c.Value}",
            ScalarKind.Bool => $"the bool {c.Value}",
            ScalarKind.List => "a list",
            _ => "an undefined value",
        },
        ArrayLengthNode => "array_length(...)",
        _ => v.Type == FilterType.Integer ? "an integer expression" : "a numeric expression",
    };
}
