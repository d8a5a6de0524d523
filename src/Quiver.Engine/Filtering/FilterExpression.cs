using System.Runtime.CompilerServices;

namespace Quiver.Filtering;

/// <summary>A parsed (not yet bound) filter expression in Milvus's boolean expression language.
/// Parse once, bind per schema and parameter set, evaluate per segment snapshot:
/// <c>FilterExpression.Parse(text).Bind(schema, parameters).Evaluate(source)</c>. Immutable and thread-safe.</summary>
internal sealed class FilterExpression
{
    private FilterExpression(string text, SyntaxNode? root)
    {
        Text = text;
        Root = root;
    }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>The syntax tree, or null for an empty (all rows) filter.</summary>
    public SyntaxNode? Root { get; }

    /// <summary>Parses a filter. An empty or whitespace-only text is the filter that matches every row.</summary>
    /// <exception cref="FilterException">On any syntax error, with the zero-based position and the offending token.</exception>
    /// <param name="text">The filter.</param>
    /// <param name="zone">The time zone <c>ISO '...'</c> literals without an offset are read in; null for UTC.</param>
    public static FilterExpression Parse(string text, TimeZoneInfo? zone = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(Lexer.Tokenize(text), zone);
        return new FilterExpression(text, parser.ParseFilter());
    }

    /// <summary>Type-checks the expression against a schema and substitutes template parameters.</summary>
    /// <param name="schema">The collection schema; undeclared names resolve to <c>$meta["name"]</c> when it has a dynamic field.</param>
    /// <param name="parameters">Values for <c>{name}</c> placeholders: long/int/short/byte, double/float/decimal, string, bool,
    /// JsonElement, or lists (any IEnumerable) of those.</param>
    /// <exception cref="FilterException">Unknown field, type mismatch, vector field, bad function call, missing or
    /// ill-typed parameter, with the position of the offending token.</exception>
    public BoundFilter Bind(CollectionSchema schema, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return new Binder(schema, parameters).BindFilter(this);
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}

/// <summary>Recursive descent over the token list. Precedence, loosest first: or, and, not, comparison / in / like /
/// is null, + -, * / %, unary minus, **, postfix index. Bounded by <see cref="FilterLimits.MaxDepth"/>: every construct
/// that recurses (parenthesis, not, sign, ** operand, list, call) is entered through <see cref="Enter"/>, which refuses
/// one level too many before descending, and every node built by a loop (operator chains, indexes) is checked by
/// <see cref="Checked{T}"/>. Chains of and / or become one n-ary node, so their length is not depth.
/// Its methods are compiled fully optimized from the first call: a deep first filter would otherwise recurse through
/// unoptimized frames several times larger.</summary>
internal sealed class Parser(List<Token> tokens, TimeZoneInfo? zone = null)
{
    private int _pos;

    /// <summary>Constructs entered and not yet left; each becomes an ancestor of whatever is parsed inside it.</summary>
    private int _nesting;

    private Token Current => tokens[_pos];

    public SyntaxNode? ParseFilter()
    {
        if (Current.Kind == TokenKind.End)
        {
            return null;
        }

        var root = ParseOr();
        if (Current.Kind != TokenKind.End)
        {
            var t = Current;
            if (t.Kind == TokenKind.RParen)
            {
                throw new FilterException("unbalanced parenthesis: ')' has no matching '('", t.Position, t.Text);
            }

            throw new FilterException($"unexpected '{t.Text}' after the end of the expression", t.Position, t.Text);
        }

        return root;
    }

    private Token Advance() => tokens[_pos++];

    private bool Accept(TokenKind kind)
    {
        if (Current.Kind == kind)
        {
            _pos++;
            return true;
        }

        return false;
    }

    private FilterException Unexpected(string expected)
    {
        var t = Current;
        return t.Kind == TokenKind.End
            ? new FilterException($"unexpected end of expression; expected {expected}", t.Position, null)
            : new FilterException($"unexpected '{t.Text}'; expected {expected}", t.Position, t.Text);
    }

    /// <summary>The error for an expression nested deeper than <see cref="FilterLimits.MaxDepth"/>.</summary>
    internal static FilterException TooDeep(int position, string? token) => new(
        $"the expression exceeds the nesting depth limit of {FilterLimits.MaxDepth} (FilterLimits.MaxDepth); " +
        "flatten it (a chain of 'and' / 'or' or an 'in' list does not nest)", position, token);

