using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;

namespace Quiver.Server.Rest;

/// <summary>
/// Reads and checks a REST v2 request body. The size limit is enforced while reading: a declared
/// <c>Content-Length</c> above it is refused before a byte is read, a chunked body as soon as the bytes received pass
/// it, so no more than the limit is ever buffered. Every byte held counts against the server-wide in-flight budget
/// (<see cref="InFlightBytes"/>) until the request ends. The bytes must be valid UTF-8, well-formed JSON nesting at most
/// <see cref="MaxDepth"/> levels with no key twice in one object, and an object at the top; the parse checks all of it,
/// and a refused body is walked once more to name the problem and where it is. Each problem answers Milvus's code 1801.
/// </summary>
internal static class RestBody
{
    /// <summary>Deepest nesting of objects and arrays a body may have (the top-level object is depth 1).</summary>
    public const int MaxDepth = 64;

    /// <summary>The setting that holds the body size limit, for messages.</summary>
    public const string LimitSetting = "Security:MaxMessageBytes";

    /// <summary>First read size for a body of unknown length; the buffer doubles as bytes arrive, up to the limit.</summary>
    private const int FirstChunk = 16 * 1024;

    /// <summary>Reads the body of <paramref name="http"/> into a buffer of at most <paramref name="maxBytes"/> bytes,
    /// holding its size in <paramref name="lease"/>. Throws <see cref="MilvusException"/>: 1102 for a body over the
    /// limit, 4 (retriable) when the server's in-flight budget cannot hold it, 1801 for a body shorter than its
    /// <c>Content-Length</c> or one Kestrel cannot read.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContext http, int maxBytes, InFlightLease lease)
    {
        var (buffer, length, _) = await ReadBytesAsync(http, maxBytes, lease).ConfigureAwait(false);
        return buffer.AsMemory(0, length);
    }

    /// <summary>The largest body read into a buffer from the shared pool by <see cref="ReadPooledAsync"/>; a larger one
    /// gets an array of its own, as <see cref="ReadAsync"/> gives it, so that the pool never keeps a large buffer alive.</summary>
    public const int MaxPooledBytes = 1 << 20;

    /// <summary>As <see cref="ReadAsync"/>, into a buffer rented from the shared pool (when the body is at most
    /// <see cref="MaxPooledBytes"/>), which <see cref="PooledBody.Dispose"/> returns together with the parsed document's
    /// own pooled storage. For endpoints that keep nothing of the body past the request: once disposed, the bytes, and
    /// every <see cref="JsonElement"/> and node over them, belong to the next request.</summary>
    public static async Task<PooledBody> ReadPooledAsync(HttpContext http, int maxBytes, InFlightLease lease)
    {
        var (buffer, length, rented) = await ReadBytesAsync(http, maxBytes, lease, pooled: true).ConfigureAwait(false);
        return new PooledBody(buffer, length, rented);
    }

    /// <summary>Checks and parses a body read by <see cref="ReadAsync"/>: 1801 for a body that is empty or not a
    /// well-formed JSON object within the limits above. Returns the top-level object, over the body's bytes.</summary>
    public static JsonElement Parse(ReadOnlyMemory<byte> body) => ParseDocument(body).RootElement;

