using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using EventSourcing.Projections;
using Marten;

namespace EventSourcing.Marten.Projections;

/// <summary>The typed operations on one view type's documents, reached through a non-generic interface.</summary>
internal interface IViewTable
{
    void Configure(StoreOptions options);

    Task<IReadOnlyList<ViewRecord>> LoadAsync(IQuerySession session, string projection, int generation, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    void Store(IDocumentOperations operations, string projection, int generation, IEnumerable<ViewRecord> records);

    void DeleteGeneration(IDocumentOperations operations, string projection, int generation);

    IAsyncEnumerable<ViewRecord> ReadAllAsync(IQuerySession session, string projection, int generation, CancellationToken cancellationToken);

    static IViewTable For(Type viewType) => (IViewTable)Activator.CreateInstance(typeof(ViewTable<>).MakeGenericType(viewType))!;
}

internal sealed class ViewTable<TView> : IViewTable
    where TView : class
{
    public void Configure(StoreOptions options) =>
        options.Schema.For<ViewDocument<TView>>()
            .Identity(d => d.Id)
            .Index(d => d.Projection)
            .Index(d => d.Generation);

    public async Task<IReadOnlyList<ViewRecord>> LoadAsync(IQuerySession session, string projection, int generation, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var documents = await session.LoadManyAsync<ViewDocument<TView>>(cancellationToken, ids.Select(id => ViewDocument<TView>.DocumentId(projection, generation, id))).ConfigureAwait(false);
        return [.. documents.Select(ToRecord)];
    }

    public void Store(IDocumentOperations operations, string projection, int generation, IEnumerable<ViewRecord> records) =>
        operations.Store(records.Select(record => new ViewDocument<TView>
        {
            Id = ViewDocument<TView>.DocumentId(projection, generation, record.Id),
            Projection = projection,
            Generation = generation,
            ViewId = record.Id,
            Position = record.Position,
            View = (TView?)record.View,
        }).ToArray());

    public void DeleteGeneration(IDocumentOperations operations, string projection, int generation) =>
        operations.DeleteWhere<ViewDocument<TView>>(d => d.Projection == projection && d.Generation == generation);

    public async IAsyncEnumerable<ViewRecord> ReadAllAsync(IQuerySession session, string projection, int generation, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var documents = session.Query<ViewDocument<TView>>()
            .Where(d => d.Projection == projection && d.Generation == generation)
            .OrderBy(d => d.ViewId)
            .ToAsyncEnumerable(cancellationToken);
        await foreach (var document in documents.ConfigureAwait(false))
        {
            yield return ToRecord(document);
        }
    }

    public static async Task<TView?> FindAsync(IQuerySession session, string projection, int generation, string id, CancellationToken cancellationToken) =>
        (await session.LoadAsync<ViewDocument<TView>>(ViewDocument<TView>.DocumentId(projection, generation, id), cancellationToken).ConfigureAwait(false))?.View;

    public static async Task<IReadOnlyList<TView>> QueryAsync(IQuerySession session, string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken)
    {
        var documents = await session.Query<ViewDocument<TView>>()
            .Where(d => d.Projection == projection && d.Generation == generation && d.View != null)
            .Where(OnView(predicate))
            .OrderBy(d => d.ViewId)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. documents.Select(d => d.View!)];
    }

    /// <summary>Rewrites a predicate on the view into one on its document (<c>v => v.Day == x</c> becomes <c>d => d.View.Day == x</c>).</summary>
    private static Expression<Func<ViewDocument<TView>, bool>> OnView(Expression<Func<TView, bool>> predicate)
    {
        var document = Expression.Parameter(typeof(ViewDocument<TView>), "d");
        var view = Expression.Property(document, nameof(ViewDocument<TView>.View));
        return Expression.Lambda<Func<ViewDocument<TView>, bool>>(new Replace(predicate.Parameters[0], view).Visit(predicate.Body), document);
    }

    private static ViewRecord ToRecord(ViewDocument<TView> document) => new(document.ViewId, document.Position, document.View);

    private sealed class Replace(ParameterExpression parameter, Expression with) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == parameter ? with : base.VisitParameter(node);
    }
}
