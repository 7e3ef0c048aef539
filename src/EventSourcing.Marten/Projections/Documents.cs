namespace EventSourcing.Marten.Projections;

/// <summary>How a projected view is stored in Marten: one document per projection, generation and view id.</summary>
/// <typeparam name="TView">The view type.</typeparam>
public sealed class ViewDocument<TView>
    where TView : class
{
    /// <summary><c>{projection}/{generation}/{view id}</c>.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The projection's name.</summary>
    public string Projection { get; set; } = string.Empty;

    /// <summary>The generation the view belongs to.</summary>
    public int Generation { get; set; }

    /// <summary>The view's id within the projection.</summary>
    public string ViewId { get; set; } = string.Empty;

    /// <summary>The global position of the last event applied to the view.</summary>
    public long Position { get; set; }

    /// <summary>The view, or null once an event deleted it.</summary>
    public TView? View { get; set; }

    internal static string DocumentId(string projection, int generation, string viewId) => $"{projection}/{generation}/{viewId}";
}

/// <summary>A projection's generations: which serves, which is building, which number comes next.</summary>
public sealed class ProjectionGenerations
{
    /// <summary>The projection's name.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The generation readers see.</summary>
    public int Serving { get; set; } = 1;

    /// <summary>The generation a rebuild is writing, if any.</summary>
    public int? Building { get; set; }

    /// <summary>The next generation number to hand out.</summary>
    public int NextGeneration { get; set; } = 2;
}

/// <summary>The position one generation of a projection has reached.</summary>
public sealed class GenerationCheckpoint
{
    /// <summary><c>{projection}/{generation}</c>.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The position reached.</summary>
    public long Position { get; set; }

    internal static string DocumentId(string projection, int generation) => $"{projection}/{generation}";
}

/// <summary>An event a projection failed on.</summary>
public sealed class DeadLetterDocument
{
    /// <summary><c>{projection}/{position}</c>.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The projection's name.</summary>
    public string Projection { get; set; } = string.Empty;

    /// <summary>The event's position.</summary>
    public long Position { get; set; }

    /// <summary>The event's id.</summary>
    public Guid EventId { get; set; }

    /// <summary>The event's stream.</summary>
    public string StreamId { get; set; } = string.Empty;

    /// <summary>The event's type name.</summary>
    public string EventType { get; set; } = string.Empty;

    /// <summary>The error.</summary>
    public string Error { get; set; } = string.Empty;

    /// <summary>When it failed.</summary>
    public DateTimeOffset FailedAt { get; set; }
}
