using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Quiver.Protocol.Common;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Data;

/// <summary>The search handler's fast readers against the general ones they stand in for: the placeholder group read in
/// place (oracle: protobuf's parser and <see cref="RequestValues.Placeholders"/>), and search params served from the
/// recent-settings cache (oracle: a fresh parse).</summary>
public sealed class SearchRequestReadingTests
{
    private static readonly FieldSchema FloatField = new() { Name = "v", DataType = Quiver.DataType.FloatVector, Dimension = 6 };

    [Fact]
    public void FloatQueries_InPlace_EqualTheParsedGroup_ForRandomWireLayouts()
    {
        var random = new Random(20261206);
        var compared = 0;
        for (var round = 0; round < 600; round++)
        {
            var group = RandomGroup(random, out var floatOnly);
            var fast = Outcome(() => PlaceholderWire.FloatQueries(group, FloatField.Dimension!.Value));
            var general = Outcome(() => RequestValues.Placeholders(RequestValues.ParseGroup(group), FloatField));
            if (!floatOnly)
            {
                // A group with another placeholder type (or none) is left to the general reader.
                Assert.Null(fast.Vectors);
                Assert.Null(fast.Error);
                continue;
            }

            Assert.Equal(general.Error, fast.Error);
            if (general.Vectors is { Count: > 0 } expected)
            {
                Assert.NotNull(fast.Vectors);
                Assert.Equal(expected.Count, fast.Vectors!.Count);
                for (var i = 0; i < expected.Count; i++)
                {
                    Assert.Equal(expected[i], fast.Vectors[i]);
                }

                compared++;
            }
        }

        Assert.True(compared > 100, $"only {compared} groups held vectors to compare");
    }

