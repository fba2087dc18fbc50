using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>
/// One customer's compiled governance: for every node of its subject tree, the limits a request by that node passes (the
/// customer-wide ones, then each ancestor's from the root down, then the node's own), and the calendar of their windows.
/// </summary>
/// <remarks>Immutable and swapped whole on every change, so a request reads one consistent policy.</remarks>
internal sealed class GovernancePolicy
{
    internal static readonly GovernancePolicy Empty = new(
        new CustomerGovernanceOptions(),
        PeriodCalendarFor(TimeZoneInfo.Utc),
        FrozenDictionary<string, CompiledLimit[]>.Empty,
        [],
        FrozenDictionary<string, string?>.Empty,
        []);

    private readonly FrozenDictionary<string, CompiledLimit[]> _byNode;
    private readonly FrozenDictionary<string, CompiledLimit[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _pathLookup;

    internal GovernancePolicy(
        CustomerGovernanceOptions definition,
        PeriodCalendar calendar,
        FrozenDictionary<string, CompiledLimit[]> byNode,
        CompiledLimit[] customerWide,
        FrozenDictionary<string, string?> parents,
        CompiledLimit[] all)
    {
        Definition = definition;
        Calendar = calendar;
        _byNode = byNode;
        _lookup = byNode.GetAlternateLookup<ReadOnlySpan<char>>();
        CustomerWide = customerWide;
        Parents = parents;
        All = all;
        var paths = new Dictionary<string, string>(parents.Count, StringComparer.Ordinal);
        foreach (string node in parents.Keys)
        {
            var chain = new List<string>();
            for (string? n = node; n is not null && chain.Count <= parents.Count; n = parents.GetValueOrDefault(n))
            {
                chain.Add(n);
            }

            chain.Reverse();
            paths[node] = string.Join('/', chain);
        }

        _pathLookup = paths.ToFrozenDictionary(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (CompiledLimit limit in all)
        {
            HasSessionLimits |= limit.PerSession;
        }
    }

    /// <summary>Gets the definition this policy was compiled from (configuration with the admin changes applied).</summary>
    internal CustomerGovernanceOptions Definition { get; }

    internal PeriodCalendar Calendar { get; }

    /// <summary>Gets the limits of customer-wide budgets: all a request passes whose subject is not a node of the tree.</summary>
    internal CompiledLimit[] CustomerWide { get; }

    /// <summary>Gets each node's parent (null for a top-level node).</summary>
    internal FrozenDictionary<string, string?> Parents { get; }

    /// <summary>Gets every limit, budget by budget.</summary>
    internal CompiledLimit[] All { get; }

    internal bool HasSessionLimits { get; }

    internal bool IsEmpty => All.Length == 0;

    /// <summary>Gets the limits a subject passes. A path names its node by its last segment; the tree, not the path, gives the ancestors.</summary>
    internal CompiledLimit[] LimitsFor(string? subject)
    {
        if (subject is null)
        {
            return CustomerWide;
        }

        ReadOnlySpan<char> node = subject.AsSpan(subject.LastIndexOf('/') + 1);
        return _lookup.TryGetValue(node, out CompiledLimit[]? limits) ? limits : CustomerWide;
    }

    /// <summary>Gets a subject's path from the root of the tree (<c>org/team/user</c>), or the subject as given when it is not a node.</summary>
    internal string PathOf(string subject)
    {
        ReadOnlySpan<char> node = subject.AsSpan(subject.LastIndexOf('/') + 1);
        return _pathLookup.TryGetValue(node, out string? path) ? path : subject;
    }

    /// <summary>Gets the node a subject names, or null when it is not a node of the tree.</summary>
    internal string? NodeOf(string? subject)
    {
        if (subject is null)
        {
            return null;
        }

        string node = subject[(subject.LastIndexOf('/') + 1)..];
        return Parents.ContainsKey(node) ? node : null;
    }

    /// <summary>Budget windows are calendar windows of the zone: days from local midnight, weeks from Monday, months from the 1st, years from 1 January.</summary>
    internal static PeriodCalendar PeriodCalendarFor(TimeZoneInfo zone)
    {
        // Noon of Monday 1 January 2024, local: the anchor's local date is what aligns weeks, months and years.
        var noon = new DateTime(2024, 1, 1, 12, 0, 0, DateTimeKind.Unspecified);
        return new PeriodCalendar(zone, new DateTimeOffset(noon, zone.GetUtcOffset(noon)));
    }
}
