namespace EventSourcing.Privacy;

/// <summary>
/// Marks a property as personal data of the object's data subject (<see cref="DataSubjectAttribute"/>): it is stored
/// only as ciphertext under the subject's key, and reads after the subject is forgotten give a placeholder.
/// Any property type works (strings, numbers, nested objects, collections): its JSON is what is encrypted.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class PersonalDataAttribute : Attribute
{
    /// <summary>What a string property reads as once erased; <c>"[erased]"</c> by default (other types read as null or default).</summary>
    public string? Replacement { get; set; }
}

/// <summary>
/// Marks the property that says whose personal data an object holds (for example a guest id). Nested objects
/// without one of their own belong to the same subject.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class DataSubjectAttribute : Attribute;

/// <summary>Marks a <see cref="bool"/> property set to true when the object was read with some personal data erased.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class PersonalDataErasedAttribute : Attribute;