    [Fact]
    public void FloatQueries_RefuseATruncatedGroup_AsTheParserDoes()
    {
        var whole = TestPlaceholders.Group([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]).ToByteArray();
        for (var cut = 1; cut < whole.Length; cut++)
        {
            var part = ByteString.CopyFrom(whole, 0, cut);
            var parsedOk = Outcome(() => RequestValues.ParseGroup(part)).Error is null;
            var fast = Outcome(() => PlaceholderWire.FloatQueries(part, 6));
            if (!parsedOk)
            {
                Assert.StartsWith("1100: placeholder_group is not a valid PlaceholderGroup", fast.Error, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void SearchParams_FromTheCache_EqualAFreshParse_AndNeverAnotherList()
    {
        var random = new Random(7);
        // More distinct lists than the cache holds, each asked for several times in a random order.
        var lists = Enumerable.Range(0, RecentSettings.Capacity * 3).Select(i => RandomParams(random, i)).ToList();
        for (var round = 0; round < 2_000; round++)
        {
            var pairs = lists[random.Next(lists.Count)];
            // A fresh copy of the pairs, as each request brings its own strings.
            var copy = new RepeatedField<KeyValuePair>();
            copy.AddRange(pairs.Select(p => new KeyValuePair { Key = new string(p.Key), Value = new string(p.Value) }));
            Assert.Equal(Describe(SearchParamsParser.ParseUncached(pairs)), Describe(SearchParamsParser.Parse(copy)));
        }

        var repeated = lists[0];
        Assert.Same(SearchParamsParser.Parse(repeated), SearchParamsParser.Parse(repeated));
    }

    [Fact]
    public void SearchParams_Shared_ByTheCache_CannotBeChangedByOneCaller()
    {
        // The cache hands the same settings to every call with the same pairs: were their index parameters a mutable
        // dictionary, one caller's change (an ef raised for one search) would reach every later search.
        var pairs = new RepeatedField<KeyValuePair> { new KeyValuePair { Key = "params", Value = "{\"ef\": 64}" } };
        var settings = SearchParamsParser.Parse(pairs);
        Assert.Equal("64", settings.IndexParams["ef"]);
        var asDictionary = settings.IndexParams as IDictionary<string, string>;
        Assert.True(asDictionary is null || asDictionary.IsReadOnly);
        if (asDictionary is not null)
        {
            Assert.Throws<NotSupportedException>(() => asDictionary["ef"] = "8");
        }
        Assert.Equal("64", SearchParamsParser.Parse(pairs).IndexParams["ef"]);
    }

    [Fact]
    public void SearchParams_ThatFail_AreRefusedEveryTime()
    {
        var bad = new RepeatedField<KeyValuePair> { new KeyValuePair { Key = "topk", Value = "ten" } };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(MilvusCode.ParameterInvalid, Assert.Throws<MilvusException>(() => SearchParamsParser.Parse(bad)).Code);
        }
    }

    private static string Describe(SearchSettings s) => string.Join("|",
        s.AnnsField, s.TopK, s.Offset, s.Metric, s.RoundDecimal, s.Radius, s.RangeFilter, s.GroupByField, s.GroupSize, s.StrictGroupSize,
        s.IgnoreGrowing, s.IteratorV2, s.IteratorBatchSize, s.IteratorLastBound, s.IteratorToken,
        string.Join(",", s.IndexParams.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)));

    private static RepeatedField<KeyValuePair> RandomParams(Random random, int i)
    {
        var inv = CultureInfo.InvariantCulture;
        var pairs = new RepeatedField<KeyValuePair>
        {
            new KeyValuePair { Key = "anns_field", Value = random.Next(2) == 0 ? "v" : "w" },
            new KeyValuePair { Key = "topk", Value = (1 + (i % 7)).ToString(inv) },
            new KeyValuePair { Key = "metric_type", Value = random.Next(2) == 0 ? "L2" : "IP" },
            new KeyValuePair { Key = "params", Value = $$"""{"ef": {{16 + i}}, "radius": {{random.Next(3)}}}""" },
        };
        if (random.Next(2) == 0)
        {
            pairs.Add(new KeyValuePair { Key = "offset", Value = (i % 3).ToString(inv) });
        }

        return pairs;
    }

    private static (List<float[]>? Vectors, string? Error) Outcome(Func<object?> read)
    {
        try
        {
            return (read() as List<float[]>, null);
        }
        catch (MilvusException e)
        {
            return (null, $"{e.Code}: {e.Message}");
        }
    }

    /// <summary>A group of 0-3 placeholders written field by field in a random order, with unknown fields, values of
    /// the right or a wrong length, and now and then a placeholder of another type.</summary>
    private static ByteString RandomGroup(Random random, out bool floatOnly)
    {
        floatOnly = true;
        var group = new MemoryStream();
        var outer = new CodedOutputStream(group);
        var placeholders = random.Next(4);
        for (var p = 0; p < placeholders; p++)
        {
            var type = random.Next(10) == 0 ? (int)PlaceholderType.BinaryVector : (int)PlaceholderType.FloatVector;
            floatOnly &= type == (int)PlaceholderType.FloatVector;
            var parts = new List<Action<CodedOutputStream>>
            {
                o => { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("$" + p); },
                o => { o.WriteTag(2, WireFormat.WireType.Varint); o.WriteEnum(type); },
            };
            for (var v = random.Next(4); v > 0; v--)
            {
                var dim = random.Next(12) == 0 ? 5 : 6;
                var bytes = new byte[dim * 4];
                for (var d = 0; d < dim; d++)
                {
                    BitConverter.TryWriteBytes(bytes.AsSpan(d * 4), (float)(random.NextDouble() * 200 - 100));
                }

                parts.Add(o => { o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(bytes)); });
            }

            if (random.Next(3) == 0)
            {
                parts.Add(o => { o.WriteTag(9, WireFormat.WireType.Varint); o.WriteInt32(7); });
            }

            var value = new MemoryStream();
            var inner = new CodedOutputStream(value);
            foreach (var part in parts.OrderBy(_ => random.Next()))
            {
                part(inner);
            }

            inner.Flush();
            outer.WriteTag(1, WireFormat.WireType.LengthDelimited);
            outer.WriteBytes(ByteString.CopyFrom(value.ToArray()));
            if (random.Next(4) == 0)
            {
                outer.WriteTag(7, WireFormat.WireType.Fixed32);
                outer.WriteFixed32(1);
            }
        }

        outer.Flush();
        floatOnly &= placeholders > 0;
        return ByteString.CopyFrom(group.ToArray());
    }
}
