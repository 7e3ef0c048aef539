using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using Marten;

namespace EventSourcing.Marten.Projections;

/// <summary>
/// The typed operations on one view type's documents, reached through a non-generic interface. Views are read through
/// <see cref="SealedDocuments"/>: the keys their personal values need are loaded asynchronously before they are read.
/// </summary>
internal interface IViewTable
{
    Task<IReadOnlyList<ViewRecord>> LoadAsync(IQuerySession session, string projection, int generation, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    void Store(IDocumentOperations operations, string projection, int generation, IEnumerable<ViewRecord> records);

    void DeleteGeneration(IDocumentOperations operations, string projection, int generation);

    IAsyncEnumerable<ViewRecord> ReadAllAsync(IQuerySession session, string projection, int generation, CancellationToken cancellationToken);

    static IViewTable For(Type viewType, PersonalDataProtector protector) =>
        (IViewTable)Activator.CreateInstance(typeof(ViewTable<>).MakeGenericType(viewType), protector)!;

    /// <summary>Registers the documents of <paramref name="viewType"/> in <paramref name="options"/>.</summary>
    static void Configure(Type viewType, StoreOptions options) =>
        typeof(ViewTable<>).MakeGenericType(viewType).GetMethod(nameof(ViewTable<object>.Configure))!.Invoke(null, [options]);
}

internal sealed class ViewTable<TView>(PersonalDataProtector protector) : IViewTable
    where TView : class
{
    /// <summary>Views read per query by <see cref="ReadAllAsync"/>.</summary>
    private const int PageSize = 1_000;

    public static void Configure(StoreOptions options) =>
        options.Schema.For<ViewDocument<TView>>()
            .Identity(d => d.Id)
            .Index(d => d.Projection)
            .Index(d => d.Generation);

    public async Task<IReadOnlyList<ViewRecord>> LoadAsync(IQuerySession session, string projection, int generation, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var documentIds = ids.Select(id => ViewDocument<TView>.DocumentId(projection, generation, id)).ToArray();
        var documents = await SealedDocuments.QueryAsync(session, protector, session.Query<ViewDocument<TView>>().Where(d => documentIds.Contains(d.Id)), cancellationToken).ConfigureAwait(false);
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

    /// <summary>Every view of the generation, by view id, a page at a time (keyset: memory stays flat).</summary>
    public async IAsyncEnumerable<ViewRecord> ReadAllAsync(IQuerySession session, string projection, int generation, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var query = session.Query<ViewDocument<TView>>().Where(d => d.Projection == projection && d.Generation == generation);
            if (after is not null)
            {
                query = query.Where(d => d.ViewId.CompareTo(after) > 0);
            }

            var page = await SealedDocuments.QueryAsync(session, protector, query.OrderBy(d => d.ViewId).Take(PageSize), cancellationToken).ConfigureAwait(false);
            foreach (var document in page)
            {
                yield return ToRecord(document);
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].ViewId;
        }
    }

    public async Task<TView?> FindAsync(IQuerySession session, string projection, int generation, string id, CancellationToken cancellationToken) =>
        (await SealedDocuments.LoadAsync<ViewDocument<TView>>(session, protector, ViewDocument<TView>.DocumentId(projection, generation, id), cancellationToken).ConfigureAwait(false))?.View;

    public async Task<IReadOnlyList<TView>> QueryAsync(IQuerySession session, string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken)
    {
        var query = session.Query<ViewDocument<TView>>()
            .Where(d => d.Projection == projection && d.Generation == generation && d.View != null)
            .Where(OnView(predicate))
            .OrderBy(d => d.ViewId);
        var documents = await SealedDocuments.QueryAsync(session, protector, query, cancellationToken).ConfigureAwait(false);
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
