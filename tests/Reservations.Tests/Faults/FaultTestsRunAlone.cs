namespace Reservations.Tests.Faults;

/// <summary>
/// The fault tests run one at a time, and no other test of this assembly runs beside them: each drives a sample process
/// under load and bounds its answers' latency (the request deadline and a margin), which on a 2-core machine a second
/// loaded sample beside it would measure as much as the fault itself.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultTestsRunAlone
{
    public const string Name = "Faults under load";
}
