using Quiver.Filtering;
using Quiver.Indexing;

namespace Quiver.Search;

/// <summary>Per collection: compiled filters and parsed search parameters, so a repeated search or query does not lex,
/// parse, bind and validate its filter and parameters again. Bounded (least recently used out past
/// <see cref="Capacity"/> entries per kind). A bound filter is cached under the schema it was bound to and its text;
/// a filter with template parameters is bound per call (the values are part of the plan) and only its parse is cached.
/// Search parameters are cached under the collection's properties (which hold the per-field defaults) and the
/// request's parameters. Either part is emptied when the schema or the properties object changes. Thread-safe.</summary>
internal sealed class ReadPlanCache
{
    /// <summary>Entries kept per kind (bound filters, parsed filters, search parameters).</summary>
    public const int Capacity = 256;

    private readonly Lru<BoundFilter> _bound = new(Capacity);
    private readonly Lru<FilterExpression> _parsed = new(Capacity);
    private readonly Lru<AnnSearchParams> _params = new(Capacity);
    private long _filtersBound;

    /// <summary>Filters bound through this cache so far (each miss binds once), for tests of what goes through it.</summary>
    public long FiltersBound => Interlocked.Read(ref _filtersBound);

    /// <summary><see cref="FilterPlan.Compile"/> through the cache. Errors are thrown as by it and never cached.</summary>
    /// <remarks><paramref name="zone"/> reads <c>ISO '...'</c> literals without an offset (null: UTC); it is part of the cache
    /// key, so one text under two zones is two plans.</remarks>
    public BoundFilter? Filter(string? text, CollectionSchema schema, IReadOnlyDictionary<string, object?>? parameters, TimeZoneInfo? zone = null)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        // A NUL cannot start a filter that parses, so zoned keys never meet a plain text's key.
        var key = zone is null ? text : "\0" + zone.Id + "\0" + text;
        if (parameters is { Count: > 0 })
        {
            var parsed = _parsed.GetOrAdd(null, key, _ => FilterExpression.Parse(text, zone));
            Interlocked.Increment(ref _filtersBound);
            return FilterPlan.FromBound(parsed.Bind(schema, parameters));
        }

