using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Storage;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Adoption;

public sealed class CommandSenderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static ServiceProvider Build(Action<EventSourcingBuilder>? configure = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddEventSourcing(es =>
        {
            es.AddDecider(LedgerDecider.Decider, routes => routes
                .On<LedgerCommand>(c => LedgerDecider.StreamOf(c.LedgerId))
                .On<Audit>(c => LedgerDecider.StreamOf(c.AuditedLedger)));
            configure?.Invoke(es);
        });
        collection.AddValidatorsFromAssemblyContaining<DepositValidator>(ServiceLifetime.Singleton);
        collection.AddSingleton<BehaviorCalls>();
        collection.AddSingleton(typeof(IPipelineBehavior<,>), typeof(RecordingBehavior<,>));
        services?.Invoke(collection);
        return collection.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }

    [Fact]
    public async Task Commands_reach_their_decider_through_routes_without_a_handler_class()
    {
        using var provider = Build();
        var sender = provider.GetRequiredService<ICommandSender>();

        await sender.SendAsync(new OpenLedger("a", Guid.NewGuid(), "Ada"), Ct);
        await sender.SendAsync(new Deposit("a", 30, DateTimeOffset.UnixEpoch), Ct);
        var result = await sender.SendAsync(new Deposit("a", 12, DateTimeOffset.UnixEpoch), Ct);

        Assert.Equal(("ledger-a", 3L, 1), (result.StreamId, result.StreamVersion, result.AppendedEvents));
        var events = await provider.GetRequiredService<IEventStore>().ReadStreamAsync("ledger-a", 1, Ct).ToListAsync(Ct);
        Assert.Equal(["ledger-opened.v1", "ledger-deposited.v2", "ledger-deposited.v2"], events.Select(e => e.EventType));
        Assert.Equal(42, ((Deposited)events[^1].Data).Balance);
    }

    [Fact]
    public async Task A_route_on_a_derived_type_wins_over_its_bases()
    {
        using var provider = Build();
        var result = await provider.GetRequiredService<ICommandSender>().SendAsync(new Audit("b"), Ct);
        Assert.Equal("ledger-b", result.StreamId);
    }

    [Fact]
    public async Task Commands_run_through_validation_and_the_applications_own_behaviours_in_registration_order()
    {
        using var provider = Build();
        var sender = provider.GetRequiredService<ICommandSender>();
        var calls = provider.GetRequiredService<BehaviorCalls>();

        var refused = await Assert.ThrowsAsync<CommandValidationException>(() => sender.SendAsync(new Deposit("c", 0, DateTimeOffset.UnixEpoch), Ct));
        Assert.Contains("Amount", refused.Errors.Keys);
        Assert.Empty(calls.Seen); // validation runs first: the application's behaviour never saw the invalid command
        Assert.False(await provider.GetRequiredService<IEventStore>().ReadStreamAsync("ledger-c", 1, Ct).AnyAsync(Ct));

        await sender.SendAsync(new Deposit("c", 5, DateTimeOffset.UnixEpoch), Ct);
        Assert.Equal([nameof(Deposit)], calls.Seen);
    }

    [Fact]
    public async Task An_idempotent_command_sent_again_returns_its_first_result_even_when_ignored_values_differ()
    {
        using var provider = Build();
        var sender = provider.GetRequiredService<ICommandSender>();
        var id = Guid.NewGuid();

        var first = await sender.SendAsync(new Deposit("d", 7, DateTimeOffset.UnixEpoch) { CommandId = id }, Ct);
        var again = await sender.SendAsync(new Deposit("d", 7, DateTimeOffset.UnixEpoch.AddMinutes(3)) { CommandId = id }, Ct);
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => sender.SendAsync(new Deposit("d", 8, DateTimeOffset.UnixEpoch) { CommandId = id }, Ct));

        Assert.Equal(first, again);
        var events = await provider.GetRequiredService<IEventStore>().ReadStreamAsync("ledger-d", 1, Ct).ToListAsync(Ct);
        var only = Assert.Single(events);
        Assert.Equal(id, only.Metadata.CommandId);
    }

    [Fact]
    public async Task Metadata_given_by_the_caller_is_stamped_and_the_commands_id_fills_in_its_command_id()
    {
        using var provider = Build();
        var id = Guid.NewGuid();
        await provider.GetRequiredService<ICommandSender>().SendAsync(
            new Deposit("e", 1, DateTimeOffset.UnixEpoch) { CommandId = id }, new EventMetadata { CorrelationId = "flow-1", User = "teller" }, Ct);

        var stored = await provider.GetRequiredService<IEventStore>().ReadStreamAsync("ledger-e", 1, Ct).SingleAsync(Ct);
        Assert.Equal((id, "flow-1", "teller"), (stored.Metadata.CommandId!.Value, stored.Metadata.CorrelationId, stored.Metadata.User));
    }

    [Fact]
    public async Task A_versioned_command_applies_only_at_the_version_it_expects()
    {
        using var provider = Build();
        var sender = provider.GetRequiredService<ICommandSender>();
        await sender.SendAsync(new Deposit("f", 1, DateTimeOffset.UnixEpoch), Ct);
        await sender.SendAsync(new Deposit("f", 1, DateTimeOffset.UnixEpoch), Ct);

        var stale = await Assert.ThrowsAsync<UnexpectedStreamVersionException>(() => sender.SendAsync(new CloseLedger("f") { ExpectedVersion = 1 }, Ct));
        Assert.Equal(2, stale.ActualVersion);
        var closed = await sender.SendAsync(new CloseLedger("f") { ExpectedVersion = 2 }, Ct);
        Assert.Equal(3, closed.StreamVersion);
    }

    [Fact]
    public async Task A_command_without_a_route_is_refused_with_how_to_route_it()
    {
        using var provider = Build();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<ICommandSender>().SendAsync(new Unrouted("x"), Ct));
        Assert.Contains("No decider handles command Unrouted", error.Message, StringComparison.Ordinal);
        Assert.Contains("routes.On<Unrouted>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_routed_by_two_deciders_is_a_start_up_error()
    {
        var error = Assert.Throws<ArgumentException>(() => Build(es => es.AddDecider(LedgerDecider.Decider, routes => routes.On<LedgerCommand>(c => c.LedgerId))));
        Assert.Contains("LedgerCommand is routed by two deciders", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Build(es => es.AddDecider(LedgerDecider.Decider, routes => routes.On<Deposit>(c => c.LedgerId).On<Deposit>(c => c.LedgerId))));
    }

    [Fact]
    public void Event_types_are_named_by_their_attribute_with_aliases_read()
    {
        using var provider = Build();
        var registry = provider.GetRequiredService<EventTypeRegistry>();
        Assert.Equal("ledger-deposited.v2", registry.GetName(typeof(Deposited)));
        Assert.Equal(typeof(Deposited), registry.GetType("ledger-deposited.v1"));

        // An event stored under the old name reads as the new type.
        var serializer = provider.GetRequiredService<IEventSerializer>();
        var read = serializer.Deserialize("ledger-deposited.v1", """{"amount":3,"balance":3,"at":"2026-01-01T00:00:00Z"}"""u8);
        Assert.Equal(new Deposited(3, 3, DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)), read.Data);
    }

    [Fact]
    public async Task LoadAsync_gives_a_streams_state_version_and_position_with_or_without_snapshots()
    {
        foreach (var snapshotEvery in new[] { 0, 2 })
        {
            // Without the state cache, which a load asks before the snapshot store.
            using var provider = Build(es => es.ConfigureCommands(options => (options.SnapshotEvery, options.CachedStreams) = (snapshotEvery, 0)));
            var sender = provider.GetRequiredService<ICommandSender>();
            await sender.SendAsync(new Deposit("other", 1, DateTimeOffset.UnixEpoch), Ct);
            for (var i = 1; i <= 5; i++)
            {
                await sender.SendAsync(new Deposit("g", i, DateTimeOffset.UnixEpoch), Ct);
            }

            var handler = provider.GetRequiredService<DeciderHandler<LedgerCommand, LedgerEvent, Ledger>>();
            var loaded = await handler.LoadAsync("ledger-g", Ct);
            var head = await provider.GetRequiredService<IEventStore>().ReadStreamAsync("ledger-g", 1, Ct).LastAsync(Ct);

            Assert.Equal((new Ledger(false, 15, false), 5L, head.Position, true), (loaded.State, loaded.Version, loaded.Position, loaded.Exists));
            if (snapshotEvery > 0)
            {
                // The load starts from the latest snapshot (version 4 here): a newer one that says otherwise shows through.
                var snapshots = provider.GetRequiredService<ISnapshotStore>();
                var snapshot = await snapshots.LoadAsync<Ledger>("ledger-g", Ct);
                Assert.Equal(4, snapshot!.Version);
                await snapshots.SaveAsync("ledger-g", new Snapshot<Ledger>(new Ledger(false, 1_000, false), 5, head.Position), Ct);
                Assert.Equal(1_000, (await handler.LoadAsync("ledger-g", Ct)).State.Balance);
            }

            var none = await handler.LoadAsync("ledger-none", Ct);
            Assert.Equal((LedgerDecider.Decider.Initial, 0L, 0L, false), (none.State, none.Version, none.Position, none.Exists));
        }
    }

    public sealed class BehaviorCalls
    {
        public List<string> Seen { get; } = [];
    }

    public sealed class RecordingBehavior<TMessage, TResponse>(BehaviorCalls calls) : IPipelineBehavior<TMessage, TResponse>
        where TMessage : IMessage
    {
        public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
        {
            lock (calls.Seen)
            {
                calls.Seen.Add(typeof(TMessage).Name);
            }

            return next(message, cancellationToken);
        }
    }
}
