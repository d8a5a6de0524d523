using System.Globalization;

namespace Quiver.Toolbox.Prep;

/// <summary>How <c>prep vectors</c> rescales vectors.</summary>
public enum VectorNormalization
{
    /// <summary>Values as they are.</summary>
    None,

    /// <summary>Each vector divided by its L2 norm (unit length); zero vectors cannot be and are rejected.</summary>
    L2,

    /// <summary>Each dimension mapped to [0, 1] by its min and max; a constant dimension becomes 0.</summary>
    MinMax,

    /// <summary>Each dimension centred on its mean and divided by its standard deviation; a constant dimension becomes 0.</summary>
    ZScore,
}

/// <summary>Output format of <c>prep vectors</c>.</summary>
public enum VectorFormat
{
    /// <summary>NumPy 2-D float32.</summary>
    Npy,

    /// <summary>TEXMEX float32 rows.</summary>
    Fvecs,

    /// <summary>JSON lines with the vector in a field.</summary>
    Jsonl,
}

/// <summary>What can be wrong with a vector.</summary>
internal enum VectorProblem
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>Not readable: bad JSON, no vector field, a component that is not a number. Always rejected.</summary>
    Malformed,

    /// <summary>Not the expected dimension. Always rejected.</summary>
    WrongDimension,

    /// <summary>A NaN or infinite component (it would poison every distance). Always rejected.</summary>
    NonFinite,

    /// <summary>All components zero (no direction). Rejected unless kept; always rejected under L2.</summary>
    Zero,

    /// <summary>Norm far from the median norm. Rejected unless kept.</summary>
    Outlier,
}

/// <summary>What <see cref="QuiverToolbox.PrepVectorsAsync"/> validates and normalizes (<c>quiver prep vectors</c>).</summary>
public sealed record VectorPrepOptions
{
    /// <summary>Input: <c>.npy</c>, <c>.fvecs</c>, <c>.bvecs</c> or JSONL.</summary>
    public required string Input { get; init; }

    /// <summary>Output file, whole or absent.</summary>
    public required string Output { get; init; }

    /// <summary>Output format.</summary>
    public VectorFormat Format { get; init; } = VectorFormat.Npy;

    /// <summary>JSONL: the vector field (input and output).</summary>
    public string Field { get; init; } = "vector";

    /// <summary>Expected dimension; default the file's (<c>.npy</c>, <c>.fvecs</c>) or the first vector's (JSONL).</summary>
    public int? Dimension { get; init; }

    /// <summary>Rescaling.</summary>
    public VectorNormalization Normalization { get; init; }

    /// <summary>Robust deviations from the median norm beyond which a vector is an outlier; 0 turns the check off.</summary>
    public double OutlierZ { get; init; } = 6;

    /// <summary>Write zero vectors and outliers anyway (reported as warnings) instead of rejecting them.</summary>
    public bool KeepInvalid { get; init; }

    /// <summary>Also write the JSON report to this file.</summary>
    public string? ReportPath { get; init; }
}

/// <summary>Rows per kind of problem (each row is counted under its first problem).</summary>
/// <param name="Malformed">Unreadable rows.</param>
/// <param name="WrongDimension">Rows of another dimension.</param>
/// <param name="NonFinite">Rows with NaN or infinite components.</param>
/// <param name="Zero">Zero vectors.</param>
/// <param name="Outlier">Magnitude outliers.</param>
public sealed record VectorProblemCounts(long Malformed, long WrongDimension, long NonFinite, long Zero, long Outlier);

/// <summary>How outliers were told: robust z = |norm - median| / scale, scale = max(1.4826 x MAD, 0.001 x median).</summary>
/// <param name="Statistic">The statistic, in words.</param>
/// <param name="MedianNorm">Median L2 norm of the finite non-zero vectors of the right dimension.</param>
/// <param name="Mad">Median absolute deviation of those norms from <paramref name="MedianNorm"/>.</param>
/// <param name="Scale">The robust deviation used.</param>
/// <param name="Limit">Robust deviations allowed (<see cref="VectorPrepOptions.OutlierZ"/>); 0: check off.</param>
public sealed record OutlierRule(string Statistic, double MedianNorm, double Mad, double Scale, double Limit);

