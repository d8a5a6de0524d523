namespace Quiver.Testing;

/// <summary>Test tiers. CI runs the short tier; <c>QUIVER_LONG=1</c> turns on the long tier, where tests marked
/// <c>[Trait("Category", "Long")]</c> run many more seeds and iterations. A long test never skips: without the variable
/// it runs a short version of itself.</summary>
public static class TestTier
{
    /// <summary>The environment variable that selects the long tier.</summary>
    public const string LongVariable = "QUIVER_LONG";

    /// <summary>True when <c>QUIVER_LONG=1</c> (or <c>true</c>).</summary>
    public static bool IsLong =>
        Environment.GetEnvironmentVariable(LongVariable) is "1" or "true" or "TRUE" or "True";

    /// <summary><paramref name="shortValue"/> in CI, <paramref name="longValue"/> in the long tier.</summary>
    public static int Pick(int shortValue, int longValue) => IsLong ? longValue : shortValue;
}
