using Microsoft.AspNetCore.Http.Features;

namespace Reservations;

/// <summary>
/// Refuses request bodies over the limit (64 KiB) with 413, whether announced by Content-Length or streamed, and bodies
/// in a charset that does not exist with 415, before anything tries to read them.
/// </summary>
public sealed class RequestBodyLimit(RequestDelegate next)
{
    public const long MaxBytes = 64 * 1024;

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.ContentLength > MaxBytes)
        {
            throw new BadHttpRequestException($"The request body is larger than {MaxBytes / 1024} KiB.", StatusCodes.Status413PayloadTooLarge);
        }

        if (context.Request.ContentType is { } contentType
            && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            && mediaType.Charset.HasValue && !IsKnownCharset(mediaType.Charset.Value))
        {
            throw new BadHttpRequestException("The request body's charset is not supported; send UTF-8.", StatusCodes.Status415UnsupportedMediaType);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = MaxBytes;
        }
        else
        {
            context.Request.Body = new LimitedStream(context.Request.Body);
        }

        return next(context);
    }

    private static bool IsKnownCharset(string? charset)
    {
        try
        {
            return !string.IsNullOrWhiteSpace(charset) && System.Text.Encoding.GetEncoding(charset.Trim('"')) is not null;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private sealed class LimitedStream(Stream inner) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            return _read > MaxBytes
                ? throw new BadHttpRequestException($"The request body is larger than {MaxBytes / 1024} KiB.", StatusCodes.Status413PayloadTooLarge)
                : read;
        }
    }
}