/// <summary>What <see cref="QuiverToolbox.PrepVectorsAsync"/> did (<c>quiver prep vectors</c>).</summary>
public sealed record VectorPrepReport
{
    /// <summary>Input file.</summary>
    public required string Input { get; init; }

    /// <summary>Output file.</summary>
    public required string Output { get; init; }

    /// <summary>Output format.</summary>
    public VectorFormat Format { get; init; }

    /// <summary>Dimension expected.</summary>
    public int Dimension { get; init; }

    /// <summary>Where the dimension came from.</summary>
    public required string DimensionSource { get; init; }

    /// <summary>Rows read.</summary>
    public long Rows { get; init; }

    /// <summary>Rows written.</summary>
    public long Written { get; init; }

    /// <summary>Rows left out.</summary>
    public long Rejected { get; init; }

    /// <summary>Rows written despite a problem (<see cref="VectorPrepOptions.KeepInvalid"/>).</summary>
    public long Kept { get; init; }

    /// <summary>Rows per problem (rejected and kept).</summary>
    public required VectorProblemCounts Problems { get; init; }

    /// <summary>The first rejected rows, with reasons.</summary>
    public required IReadOnlyList<PrepIssue> Rejections { get; init; }

    /// <summary>The first rows kept despite a problem, with reasons.</summary>
    public required IReadOnlyList<PrepIssue> Warnings { get; init; }

    /// <summary>L2 norms of the finite non-zero vectors of the right dimension, before any change.</summary>
    public required NormStats NormsBefore { get; init; }

    /// <summary>L2 norms of the vectors written.</summary>
    public required NormStats NormsAfter { get; init; }

    /// <summary>The outlier test.</summary>
    public required OutlierRule Outliers { get; init; }

    /// <summary>Rescaling applied.</summary>
    public VectorNormalization Normalization { get; init; }

    /// <summary>Min-max / z-score: the per-dimension statistics used (from the rows without problems); else null.</summary>
    public IReadOnlyList<DimensionStat>? DimensionStats { get; init; }

    /// <summary>Passes made over the input.</summary>
    public int Passes { get; init; }
}

/// <summary><c>quiver prep vectors</c>: validates and normalizes vectors in a file, streaming (see
/// docs/operations-prep.md). Pass 1 reads the norms (median and MAD for the outlier test); min-max and z-score add a
/// pass for per-dimension statistics over the rows that pass validation (an outlier must not set a dimension's
/// range); the last pass writes. Memory: a block of rows, a 4 MiB norm histogram, O(dimension) statistics.</summary>
internal static class VectorPrep
{
    /// <summary>Floor of the robust deviation, as a fraction of the median norm: vectors normalized elsewhere have
    /// norms equal up to float rounding, a MAD near zero, and must not all become outliers.</summary>
    public const double ScaleFloor = 1e-3;

