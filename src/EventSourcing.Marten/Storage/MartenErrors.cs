using System.Net.Sockets;
using EventSourcing.Storage;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>Turns Marten and Npgsql errors into the store contract's errors.</summary>
internal static class MartenErrors
{
    private const string StreamVersionIndex = "pk_mt_events_stream_and_version";
    private const string EventIdIndex = "idx_mt_events_event_id";

    /// <summary>The error quick append's function raises when the stream's version is not the one expected.</summary>
    private const string StreamVersionMismatch = "MT003";

    /// <summary>
    /// Whether <paramref name="exception"/> says another writer changed the stream first: Marten's exceptions for it, and
    /// the server's errors they are made from (as Marten's logger sees them, before Marten transforms them): the quick
    /// append's version mismatch, a unique violation on the stream and version of <c>mt_events</c>, or on <c>mt_streams</c>
    /// when two writers start the same stream.
    /// </summary>
    public static bool IsConflict(Exception exception) => exception switch
    {
        JasperFx.Events.ExistingStreamIdCollisionException or global::Marten.Exceptions.ExistingStreamIdCollisionException
            or JasperFx.Events.StreamLockedException or global::Marten.Exceptions.StreamLockedException => true,
        JasperFx.ConcurrencyException => true, // EventStreamUnexpectedMaxEventIdException among them
        _ => Postgres(exception) switch
        {
            { SqlState: StreamVersionMismatch } => true,
            { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: { } name } when name.Contains("stream_id_version", StringComparison.Ordinal) || name == StreamVersionIndex => true,
            { SqlState: PostgresErrorCodes.UniqueViolation, TableName: "mt_streams" } => true,
            _ => false,
        },
    };

    /// <summary>Whether <paramref name="exception"/> says events with these ids are already stored: a repeated command.</summary>
    public static bool IsDuplicateEventId(Exception exception) =>
        Postgres(exception) is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: { } name }
        && (name == EventIdIndex || name.EndsWith("_id_idx", StringComparison.Ordinal) && !name.Contains("version", StringComparison.Ordinal));

    /// <summary>Whether <paramref name="exception"/> is a lost or refused connection, a shutdown or a timeout.</summary>
    public static bool IsUnavailable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case PostgresException postgres:
                    return postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                        or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
                        or PostgresErrorCodes.ConnectionException or PostgresErrorCodes.ConnectionFailure
                        or PostgresErrorCodes.SqlClientUnableToEstablishSqlConnection;
                case NpgsqlException { IsTransient: true }:
                case SocketException:
                case TimeoutException:
                case System.IO.IOException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="exception"/> says a table or function of the schema does not exist.</summary>
    private static bool IsMissingSchema(Exception exception) =>
        Postgres(exception)?.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedFunction;

    /// <summary>What a missing schema of the event store's database is, and how to apply it.</summary>
    public const string EventStoreSchema =
        "The event store's schema is missing or out of date in this database ({0}). " +
        "Apply it ahead of time (IDocumentStore.Storage.ApplyAllConfiguredChangesToDatabaseAsync(), see docs/marten.md), " +
        "or let it be created at run time (AutoCreateSchemaObjects other than None).";

    private static InvalidOperationException MissingSchema(Exception exception, string? missingSchema) =>
        new(string.Format(System.Globalization.CultureInfo.InvariantCulture, missingSchema ?? EventStoreSchema, Postgres(exception)?.MessageText), exception);

    /// <summary>
    /// Runs <paramref name="operation"/> on the database: a lost or refused connection, a shutdown or a timeout becomes
    /// <see cref="EventStoreUnavailableException"/> (what the API answers 503 to), a missing schema its clear error.
    /// Cancelled, it stops waiting at once: Npgsql cancels a command by asking the server, so against a server that
    /// hangs a cancelled command would only end at its command timeout, then the connect timeout of the cancel request.
    /// The operation is left to end on its own (its connection is then dropped); whoever cancelled moves on. The
    /// operation gets its own token, cancelled from <see cref="CancellationRelay"/>'s thread when
    /// <paramref name="cancellationToken"/> is: the thread that cancels never waits for Npgsql's cancel request.
    /// <paramref name="missingSchema"/> says what is missing and how to apply it (<c>{0}</c>: the server's message);
    /// by default the event store's schema (<see cref="EventStoreSchema"/>).
    /// </summary>
    public static async Task<T> GuardAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken, string? missingSchema = null)
    {
        var relayed = CancellationRelay.Relay(cancellationToken);
        Task<T>? running = null;
        try
        {
            running = operation(relayed.Token);
            return await running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (running is { IsCompleted: false })
        {
            _ = running.ContinueWith(static abandoned => abandoned.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
        catch (Exception exception) when (exception is not (OperationCanceledException or EventStoreUnavailableException) && IsUnavailable(exception))
        {
            throw Unavailable(exception);
        }
        catch (Exception exception) when (IsMissingSchema(exception))
        {
            throw MissingSchema(exception, missingSchema);
        }
        finally
        {
            if (running is null || running.IsCompleted)
            {
                relayed.Dispose();
            }
            else
            {
                // Abandoned: its cancellation is relayed until it has ended.
                _ = running.ContinueWith(static (_, state) => ((IDisposable)state!).Dispose(), relayed, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
        }
    }

    /// <inheritdoc cref="GuardAsync{T}(Func{CancellationToken, Task{T}}, CancellationToken, string)"/>
    public static Task<T> GuardAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken, string? missingSchema = null) =>
        GuardAsync(_ => operation(), cancellationToken, missingSchema);

    /// <inheritdoc cref="GuardAsync{T}(Func{CancellationToken, Task{T}}, CancellationToken, string)"/>
    public static Task GuardAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken, string? missingSchema = null) => GuardAsync(
        async token =>
        {
            await operation(token).ConfigureAwait(false);
            return true;
        },
        cancellationToken,
        missingSchema);

    /// <inheritdoc cref="GuardAsync{T}(Func{CancellationToken, Task{T}}, CancellationToken, string)"/>
    public static Task GuardAsync(Func<Task> operation, CancellationToken cancellationToken, string? missingSchema = null) =>
        GuardAsync(_ => operation(), cancellationToken, missingSchema);

    private static EventStoreUnavailableException Unavailable(Exception exception) =>
        new($"The PostgreSQL event store is unavailable: {exception.GetBaseException().Message}", exception);

    private static PostgresException? Postgres(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is PostgresException postgres)
            {
                return postgres;
            }
        }

        return null;
    }
}
