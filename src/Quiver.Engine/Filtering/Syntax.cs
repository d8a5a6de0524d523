namespace Quiver.Filtering;

/// <summary>Operators of the filter language, shared by the syntax tree and the bound plan.</summary>
internal enum FilterOp
{
    And,
    Or,
    Not,
    Negate,
    Plus,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// <summary>A node of the unbound syntax tree. <see cref="Position"/> is the zero-based offset of the node's first
/// token and <see cref="Token"/> that token's text, so that binding errors can point at the source.</summary>
internal abstract record SyntaxNode(int Position, string Token)
{
    /// <summary>Levels of the tree from this node down to its deepest leaf (a leaf is 1). The parser keeps it within
    /// <see cref="FilterLimits.MaxDepth"/>, which bounds every recursive walk over the tree and its bound plan.</summary>
    public abstract int Depth { get; }

    /// <summary>One more than the deepest of <paramref name="children"/> (a loop, not a recursion: depths are stored).</summary>
    protected static int Above(IReadOnlyList<SyntaxNode> children)
    {
        var max = 0;
        foreach (var c in children)
        {
            max = Math.Max(max, c.Depth);
        }

        return max + 1;
    }
}

/// <summary>A literal: long, double, string or bool.</summary>
internal sealed record LiteralSyntax(int Position, string Token, object Value) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth => 1;
}

/// <summary>A list literal <c>[a, b, ...]</c>.</summary>
internal sealed record ListSyntax(int Position, string Token, IReadOnlyList<SyntaxNode> Items) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Above(Items);
}

/// <summary>A template placeholder <c>{name}</c>.</summary>
internal sealed record ParamSyntax(int Position, string Token, string Name) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth => 1;
}

/// <summary>A field name (or an undeclared name that the dynamic field resolves).</summary>
internal sealed record IdentifierSyntax(int Position, string Token, string Name) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth => 1;
}

/// <summary><c>target["key"]</c> or <c>target[3]</c>; <see cref="Key"/> is a string or a long.</summary>
internal sealed record IndexSyntax(int Position, string Token, SyntaxNode Target, object Key, int KeyPosition, string KeyToken)
    : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Target.Depth + 1;
}

/// <summary><c>not x</c>, <c>-x</c>, <c>+x</c>.</summary>
internal sealed record UnarySyntax(int Position, string Token, FilterOp Op, SyntaxNode Operand) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Operand.Depth + 1;
}

/// <summary>Arithmetic and comparison; <see cref="OpPosition"/> points at the operator.</summary>
internal sealed record BinarySyntax(int Position, string Token, FilterOp Op, SyntaxNode Left, SyntaxNode Right, int OpPosition, string OpToken)
    : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Math.Max(Left.Depth, Right.Depth) + 1;
}

/// <summary><c>( inner )</c>: kept in the tree so that parentheses count towards <see cref="FilterLimits.MaxDepth"/>
/// like every other level of nesting. The binder sees through it.</summary>
internal sealed record ParenSyntax(int Position, string Token, SyntaxNode Inner) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Inner.Depth + 1;
}

/// <summary>A chain <c>a and b and c</c> or <c>a or b or c</c> as one node of two or more operands, so that a long
/// chain is one level deep: generated filters with thousands of terms are common.</summary>
internal sealed record LogicSyntax(int Position, string Token, FilterOp Op, IReadOnlyList<SyntaxNode> Operands) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Above(Operands);
}

/// <summary>A chained range <c>lower op middle op upper</c>, normalized to ascending order (<c>5 &gt; x &gt;= 1</c>
/// becomes <c>1 &lt;= x &lt; 5</c>).</summary>
internal sealed record RangeSyntax(int Position, string Token, SyntaxNode Lower, bool LowerInclusive, SyntaxNode Middle, bool UpperInclusive, SyntaxNode Upper)
    : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Math.Max(Lower.Depth, Math.Max(Middle.Depth, Upper.Depth)) + 1;
}

/// <summary><c>x [not] in list</c>; the list is a <see cref="ListSyntax"/> or a <see cref="ParamSyntax"/>.</summary>
internal sealed record InSyntax(int Position, string Token, SyntaxNode Value, SyntaxNode List, bool Negated) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Math.Max(Value.Depth, List.Depth) + 1;
}

/// <summary><c>x [not] like pattern</c>.</summary>
internal sealed record LikeSyntax(int Position, string Token, SyntaxNode Value, SyntaxNode Pattern, bool Negated) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Math.Max(Value.Depth, Pattern.Depth) + 1;
}

/// <summary><c>x is [not] null</c>.</summary>
internal sealed record IsNullSyntax(int Position, string Token, SyntaxNode Value, bool Negated) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Value.Depth + 1;
}

/// <summary><c>name(args)</c>.</summary>
internal sealed record CallSyntax(int Position, string Token, string Name, IReadOnlyList<SyntaxNode> Args) : SyntaxNode(Position, Token)
{
    /// <inheritdoc/>
    public override int Depth { get; } = Above(Args);
}
