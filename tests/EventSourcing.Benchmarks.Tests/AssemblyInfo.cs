using EventSourcing.Tests.Shared.Postgres;

[assembly: AssemblyFixture(typeof(PostgresFixture))]
