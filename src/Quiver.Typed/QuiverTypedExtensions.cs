using Microsoft.Extensions.Logging;
using Quiver.Client;

namespace Quiver.Typed;

/// <summary>The typed API's entry point on any <see cref="IQuiverClient"/>.</summary>
public static class QuiverTypedExtensions
{
    /// <summary>A handle on collection <paramref name="name"/> whose rows are <typeparamref name="TRecord"/> records
    /// (<c>db.Collection&lt;Product&gt;("products")</c>). No I/O: <see cref="QuiverCollection{TRecord}.EnsureCreatedAsync"/>
    /// creates the collection. Mapping errors (no key, an unsupported property type) throw
    /// <see cref="QuiverException"/> InvalidArgument here.</summary>
    public static QuiverCollection<TRecord> Collection<TRecord>(this IQuiverClient client, string name, QuiverCollectionOptions? options = null)
        where TRecord : class =>
        new(client, name, options, null);

    /// <summary>As <see cref="Collection{TRecord}(IQuiverClient, string, QuiverCollectionOptions?)"/>, logging to
    /// <paramref name="loggerFactory"/> (category <c>Quiver.Typed.QuiverCollection</c>).</summary>
    public static QuiverCollection<TRecord> Collection<TRecord>(this IQuiverClient client, string name, QuiverCollectionOptions? options, ILoggerFactory? loggerFactory)
        where TRecord : class =>
        new(client, name, options, loggerFactory?.CreateLogger("Quiver.Typed.QuiverCollection"));
}
