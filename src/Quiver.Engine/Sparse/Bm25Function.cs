using Quiver.TextAnalysis;

namespace Quiver.Sparse;

/// <summary>The engine's side of BM25 functions (<see cref="CollectionFunctionType.BM25"/>): the schema rules, and the
/// sparse vector a text becomes. A document's vector holds, for each distinct term the input field's analyzer produces,
/// the term's hash (<see cref="TermHash"/>, as Milvus numbers terms) and how often it occurs (its term frequency); the
/// document's length is the sum of those counts. A query text becomes the same kind of vector, and
/// <see cref="Bm25Search"/> weighs it with the corpus statistics at search time.</summary>
internal static class Bm25Function
{
    /// <summary>The BM25 function that writes <paramref name="field"/>, or null.</summary>
    public static CollectionFunction? Writing(CollectionSchema schema, string field)
    {
        foreach (var f in schema.Functions)
        {
            if (f.Type == CollectionFunctionType.BM25 && f.OutputFieldNames.Contains(field))
            {
                return f;
            }
        }

        return null;
    }

    /// <summary>The schema with the metric of every BM25 output field set to <see cref="MetricType.BM25"/> (a field's
    /// metric follows the function that writes it, whatever the client stated); <paramref name="schema"/> itself when it
    /// has no BM25 function.</summary>
    public static CollectionSchema Normalize(CollectionSchema schema)
    {
        if (!schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25))
        {
            return schema;
        }

