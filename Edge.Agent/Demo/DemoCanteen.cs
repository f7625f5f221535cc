using Kezekshi.Edge.Agent.Ledgers.Canteen;

namespace Kezekshi.Edge.Agent.Demo;

/// <summary>
/// The demo school's canteen: a small menu, a top-up for every pupil and an open shift at till "till-1". Every step is
/// idempotent (menu by code, top-ups by ID, the open shift reused), so it may be run again, or be interrupted, at any time.
/// </summary>
public static class DemoCanteen
{
    public const string Till = "till-1";

    /// <summary>Staff 4 is the demo school's canteen worker.</summary>
    public const long Cashier = 4;

    public static (IReadOnlyList<MenuItem> Menu, TillShift Shift) Seed(CanteenLedger ledger, int pupils, DateTimeOffset at, long topUp = 10_000_000)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        MenuItem[] menu =
        [
            ledger.UpsertMenuItem(new MenuItemDraft("plov", "Plov", 60_000, "hot", IsMeal: true, PhotoPath: "menu/plov.jpg", Allergens: [])),
            ledger.UpsertMenuItem(new MenuItemDraft("soup", "Chicken soup", 35_000, "hot", IsMeal: true, PhotoPath: "menu/soup.jpg", Allergens: ["celery"])),
            ledger.UpsertMenuItem(new MenuItemDraft("samsa", "Samsa", 25_000, "bakery", PhotoPath: "menu/samsa.jpg", Allergens: ["gluten"])),
            ledger.UpsertMenuItem(new MenuItemDraft("bun", "Nut bun", 15_000, "bakery", PhotoPath: "menu/bun.jpg", Allergens: ["gluten", "milk", "nuts"])),
            ledger.UpsertMenuItem(new MenuItemDraft("tea", "Tea", 5_000, "drinks", PhotoPath: "menu/tea.jpg")),
            ledger.UpsertMenuItem(new MenuItemDraft("compote", "Compote", 8_000, "drinks", PhotoPath: "menu/compote.jpg")),
        ];
        for (int pupil = 1; pupil <= pupils; pupil++) ledger.ApplyTopUp($"demo-topup-{pupil}", pupil, topUp, at);
        TillShift shift;
        try
        {
            shift = ledger.GetOpenShift(Till) ?? ledger.OpenShift(Till, Cashier, 200_000, at);
        }
        catch (Ledgers.LedgerException)
        {
            shift = ledger.GetOpenShift(Till) ?? throw new InvalidOperationException("Could not open the demo till's shift.");
        }
        return (menu, shift);
    }

    /// <summary>The sale number <paramref name="n"/> of a repeatable stream: pupil and items follow from n alone.</summary>
    public static ChargeRequest Sale(long n, int pupils, IReadOnlyList<MenuItem> menu, long shiftId, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(menu);
        long pupil = 1 + n % pupils;
        var lines = (n % 4) switch
        {
            0 => new[] { new ChargeLine(menu[0].Id), new ChargeLine(menu[4].Id) },
            1 => [new ChargeLine(menu[2].Id), new ChargeLine(menu[5].Id, 2)],
            2 => [new ChargeLine(menu[1].Id)],
            _ => [new ChargeLine(menu[3].Id), new ChargeLine(menu[4].Id)],
        };
        return new ChargeRequest($"sale-{n}", shiftId, pupil, lines, at);
    }
}
