using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>A filter type-checked against one schema, ready to evaluate over any row source of that schema.
/// Immutable and thread-safe: every <see cref="Evaluate"/> call uses its own state.</summary>
internal sealed class BoundFilter
{
    internal BoundFilter(
        FilterExpression expression, PredicateNode root, IReadOnlySet<string> referencedFields, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        Expression = expression;
        Root = root;
        ReferencedFields = referencedFields;
        Parameters = parameters;
    }

    /// <summary>The parsed expression this plan came from.</summary>
    public FilterExpression Expression { get; }

    /// <summary>The template parameters the plan was bound with (null when none), for planners that read the syntax tree
    /// (partition-key pruning).</summary>
    public IReadOnlyDictionary<string, object?>? Parameters { get; }

    /// <summary>The plan's root.</summary>
    public PredicateNode Root { get; }

    /// <summary>Names of the declared fields the filter reads, plus <see cref="CollectionSchema.DynamicFieldName"/> when
    /// it reads the dynamic field. For index planning.</summary>
    public IReadOnlySet<string> ReferencedFields { get; }

    /// <summary>True for the empty filter and anything that folds to <c>true</c>: every row matches.</summary>
    public bool IsAlwaysTrue => Root is ConstPredicate { Value: true };

    /// <summary>True when the filter folds to <c>false</c>: no row matches.</summary>
    public bool IsAlwaysFalse => Root is ConstPredicate { Value: false };

    /// <summary>The rows of <paramref name="source"/> that match, as a new bitmap of <see cref="IRowSource.RowCount"/> bits
    /// owned by the caller. Rows where the filter is unknown (nulls, missing JSON keys) do not match.</summary>
    public Bitmap Evaluate(IRowSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var ctx = new EvalContext(source);
        return Root.Evaluate(ctx).True;
    }

    /// <summary>The rows of <paramref name="source"/> that match, answered from its scalar indexes in time proportional to
    /// the rows listed, or null when the source has no indexes or a part of the filter cannot be answered from them
    /// (then <see cref="Evaluate"/>). <paramref name="limit"/> overrides <see cref="EvalContext.SparseLimit"/> (tests).</summary>
    public RowSet? EvaluateSparse(IRowSource source, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Indexes is null)
        {
            return null;
        }

        var ctx = limit is { } l ? new EvalContext(source) { SparseLimit = l } : new EvalContext(source);
        return Root.TrySparse(ctx)?.True;
    }

    /// <inheritdoc/>
    public override string ToString() => Expression.Text;
}