        var fields = schema.Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            if (fields[i].IsSparseVector && Writing(schema, fields[i].Name) is not null)
            {
                fields = fields.SetItem(i, fields[i] with { Metric = MetricType.BM25 });
            }
        }

        return schema with { Fields = fields };
    }

    /// <summary>Milvus's rules of one BM25 function: one input, a VarChar field with <c>enable_analyzer</c>; one
    /// output, a SparseFloatVector field; no parameters (BM25's k1 and b are index parameters). Throws InvalidArgument
    /// naming the problem.</summary>
    public static void Validate(CollectionSchema schema, CollectionFunction f)
    {
        if (f.InputFieldNames.Length != 1 || f.OutputFieldNames.Length != 1)
        {
            Throw.Invalid($"function '{f.Name}': a BM25 function takes exactly one input field and one output field, got {f.InputFieldNames.Length} and {f.OutputFieldNames.Length}");
        }

        var input = schema.Find(f.InputFieldNames[0]);
        if (input is not { DataType: DataType.VarChar })
        {
            Throw.Invalid($"function '{f.Name}': input field '{f.InputFieldNames[0]}' " +
                (input is null ? "does not exist" : $"is {input.DataType}; a BM25 function reads a VarChar field"));
        }

        if (!input.EnableAnalyzer)
        {
            Throw.Invalid($"function '{f.Name}': input field '{input.Name}' needs enable_analyzer set to true; a BM25 function reads the analyzer's terms");
        }

        var output = schema.Find(f.OutputFieldNames[0]);
        if (output is not { DataType: DataType.SparseFloatVector })
        {
            Throw.Invalid($"function '{f.Name}': output field '{f.OutputFieldNames[0]}' " +
                (output is null ? "does not exist" : $"is {output.DataType}; a BM25 function writes a SparseFloatVector field"));
        }

        if (output.Metric != MetricType.BM25)
        {
            Throw.Invalid($"function '{f.Name}': output field '{output.Name}' has metric {output.Metric.MilvusName()}; a BM25 output field is searched with metric BM25");
        }

        if (f.Params.Count > 0)
        {
            Throw.Invalid($"function '{f.Name}': a BM25 function takes no parameters, got '{f.Params.Keys.First()}' (bm25_k1 and bm25_b are parameters of the output field's index)");
        }
    }

    /// <summary>Refuses a sparse field with metric BM25 that no BM25 function writes (its rows would not be term counts).</summary>
    public static void ValidateField(CollectionSchema schema, FieldSchema field)
    {
        if (field is { IsSparseVector: true, Metric: MetricType.BM25 } && Writing(schema, field.Name) is null)
        {
            Throw.Invalid($"sparse vector field '{field.Name}' has metric BM25 but no BM25 function writes it; use metric IP for vectors you send");
        }
    }

    /// <summary>The term counts of <paramref name="text"/> under <paramref name="analyzer"/>: term hashes ascending, each
    /// with its number of occurrences (two terms sharing a hash count together, as in Milvus). Null text is the empty
    /// vector. A text may have any number of distinct terms (as in Milvus).</summary>
    public static SparseVector Terms(Analyzer analyzer, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return SparseVector.Empty;
        }

        var counts = new Dictionary<uint, float>();
        foreach (var token in analyzer.Analyze(text))
        {
            var h = TermHash.Of(token.Text);
            counts[h] = counts.TryGetValue(h, out var c) ? c + 1 : 1;
        }

        var indices = counts.Keys.ToArray();
        Array.Sort(indices);
        var values = new float[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            values[i] = counts[indices[i]];
        }

        return SparseVector.TryCreate(indices, values, int.MaxValue, out var error) ?? throw new InvalidOperationException(error);
    }

    /// <summary>The rows with every BM25 output computed, or <paramref name="rows"/> itself when the schema has no BM25
    /// function. A row that sets an output field is refused.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, object?>> Fill(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        if (!schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25) || rows.Count == 0)
        {
            return rows;
        }

        var filled = TextEmbeddingFunctions.CopyRows(rows);

        foreach (var f in schema.Functions.Where(f => f.Type == CollectionFunctionType.BM25))
        {
            var (input, output) = (f.InputFieldNames[0], f.OutputFieldNames[0]);
            var analyzer = Analyzer.ForField(schema.Find(input)!);
            for (var i = 0; i < rows.Count; i++)
            {
                if (rows[i].ContainsKey(output))
                {
                    RefuseOutput(f, output, i);
                }

                // Rows from JSON carry their text as a JSON string element; anything else is left to the row validator.
                var text = (rows[i].TryGetValue(input, out var v) ? v : null) switch
                {
                    string s => s,
                    System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e => e.GetString(),
                    _ => null,
                };
                filled[i][output] = Terms(analyzer, text);
            }
        }

        return filled;
    }

    /// <summary>The batch with every BM25 output column computed (a new batch sharing the caller's columns), or
    /// <paramref name="batch"/> itself when the schema has no BM25 function.</summary>
    public static ColumnBatch Fill(CollectionSchema schema, ColumnBatch batch)
    {
        if (!schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25) || batch.RowCount == 0)
        {
            return batch;
        }

        var filled = TextEmbeddingFunctions.CopyColumns(batch);

        foreach (var f in schema.Functions.Where(f => f.Type == CollectionFunctionType.BM25))
        {
            var (input, output) = (f.InputFieldNames[0], f.OutputFieldNames[0]);
            if (batch.Find(output) is not null)
            {
                RefuseOutput(f, output, null);
            }

            var analyzer = Analyzer.ForField(schema.Find(input)!);
            var column = batch.Find(input);
            var vectors = new SparseVector?[batch.RowCount];
            for (var i = 0; i < vectors.Length; i++)
            {
                var text = column is { Strings: { } strings } && !column.IsNull(i) ? strings[i] : null;
                vectors[i] = Terms(analyzer, text);
            }

            filled.Add(new FieldColumn { Name = output, Sparse = vectors });
        }

        return filled;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void RefuseOutput(CollectionFunction f, string output, int? row) =>
        Throw.Invalid($"{(row is { } r ? $"row {r}: " : "")}field '{output}' is the output of BM25 function '{f.Name}' and is computed from '{f.InputFieldNames[0]}'; leave it out of inserted rows");
}
