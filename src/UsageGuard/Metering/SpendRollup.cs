namespace UsageGuard;

/// <summary>One rollup cell: a UTC day, a customer, a credit type, a full subject path, a model and a feature (empty when absent).</summary>
internal readonly record struct SpendKey(int Day, string CustomerId, string CreditType, string SubjectPath, string Model, string Feature);

/// <summary>What the settlements of one rollup cell add up to; money in units of 10^-10 (<see cref="SpendRollup.MoneyScale"/>).</summary>
internal struct SpendTotals
{
    internal long Requests;
    internal long Consumed;
    internal long Overage;
    internal long Tokens;
    internal long Price;
    internal long Priced;
    internal long Cost;
    internal long Costed;
    internal int Scale;

    internal void Add(in SpendTotals other)
    {
        Requests = checked(Requests + other.Requests);
        Consumed = checked(Consumed + other.Consumed);
        Overage = checked(Overage + other.Overage);
        Tokens = checked(Tokens + other.Tokens);
        Price = checked(Price + other.Price);
        Priced = checked(Priced + other.Priced);
        Cost = checked(Cost + other.Cost);
        Costed = checked(Costed + other.Costed);
        Scale = other.Scale;
    }
}

/// <summary>
/// The daily spend rollup every store keeps beside its ledger, and the grouping of its cells into <see cref="SpendRow"/>s. A cell is
/// derived from the settlement records of the ledger only, so a rollup can always be rebuilt from the ledger.
/// </summary>
internal static class SpendRollup
{
    /// <summary>The decimal places of price and vendor cost in the rollup (and of a settlement's price): sums of them stay exact.</summary>
    internal const int MoneyScale = 10;

    private static readonly decimal s_moneyFactor = 10_000_000_000m;

    /// <summary>The UTC day of an instant, as a <see cref="DateOnly.DayNumber"/> (days since 1 January 0001).</summary>
    internal static int DayOf(DateTimeOffset instant) => (int)(instant.UtcTicks / TimeSpan.TicksPerDay);

    internal static int DayOf(DateOnly day) => day.DayNumber;

    internal static DateOnly DateOf(int day) => DateOnly.FromDayNumber(day);

    /// <summary>The cell and totals of an entry that records a settlement; false for any other entry.</summary>
    internal static bool TryCell(in LedgerEntry entry, out SpendKey key, out SpendTotals totals)
    {
        if (entry.Settlement is not { } settled)
        {
            key = default;
            totals = default;
            return false;
        }

        key = new SpendKey(DayOf(entry.Timestamp), entry.CustomerId, entry.CreditType, settled.SubjectPath ?? string.Empty, entry.Model ?? string.Empty, entry.Feature ?? string.Empty);
        totals = new SpendTotals
        {
            Requests = 1,
            Consumed = checked(settled.Charged.Units + settled.Overdrawn.Units),
            Overage = settled.Overage.Units,
            Tokens = settled.Tokens?.TotalTokens ?? 0,
            Price = MoneyUnits(settled.Price),
            Priced = settled.Price is null ? 0 : 1,
            Cost = MoneyUnits(settled.VendorCost),
            Costed = settled.VendorCost is null ? 0 : 1,
            Scale = settled.Charged.Scale,
        };
        return true;
    }

    /// <summary>Adds an entry's settlement, if it records one, to a rollup held in memory.</summary>
    internal static void Add(Dictionary<SpendKey, SpendTotals> rollup, in LedgerEntry entry)
    {
        if (TryCell(entry, out SpendKey key, out SpendTotals totals))
        {
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(rollup, key, out _).Add(totals);
        }
    }

    private static long MoneyUnits(decimal? value) =>
        value is { } v ? (long)decimal.Round(v * s_moneyFactor, 0, MidpointRounding.AwayFromZero) : 0;

    private static decimal Money(long units) => units / s_moneyFactor;

