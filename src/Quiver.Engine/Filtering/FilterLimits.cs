namespace Quiver.Filtering;

/// <summary>Named limits of the filter language, in the spirit of SQLite's <c>SQLITE_MAX_EXPR_DEPTH</c>: every
/// recursive walk over a filter (parser, binder, evaluator) is bounded by them, so that no filter can exhaust a
/// thread's stack. Exceeding one is a <see cref="FilterException"/> naming the limit and the position.</summary>
public static class FilterLimits
{
    /// <summary>The deepest nesting a filter may have (200). Each parenthesis, <c>not</c>, unary sign, list bracket,
    /// function call, <c>[...]</c> index, and each operand of an arithmetic operator, comparison, <c>in</c>,
    /// <c>like</c> or <c>is null</c> opens one level; a chain of <c>and</c> or of <c>or</c> is one level however long
    /// it is, so <c>a == 1 or a == 2 or ...</c> with any number of terms stays shallow.</summary>
    public const int MaxDepth = 200;

    /// <summary>The deepest list nesting of a template parameter's value (16): <c>[[1, 2], [3]]</c> is 2.</summary>
    public const int MaxTemplateValueDepth = 16;
}