        // An always-true filter is cached as the bound plan and reported as none, like Compile does.
        var bound = _bound.GetOrAdd(schema, key, _ =>
        {
            Interlocked.Increment(ref _filtersBound);
            return FilterExpression.Parse(text, zone).Bind(schema, null);
        });
        return FilterPlan.FromBound(bound);
    }

    /// <summary>The request's search parameters over the collection's defaults for <paramref name="field"/>, parsed
    /// (<see cref="SearchExecutor.WithDefaults"/> then <see cref="AnnSearchParams.Parse"/>).</summary>
    public AnnSearchParams SearchParams(Shards.Shard shard, string field, IReadOnlyDictionary<string, string>? given)
    {
        var properties = shard.Meta.Properties;
        // A search sends the same few parameter sets again and again: a slot found by a hash of the field and the
        // parameters (order-free), checked name by name, answers without building the LRU's text key.
        var hash = ParamsHash(field, given);
        var slot = _recent[(int)(hash & (RecentSlots - 1))];
        if (slot is not null && slot.Hash == hash && ReferenceEquals(slot.Properties, properties) && slot.Matches(field, given))
        {
            return slot.Value;
        }

        var value = ParsedSearchParams(shard, field, given, properties);
        _recent[(int)(hash & (RecentSlots - 1))] = new RecentParams(hash, properties, field, Pairs(given), value);
        return value;
    }

    /// <summary>The projection of a read that asks for no output fields (the primary key alone), kept for the schema
    /// and zone it was resolved under: a search without output fields resolves nothing.</summary>
    public Projection KeyOnlyProjection(CollectionSchema schema, TimeZoneInfo? zone)
    {
        if (_keyOnly is { } kept && ReferenceEquals(kept.Schema, schema) && ReferenceEquals(kept.Zone, zone))
        {
            return kept.Value;
        }

        var value = Projection.Resolve(schema, [], zone: zone);
        _keyOnly = new KeptProjection(schema, zone, value);
        return value;
    }

    private volatile KeptProjection? _keyOnly;

    private sealed record KeptProjection(CollectionSchema Schema, TimeZoneInfo? Zone, Projection Value);

    /// <summary>Slots of <see cref="_recent"/> (a power of two).</summary>
    private const int RecentSlots = 16;

    private readonly RecentParams?[] _recent = new RecentParams?[RecentSlots];

    /// <summary>Parameters parsed last under a hash: immutable, replaced whole, so a reader sees one entry or another.</summary>
    private sealed class RecentParams(uint hash, object properties, string field, KeyValuePair<string, string>[] pairs, AnnSearchParams value)
    {
        public uint Hash { get; } = hash;

        public object Properties { get; } = properties;

        public AnnSearchParams Value { get; } = value;

        /// <summary>Whether <paramref name="given"/> holds exactly these names and values for <paramref name="f"/>.</summary>
        public bool Matches(string f, IReadOnlyDictionary<string, string>? given)
        {
            if (!string.Equals(f, field, StringComparison.Ordinal) || (given?.Count ?? 0) != pairs.Length)
            {
                return false;
            }

            foreach (var (name, v) in pairs)
            {
                if (!given!.TryGetValue(name, out var other) || !string.Equals(v, other, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private static KeyValuePair<string, string>[] Pairs(IReadOnlyDictionary<string, string>? given) => given is null ? [] : [.. given];

    /// <summary>A hash of the field and the parameters that does not depend on their order; it allocates nothing for a
    /// <see cref="Dictionary{TKey,TValue}"/> (the form requests carry).</summary>
    private static uint ParamsHash(string field, IReadOnlyDictionary<string, string>? given)
    {
        var sum = 0u;
        if (given is Dictionary<string, string> d)
        {
            foreach (var (name, value) in d)
            {
                sum += PairHash(name, value);
            }
        }
        else if (given is not null)
        {
            foreach (var (name, value) in given)
            {
                sum += PairHash(name, value);
            }
        }

        return (uint)HashCode.Combine(string.GetHashCode(field, StringComparison.Ordinal), sum, given?.Count ?? 0);
    }

    private static uint PairHash(string name, string value) =>
        (uint)HashCode.Combine(string.GetHashCode(name, StringComparison.Ordinal), string.GetHashCode(value, StringComparison.Ordinal));

    private AnnSearchParams ParsedSearchParams(Shards.Shard shard, string field, IReadOnlyDictionary<string, string>? given, object properties)
    {
        var key = new System.Text.StringBuilder(field.Length + 16).Append(field.Length).Append(':').Append(field);
        if (given is not null)
        {
            foreach (var (name, value) in given.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                // Lengths first, so that no two parameter sets spell the same key.
                key.Append(name.Length).Append(':').Append(name).Append(value.Length).Append(':').Append(value);
            }
        }

        return _params.GetOrAdd(properties, key.ToString(), _ => AnnSearchParams.Parse(SearchExecutor.WithDefaults(shard, field, given)));
    }

    /// <summary>A string-keyed least-recently-used map whose entries belong to one version object (compared by
    /// reference): a lookup under another version empties it first.</summary>
    private sealed class Lru<T>(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, LinkedListNode<(string Key, T Value)>> _map = new(StringComparer.Ordinal);
        private readonly LinkedList<(string Key, T Value)> _order = new();
        private object? _version;

        public T GetOrAdd(object? version, string key, Func<string, T> create)
        {
            lock (_lock)
            {
                if (!ReferenceEquals(version, _version))
                {
                    _map.Clear();
                    _order.Clear();
                    _version = version;
                }
                else if (_map.TryGetValue(key, out var hit))
                {
                    _order.Remove(hit);
                    _order.AddFirst(hit);
                    return hit.Value.Value;
                }
            }

            // Built outside the lock: parsing is the slow part, and two threads building one key both get a valid plan.
            var value = create(key);
            lock (_lock)
            {
                if (ReferenceEquals(version, _version) && !_map.ContainsKey(key))
                {
                    _map[key] = _order.AddFirst((key, value));
                    if (_map.Count > capacity)
                    {
                        _map.Remove(_order.Last!.Value.Key);
                        _order.RemoveLast();
                    }
                }
            }

            return value;
        }
    }
}
