using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Segments;
using Quiver.TextAnalysis;
using TextToken = Quiver.TextAnalysis.Token;

namespace Quiver.Filtering;

/// <summary>Binding of Milvus's text filters over a VarChar field with enable_match: <c>TEXT_MATCH(field, 'words')</c>
/// is true for rows holding any of the words' tokens (the field's analyzer runs on both sides), and
/// <c>PHRASE_MATCH(field, 'phrase'[, slop])</c> for rows holding the phrase's tokens in order within <c>slop</c>
/// position moves (see <see cref="PhraseQuery"/>). A null row is unknown, as for other string predicates.</summary>
internal static class TextMatchFunctions
{
    /// <summary>Whether <paramref name="lowerName"/> is one of the text functions.</summary>
    public static bool Handles(string lowerName) => lowerName is "text_match" or "phrase_match";

    /// <summary>The predicate of a TEXT_MATCH or PHRASE_MATCH call; <paramref name="bindValue"/> binds its arguments.</summary>
    public static PredicateNode Bind(CallSyntax call, Func<SyntaxNode, ValueNode> bindValue)
    {
        var phrase = call.Name.Equals("phrase_match", StringComparison.OrdinalIgnoreCase);
        var name = phrase ? "PHRASE_MATCH" : "TEXT_MATCH";
        var usage = phrase ? "PHRASE_MATCH(field, 'phrase'[, slop])" : "TEXT_MATCH(field, 'words')";
        if (call.Args.Count < 2 || call.Args.Count > (phrase ? 3 : 2))
            throw new FilterException($"{name} takes {(phrase ? "2 or 3" : "2")} arguments, got {call.Args.Count}: {usage}", call.Position, call.Token);

        var target = bindValue(call.Args[0]);
        if (target is not FieldNode { Index: >= 0, Field: { DataType: DataType.VarChar } field } fieldNode)
            throw new FilterException($"{name} needs a VarChar field with enable_match as its first argument", target.Position, target.Token);
        if (!field.EnableMatch)
            throw new FilterException($"{name} needs enable_match on field '{field.Name}' (set enable_analyzer and enable_match when creating it)", target.Position, target.Token);

        var text = bindValue(call.Args[1]);
        if (text is not ConstNode { Value.Kind: ScalarKind.String } textConst)
            throw new FilterException($"the second argument of {name} must be a string", text.Position, text.Token);

        var analyzer = Analyzer.ForField(field);
        var tokens = analyzer.Analyze(textConst.Value.String);
        if (!phrase)
            return new TextMatchPredicate(fieldNode, analyzer, [.. tokens.Select(t => t.Text).Distinct(StringComparer.Ordinal)]);

        long slop = 0;
        if (call.Args.Count == 3)
        {
            var slopNode = bindValue(call.Args[2]);
            if (slopNode is not ConstNode { Value.Kind: ScalarKind.Long } slopConst || slopConst.Value.Long < 0)
                throw new FilterException("the slop of PHRASE_MATCH must be a non-negative integer", slopNode.Position, slopNode.Token);
            slop = slopConst.Value.Long;
        }
        if (tokens.Count > PhraseQuery.MaxTokens)
            throw new FilterException($"the phrase of PHRASE_MATCH has {tokens.Count} tokens; the limit is {PhraseQuery.MaxTokens}", text.Position, text.Token);
        // A phrase without tokens (only stop words) matches no row; null rows stay unknown, as for any other phrase.
        return PhraseQuery.Of(tokens, slop) is { } query ? new PhraseMatchPredicate(fieldNode, analyzer, query) : new TextMatchPredicate(fieldNode, analyzer, []);
    }
}

/// <summary>Shared by the two text predicates: the sealed segment's token index when there is one, else a scan that
/// analyzes each row (growing segments).</summary>
internal abstract class TextPredicate(FieldNode field, Analyzer analyzer) : PredicateNode
{
    protected FieldNode Field { get; } = field;

    protected Analyzer Analyzer { get; } = analyzer;