    /// <summary>As <see cref="Parse"/>, returning the document (whose <see cref="JsonDocument.RootElement"/> is an
    /// object), so that a caller that knows when the request ends can dispose it.</summary>
    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            throw Format("the request body is empty; send a JSON object ({} is valid)");
        }
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            Check(body.Span);
        }
        JsonDocument document;
        try
        {
            // One pass: the parser refuses duplicate keys and nesting past the limit itself. The document keeps the
            // buffer (no copy). Through Parse it is never disposed, so nothing it rented goes back to a pool while the
            // nodes built over it are still in use; a PooledBody disposes it when its request has ended.
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            // Only a refused body pays for the second pass, which names the problem and where it is.
            Check(body.Span);
            throw Malformed(e);
        }
        catch (InvalidOperationException)
        {
            // The duplicate-key check unescapes every member name; an escaped lone surrogate ("\uD83D") in one cannot
            // be unescaped (JSON's grammar allows it, no string holds it).
            throw Format("a member name holds an unpaired UTF-16 surrogate escape, which is not a valid string");
        }
        var root = document.RootElement;
        if (root.ValueKind is not JsonValueKind.Object and var kind)
        {
            document.Dispose();
            throw Format($"the request body must be a JSON object, got {kind.ToString().ToLowerInvariant()}");
        }
        return document;
    }

    /// <summary>Too large: Milvus's code 1102, naming the limit and the setting that raises it.</summary>
    public static MilvusException TooLarge(long size, int maxBytes, bool declared) => new(MilvusCode.ParameterTooLarge,
        string.Create(CultureInfo.InvariantCulture,
            $"request body too large: {(declared ? $"Content-Length {size} bytes" : $"more than {maxBytes} bytes sent")} exceeds the limit of {maxBytes} bytes; send smaller batches, or raise the limit with {LimitSetting}"));

    private static async Task<(byte[] Buffer, int Length, bool Rented)> ReadBytesAsync(HttpContext http, int maxBytes, InFlightLease lease,
        bool pooled = false)
    {
        var declared = http.Request.ContentLength;
        if (declared > maxBytes)
        {
            throw TooLarge(declared.Value, maxBytes, declared: true);
        }
        var ct = http.RequestAborted;
        var body = http.Request.Body;
        // A declared length is read into an array of exactly that size; an unknown one grows by doubling, never past
        // the limit plus the one byte that shows it was passed. The budget is asked before each allocation.
        // A pooled read rents its buffers (a rented array may be longer than asked: only the asked size is read into
        // and held against the budget), and hands a failed read's buffer back.
        pooled &= declared is not > MaxPooledBytes;
        var initial = declared is { } size ? (int)size : Math.Min(FirstChunk, maxBytes + 1);
        lease.Reserve(initial);
        var capacity = initial;
        var buffer = Allocate(initial, pooled);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == capacity)
                {
                    if (declared is not null || length > maxBytes)
                    {
                        break;
                    }
                    var grown = (int)Math.Min((long)capacity * 2, (long)maxBytes + 1);
                    lease.Reserve(grown - capacity);
                    var larger = Allocate(grown, grown <= MaxPooledBytes && pooled);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    Release(buffer, pooled);
                    pooled &= grown <= MaxPooledBytes;
                    buffer = larger;
                    capacity = grown;
                }
                int read;
                try
                {
                    read = await body.ReadAsync(buffer.AsMemory(length, capacity - length), ct).ConfigureAwait(false);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    throw TooLarge(length, maxBytes, declared: false);
                }
                catch (BadHttpRequestException e)
                {
                    throw Format($"the request body could not be read: {e.Message}");
                }
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > maxBytes)
                {
                    throw TooLarge(length, maxBytes, declared: false);
                }
            }
            if (declared is { } expected && length < expected)
            {
                throw Format(string.Create(CultureInfo.InvariantCulture, $"the request body ended after {length} of the {expected} bytes its Content-Length declares"));
            }
            return (buffer, length, pooled);
        }
        catch
        {
            Release(buffer, pooled);
            throw;
        }
    }

    /// <summary>A buffer of at least <paramref name="size"/> bytes: rented when <paramref name="pooled"/>, else its own
    /// array of exactly that size.</summary>
    private static byte[] Allocate(int size, bool pooled) => pooled ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];

    /// <summary>Hands <paramref name="buffer"/> back to the pool when it was <paramref name="rented"/> from it; an array
    /// of its own is left to the GC.</summary>
    internal static void Release(byte[] buffer, bool rented)
    {
        if (rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One pass over the bytes: UTF-8, nesting depth and duplicate keys, with the byte offset of the first
    /// problem. Malformed JSON is reported with its line and position.</summary>
    private static void Check(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw Format(string.Create(CultureInfo.InvariantCulture,
                $"the request body is not valid UTF-8 (first bad byte at offset {FirstInvalidUtf8(json)}); JSON text must be UTF-8"));
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth + 1 });
        // Keys seen in each open object, innermost last; sets are reused across objects at the same depth.
        var keys = new List<HashSet<string>>();
        var open = 0;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (reader.CurrentDepth + 1 > MaxDepth)
                        {
                            throw Format(string.Create(CultureInfo.InvariantCulture,
                                $"the request body nests objects and arrays deeper than the limit of {MaxDepth} levels (at byte offset {reader.TokenStartIndex})"));
                        }
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            if (keys.Count == open)
                            {
                                keys.Add(new HashSet<string>(StringComparer.Ordinal));
                            }
                            keys[open++].Clear();
                        }
                        break;
                    case JsonTokenType.EndObject:
                        open--;
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        if (!keys[open - 1].Add(name))
                        {
                            throw Format(string.Create(CultureInfo.InvariantCulture,
                                $"the request body has the key '{Shorten(name)}' twice in one object (second at byte offset {reader.TokenStartIndex}); each key may appear once"));
                        }
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw Malformed(e);
        }
    }

    private static long FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != OperationStatus.Done)
            {
                return offset;
            }
            offset += consumed;
        }
        return offset;
    }

    private static string Shorten(string name) => Utf16Text.Clip(name, 64);

    private static MilvusException Malformed(JsonException e) => Format(string.Create(CultureInfo.InvariantCulture,
        $"the request body is not valid JSON at line {(e.LineNumber ?? 0) + 1}, position {(e.BytePositionInLine ?? 0) + 1}"));

    private static MilvusException Format(string problem) =>
        new(MilvusCode.IncorrectParameterFormat, "invalid parameter format: " + problem);
}

/// <summary>
/// A request body in a buffer from the shared pool (<see cref="RestBody.ReadPooledAsync"/>) and, once parsed, its
/// document. <see cref="Dispose"/>, when the request has ended, returns both to their pools; nothing read over them may be
/// used after it.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    private byte[]? _buffer;
    private readonly bool _rented;
    private JsonDocument? _document;

    internal PooledBody(byte[] buffer, int length, bool rented)
    {
        _buffer = buffer;
        _rented = rented;
        Memory = buffer.AsMemory(0, length);
    }

    /// <summary>The body's bytes.</summary>
    public ReadOnlyMemory<byte> Memory { get; }

    /// <summary>Parses the body as <see cref="RestBody.Parse"/> does and keeps the document for <see cref="Dispose"/>.</summary>
    public JsonElement Parse()
    {
        _document = RestBody.ParseDocument(Memory);
        return _document.RootElement;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _document?.Dispose();
        _document = null;
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            RestBody.Release(buffer, _rented);
        }
    }
}
