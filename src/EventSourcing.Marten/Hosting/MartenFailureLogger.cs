using EventSourcing.Marten.Storage;
using Marten;
using Marten.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Hosting;

/// <summary>
/// The Marten logger that <c>UseMarten</c> installs over Marten's default one. Marten reports a failed command to its
/// logger as an error, once per statement of the failed batch and once more for the batch, each with the whole
/// exception. Most of what fails on this store is expected and handled by the caller: a concurrency conflict (the
/// decider handler decides again; an append with an expected version refuses it), a repeated command's events, a
/// cancelled operation, a database that is unavailable (the store answers <see cref="EventSourcing.Storage.EventStoreUnavailableException"/>).
/// Those are logged once at Debug. Any other failure is logged once at Error, with its exception and the failed
/// statement's SQL (never the parameter values). Successes, schema changes and saved changes go to Marten's logger.
/// </summary>
internal sealed partial class MartenFailureLogger(IMartenLogger inner, ILogger logger) : IMartenLogger
{
    /// <summary>What a failure is, when the library expects and handles it; <see langword="null"/> for a real failure.</summary>
    internal static string? HandledCondition(Exception exception)
    {
        if (MartenErrors.IsConflict(exception))
        {
            return "a concurrency conflict";
        }

        if (MartenErrors.IsDuplicateEventId(exception))
        {
            return "events already stored (a repeated command)";
        }

        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is OperationCanceledException)
            {
                return "a cancelled operation";
            }
        }

        return MartenErrors.IsUnavailable(exception) ? "an unavailable database" : null;
    }

    /// <summary>
    /// Replaces the registration of Marten's document store in <paramref name="services"/> by one that wraps the logger
    /// Marten installs by default in this logger. A logger set in the store's options is kept as it is.
    /// </summary>
    internal static void Install(IServiceCollection services)
    {
        var index = -1;
        for (var i = services.Count - 1; i >= 0 && index < 0; i--)
        {
            if (services[i] is { ServiceType: var type, IsKeyedService: false } && type == typeof(IDocumentStore))
            {
                index = i;
            }
        }

        if (index < 0 || services[index].ImplementationFactory is not { } create)
        {
            return;
        }

        services[index] = ServiceDescriptor.Singleton<IDocumentStore>(provider =>
        {
            var options = provider.GetRequiredService<StoreOptions>();
            var configured = options.Logger();
            var store = (IDocumentStore)create(provider);
            if (!ReferenceEquals(options.Logger(), configured))
            {
                // Marten put its default logger in place of none: every session created from now on reports through this one.
                options.Logger(new MartenFailureLogger(options.Logger(), provider.GetService<ILogger<IDocumentStore>>() ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
            }

            return store;
        });
    }

    /// <inheritdoc />
    public IMartenSessionLogger StartSession(IQuerySession session) => new Session(inner.StartSession(session), logger);

    /// <inheritdoc />
    public void SchemaChange(string sql) => inner.SchemaChange(sql);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Marten command failed with {Condition}, which the caller handles: {Reason}")]
    private static partial void LogHandled(ILogger logger, string condition, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marten command failed: {Sql}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string sql);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marten failed: {Reason}")]
    private static partial void LogFailedMessage(ILogger logger, Exception exception, string reason);

    /// <summary>A session's logger: failures reported here, the rest by Marten's.</summary>
    private sealed class Session(IMartenSessionLogger inner, ILogger logger) : IMartenSessionLogger
    {
        private Exception? _reported;

        public void LogSuccess(NpgsqlCommand command) => inner.LogSuccess(command);

        public void LogSuccess(NpgsqlBatch batch) => inner.LogSuccess(batch);

        public void LogFailure(NpgsqlCommand command, Exception ex) => Report(ex, command.CommandText, message: null);

        public void LogFailure(NpgsqlBatch batch, Exception ex) => Report(ex, FailedStatement(batch, ex), message: null);

        public void LogFailure(Exception ex, string message) => Report(ex, sql: null, message);

        public void RecordSavedChanges(IDocumentSession session, IChangeSet commit) => inner.RecordSavedChanges(session, commit);

        public void OnBeforeExecute(NpgsqlCommand command) => inner.OnBeforeExecute(command);

        public void OnBeforeExecute(NpgsqlBatch batch) => inner.OnBeforeExecute(batch);

        /// <summary>The statement of <paramref name="batch"/> that failed, as the server said; all of them when it did not say.</summary>
        private static string FailedStatement(NpgsqlBatch batch, Exception exception)
        {
            for (var current = exception; current is not null; current = current.InnerException)
            {
                if (current is NpgsqlException { BatchCommand.CommandText: { Length: > 0 } text })
                {
                    return text;
                }
            }

            return string.Join(Environment.NewLine, batch.BatchCommands.Select(static (NpgsqlBatchCommand command) => command.CommandText));
        }

        /// <summary>Whether one of <paramref name="first"/> and <paramref name="second"/> is, or wraps, the other.</summary>
        private static bool Same(Exception first, Exception second)
        {
            for (var current = first; current is not null; current = current.InnerException)
            {
                if (ReferenceEquals(current, second))
                {
                    return true;
                }
            }

            for (var current = second; current is not null; current = current.InnerException)
            {
                if (ReferenceEquals(current, first))
                {
                    return true;
                }
            }

            return false;
        }

        private void Report(Exception exception, string? sql, string? message)
        {
            // Marten reports a failed batch, then the same failure (wrapped or not) for the unit of work: once is enough.
            if (_reported is not null && Same(_reported, exception))
            {
                return;
            }

            _reported = exception;
            if (HandledCondition(exception) is { } condition)
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    var reason = exception.GetBaseException().Message;
                    LogHandled(logger, condition, reason);
                }
            }
            else if (message is not null)
            {
                LogFailedMessage(logger, exception, message);
            }
            else
            {
                LogFailed(logger, exception, sql is { Length: > 0 } ? sql : "(the unit of work)");
            }
        }
    }
}