    protected TokenIndex? IndexOf(EvalContext ctx) =>
        ctx.Source.Indexes?.Tokens(Field.Index, ctx.Column<StringColumn>(Field.Index, Field.Name), Analyzer);

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var bits = ctx.NewBitmap();
        if (IndexOf(ctx) is { } index)
        {
            SetFromIndex(index, bits, ctx.RowCount);
        }
        else
        {
            var column = ctx.Column<StringColumn>(Field.Index, Field.Name);
            var n = Math.Min(ctx.RowCount, column.Count);
            for (var row = 0; row < n; row++)
            {
                if (column.GetString(row) is { } text && RowMatches(Analyzer.Analyze(text)))
                    bits.Set(row);
            }
        }
        return TriBitmap.From(bits, ctx.Nulls(Field.Index, Field.Name));
    }

    /// <summary>Sets the matching rows below <paramref name="rowCount"/> from the token index.</summary>
    protected abstract void SetFromIndex(TokenIndex index, Bitmap bits, int rowCount);

    /// <summary>Whether one row, analyzed, matches.</summary>
    protected abstract bool RowMatches(IReadOnlyList<TextToken> tokens);
}

/// <summary>TEXT_MATCH: rows holding at least one of <paramref name="terms"/> (none when there are no terms).</summary>
internal sealed class TextMatchPredicate(FieldNode field, Analyzer analyzer, string[] terms) : TextPredicate(field, analyzer)
{
    private readonly HashSet<string> _terms = new(terms, StringComparer.Ordinal);

    public override SparseResult? TrySparse(EvalContext ctx)
    {
        if (IndexOf(ctx) is not { } index)
            return null;
        var runs = new List<int>();
        foreach (var term in terms)
        {
            runs.AddRange(index.Rows(term));
            if (runs.Count > ctx.SparseLimit)
                return null;
        }
        return SparseResult.FromRuns(CollectionsMarshal.AsSpan(runs), index.RowCount, index.NullRows.Length > 0, ctx.SparseLimit);
    }

    protected override void SetFromIndex(TokenIndex index, Bitmap bits, int rowCount)
    {
        foreach (var term in terms)
        {
            foreach (var row in index.Rows(term))
            {
                if (row >= rowCount)
                    break;
                bits.Set(row);
            }
        }
    }

    protected override bool RowMatches(IReadOnlyList<TextToken> tokens)
    {
        foreach (var token in tokens)
        {
            if (_terms.Contains(token.Text))
                return true;
        }
        return false;
    }
}

/// <summary>PHRASE_MATCH: rows holding the phrase within its slop. With an index, only the rows holding every term are
/// checked, from their stored positions.</summary>
internal sealed class PhraseMatchPredicate(FieldNode field, Analyzer analyzer, PhraseQuery query) : TextPredicate(field, analyzer)
{
    protected override void SetFromIndex(TokenIndex index, Bitmap bits, int rowCount)
    {
        var postings = new TokenIndex.Postings[query.Terms.Length];
        for (var t = 0; t < postings.Length; t++)
        {
            if (index.Find(query.Terms[t]) is not { } p)
                return; // a term no row holds: no row matches
            postings[t] = p;
        }
        // Walk the rarest term's rows and look the others up by binary search.
        var rarest = 0;
        for (var t = 1; t < postings.Length; t++)
        {
            if (postings[t].Rows.Length < postings[rarest].Rows.Length)
                rarest = t;
        }
        var positions = new int[postings.Length][];
        foreach (var row in postings[rarest].Rows)
        {
            if (row >= rowCount)
                break;
            var all = true;
            for (var t = 0; t < postings.Length && all; t++)
            {
                var at = Array.BinarySearch(postings[t].Rows, row);
                all = at >= 0;
                if (all)
                    positions[t] = postings[t].PositionsAt(at);
            }
            if (all && query.Matches(positions))
                bits.Set(row);
        }
    }

    protected override bool RowMatches(IReadOnlyList<TextToken> tokens)
    {
        var lists = new List<int>[query.Terms.Length];
        for (var t = 0; t < lists.Length; t++)
            lists[t] = [];
        foreach (var token in tokens)
        {
            var t = Array.IndexOf(query.Terms, token.Text);
            if (t >= 0)
                lists[t].Add(token.Position);
        }
        var positions = new int[lists.Length][];
        for (var t = 0; t < lists.Length; t++)
        {
            if (lists[t].Count == 0)
                return false;
            positions[t] = [.. lists[t]];
        }
        return query.Matches(positions);
    }
}
