using System.Globalization;
using System.Text;

namespace AgentBudget;

/// <summary>The agent's only tool, canned: a search whose result pages are the same on every run (about 460 tokens per call).</summary>
internal static class CannedSearch
{
    public const string ToolName = "web_search";

    public static string Run(string query)
    {
        var results = new StringBuilder();
        for (int i = 1; i <= 12; i++)
        {
            results.Append(CultureInfo.InvariantCulture, $"[{i}] {query}: the abstract, the authors, the venue and the opening paragraphs of result page {i}, which the agent reads. ");
        }

        return results.ToString();
    }
}
