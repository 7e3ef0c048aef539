using EventSourcing.Nats.Tests;

[assembly: AssemblyFixture(typeof(NatsFixture))]
