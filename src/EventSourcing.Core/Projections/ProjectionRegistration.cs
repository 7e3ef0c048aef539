namespace EventSourcing.Projections;

/// <summary>A projection as registered in an application: its lifecycle and what to do with events it cannot project.</summary>
/// <param name="Projection">The projection.</param>
/// <param name="Lifecycle">When its views are brought up to date.</param>
/// <param name="OnPoisonEvent">While following the log: dead-letter and continue, by default.</param>
/// <param name="OnPoisonEventInRebuild">While rebuilding or verifying: stop with a report, by default.</param>
public sealed record ProjectionRegistration(
    IProjection Projection,
    ProjectionLifecycle Lifecycle,
    PoisonEventPolicy OnPoisonEvent = PoisonEventPolicy.DeadLetter,
    PoisonEventPolicy OnPoisonEventInRebuild = PoisonEventPolicy.Stop)
{
    /// <summary>The projection's name.</summary>
    public string Name => Projection.Name;
}
