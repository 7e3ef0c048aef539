using System.Globalization;
using System.Reflection;
using System.Text.Json;
using FluentValidation;
using FluentValidation.Internal;
using FluentValidation.Validators;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Reservations.OpenApi;

/// <summary>Says which command's validator checks a request body, so that the body's schema carries its rules.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ValidatedAsAttribute(Type command) : Attribute
{
    public Type Command { get; } = command;
}

/// <summary>
/// Writes a request body's validation rules into its schema, read from the command's FluentValidation validators (the
/// ones the API runs), so that the document cannot drift from them: an unconditional <c>NotEmpty</c> or <c>NotNull</c>
/// makes a field required and not nullable (and a string at least 1 long); lengths, patterns, e-mail and inclusive ranges
/// become <c>minLength</c>/<c>maxLength</c>, <c>pattern</c>, <c>format</c> and <c>minimum</c>/<c>maximum</c>; any other rule
/// (such as "not in the past") is added to the field's description, in its own message. A field no rule requires is optional.
/// </summary>
internal sealed class ValidationRules : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type.GetCustomAttribute<ValidatedAsAttribute>() is not { } validatedAs || schema.Properties is null)
        {
            return Task.CompletedTask;
        }

        var validators = context.ApplicationServices.GetServices(typeof(IValidator<>).MakeGenericType(validatedAs.Command)).OfType<IValidator>().ToList();
        if (validators.Count == 0)
        {
            throw new InvalidOperationException($"{context.JsonTypeInfo.Type.Name} is validated as {validatedAs.Command.Name}, which has no validator.");
        }

        var required = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, property) in schema.Properties)
        {
            if (property is not OpenApiSchema field)
            {
                continue;
            }

            var member = string.Concat(name[..1].ToUpperInvariant(), name[1..]);
            var components = validators.SelectMany(v => v.CreateDescriptor().GetRulesForMember(member)).SelectMany(r => r.Components).ToList();
            if (Apply(field, components))
            {
                required.Add(name);
            }
        }

        schema.Required = required;
        return Task.CompletedTask;
    }

    /// <summary>Writes the rules into the field's schema; true when they require the field.</summary>
    private static bool Apply(OpenApiSchema field, IReadOnlyList<IRuleComponent> components)
    {
        var isRequired = false;
        var notes = new List<string>();
        foreach (var component in components)
        {
            var always = !component.HasCondition && !component.HasAsyncCondition;
            switch (component.Validator)
            {
                case INotEmptyValidator or INotNullValidator when always:
                    isRequired = true;
                    field.Type &= ~JsonSchemaType.Null;
                    if (field.Type == JsonSchemaType.String && field.Format is null or "email" && component.Validator is INotEmptyValidator)
                    {
                        field.MinLength = Math.Max(field.MinLength ?? 0, 1);
                    }

                    break;
                case INotEmptyValidator or INotNullValidator:
                    break;
                case ILengthValidator length:
                    if (length.Min > 0)
                    {
                        field.MinLength = length.Min;
                    }

                    if (length.Max > 0)
                    {
                        field.MaxLength = length.Max;
                    }

                    break;
                case IRegularExpressionValidator regex:
                    field.Pattern = regex.Expression;
                    break;
                case IEmailValidator:
                    field.Format = "email";
                    break;
                case IBetweenValidator between when component.Validator.Name == "InclusiveBetweenValidator":
                    field.Minimum = Number(between.From);
                    field.Maximum = Number(between.To);
                    break;
                default:
                    notes.Add(component.GetUnformattedErrorMessage());
                    break;
            }
        }

        if (notes.Count > 0)
        {
            field.Description = string.Join(" ", new[] { field.Description }.Concat(notes).Where(s => !string.IsNullOrEmpty(s)));
        }

        return isRequired;
    }

    private static string Number(object value) => Convert.ToString(value, CultureInfo.InvariantCulture)!;
}
