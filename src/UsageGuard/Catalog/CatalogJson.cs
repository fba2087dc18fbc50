using System.Text.Json.Serialization;

namespace UsageGuard;

/// <summary>The catalog's JSON form (camelCase, enums as names): for its content hash, and for sources that read or persist catalogs.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    PreferredObjectCreationHandling = JsonObjectCreationHandling.Populate,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CatalogOptions))]
internal sealed partial class CatalogJson : JsonSerializerContext
{
}
