using System.Globalization;
using System.Text;

namespace UsageGuard.Cli;

/// <summary>A spend report as text: per credit type, one line per group with a bar scaled to the largest, the credits, the requests and the margin.</summary>
internal static class BarChart
{
    private const int Width = 32;

    internal static string Render(IReadOnlyList<SpendRow> rows, SpendGrouping by)
    {
        var text = new StringBuilder();
        foreach (IGrouping<string, SpendRow> type in rows.GroupBy(r => r.CreditType, StringComparer.Ordinal))
        {
            List<SpendRow> lines = [.. type];
            decimal max = lines.Max(r => r.Consumed.ToDecimal());
            string[] labels = [.. lines.Select(r => Label(r, by))];
            string[] amounts = [.. lines.Select(r => AdminCommands.Amount(r.Consumed))];
            int labelWidth = labels.Max(l => l.Length);
            int amountWidth = amounts.Max(a => a.Length);
            text.Append('\n').Append(type.Key).Append('\n');
            for (int i = 0; i < lines.Count; i++)
            {
                SpendRow row = lines[i];
                int length = max == 0 ? 0 : (int)Math.Round(row.Consumed.ToDecimal() / max * Width, MidpointRounding.AwayFromZero);
                text.Append("  ").Append(labels[i].PadRight(labelWidth)).Append("  ");
                text.Append(new string('█', length)).Append(new string(' ', Width - length)).Append("  ");
                text.Append(amounts[i].PadLeft(amountWidth));
                text.Append(CultureInfo.InvariantCulture, $"  {row.Requests.ToString("N0", CultureInfo.InvariantCulture)} requests");
                if (row.Tokens > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $", {row.Tokens.ToString("N0", CultureInfo.InvariantCulture)} tokens");
                }

                if (row.Margin is { } margin)
                {
                    text.Append(CultureInfo.InvariantCulture, $", price {row.Price!.Value.ToString("0.00########", CultureInfo.InvariantCulture)}, cost {row.VendorCost!.Value.ToString("0.00########", CultureInfo.InvariantCulture)}, margin {margin.ToString("0.00########", CultureInfo.InvariantCulture)}");
                }

                text.Append('\n');
            }

            if (lines.Count > 1 && (by & SpendGrouping.Subject) == 0)
            {
                decimal total = lines.Sum(r => r.Consumed.ToDecimal());
                text.Append("  ").Append("total".PadRight(labelWidth)).Append("  ").Append(new string(' ', Width)).Append("  ")
                    .Append(total.ToString(CultureInfo.InvariantCulture).PadLeft(amountWidth)).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Label(SpendRow row, SpendGrouping by)
    {
        var parts = new List<string>();
        if ((by & SpendGrouping.Customer) != 0)
        {
            parts.Add(row.CustomerId ?? "");
        }

        if ((by & SpendGrouping.Day) != 0)
        {
            parts.Add(row.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "");
        }

        if ((by & SpendGrouping.Subject) != 0)
        {
            parts.Add(row.Subject ?? "(no subject)");
        }

        if ((by & SpendGrouping.Model) != 0)
        {
            parts.Add(row.Model ?? "(no model)");
        }

        if ((by & SpendGrouping.Feature) != 0)
        {
            parts.Add(row.Feature ?? "(no feature)");
        }

        return parts.Count == 0 ? "total" : string.Join("  ", parts);
    }
}
