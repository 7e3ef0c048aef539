using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Tests.Shared.Logging;

/// <summary>One entry written to a <see cref="LogRecorder"/>.</summary>
public sealed record LogEntry(string Source, LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>The entry on one line (the exception's type and message, without its stack trace), for assertion messages.</summary>
    public override string ToString() =>
        $"[{Source}] {Level} {Category}: {Message}{(Exception is null ? string.Empty : $" ({Exception.GetType().Name}: {Exception.Message})")}";
}

/// <summary>
/// Keeps every entry logged, at every level, as data: level, category, event id, formatted message and exception, and
/// the name of the source (a node) it was given. Add it to a host's logging with <see cref="AddTo"/>.
/// </summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries;
    private readonly string _source;

    /// <summary>A recorder of its own.</summary>
    public LogRecorder()
        : this(new ConcurrentQueue<LogEntry>(), string.Empty)
    {
    }

    private LogRecorder(ConcurrentQueue<LogEntry> entries, string source)
    {
        _entries = entries;
        _source = source;
    }

    /// <summary>Every entry so far, in the order written.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>The entries at Error or Critical.</summary>
    public IReadOnlyList<LogEntry> Errors => [.. _entries.Where(e => e.Level >= LogLevel.Error)];

    /// <summary>A provider that writes to this recorder's entries, naming <paramref name="source"/> as theirs.</summary>
    public LogRecorder For(string source) => new(_entries, source);

    /// <summary>Sends every level of <paramref name="services"/>' logging to this recorder (other providers stay).</summary>
    public void AddTo(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(services, logging => logging.AddProvider(this).SetMinimumLevel(LogLevel.Trace));

    /// <summary>The entries, one a line, for assertion messages.</summary>
    public static string Describe(IEnumerable<LogEntry> entries) => string.Join(Environment.NewLine, entries);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Recorder(LogRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(owner._source, logLevel, category, eventId, formatter(state, exception), exception));
    }
}
