namespace EventSourcing.Projections;

/// <summary>The application's registered projections, by name and by view type.</summary>
public sealed class ProjectionCatalog
{
    private readonly Dictionary<string, ProjectionRegistration> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, ProjectionRegistration> _byView = [];
    private readonly int _rebuildPageSize = DefaultRebuildPageSize;

    /// <summary>The default of <see cref="RebuildPageSize"/>.</summary>
    public const int DefaultRebuildPageSize = 10_000;

    /// <summary>Events per committed page when views are built from behind (rebuild, verify, catch-up).</summary>
    public int RebuildPageSize
    {
        get => _rebuildPageSize;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _rebuildPageSize = value;
        }
    }

    /// <summary>Creates the catalog; names and view types must be unique.</summary>
    public ProjectionCatalog(IEnumerable<ProjectionRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        foreach (var registration in registrations)
        {
            if (!_byName.TryAdd(registration.Name, registration))
            {
                throw new ArgumentException($"Two projections are named '{registration.Name}'.", nameof(registrations));
            }

            if (!_byView.TryAdd(registration.Projection.ViewType, registration))
            {
                throw new ArgumentException($"Projections '{_byView[registration.Projection.ViewType].Name}' and '{registration.Name}' both build {registration.Projection.ViewType.Name}; a view type belongs to one projection.", nameof(registrations));
            }
        }
    }

    /// <summary>Every registration, in registration order.</summary>
    public IReadOnlyList<ProjectionRegistration> All => [.. _byName.Values];

    /// <summary>The registration named <paramref name="name"/>.</summary>
    /// <exception cref="UnknownProjectionException">No projection has that name.</exception>
    public ProjectionRegistration Get(string name) =>
        _byName.TryGetValue(name, out var registration) ? registration : throw new UnknownProjectionException(name, [.. _byName.Keys]);

    /// <summary>The registration whose views are <paramref name="viewType"/>.</summary>
    public ProjectionRegistration ForView(Type viewType) =>
        _byView.TryGetValue(viewType, out var registration)
            ? registration
            : throw new InvalidOperationException($"No projection builds {viewType.Name}. Register one with AddProjection.");
}

/// <summary>A projection name that is not registered.</summary>
public sealed class UnknownProjectionException(string name, IReadOnlyList<string> known)
    : Exception($"There is no projection named '{name}'. Known projections: {(known.Count == 0 ? "none" : string.Join(", ", known))}.")
{
    /// <summary>The unknown name.</summary>
    public string Name { get; } = name;

    /// <summary>The registered names.</summary>
    public IReadOnlyList<string> Known { get; } = known;
}
