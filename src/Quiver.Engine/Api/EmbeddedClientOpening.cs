using Quiver.Client.Embedded;

namespace Quiver.Client;

/// <summary><see cref="QuiverClient"/>'s embedded members: an <see cref="IQuiverClient"/> over the engine in this process.
/// They live in the engine package so that the remote client (QuiverVec.Client) does not bring the engine.</summary>
public static class EmbeddedClientOpening
{
    extension(QuiverClient)
    {
        /// <summary>Opens the embedded engine over <paramref name="path"/> (created when missing) and returns a client
        /// that owns it: disposing the client disposes the engine.</summary>
        public static async Task<IQuiverClient> OpenEmbeddedAsync(string path, QuiverOptions? options = null, CancellationToken cancellationToken = default)
        {
            var engine = await QuiverEngine.OpenAsync(path, options, cancellationToken).ConfigureAwait(false);
            return new EmbeddedQuiverClient(engine, ownsEngine: true);
        }

        /// <summary>A client over an engine the caller already opened and keeps owning.</summary>
        public static IQuiverClient FromEngine(QuiverEngine engine)
        {
            ArgumentNullException.ThrowIfNull(engine);
            return new EmbeddedQuiverClient(engine, ownsEngine: false);
        }
    }
}
