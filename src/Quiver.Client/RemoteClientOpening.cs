using Quiver.Client.Remote;

namespace Quiver.Client;

/// <summary><see cref="QuiverClient"/>'s remote member: an <see cref="IQuiverClient"/> over a Quiver or Milvus server
/// (gRPC). The embedded members come with the engine package (QuiverVec.Engine), which this package does not need.</summary>
public static class RemoteClientOpening
{
    extension(QuiverClient)
    {
        /// <summary>Connects to a Quiver (or Milvus) server over gRPC and checks it with <c>Connect</c>: a wrong address,
        /// refused credentials or an unknown database fail here rather than at the first call.</summary>
        public static async Task<IQuiverClient> ConnectAsync(QuiverClientOptions options, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(options);
            var client = new RemoteQuiverClient(options);
            try
            {
                await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
                return client;
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }
}