    /// <summary>Groups rollup cells (already narrowed to the query's days and customer, or not) into the rows a query asks for.</summary>
    internal static IReadOnlyList<SpendRow> Group(IEnumerable<KeyValuePair<SpendKey, SpendTotals>> cells, SpendQuery query)
    {
        int from = DayOf(query.From);
        int to = DayOf(query.To);
        SpendGrouping by = query.GroupBy;
        var groups = new Dictionary<(string CreditType, string? Customer, int? Day, string? Subject, string? Model, string? Feature), SpendTotals>();
        var nodes = new List<string?>();
        foreach ((SpendKey key, SpendTotals totals) in cells)
        {
            if (key.Day < from || key.Day >= to || (query.CustomerId is not null && !string.Equals(query.CustomerId, key.CustomerId, StringComparison.Ordinal)))
            {
                continue;
            }

            nodes.Clear();
            if ((by & SpendGrouping.Subject) == 0)
            {
                nodes.Add(null);
            }
            else
            {
                Nodes(key.SubjectPath, query.SubjectDepth, nodes);
            }

            foreach (string? node in nodes)
            {
                var group = (
                    key.CreditType,
                    (by & SpendGrouping.Customer) != 0 ? key.CustomerId : null,
                    (by & SpendGrouping.Day) != 0 ? key.Day : (int?)null,
                    node,
                    (by & SpendGrouping.Model) != 0 ? NullIfEmpty(key.Model) : null,
                    (by & SpendGrouping.Feature) != 0 ? NullIfEmpty(key.Feature) : null);
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(groups, group, out _).Add(totals);
            }
        }

        var rows = new List<SpendRow>(groups.Count);
        foreach (var ((creditType, customer, day, subject, model, feature), t) in groups)
        {
            rows.Add(new SpendRow
            {
                CreditType = creditType,
                CustomerId = customer,
                Day = day is { } d ? DateOf(d) : null,
                Subject = subject,
                Model = model,
                Feature = feature,
                Requests = t.Requests,
                Consumed = CreditAmount.FromUnits(t.Consumed, t.Scale),
                Overage = CreditAmount.FromUnits(t.Overage, t.Scale),
                Tokens = t.Tokens,
                Price = t.Priced > 0 ? Money(t.Price) : null,
                VendorCost = t.Costed > 0 ? Money(t.Cost) : null,
            });
        }

        rows.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.CreditType, b.CreditType);
            c = c != 0 ? c : string.CompareOrdinal(a.CustomerId, b.CustomerId);
            c = c != 0 ? c : Nullable.Compare(a.Day, b.Day);
            c = c != 0 ? c : string.CompareOrdinal(a.Subject, b.Subject);
            c = c != 0 ? c : string.CompareOrdinal(a.Model, b.Model);
            return c != 0 ? c : string.CompareOrdinal(a.Feature, b.Feature);
        });
        return rows;
    }

    /// <summary>The subject nodes an event counts toward: every prefix of its path, or the one at the depth asked (its own when shallower).</summary>
    private static void Nodes(string path, int? depth, List<string?> nodes)
    {
        if (path.Length == 0)
        {
            nodes.Add(null);
            return;
        }

        int level = 0;
        for (int i = 0; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != '/')
            {
                continue;
            }

            level++;
            if (depth is null)
            {
                nodes.Add(path[..i]);
            }
            else if (level == depth || i == path.Length)
            {
                nodes.Add(path[..i]);
                return;
            }
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    /// <summary>
    /// The SQL that sums a store's rollup rows for a query, by the dimensions it groups by (<see cref="Group"/> does the rest): the
    /// columns <see cref="ReadCell"/> reads, from <paramref name="table"/> (<c>ug_spend_days</c>), with the parameters named
    /// <paramref name="from"/>, <paramref name="to"/> and <paramref name="customer"/>. <paramref name="sum"/> wraps each sum
    /// (PostgreSQL sums bigints as numeric, so it casts them back).
    /// </summary>
    internal static string CellsSql(SpendQuery query, string table, string from, string to, string customer, Func<string, string> sum)
    {
        SpendGrouping by = query.GroupBy;
        if (UsesCoarse(query))
        {
            table += CoarseSuffix;
        }

        string Dimension(SpendGrouping g, string column) => (by & g) != 0 ? column : $"MIN({column})";
        var groupBy = new List<string> { "credit_type" };
        foreach ((SpendGrouping g, string column) in s_dimensions)
        {
            if ((by & g) != 0)
            {
                groupBy.Add(column);
            }
        }

        string sums = string.Join(", ", s_sums.Select(c => sum($"SUM({c})")));
        return $"SELECT {Dimension(SpendGrouping.Day, "day")}, {Dimension(SpendGrouping.Customer, "customer_id")}, credit_type, "
            + $"{((by & SpendGrouping.Subject) != 0 ? "subject_path" : "''")}, {Dimension(SpendGrouping.Model, "model")}, {Dimension(SpendGrouping.Feature, "feature")}, "
            + $"{sums}, MAX(scale) FROM {table} WHERE day >= {from} AND day < {to}{(query.CustomerId is null ? "" : $" AND customer_id = {customer}")} "
            + $"GROUP BY {string.Join(", ", groupBy)};";
    }

    /// <summary>
    /// The suffix of the coarse rollup table: one row per customer, day and credit type (subject, model and feature left empty), so a
    /// query that groups by none of them (totals, margin per customer, spend per day) reads thousands of rows, not millions.
    /// </summary>
    internal const string CoarseSuffix = "_coarse";

    /// <summary>Gets whether a query can be answered from the coarse table.</summary>
    private static bool UsesCoarse(SpendQuery query) => (query.GroupBy & (SpendGrouping.Subject | SpendGrouping.Model | SpendGrouping.Feature)) == 0;

    /// <summary>The cells of the coarse table for a set of fine cells: subject, model and feature dropped, the sums added up.</summary>
    internal static Dictionary<SpendKey, SpendTotals> Coarsen(Dictionary<SpendKey, SpendTotals> cells)
    {
        var coarse = new Dictionary<SpendKey, SpendTotals>();
        foreach ((SpendKey key, SpendTotals totals) in cells)
        {
            var customerDay = new SpendKey(key.Day, key.CustomerId, key.CreditType, string.Empty, string.Empty, string.Empty);
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(coarse, customerDay, out _).Add(totals);
        }

        return coarse;
    }

    /// <summary>The columns of the ledger a rollup catch-up reads, from the entries that carry a settlement (<see cref="AddRow"/>).</summary>
    internal const string SettlementColumns = "seq, ts, customer_id, credit_type, model, feature, settlement";

    /// <summary>Adds one row of <see cref="SettlementColumns"/> to a rollup held in memory; returns its sequence number.</summary>
    internal static long AddRow(Dictionary<SpendKey, SpendTotals> rollup, System.Data.Common.DbDataReader r, Utf8Strings strings)
    {
        var entry = new LedgerEntry
        {
            Timestamp = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero),
            CustomerId = r.GetString(2),
            CreditType = r.GetString(3),
            Model = r.IsDBNull(4) ? null : r.GetString(4),
            Feature = r.IsDBNull(5) ? null : r.GetString(5),
            Settlement = r.GetValue(6) switch
            {
                byte[] bytes => SettlementBinary.Decode(bytes, strings),
                string json => StoreCodec.DecodeSettlement(json),
                object other => throw new FormatException($"a settlement record is stored as {other.GetType().Name}"),
            },
        };
        Add(rollup, entry);
        return r.GetInt64(0);
    }

    /// <summary>Reads one row of <see cref="CellsSql"/>.</summary>
    internal static KeyValuePair<SpendKey, SpendTotals> ReadCell(System.Data.Common.DbDataReader r)
    {
        long Long(int i) => Convert.ToInt64(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
        var key = new SpendKey((int)Long(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5));
        return new(key, new SpendTotals
        {
            Requests = Long(6),
            Consumed = Long(7),
            Overage = Long(8),
            Tokens = Long(9),
            Price = Long(10),
            Priced = Long(11),
            Cost = Long(12),
            Costed = Long(13),
            Scale = (int)Long(14),
        });
    }

    private static readonly (SpendGrouping Grouping, string Column)[] s_dimensions =
        [(SpendGrouping.Customer, "customer_id"), (SpendGrouping.Day, "day"), (SpendGrouping.Subject, "subject_path"), (SpendGrouping.Model, "model"), (SpendGrouping.Feature, "feature")];

    private static readonly string[] s_sums = ["requests", "consumed", "overage", "tokens", "price", "priced", "cost", "costed"];
}
