using System.Text.Json;
using EventSourcing.Events;
using JasperFx.Events;
using Marten;
using Weasel.Core;

namespace EventSourcing.Marten.Hosting;

/// <summary>What the EventSourcing store needs of Marten's configuration, applied by <see cref="MartenEventSourcingExtensions.UseMarten(EventSourcing.Hosting.EventSourcingBuilder, string, Action{StoreOptions}?)"/>.</summary>
public static class MartenConventions
{
    /// <summary>
    /// String stream keys; quick append; correlation, causation, user and header columns; a unique index on event
    /// ids (so a repeated command is detected in the database); the registry's stable type names; System.Text.Json
    /// with camelCase names, as the EventSourcing serializer reads them.
    /// </summary>
    public static void Apply(StoreOptions options, EventTypeRegistry registry, JsonSerializerOptions serializerOptions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(serializerOptions);
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
        options.Events.MetadataConfig.EnableAll();
        options.Events.MetadataConfig.UserNameEnabled = true;
        options.Events.UseListenNotifyForEventAppends = true;
        options.Events.EnableUniqueIndexOnEventId = true;
        foreach (var (name, type) in registry.Registrations)
        {
            options.Events.MapEventType(type, name);
        }

        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase, json =>
        {
            json.PropertyNameCaseInsensitive = true;
            foreach (var converter in serializerOptions.Converters)
            {
                json.Converters.Add(converter);
            }
        });
    }
}
