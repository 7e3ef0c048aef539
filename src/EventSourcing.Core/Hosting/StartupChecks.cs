using EventSourcing.Privacy;

namespace EventSourcing.Hosting;

/// <summary>
/// What <c>AddEventSourcing</c> checks before the application runs, so that misconfiguration fails at start-up rather
/// than at the first write: every event type of a registered decider has a stored name, and personal data in events and
/// routed commands has a data subject in reach.
/// </summary>
internal static class StartupChecks
{
    public static void Run(EventSourcingBuilder builder)
    {
        foreach (var eventType in builder.DeciderEvents.Distinct())
        {
            builder.Events.RegisterDerivedTypes(eventType);
        }

        var checkedTypes = builder.Events.Registrations.Values.Concat(builder.CommandRoutes.Types.SelectMany(ConcreteTypes)).Distinct();
        var misuses = checkedTypes.SelectMany(PersonalDataJson.Misuses).Distinct(StringComparer.Ordinal).ToArray();
        if (misuses.Length > 0)
        {
            throw new InvalidOperationException($"Personal data is marked where it cannot be protected:{Environment.NewLine}- {string.Join($"{Environment.NewLine}- ", misuses)}");
        }

        var contradictions = builder.Projections
            .Where(r => !r.Projection.ReadsPersonalData)
            .Select(r => (r.Name, Fields: PersonalDataJson.PersonalFields(r.Projection.ViewType)))
            .Where(r => r.Fields.Count > 0)
            .Select(r => $"{r.Name} says it reads no personal data (ReadsPersonalData is false), but its views hold personal fields ({string.Join(", ", r.Fields)}): " +
                "its events are read sealed, so those fields would hold placeholders. Remove the override, or the fields.")
            .ToArray();
        if (contradictions.Length > 0)
        {
            throw new InvalidOperationException($"A projection reads no personal data but keeps some:{Environment.NewLine}- {string.Join($"{Environment.NewLine}- ", contradictions)}");
        }
    }

    /// <summary><paramref name="type"/>, when concrete, and the concrete types derived from it in its assembly.</summary>
    private static IEnumerable<Type> ConcreteTypes(Type type) =>
        type.Assembly.GetTypes().Where(candidate => !candidate.IsAbstract && !candidate.IsInterface && !candidate.ContainsGenericParameters && type.IsAssignableFrom(candidate));
}
