using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Testing.Contracts.Privacy;

/// <summary>
/// Keeps every log line written, at every level: its level, category and event id, the message, every structured value
/// of its state, the exception (with inner exceptions and stack trace), and every scope it was written in with its values.
/// </summary>
public sealed class LogCollector : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    /// <summary>Every line written so far, one string each.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static void Append(StringBuilder line, object? state)
    {
        line.Append(state);
        if (state is IEnumerable<KeyValuePair<string, object?>> values)
        {
            foreach (var (key, value) in values)
            {
                line.Append(' ').Append(key).Append('=').Append(value);
            }
        }
    }

    private sealed class Collector(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder($"{logLevel} {category}[{eventId}]: {formatter(state, exception)} |");
            Append(line, state);
            line.Append(" | ").Append(exception);
            owner._scopes.ForEachScope((scope, builder) => Append(builder.Append(" => "), scope), line);
            owner._lines.Enqueue(line.ToString());
        }
    }
}
