using System.Numerics;
using Quiver.Common;
using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>The vectorized <c>column op constant</c> kernels against a scalar loop that widens each value to Int64 or
/// double as the row-by-row path does: every operator, every column type, every length 0..300 (whole vectors, tails and
/// both), constants inside, at the edge of and outside the type's range, and NaN among float values.</summary>
public class CompareKernelsTests
{
    [Fact]
    public void IntegerConst_EveryWidthOperatorAndLength_EqualsTheWideningScalarLoop()
    {
        var rng = new Random(11);
        Check<sbyte>(rng, [0, 1, -1, sbyte.MinValue, sbyte.MaxValue, 128, -129, long.MaxValue, long.MinValue]);
        Check<short>(rng, [0, 5, short.MinValue, short.MaxValue, 32_768, -32_769]);
        Check<int>(rng, [0, -7, int.MinValue, int.MaxValue, 1L << 31, -(1L << 31) - 1]);
        Check<long>(rng, [0, 3, long.MinValue, long.MaxValue, long.MaxValue - 1]);
    }

    [Fact]
    public void FloatingConst_FloatAndDouble_EqualTheWideningScalarLoop_NaNIncluded()
    {
        var rng = new Random(12);
        foreach (var n in Lengths())
        {
            var floats = new float[n];
            var doubles = new double[n];
            for (var i = 0; i < n; i++)
            {
                floats[i] = rng.Next(10) == 0 ? float.NaN : rng.Next(-8, 8) * 0.5f;
                doubles[i] = rng.Next(10) == 0 ? double.NaN : rng.Next(-8, 8) * 0.5;
            }

            foreach (var c in new[] { 0.0, 1.5, -2.0, 3.25, 0.1, 1e300, double.NegativeInfinity })
            {
                foreach (var op in Ops)
                {
                    var expectedF = Enumerable.Range(0, n).Where(i => Holds(op, ((double)floats[i]).CompareTo(c), double.IsNaN(floats[i]))).ToArray();
                    var expectedD = Enumerable.Range(0, n).Where(i => Holds(op, doubles[i].CompareTo(c), double.IsNaN(doubles[i]))).ToArray();
                    var f = Dispatch(op, floats, c);
                    var d = Dispatch(op, doubles, c);
                    if (f is not null)
                    {
                        Assert.True(expectedF.SequenceEqual(Bits(f)), $"float n={n} {op} {c}");
                    }
                    else
                    {
                        // Only a constant a float cannot hold exactly is left to the scalar path.
                        Assert.NotEqual(c, (double)(float)c);
                    }

                    Assert.NotNull(d);
                    Assert.True(expectedD.SequenceEqual(Bits(d!)), $"double n={n} {op} {c}");
                }
            }
        }
    }

    private static readonly FilterOp[] Ops = [FilterOp.Eq, FilterOp.Ne, FilterOp.Lt, FilterOp.Le, FilterOp.Gt, FilterOp.Ge];

    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 301);

    private static void Check<T>(Random rng, long[] edges)
        where T : unmanaged, IBinaryInteger<T>, IMinMaxValue<T>
    {
        var min = long.CreateTruncating(T.MinValue);
        var max = long.CreateTruncating(T.MaxValue);
        foreach (var n in Lengths())
        {
            var xs = new T[n];
            for (var i = 0; i < n; i++)
            {
                // Mostly small values so that equality holds often, and the type's extremes.
                xs[i] = rng.Next(8) switch
                {
                    0 => T.MinValue,
                    1 => T.MaxValue,
                    _ => T.CreateTruncating(rng.Next(-4, 5)),
                };
            }

            foreach (var c in edges.Concat([rng.Next(-4, 5), Math.Clamp(rng.NextInt64(), min, max)]))
            {
                foreach (var op in Ops)
                {
                    var expected = Enumerable.Range(0, n).Where(i => Holds(op, long.CreateTruncating(xs[i]).CompareTo(c), false)).ToArray();
                    var actual = DispatchInteger(op, xs, c);
                    Assert.NotNull(actual);
                    Assert.True(expected.SequenceEqual(Bits(actual!)), $"{typeof(T).Name} n={n} {op} {c}");
                }
            }
        }
    }

    private static bool Holds(FilterOp op, int sign, bool nan) => nan
        ? op == FilterOp.Ne
        : op switch
        {
            FilterOp.Eq => sign == 0,
            FilterOp.Ne => sign != 0,
            FilterOp.Lt => sign < 0,
            FilterOp.Le => sign <= 0,
            FilterOp.Gt => sign > 0,
            _ => sign >= 0,
        };

    private static Bitmap? DispatchInteger<T>(FilterOp op, T[] xs, long c)
        where T : unmanaged, IBinaryInteger<T> => op switch
        {
            FilterOp.Eq => CompareKernels.IntegerConst<T, EqCmp>(xs.Length, xs, c),
            FilterOp.Ne => CompareKernels.IntegerConst<T, NeCmp>(xs.Length, xs, c),
            FilterOp.Lt => CompareKernels.IntegerConst<T, LtCmp>(xs.Length, xs, c),
            FilterOp.Le => CompareKernels.IntegerConst<T, LeCmp>(xs.Length, xs, c),
            FilterOp.Gt => CompareKernels.IntegerConst<T, GtCmp>(xs.Length, xs, c),
            _ => CompareKernels.IntegerConst<T, GeCmp>(xs.Length, xs, c),
        };

    private static Bitmap? Dispatch<T>(FilterOp op, T[] xs, double c)
        where T : unmanaged, IFloatingPoint<T> => op switch
        {
            FilterOp.Eq => CompareKernels.FloatingConst<T, EqCmp>(xs.Length, xs, c),
            FilterOp.Ne => CompareKernels.FloatingConst<T, NeCmp>(xs.Length, xs, c),
            FilterOp.Lt => CompareKernels.FloatingConst<T, LtCmp>(xs.Length, xs, c),
            FilterOp.Le => CompareKernels.FloatingConst<T, LeCmp>(xs.Length, xs, c),
            FilterOp.Gt => CompareKernels.FloatingConst<T, GtCmp>(xs.Length, xs, c),
            _ => CompareKernels.FloatingConst<T, GeCmp>(xs.Length, xs, c),
        };

    private static int[] Bits(Bitmap b) => [.. Enumerable.Range(0, b.Length).Where(i => b[i])];
}
