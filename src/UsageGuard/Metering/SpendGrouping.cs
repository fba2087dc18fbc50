namespace UsageGuard;

/// <summary>What a spend query groups by; combine flags. Rows are always split by credit type, whose amounts do not add up.</summary>
[Flags]
public enum SpendGrouping
{
    /// <summary>One row per credit type: the totals.</summary>
    None = 0,

    /// <summary>By customer.</summary>
    Customer = 1,

    /// <summary>
    /// By node of the subject tree: an event counts toward every node on its subject path (a team's row includes its members), or,
    /// with <see cref="SpendQuery.SubjectDepth"/>, toward its node at that depth.
    /// </summary>
    Subject = 2,

    /// <summary>By the model the request named.</summary>
    Model = 4,

    /// <summary>By feature.</summary>
    Feature = 8,

    /// <summary>By UTC day of the settlement.</summary>
    Day = 16,
}
