using System.Text.Json;
using System.Text.Json.Serialization;

namespace UsageGuard;

/// <summary>
/// One admin change to a customer's governance, as data: what <see cref="IUsageGovernance"/>'s admin calls apply here, and, with
/// many instances, what they publish on the store's change feed for every instance to apply in the same order.
/// </summary>
internal sealed class GovernanceChange
{
    /// <summary>The topic of governance changes on the store's feed.</summary>
    internal const string Topic = "governance";

    public string CustomerId { get; set; } = "";

    /// <summary>Gets or sets the subject set (with <see cref="Subject"/>) or removed (without).</summary>
    public string? SubjectId { get; set; }

    public SubjectOptions? Subject { get; set; }

    /// <summary>Gets or sets the budget set (with <see cref="Budget"/>) or removed (without).</summary>
    public string? BudgetId { get; set; }

    public BudgetOptions? Budget { get; set; }

    public bool TimeZoneSet { get; set; }

    /// <summary>Gets or sets a session reset on every instance (it changes no definition: nothing is recompiled).</summary>
    public string? ResetSessionId { get; set; }

    public string? TimeZone { get; set; }

    /// <summary>Applies the change to the customer's admin layer. Caller holds the customer's gate.</summary>
    internal void ApplyTo(CustomerGovernance governance)
    {
        if (SubjectId is not null)
        {
            governance.AdminSubjects[SubjectId] = Subject;
        }

        if (BudgetId is not null)
        {
            governance.AdminBudgets[BudgetId] = Budget;
        }

        if (TimeZoneSet)
        {
            governance.AdminTimeZone = TimeZone;
            governance.AdminTimeZoneSet = true;
        }
    }

    internal string Encode() => JsonSerializer.Serialize(this, GovernanceChangeJson.Default.GovernanceChange);

    internal static GovernanceChange Decode(string json) =>
        JsonSerializer.Deserialize(json, GovernanceChangeJson.Default.GovernanceChange)
        ?? throw new UsageGuardException("A governance change on the store's feed is empty; the store is damaged.");
}

[JsonSourceGenerationOptions(
    UseStringEnumConverter = true,
    PreferredObjectCreationHandling = JsonObjectCreationHandling.Populate,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GovernanceChange))]
internal sealed partial class GovernanceChangeJson : JsonSerializerContext;
