namespace Reservations;

/// <summary>The answer of <c>GET /health</c>: the status and the log's head position.</summary>
public sealed record HealthStatus(string Status, long Head);