    /// <summary>MAD times this estimates the standard deviation of normally distributed norms.</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>The output format named by <paramref name="name"/>, or by <paramref name="output"/>'s extension.</summary>
    public static VectorFormat ResolveFormat(string output, string? name)
    {
        var ext = Path.GetExtension(output).TrimStart('.').ToLowerInvariant();
        var format = (name ?? ext).ToLowerInvariant() switch
        {
            "npy" => VectorFormat.Npy,
            "fvecs" => VectorFormat.Fvecs,
            "jsonl" or "json" or "ndjson" => VectorFormat.Jsonl,
            _ => throw new ToolboxException(ToolboxErrorKind.InvalidOptions, name is null
                ? $"VectorPrepOptions.Output '{output}': cannot tell the format from the extension; give VectorPrepOptions.Format npy|fvecs|jsonl"
                : $"VectorPrepOptions.Format '{name}': expected npy, fvecs or jsonl"),
        };
        if (format != VectorFormat.Jsonl && !string.Equals(ext, format.ToString(), StringComparison.OrdinalIgnoreCase))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"VectorPrepOptions.Output '{output}': {format.ToString().ToLowerInvariant()} output needs the .{format.ToString().ToLowerInvariant()} extension");
        }

        return format;
    }

    /// <summary>Runs the preparation and returns the report (also written to <see cref="VectorPrepOptions.ReportPath"/>
    /// when given).</summary>
    public static async Task<VectorPrepReport> RunAsync(VectorPrepOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        if (options.Dimension is < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"VectorPrepOptions.Dimension {options.Dimension}: must be 1 or more");
        }

        if (options.OutlierZ < 0 || double.IsNaN(options.OutlierZ))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"VectorPrepOptions.OutlierZ {options.OutlierZ.ToString(CultureInfo.InvariantCulture)}: must be 0 (off) or more");
        }

        using var source = VectorSources.Open(options.Input, options.Field);
        var passes = options.Normalization is VectorNormalization.MinMax or VectorNormalization.ZScore ? 3 : 2;

        // Pass 1: the dimension (JSONL: the first vector's) and the norms.
        var dimension = options.Dimension ?? source.Dimension;
        var dimensionSource = options.Dimension is not null ? "VectorPrepOptions.Dimension" : source.Dimension is not null ? "file header" : "first vector";
        var before = new NormHistogram();
        await Pass(io, source, $"prep vectors: pass 1/{passes} (norms)", cancellationToken, record =>
        {
            if (record.Error is null && dimension is null)
            {
                dimension = record.Values.Length;
            }

            if (Check(record, dimension ?? 0, null, out _) == VectorProblem.None)
            {
                before.Add(Norm(record.Values.Span));
            }
        }).ConfigureAwait(false);
        if (dimension is not { } dim || dim < 1)
        {
            throw new ToolboxException($"{options.Input}: no row has a vector in field '{options.Field}'; nothing to write");
        }

        var median = before.Median();
        var mad = before.MedianAbsoluteDeviation(median);
        var rule = new OutlierRule(
            "robust z = |norm - median norm| / max(1.4826 x MAD, 0.001 x median norm), MAD = median absolute deviation of the L2 norms",
            median, mad, Math.Max(MadToSigma * mad, ScaleFloor * median), options.OutlierZ);

        // Pass 2 (min-max, z-score): per-dimension statistics over the rows without problems.
        DimensionStat[]? stats = null;
        if (passes == 3)
        {
            var accumulator = new DimensionAccumulator(dim);
            await Pass(io, source, "prep vectors: pass 2/3 (per-dimension statistics)", cancellationToken, record =>
            {
                if (Check(record, dim, rule, out _) == VectorProblem.None)
                {
                    accumulator.Add(record.Values.Span);
                }
            }).ConfigureAwait(false);
            if (accumulator.Count == 0)
            {
                throw new ToolboxException($"{options.Input}: no vector passed validation; per-dimension statistics for VectorPrepOptions.Normalization {options.Normalization.ToString().ToLowerInvariant()} cannot be computed");
            }

            stats = accumulator.Summarize();
        }

        // Last pass: classify, transform, write.
        var rejections = new IssueLog();
        var warnings = new IssueLog();
        var after = new NormHistogram();
        long rows = 0, malformed = 0, wrongDim = 0, nonFinite = 0, zero = 0, outlier = 0;
        var buffer = new float[dim];
        using var sink = new VectorSink(options.Output, options.Format, dim, options.Field);
        await Pass(io, source, $"prep vectors: pass {passes}/{passes} (write)", cancellationToken, record =>
        {
            rows++;
            var problem = Check(record, dim, rule, out var reason);
            switch (problem)
            {
                case VectorProblem.Malformed: malformed++; break;
                case VectorProblem.WrongDimension: wrongDim++; break;
                case VectorProblem.NonFinite: nonFinite++; break;
                case VectorProblem.Zero: zero++; break;
                case VectorProblem.Outlier: outlier++; break;
            }

            var keep = problem == VectorProblem.None
                || (options.KeepInvalid && problem == VectorProblem.Outlier)
                || (options.KeepInvalid && problem == VectorProblem.Zero && options.Normalization != VectorNormalization.L2);
            if (!keep)
            {
                rejections.Add(record.Number, problem == VectorProblem.Zero && options.Normalization == VectorNormalization.L2
                    ? "zero vector: cannot be L2-normalized"
                    : reason!);
                return;
            }

            if (problem != VectorProblem.None)
            {
                warnings.Add(record.Number, reason + " (kept)");
            }

            Transform(record.Values.Span, buffer, options.Normalization, stats);
            after.Add(Norm(buffer));
            sink.Append(record.Number, buffer, record.Json);
        }).ConfigureAwait(false);
        sink.Complete();

        var report = new VectorPrepReport
        {
            Input = options.Input,
            Output = options.Output,
            Format = options.Format,
            Dimension = dim,
            DimensionSource = dimensionSource,
            Rows = rows,
            Written = sink.Count,
            Rejected = rejections.Count,
            Kept = warnings.Count,
            Problems = new VectorProblemCounts(malformed, wrongDim, nonFinite, zero, outlier),
            Rejections = rejections.Kept,
            Warnings = warnings.Kept,
            NormsBefore = before.Summarize(),
            NormsAfter = after.Summarize(),
            Outliers = rule,
            Normalization = options.Normalization,
            DimensionStats = stats,
            Passes = passes,
        };
        PrepFiles.WriteReportFile(options.ReportPath, report);
        return report;
    }

    /// <summary>The first problem of a row, and its description naming the row's values. With
    /// <paramref name="outliers"/> null (pass 1) the outlier test is skipped.</summary>
    public static VectorProblem Check(in VectorRecord record, int dimension, OutlierRule? outliers, out string? reason)
    {
        reason = null;
        if (record.Error is not null)
        {
            reason = record.Error;
            return VectorProblem.Malformed;
        }

        var values = record.Values.Span;
        if (values.Length != dimension)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"dimension {values.Length}, expected {dimension}");
            return VectorProblem.WrongDimension;
        }

        var firstBad = -1;
        var bad = 0;
        var allZero = true;
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                firstBad = firstBad < 0 ? i : firstBad;
                bad++;
            }
            else if (values[i] != 0)
            {
                allZero = false;
            }
        }

        if (bad > 0)
        {
            reason = string.Create(CultureInfo.InvariantCulture,
                $"component {firstBad} is {values[firstBad].ToString(CultureInfo.InvariantCulture)}{(bad > 1 ? $" ({bad} non-finite components)" : string.Empty)}");
            return VectorProblem.NonFinite;
        }

        if (allZero)
        {
            reason = "zero vector";
            return VectorProblem.Zero;
        }

        if (outliers is { Limit: > 0 } rule)
        {
            var norm = Norm(values);
            var z = Math.Abs(norm - rule.MedianNorm) / rule.Scale;
            if (z > rule.Limit)
            {
                reason = string.Create(CultureInfo.InvariantCulture,
                    $"norm {norm:G6} is {z:0.#} robust deviations from the median norm {rule.MedianNorm:G6} (limit {rule.Limit})");
                return VectorProblem.Outlier;
            }
        }

        return VectorProblem.None;
    }

    /// <summary>Writes <paramref name="values"/> rescaled by <paramref name="normalization"/> into
    /// <paramref name="into"/>. L2 of a zero vector leaves zeros (the caller rejects those); a constant dimension
    /// (max = min, or standard deviation 0) becomes 0.</summary>
    public static void Transform(ReadOnlySpan<float> values, Span<float> into, VectorNormalization normalization, IReadOnlyList<DimensionStat>? stats)
    {
        switch (normalization)
        {
            case VectorNormalization.L2:
                var norm = Norm(values);
                for (var i = 0; i < values.Length; i++)
                {
                    into[i] = norm == 0 ? 0 : (float)(values[i] / norm);
                }

                break;
            case VectorNormalization.MinMax:
                for (var i = 0; i < values.Length; i++)
                {
                    var s = stats![i];
                    var range = s.Max - s.Min;
                    into[i] = range == 0 ? 0 : (float)((values[i] - s.Min) / range);
                }

                break;
            case VectorNormalization.ZScore:
                for (var i = 0; i < values.Length; i++)
                {
                    var s = stats![i];
                    into[i] = s.Std == 0 ? 0 : (float)((values[i] - s.Mean) / s.Std);
                }

                break;
            default:
                values.CopyTo(into);
                break;
        }
    }

    /// <summary>The L2 norm, accumulated in double.</summary>
    public static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    private static Task Pass(ToolReporter io, IVectorSource source, string description, CancellationToken cancellationToken, Action<VectorRecord> visit) =>
        io.WithProgressAsync(description, source.Count, "rows", handle =>
        {
            foreach (var record in source.Read(cancellationToken))
            {
                visit(record);
                handle.Advance(1);
            }

            return Task.FromResult(true);
        });
}
