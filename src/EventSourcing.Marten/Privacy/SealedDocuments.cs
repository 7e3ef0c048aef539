using EventSourcing.Privacy;
using Marten;

namespace EventSourcing.Marten.Privacy;

/// <summary>
/// Reads documents whose JSON may hold sealed personal values (views, snapshots) without blocking on a key: the JSON
/// first, then the keys of the subjects it names, loaded asynchronously in one pass, then the documents. Marten's own
/// load would deserialize at once, and a converter needing a key not yet cached would fetch it with blocking I/O.
/// </summary>
internal static class SealedDocuments
{
    /// <summary>The document of type <typeparamref name="T"/> with <paramref name="id"/>, or null.</summary>
    public static async Task<T?> LoadAsync<T>(IQuerySession session, PersonalDataProtector protector, string id, CancellationToken cancellationToken)
        where T : class
    {
        using var json = new MemoryStream();
        if (!await session.Json.StreamById<T>(id, json, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return await ReadAsync<T>(session, protector, json, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The documents <paramref name="query"/> selects, in its order.</summary>
    public static async Task<IReadOnlyList<T>> QueryAsync<T>(IQuerySession session, PersonalDataProtector protector, IQueryable<T> query, CancellationToken cancellationToken)
        where T : class
    {
        using var json = new MemoryStream();
        await query.StreamJsonArray(json, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<T>>(session, protector, json, cancellationToken).ConfigureAwait(false) ?? [];
    }

    private static async Task<T?> ReadAsync<T>(IQuerySession session, PersonalDataProtector protector, MemoryStream json, CancellationToken cancellationToken)
    {
        await protector.PrepareReadAsync([json.GetBuffer().AsMemory(0, (int)json.Length)], cancellationToken).ConfigureAwait(false);
        json.Position = 0;
        return await session.DocumentStore.Options.Serializer().FromJsonAsync<T>(json, cancellationToken).ConfigureAwait(false);
    }
}
