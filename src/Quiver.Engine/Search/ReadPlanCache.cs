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
