using System.Globalization;
using System.Text;

namespace Quiver;

/// <summary>The engine's side of TextEmbedding functions: schema rules, vectors filled in on writes, query texts
/// embedded for searches.</summary>
internal static class TextEmbeddingFunctions
{
    /// <summary>Structural rules of a schema's functions (no provider is asked): names, one VarChar input, one FloatVector
    /// output per function that no other function writes, and a <c>dim</c> parameter equal to the output's dimension.</summary>
    public static void Validate(CollectionSchema schema)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in schema.Functions)
        {
            SchemaValidator.ValidateName(f.Name, "function");
            if (!names.Add(f.Name) || schema.Find(f.Name) is not null)
            {
                Throw.Invalid($"function name '{f.Name}' is used twice in the schema (function and field names must be distinct)");
            }

            if (f.Type == CollectionFunctionType.BM25)
            {
                Sparse.Bm25Function.Validate(schema, f);
                if (!outputs.Add(f.OutputFieldNames[0]))
                {
                    Throw.Invalid($"function '{f.Name}': output field '{f.OutputFieldNames[0]}' is already written by another function");
                }

                continue;
            }

            if (f.Type != CollectionFunctionType.TextEmbedding)
            {
                Throw.Invalid($"function '{f.Name}': type {f.Type} is not supported in a collection schema; Quiver supports TextEmbedding and BM25");
            }

            if (f.InputFieldNames.Length != 1 || f.OutputFieldNames.Length != 1)
            {
                Throw.Invalid($"function '{f.Name}': a TextEmbedding function takes exactly one input field and one output field, got {f.InputFieldNames.Length} and {f.OutputFieldNames.Length}");
            }

            var input = schema.Find(f.InputFieldNames[0]);
            if (input is not { DataType: DataType.VarChar })
            {
                Throw.Invalid($"function '{f.Name}': input field '{f.InputFieldNames[0]}' " +
                    (input is null ? "does not exist" : $"is {input.DataType}; a TextEmbedding function reads a VarChar field"));
            }

            var output = schema.Find(f.OutputFieldNames[0]);
            if (output is not { IsVector: true, DataType: DataType.FloatVector })
            {
                Throw.Invalid($"function '{f.Name}': output field '{f.OutputFieldNames[0]}' " +
                    (output is null ? "does not exist" : $"is {output.DataType}; a TextEmbedding function writes a FloatVector field"));
            }

            if (!outputs.Add(output.Name))
            {
                Throw.Invalid($"function '{f.Name}': output field '{output.Name}' is already written by another function");
            }

            if (string.IsNullOrWhiteSpace(f.Param("provider")))
            {
                Throw.Invalid($"function '{f.Name}': parameter 'provider' is missing (e.g. \"local\" or \"openai\")");
            }

            if (f.Param("dim") is { } dim
                && (!int.TryParse(dim, NumberStyles.None, CultureInfo.InvariantCulture, out var d) || d != output.Dimension))
            {
                throw new EmbeddingException(EmbeddingFailure.Configuration,
                    $"function '{f.Name}': parameter dim '{dim}' does not match the dim {output.Dimension} of output field '{output.Name}'");
            }
        }

        foreach (var field in schema.Fields)
        {
            Sparse.Bm25Function.ValidateField(schema, field);
        }
    }

    /// <summary>Asks the provider for every TextEmbedding function of <paramref name="schema"/> and checks the dimension
    /// it produces against the output field's (at create, so a bad function is refused before any row arrives).</summary>
    public static void CheckProviders(QuiverOptions options, CollectionSchema schema)
    {
        foreach (var f in schema.Functions.Where(f => f.Type == CollectionFunctionType.TextEmbedding))
        {
            Resolve(options, schema, f);
        }
    }

    /// <summary>The rows with every TextEmbedding output computed, or <paramref name="rows"/> itself when the schema has
    /// no functions. A row that sets an output field, or lacks the input text, is refused.</summary>
    public static async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> FillAsync(
        QuiverOptions options, CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, CancellationToken ct)
    {
        if (!schema.Functions.Any(f => f.Type == CollectionFunctionType.TextEmbedding) || rows.Count == 0)
        {
            return rows;
        }

        var filled = CopyRows(rows);

        foreach (var f in schema.Functions.Where(f => f.Type == CollectionFunctionType.TextEmbedding))
        {
            var (input, output) = (f.InputFieldNames[0], f.OutputFieldNames[0]);
            var texts = new string[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                if (rows[i].ContainsKey(output))
                {
                    RefuseOutput(f, output, i);
                }

                // Rows from JSON carry their text as a JSON string element, as the row validator takes it.
                texts[i] = (rows[i].TryGetValue(input, out var v) ? v : null) switch
                {
                    string s => s,
                    System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e => e.GetString()!,
                    _ => throw MissingText(f, input, i),
                };
            }

            var vectors = await EmbedAsync(options, schema, f, texts, "row", ct).ConfigureAwait(false);
            for (var i = 0; i < rows.Count; i++)
            {
                filled[i][output] = vectors[i];
            }
        }

        return filled;
    }

    /// <summary>The batch with every TextEmbedding output column computed (a new batch sharing the caller's columns), or
    /// <paramref name="batch"/> itself when the schema has no functions.</summary>
    public static async Task<ColumnBatch> FillAsync(QuiverOptions options, CollectionSchema schema, ColumnBatch batch, CancellationToken ct)
    {
        if (!schema.Functions.Any(f => f.Type == CollectionFunctionType.TextEmbedding) || batch.RowCount == 0)
        {
            return batch;
        }

        var filled = CopyColumns(batch);

        foreach (var f in schema.Functions.Where(f => f.Type == CollectionFunctionType.TextEmbedding))
        {
            var (input, output) = (f.InputFieldNames[0], f.OutputFieldNames[0]);
            if (batch.Find(output) is not null)
            {
                RefuseOutput(f, output, null);
            }

            var column = batch.Find(input);
            var texts = new string[batch.RowCount];
            for (var i = 0; i < texts.Length; i++)
            {
                texts[i] = column is { Strings: { } strings } && !column.IsNull(i) ? strings[i]! : throw MissingText(f, input, i);
            }

            var vectors = await EmbedAsync(options, schema, f, texts, "row", ct).ConfigureAwait(false);
            var dim = schema.Find(output)!.Dimension!.Value;
            var flat = new float[texts.Length * dim];
            for (var i = 0; i < vectors.Length; i++)
            {
                vectors[i].CopyTo(flat, i * dim);
            }

            filled.Add(new FieldColumn { Name = output, Vectors = flat });
        }

        return filled;
    }

    /// <summary>Query vectors for texts searched against <paramref name="field"/>, embedded by the function that writes it.</summary>
    public static Task<float[][]> EmbedQueriesAsync(
        QuiverOptions options, CollectionSchema schema, string field, IReadOnlyList<string> texts, CancellationToken ct)
    {
        var function = SchemaFunctions.FunctionWriting(schema, field) is { Type: CollectionFunctionType.TextEmbedding } f
            ? f
            : throw new QuiverException(QuiverErrorCode.InvalidArgument,
                $"field '{field}' is not the output of a TextEmbedding function, so it cannot be searched with text; send vectors");
        return EmbedAsync(options, schema, function, texts, "search text", ct);
    }

    private static async Task<float[][]> EmbedAsync(
        QuiverOptions options, CollectionSchema schema, CollectionFunction f, IReadOnlyList<string> texts, string what, CancellationToken ct)
    {
        var input = schema.Find(f.InputFieldNames[0])!;
        for (var i = 0; i < texts.Count; i++)
        {
            var bytes = Encoding.UTF8.GetByteCount(texts[i]);
            if (bytes > input.MaxLength)
            {
                throw new EmbeddingException(EmbeddingFailure.TextTooLong,
                    $"function '{f.Name}': {what} {i} has {bytes} bytes of text, more than the max_length {input.MaxLength} of input field '{input.Name}'");
            }
        }

        var embedder = Resolve(options, schema, f);
        var vectors = await embedder.EmbedAsync(texts, ct).ConfigureAwait(false);
        if (vectors.Length != texts.Count)
        {
            throw new EmbeddingException(EmbeddingFailure.ProviderFailed,
                $"function '{f.Name}': the provider returned {vectors.Length} vectors for {texts.Count} texts");
        }

        foreach (var v in vectors)
        {
            if (v is null || v.Length != embedder.Dimension)
            {
                throw new EmbeddingException(EmbeddingFailure.ProviderFailed,
                    $"function '{f.Name}': the provider returned a vector of dim {v?.Length ?? 0}, expected {embedder.Dimension}");
            }
        }

        return vectors;
    }

    private static ITextEmbedder Resolve(QuiverOptions options, CollectionSchema schema, CollectionFunction f)
    {
        var provider = options.TextEmbedders
            ?? throw new EmbeddingException(EmbeddingFailure.Configuration,
                $"function '{f.Name}': no embedding providers are configured on this Quiver instance (QuiverOptions.TextEmbedders)");
        var output = schema.Find(f.OutputFieldNames[0])!;
        var embedder = provider.Resolve(f, output.Dimension!.Value);
        if (embedder.Dimension != output.Dimension)
        {
            throw new EmbeddingException(EmbeddingFailure.Configuration,
                $"function '{f.Name}': provider '{f.Param("provider")}' produces vectors of dim {embedder.Dimension}, but output field '{output.Name}' has dim {output.Dimension}");
        }

        return embedder;
    }

    /// <summary>Rows a function may add its outputs to: each a new dictionary with the caller's values.</summary>
    internal static Dictionary<string, object?>[] CopyRows(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var copy = new Dictionary<string, object?>[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            copy[i] = new Dictionary<string, object?>(rows[i], StringComparer.Ordinal);
        }

        return copy;
    }

    /// <summary>A batch a function may add its output columns to, sharing the caller's columns.</summary>
    internal static ColumnBatch CopyColumns(ColumnBatch batch)
    {
        var copy = new ColumnBatch(batch.RowCount) { Dynamic = batch.Dynamic };
        foreach (var column in batch.Columns)
        {
            copy.Add(column);
        }

        return copy;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void RefuseOutput(CollectionFunction f, string output, int? row) =>
        Throw.Invalid($"{(row is { } r ? $"row {r}: " : "")}field '{output}' is the output of function '{f.Name}' and is computed from '{f.InputFieldNames[0]}'; leave it out of inserted rows");

    private static QuiverException MissingText(CollectionFunction f, string input, int row) =>
        new(QuiverErrorCode.InvalidArgument, $"row {row}: function '{f.Name}' needs text in field '{input}', which is missing or null");
}
