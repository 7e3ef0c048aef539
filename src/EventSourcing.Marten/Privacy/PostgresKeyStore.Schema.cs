using EventSourcing.Marten.Storage;
using JasperFx;
using Marten;
using Microsoft.Extensions.Logging;
using Weasel.Core;
using Weasel.Core.Migrations;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace EventSourcing.Marten.Privacy;

public sealed partial class PostgresKeyStore
{
    /// <summary>The key table as a schema object, for Marten's schema (created and migrated with it).</summary>
    public static Table Table(string schemaName)
    {
        var table = new Table(new PostgresqlObjectName(schemaName, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("subject_id").AsPrimaryKey();
        table.AddColumn("wrapped", "bytea").AllowNulls();
        table.AddColumn<string>("master_key_id").AllowNulls();
        table.AddColumn("created_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        table.AddColumn("forgotten_at", "timestamp with time zone").AllowNulls();
        return table;
    }

    /// <summary>Adds the key table to Marten's schema, so it is created and migrated with everything else.</summary>
    public static void Configure(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Storage.ExtendedSchemaObjects.Add(Table(options.DatabaseSchemaName));
    }

    /// <summary>Creates the schema and the key table, or brings them up to date (a deployment step for a key database of its own).</summary>
    public Task ApplySchemaAsync(CancellationToken cancellationToken) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var connection = _connect();
        await using var disposeConnection = connection.ConfigureAwait(false);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var migration = await SchemaMigration.DetermineAsync(connection, cancellationToken, Table(SchemaName)).ConfigureAwait(false);
        if (migration.Difference != SchemaPatchDifference.None)
        {
            await new PostgresqlMigrator().ApplyAllAsync(connection, migration, AutoCreate.CreateOrUpdate, new SchemaChangeLog(_logger), cancellationToken).ConfigureAwait(false);
        }
    }, cancellationToken);

    /// <summary>Runs <paramref name="apply"/> once, successfully; a failure lets the next caller try again.</summary>
    private static Func<CancellationToken, Task> Once(Func<CancellationToken, Task> apply)
    {
        Task? done = null;
        var gate = new Lock();
        return cancellationToken =>
        {
            lock (gate)
            {
                if (done is null || done.IsFaulted || done.IsCanceled)
                {
                    done = apply(CancellationToken.None);
                }

                return done.WaitAsync(cancellationToken);
            }
        };
    }

    /// <summary>Schema changes to the key table, logged (Weasel's own logger writes them to the console).</summary>
    private sealed partial class SchemaChangeLog(ILogger logger) : IMigrationLogger
    {
        public void SchemaChange(string sql) => LogSchemaChange(logger, sql);

        public void OnFailure(System.Data.Common.DbCommand command, Exception ex) => throw ex;

        public void DestructiveChange(string sql) => LogSchemaChange(logger, sql);

        public void WithheldDrop(string sql)
        {
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Key table schema change: {Sql}")]
        private static partial void LogSchemaChange(ILogger logger, string sql);
    }
}
