using System.Linq.Expressions;
using System.Reflection;

namespace EventSourcing.Privacy;

/// <summary>
/// Refuses view queries that compare a <see cref="PersonalDataAttribute"/> field: stored encrypted (a fresh nonce per
/// value), it cannot be compared by any store, and stores must not differ in what such a query returns. A personal
/// field is refused wherever the predicate reads it from the view (or from an object the view holds, or an element of a
/// collection it holds); values captured from outside the view are not stored fields and are left alone. Every store's
/// view query calls it before reading anything.
/// </summary>
public static class PersonalDataQueries
{
    /// <summary>Refuses <paramref name="predicate"/> when it reads a personal field of the view.</summary>
    /// <exception cref="PersonalDataQueryException">The predicate reads a personal field of the view.</exception>
    public static void EnsureNoPersonalFields(LambdaExpression predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        new Finder().Visit(predicate.Body);
    }

    private sealed class Finder : ExpressionVisitor
    {
        protected override Expression VisitMember(MemberExpression node)
        {
            if (node is { Member: PropertyInfo or FieldInfo, Expression: { } owner } && ReadsStoredData(owner)
                && (PersonalDataJson.IsPersonal(owner.Type, node.Member.Name) || (node.Member.DeclaringType is { } declaring && PersonalDataJson.IsPersonal(declaring, node.Member.Name))))
            {
                throw new PersonalDataQueryException($"{node.Member.DeclaringType?.Name ?? owner.Type.Name}.{node.Member.Name}");
            }

            return base.VisitMember(node);
        }

        /// <summary>Whether <paramref name="expression"/> reads from a lambda's parameter (the view, or an element of a collection in it).</summary>
        private static bool ReadsStoredData(Expression expression)
        {
            var finder = new ParameterFinder();
            finder.Visit(expression);
            return finder.Found;
        }
    }

    private sealed class ParameterFinder : ExpressionVisitor
    {
        public bool Found { get; private set; }

        public override Expression? Visit(Expression? node) => Found ? node : base.Visit(node);

        protected override Expression VisitParameter(ParameterExpression node)
        {
            Found = true;
            return node;
        }
    }
}
