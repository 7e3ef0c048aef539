using EventSourcing.Hosting;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Projections;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Hosting;

/// <summary>
/// Several nodes of one application on one PostgreSQL database, for library-level tests of what must hold across nodes
/// (one appends while another follows the log, forgets a subject or rebuilds). Each node is an independent container
/// configured alike, as <c>UseTestMarten</c> sets up an application: its own Marten document store and connection pool,
/// event store (with its high-water mark and append listener), key store and key cache, idempotency store and hosted
/// services. The nodes share one process, so static state is shared; use separate processes for that.
/// </summary>
/// <example>
/// <code>
/// await using var nodes = await MartenNodes.StartAsync(connectionString, es => ContractEvents.Registry(es.Events));
/// await nodes.A.Store.AppendAsync("stream-1", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, ct);
/// await foreach (var e in nodes.B.Store.SubscribeAllAsync(0, ct)) { ... }
/// </code>
/// </example>
public sealed class MartenNodes : IAsyncDisposable
{
    private readonly List<MartenNode> _nodes;

    private MartenNodes(string connectionString, List<MartenNode> nodes)
    {
        ConnectionString = connectionString;
        _nodes = nodes;
    }

    /// <summary>The database the nodes share (without a node's application name).</summary>
    public string ConnectionString { get; }

    /// <summary>Every node, in the order started: <c>a</c>, <c>b</c>, ...</summary>
    public IReadOnlyList<MartenNode> All => _nodes;

    /// <summary>The first node.</summary>
    public MartenNode A => _nodes[0];

    /// <summary>The second node.</summary>
    public MartenNode B => _nodes[1];

    /// <summary>
    /// Starts <paramref name="count"/> nodes on the database at <paramref name="connectionString"/>, each configured by
    /// <paramref name="configure"/> (events, projections, deciders; the Marten store is added after it) and
    /// <paramref name="services"/> (options such as <c>MartenStoreOptions</c>). Each node connects with the application
    /// name <c>node-a</c>, <c>node-b</c>, ... so that its backends can be told apart in <c>pg_stat_activity</c>.
    /// Hosted services (Marten's async daemon, the key store check) are started only when
    /// <paramref name="startHostedServices"/> is true; the schema is applied by the first operation either way.
    /// </summary>
    public static async Task<MartenNodes> StartAsync(
        string connectionString,
        Action<EventSourcingBuilder> configure,
        Action<IServiceCollection>? services = null,
        int count = 2,
        bool startHostedServices = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var nodes = new List<MartenNode>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var name = $"node-{(char)('a' + i)}";
                var nodeConnection = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = name }.ConnectionString;
                var host = await ProjectionHost.StartAsync(
                    es =>
                    {
                        configure(es);
                        es.UseTestMarten(nodeConnection);
                    },
                    startHostedServices,
                    services);
                nodes.Add(new MartenNode(name, nodeConnection, host));
            }
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.Host.DisposeAsync();
            }

            throw;
        }

        return new MartenNodes(connectionString, nodes);
    }

    /// <summary>The application name a node's container connects with (<c>node-a</c>, ...), for code running inside a node.</summary>
    public static string ApplicationNameOf(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        using var connection = services.GetRequiredService<global::Marten.IDocumentStore>().Storage.Database.CreateConnection();
        return new NpgsqlConnectionStringBuilder(connection.ConnectionString).ApplicationName ?? string.Empty;
    }

    /// <summary>Stops every node (hosted services, then the container), last started first.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            await node.Host.DisposeAsync();
        }
    }
}

/// <summary>One node of <see cref="MartenNodes"/>: an application's container on the shared database.</summary>
public sealed class MartenNode
{
    internal MartenNode(string applicationName, string connectionString, ProjectionHost host)
    {
        ApplicationName = applicationName;
        ConnectionString = connectionString;
        Host = host;
    }

    /// <summary>The node's connection string (the shared database, with the node's application name).</summary>
    public string ConnectionString { get; }

    /// <summary>The application name its connections carry (<c>node-a</c>, ...), as <c>pg_stat_activity</c> shows it.</summary>
    public string ApplicationName { get; }

    /// <summary>The node's container, with its views, rebuilder and verifier.</summary>
    public ProjectionHost Host { get; }

    /// <summary>The node's services.</summary>
    public IServiceProvider Services => Host.Services;

    /// <summary>The node's event store.</summary>
    public IEventStore Store => Host.Store;

    /// <summary>The node's own Marten document store.</summary>
    public IDocumentStore DocumentStore => Services.GetRequiredService<IDocumentStore>();

    /// <summary>The schema of the node's event tables (<c>mt_events</c>, <c>mt_streams</c>, <c>mt_events_sequence</c>).</summary>
    public string EventSchema => DocumentStore.Options.Events.DatabaseSchemaName;

    /// <summary>
    /// What the node's backends are doing now, one line each (pid, state, transaction id, whether a transaction is open,
    /// locks held, wait event, last query): for test output when a node is stalled on purpose.
    /// </summary>
    public async Task<IReadOnlyList<string>> DescribeBackendsAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = "node-inspector" }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            select format('pid %s: %s, xid %s, transaction %s, locks %s, wait %s, query: %s',
                a.pid, a.state, coalesce(a.backend_xid::text, 'none'), case when a.xact_start is null then 'none' else 'open' end,
                coalesce((select string_agg(l.locktype || ' ' || l.mode, ', ') from pg_locks l where l.pid = a.pid and l.locktype <> 'virtualxid'), 'none'),
                coalesce(a.wait_event_type || '/' || a.wait_event, 'none'), left(regexp_replace(a.query, '\s+', ' ', 'g'), 160))
            from pg_stat_activity a where a.datname = current_database() and a.application_name = @name order by a.pid
            """,
            connection);
        command.Parameters.AddWithValue("name", ApplicationName);
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}
