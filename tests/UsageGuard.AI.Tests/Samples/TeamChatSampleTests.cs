using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Samples;

/// <summary>Runs samples/TeamChat in-process and checks the story it tells: team A refused at its cap, team B at the organisation's budget, exact totals.</summary>
[TestFixture]
public sealed class TeamChatSampleTests() : SampleFixture(TeamChat.Program.RunAsync)
{
    [Test]
    public void RunAsync_TeamA_RefusedAtItsCapOnTheSeventhMessage()
    {
        Lines.Should().Contain("09:36  user:chen  team-b     76   410  $0.008580  $0.027820  $0.068650");
        Lines.Should().Contain("09:42  user:ben   team-a  refused: BudgetExceeded by team-a-cap (team-a)");
        Lines.Should().Contain("denied by budget 'team-a-cap' at level team-a: BudgetExceeded, Credits limit $0.050000, used and held $0.040830");
        Lines.Should().Contain("window Month, ends 2026-04-01 00:00 +02:00 (Europe/Berlin); retry after 1d 14h 18m");
    }

    [Test]
    public void RunAsync_TeamCap_RefusesTheOtherTeamAUserButNotTeamB()
    {
        Lines.Should().Contain("09:48  user:ana   team-a  refused: BudgetExceeded by team-a-cap (team-a)");
        Lines.Should().Contain("09:54  user:chen  team-b    111   720  $0.014955  $0.042775  $0.083605");
    }

    [Test]
    public void RunAsync_TeamB_RefusedAtTheOrganisationsBudget()
    {
        Lines.Should().Contain("10:30  user:chen  team-b  refused: BudgetExceeded by org-monthly (the organisation)");
        Lines.Should().Contain("denied by budget 'org-monthly' at level the organisation: BudgetExceeded, Credits limit $0.150000, used and held $0.143515");
        Lines.Should().Contain("window Month, ends 2026-04-01 00:00 +02:00 (Europe/Berlin); retry after 1d 13h 30m");
    }

    [Test]
    public void RunAsync_BudgetUsage_RowsAndTotalsAreExact()
    {
        Lines.Should().Contain("org-monthly  the organisation Month  2026-03-01 00:00 - 2026-04-01 00:00  $0.150000  $0.143515  $0.000000  $0.006485");
        Lines.Should().Contain("team-a-cap   team-a           Month  2026-03-01 00:00 - 2026-04-01 00:00  $0.050000  $0.040830  $0.000000  $0.009170");
        Lines.Should().Contain("team-b-cap   team-b           Month  2026-03-01 00:00 - 2026-04-01 00:00  $0.250000  $0.102685  $0.000000  $0.147315");
        Lines.Should().Contain("team-a $0.040830 + team-b $0.102685 = $0.143515; the organisation counted $0.143515");
        Lines.Should().Contain("the wallet was charged $0.143515, the messages cost $0.143515; balance $19.856485, held $0.000000");
    }
}
