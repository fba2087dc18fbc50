using System.Text;

namespace UsageGuard.Cli;

/// <summary>A plain-text table: columns padded to their widest cell, numbers (cells that start with a digit or a sign) right-aligned.</summary>
internal sealed class TextTable(params string[] header)
{
    private readonly List<string[]> _rows = [];

    internal void Add(params string[] cells) => _rows.Add(cells);

    public override string ToString()
    {
        int[] widths = [.. header.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length)))];
        var text = new StringBuilder();
        Line(text, header, widths, header: true);
        text.AppendJoin("  ", widths.Select(w => new string('-', w))).Append('\n');
        foreach (string[] row in _rows)
        {
            Line(text, row, widths, header: false);
        }

        return text.ToString();
    }

    private static void Line(StringBuilder text, string[] cells, int[] widths, bool header)
    {
        for (int i = 0; i < cells.Length; i++)
        {
            bool number = !header && cells[i].Length > 0 && (char.IsDigit(cells[i][0]) || cells[i][0] == '-') && !cells[i].Contains(' ', StringComparison.Ordinal);
            string cell = number ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]);
            text.Append(i == 0 ? "" : "  ").Append(i == cells.Length - 1 ? cell.TrimEnd() : cell);
        }

        text.Append('\n');
    }
}