    /// <summary>Opens one level of nesting at <paramref name="at"/> before descending into it. The level and at least
    /// one node inside it will be in the tree, so the level that would make it deeper than the limit is refused
    /// here, before the recursion can go on.</summary>
    private void Enter(Token at)
    {
        if (++_nesting >= FilterLimits.MaxDepth)
        {
            throw TooDeep(at.Position, at.Text);
        }
    }

    private void Leave() => _nesting--;

    /// <summary>Refuses a node that a loop made deeper than the limit (operator chains, index chains).</summary>
    private static T Checked<T>(T node, Token at)
        where T : SyntaxNode =>
        node.Depth > FilterLimits.MaxDepth ? throw TooDeep(at.Position, at.Text) : node;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseOr()
    {
        var first = ParseAnd();
        if (Current.Kind != TokenKind.Or)
        {
            return first;
        }

        var opToken = Current;
        var operands = new List<SyntaxNode> { first };
        while (Accept(TokenKind.Or))
        {
            operands.Add(ParseAnd());
        }

        return Checked(new LogicSyntax(first.Position, first.Token, FilterOp.Or, operands), opToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseAnd()
    {
        var first = ParseNot();
        if (Current.Kind != TokenKind.And)
        {
            return first;
        }

        var opToken = Current;
        var operands = new List<SyntaxNode> { first };
        while (Accept(TokenKind.And))
        {
            operands.Add(ParseNot());
        }

        return Checked(new LogicSyntax(first.Position, first.Token, FilterOp.And, operands), opToken);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseNot()
    {
        if (Current.Kind == TokenKind.Not)
        {
            var op = Advance();
            Enter(op);
            var operand = ParseNot();
            Leave();
            return Checked(new UnarySyntax(op.Position, op.Text, FilterOp.Not, operand), op);
        }

        return ParsePredicate();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParsePredicate()
    {
        var left = ParseAdditive();
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Eq:
            case TokenKind.Ne:
            case TokenKind.Lt:
            case TokenKind.Le:
            case TokenKind.Gt:
            case TokenKind.Ge:
                return ParseComparison(left);
            case TokenKind.In:
                Advance();
                return Checked(new InSyntax(left.Position, left.Token, left, ParseInList(), false), t);
            case TokenKind.Like:
                Advance();
                return Checked(new LikeSyntax(left.Position, left.Token, left, ParseLikePattern(), false), t);
            case TokenKind.Is:
                Advance();
                var negated = Accept(TokenKind.Not);
                if (!Accept(TokenKind.Null))
                {
                    throw Unexpected(negated ? "'null' after 'is not'" : "'null' or 'not null' after 'is'");
                }

                return Checked(new IsNullSyntax(left.Position, left.Token, left, negated), t);
            case TokenKind.Not when tokens[_pos + 1].Kind is TokenKind.In or TokenKind.Like:
                Advance();
                if (Advance().Kind == TokenKind.In)
                {
                    return Checked(new InSyntax(left.Position, left.Token, left, ParseInList(), true), t);
                }

                return Checked(new LikeSyntax(left.Position, left.Token, left, ParseLikePattern(), true), t);
            default:
                return left;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseComparison(SyntaxNode left)
    {
        var op1 = Advance();
        var middle = ParseAdditive();
        if (Current.Kind is not (TokenKind.Eq or TokenKind.Ne or TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge))
        {
            return Checked(new BinarySyntax(left.Position, left.Token, CompareOp(op1.Kind), left, middle, op1.Position, op1.Text), op1);
        }

        var op2 = Current;
        var ascending = op1.Kind is TokenKind.Lt or TokenKind.Le && op2.Kind is TokenKind.Lt or TokenKind.Le;
        var descending = op1.Kind is TokenKind.Gt or TokenKind.Ge && op2.Kind is TokenKind.Gt or TokenKind.Ge;
        if (!ascending && !descending)
        {
            throw new FilterException("a chained comparison must use '<'/'<=' twice or '>'/'>=' twice", op2.Position, op2.Text);
        }

        Advance();
        var right = ParseAdditive();
        if (Current.Kind is TokenKind.Eq or TokenKind.Ne or TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge)
        {
            throw new FilterException("at most two comparisons can be chained", Current.Position, Current.Text);
        }

        return Checked(
            ascending
                ? new RangeSyntax(left.Position, left.Token, left, op1.Kind == TokenKind.Le, middle, op2.Kind == TokenKind.Le, right)
                : new RangeSyntax(left.Position, left.Token, right, op2.Kind == TokenKind.Ge, middle, op1.Kind == TokenKind.Ge, left),
            op2);
    }

    private static FilterOp CompareOp(TokenKind kind) => kind switch
    {
        TokenKind.Eq => FilterOp.Eq,
        TokenKind.Ne => FilterOp.Ne,
        TokenKind.Lt => FilterOp.Lt,
        TokenKind.Le => FilterOp.Le,
        TokenKind.Gt => FilterOp.Gt,
        _ => FilterOp.Ge,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseInList()
    {
        if (Current.Kind == TokenKind.LBracket)
        {
            return ParseList();
        }

        if (Current.Kind == TokenKind.Param)
        {
            var p = Advance();
            return new ParamSyntax(p.Position, p.Text, (string)p.Value!);
        }

        throw Unexpected("a list '[...]' or a template parameter after 'in'");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseLikePattern()
    {
        var t = Current;
        if (t.Kind == TokenKind.String)
        {
            Advance();
            return new LiteralSyntax(t.Position, t.Text, (string)t.Value!);
        }

        if (t.Kind == TokenKind.Param)
        {
            Advance();
            return new ParamSyntax(t.Position, t.Text, (string)t.Value!);
        }

        throw Unexpected("a string pattern after 'like'");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Advance();
            var right = ParseMultiplicative();
            left = Checked(new BinarySyntax(left.Position, left.Token, op.Kind == TokenKind.Plus ? FilterOp.Add : FilterOp.Sub, left, right, op.Position, op.Text), op);
        }

        return left;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Current.Kind is TokenKind.Star or TokenKind.Slash or TokenKind.Percent)
        {
            var op = Advance();
            var right = ParseUnary();
            var fop = op.Kind switch
            {
                TokenKind.Star => FilterOp.Mul,
                TokenKind.Slash => FilterOp.Div,
                _ => FilterOp.Mod,
            };
            left = Checked(new BinarySyntax(left.Position, left.Token, fop, left, right, op.Position, op.Text), op);
        }

        return left;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseUnary()
    {
        if (Current.Kind is TokenKind.Minus or TokenKind.Plus)
        {
            var op = Advance();
            var negate = op.Kind == TokenKind.Minus;

            // Fold "-123" into one literal so that long.MinValue is expressible; "-2 ** 2" stays -(2 ** 2).
            if (Current.Kind is TokenKind.Integer or TokenKind.Float && tokens[_pos + 1].Kind != TokenKind.Power)
            {
                var lit = Advance();
                var text = op.Text + lit.Text;
                if (lit.Kind == TokenKind.Float)
                {
                    var d = (double)lit.Value!;
                    return new LiteralSyntax(op.Position, text, negate ? -d : d);
                }

                var u = (ulong)lit.Value!;
                if (!negate && u > long.MaxValue)
                {
                    throw new FilterException("integer is out of the Int64 range", lit.Position, lit.Text);
                }

                return new LiteralSyntax(op.Position, text, negate ? unchecked((long)(0UL - u)) : (long)u);
            }

            Enter(op);
            var operand = ParseUnary();
            Leave();
            return Checked(new UnarySyntax(op.Position, op.Text, negate ? FilterOp.Negate : FilterOp.Plus, operand), op);
        }

        return ParsePower();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParsePower()
    {
        var left = ParsePostfix();
        if (Current.Kind == TokenKind.Power)
        {
            var op = Advance();
            Enter(op);
            var right = ParseUnary();
            Leave();
            return Checked(new BinarySyntax(left.Position, left.Token, FilterOp.Pow, left, right, op.Position, op.Text), op);
        }

        return left;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParsePostfix()
    {
        var node = ParsePrimary();
        while (Current.Kind == TokenKind.LBracket && node is IdentifierSyntax or IndexSyntax)
        {
            var open = Advance();
            var key = Current;
            object keyValue;
            if (key.Kind == TokenKind.String)
            {
                keyValue = (string)key.Value!;
            }
            else if (key.Kind == TokenKind.Integer && (ulong)key.Value! <= long.MaxValue)
            {
                keyValue = (long)(ulong)key.Value!;
            }
            else
            {
                throw Unexpected("a string key or a non-negative integer index inside '[...]'");
            }

            Advance();
            if (!Accept(TokenKind.RBracket))
            {
                if (Current.Kind == TokenKind.End)
                {
                    throw new FilterException("unbalanced bracket: '[' is never closed", open.Position, "[");
                }

                throw Unexpected("']'");
            }

            node = Checked(new IndexSyntax(node.Position, node.Token, node, keyValue, key.Position, key.Text), open);
        }

        return node;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Integer:
                Advance();
                if ((ulong)t.Value! > long.MaxValue)
                {
                    throw new FilterException("integer is out of the Int64 range", t.Position, t.Text);
                }

                return new LiteralSyntax(t.Position, t.Text, (long)(ulong)t.Value!);
            case TokenKind.Float:
                Advance();
                return new LiteralSyntax(t.Position, t.Text, (double)t.Value!);
            case TokenKind.String:
                Advance();
                return new LiteralSyntax(t.Position, t.Text, (string)t.Value!);
            case TokenKind.True:
            case TokenKind.False:
                Advance();
                return new LiteralSyntax(t.Position, t.Text, t.Kind == TokenKind.True);
            case TokenKind.Param:
                Advance();
                return new ParamSyntax(t.Position, t.Text, (string)t.Value!);
            case TokenKind.LBracket:
                return ParseList();
            case TokenKind.LParen:
                Advance();
                if (Current.Kind == TokenKind.RParen)
                {
                    throw new FilterException("empty parentheses", Current.Position, ")");
                }

                Enter(t);
                var inner = ParseOr();
                Leave();
                if (!Accept(TokenKind.RParen))
                {
                    if (Current.Kind == TokenKind.End)
                    {
                        throw new FilterException("unbalanced parenthesis: '(' is never closed", t.Position, "(");
                    }

                    throw Unexpected("')'");
                }

                return Checked(new ParenSyntax(t.Position, t.Text, inner), t);
            case TokenKind.Identifier:
                Advance();
                if (Current.Kind == TokenKind.LParen)
                {
                    return ParseCall(t);
                }

                if (Current.Kind == TokenKind.String && TemporalLiterals.IsKeyword(t.Text))
                {
                    var text = Advance();
                    return new LiteralSyntax(t.Position, t.Text, TemporalLiterals.Parse(t.Text, (string)text.Value!, t.Position, zone));
                }

                return new IdentifierSyntax(t.Position, t.Text, (string)t.Value!);
            default:
                throw Unexpected("a field, a literal or '('");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SyntaxNode ParseCall(Token name)
    {
        var open = Advance();
        var args = new List<SyntaxNode>();
        Enter(name);
        if (!Accept(TokenKind.RParen))
        {
            do
            {
                args.Add(ParseOr());
            }
            while (Accept(TokenKind.Comma));

            if (!Accept(TokenKind.RParen))
            {
                if (Current.Kind == TokenKind.End)
                {
                    throw new FilterException("unbalanced parenthesis: '(' is never closed", open.Position, "(");
                }

                throw Unexpected("',' or ')' in the argument list");
            }
        }

        Leave();
        return Checked(new CallSyntax(name.Position, name.Text, (string)name.Value!, args), name);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ListSyntax ParseList()
    {
        var open = Advance();
        var items = new List<SyntaxNode>();
        Enter(open);
        while (Current.Kind != TokenKind.RBracket)
        {
            items.Add(ParseAdditive());
            if (Accept(TokenKind.Comma))
            {
                continue;
            }

            if (Current.Kind == TokenKind.End)
            {
                throw new FilterException("unbalanced bracket: '[' is never closed", open.Position, "[");
            }

            if (Current.Kind != TokenKind.RBracket)
            {
                throw Unexpected("',' or ']' in the list");
            }
        }

        Advance();
        Leave();
        return Checked(new ListSyntax(open.Position, "[", items), open);
    }
}
