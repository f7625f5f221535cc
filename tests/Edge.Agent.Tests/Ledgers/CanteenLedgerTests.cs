using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

[Category("Integration")]
public class CanteenLedgerTests
{
    private static ChargeRequest Request(CanteenRig rig, string key, long? pupil, params MenuItem[] items) =>
        new(key, rig.Shift.Id, pupil, [.. items.Select(i => new ChargeLine(i.Id))], CanteenRig.Lunch);

    [Test]
    public void Charge_debits_the_pupil_credits_revenue_and_every_transaction_sums_to_zero()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch.AddHours(-3));
        var result = rig.Sell(7, rig.Bun, rig.Tea);
        Assert.That(result.Status, Is.EqualTo(ChargeStatus.Accepted), result.Message);
        Assert.That(result.Total, Is.EqualTo(20_000));
        Assert.That(result.BalanceAfter, Is.EqualTo(80_000));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(80_000));
        Assert.That(rig.Scalar($"SELECT balance FROM canteen_accounts WHERE id = {CanteenLedger.RevenueAccount}"), Is.EqualTo(20_000));
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM (SELECT transaction_id FROM canteen_entries GROUP BY transaction_id HAVING SUM(amount) <> 0)"), Is.Zero);
        Assert.That(rig.Ledger.Verify().Problems, Is.Empty);
    }

    [Test]
    public void Retried_charge_with_the_same_key_is_replayed_and_charges_once()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        var first = rig.Ledger.Charge(Request(rig, "sale-42", 7, rig.Plov));
        var again = rig.Ledger.Charge(Request(rig, "sale-42", 7, rig.Plov) with { At = CanteenRig.Lunch.AddSeconds(5) });
        Assert.That(first.Status, Is.EqualTo(ChargeStatus.Accepted));
        Assert.That(again.Status, Is.EqualTo(ChargeStatus.Replayed));
        Assert.That(again.TransactionId, Is.EqualTo(first.TransactionId));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(40_000));
        Assert.That(rig.Outbox("canteen.charge"), Has.Count.EqualTo(1));
        rig.Ledger.CloseShift(rig.Shift.Id, 200_000, CanteenRig.Lunch.AddMinutes(1));
        var reopened = rig.Ledger.OpenShift("till-1", CanteenRig.Cashier, 200_000, CanteenRig.Lunch.AddMinutes(2));
        var afterReopen = rig.Ledger.Charge(Request(rig, "sale-42", 7, rig.Plov) with { ShiftId = reopened.Id });
        Assert.That((afterReopen.Status, afterReopen.TransactionId), Is.EqualTo((ChargeStatus.Replayed, first.TransactionId)), "a retry after the till reopened its shift");
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(40_000));
    }

    [Test]
    public void Same_key_with_a_different_sale_is_a_clear_conflict_and_charges_nothing()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        rig.Ledger.Charge(Request(rig, "sale-42", 7, rig.Plov));
        var conflict = rig.Ledger.Charge(Request(rig, "sale-42", 7, rig.Tea));
        Assert.That(conflict.Status, Is.EqualTo(ChargeStatus.IdempotencyConflict));
        Assert.That(conflict.Succeeded, Is.False);
        Assert.That(conflict.Message, Does.Contain("sale-42").And.Contain("new key"));
        Assert.That(rig.Logs.Entries.Single(e => e.EventId.Id == 4002).Level, Is.EqualTo(Microsoft.Extensions.Logging.LogLevel.Warning));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(40_000));
    }

    [Test]
    public void Charge_that_would_go_below_the_floor_is_refused_and_writes_nothing()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 10_000, CanteenRig.Lunch);
        var result = rig.Sell(7, rig.Bun);
        Assert.That(result.Status, Is.EqualTo(ChargeStatus.InsufficientFunds));
        Assert.That(result.Message, Does.Contain("100.00 ₸"));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(10_000));
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_transactions WHERE kind = 'charge'"), Is.Zero);
    }

    [Test]
    public void A_configured_negative_floor_allows_that_much_credit_and_no_more()
    {
        using var rig = new CanteenRig(new CanteenOptions { BalanceFloor = -20_000 });
        Assert.That(rig.Sell(7, rig.Bun).Status, Is.EqualTo(ChargeStatus.Accepted));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(-15_000));
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.Accepted));
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.InsufficientFunds));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(-20_000));
    }

    [Test]
    public void Parents_daily_limit_refuses_the_sale_that_would_pass_it_and_a_refund_gives_room_back()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 500_000, CanteenRig.Lunch);
        rig.Ledger.SetDailyLimit(7, 50_000, "parent:7", CanteenRig.Lunch);
        var bun = rig.Sell(7, rig.Bun, rig.Bun);
        Assert.That(bun.Status, Is.EqualTo(ChargeStatus.Accepted));
        var over = rig.Sell(7, rig.Soup);
        Assert.That(over.Status, Is.EqualTo(ChargeStatus.DailyLimitReached));
        Assert.That(over.Message, Does.Contain("500.00 ₸").And.Contain("300.00 ₸"));
        rig.Ledger.Refund(new RefundRequest("r-1", bun.TransactionId!.Value, 15_000, "bun was stale", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        Assert.That(rig.Sell(7, rig.Soup).Status, Is.EqualTo(ChargeStatus.Accepted));
        var nextDay = rig.Ledger.Charge(Request(rig, "next-day", 7, rig.Bun, rig.Soup) with { At = CanteenRig.Lunch.AddDays(1) });
        Assert.That(nextDay.Status, Is.EqualTo(ChargeStatus.Accepted), "the limit is per school day");
        rig.Ledger.SetDailyLimit(7, null, "parent:7", CanteenRig.Lunch);
        Assert.That(rig.Ledger.GetPupilAtTill(7, CanteenRig.Lunch)!.DailyLimit, Is.Null);
    }

    [Test]
    public void Allergen_ban_blocks_the_sale_with_its_own_status_and_names_the_allergen()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        rig.Ledger.BanAllergen(7, "NUTS ", "parent:7", CanteenRig.Lunch);
        var result = rig.Sell(7, rig.Tea, rig.Bun);
        Assert.That(result.Status, Is.EqualTo(ChargeStatus.BlockedByBan));
        Assert.That(result.Bans.Single().Allergen, Is.EqualTo("nuts"));
        Assert.That(result.Bans.Single().MenuItemId, Is.EqualTo(rig.Bun.Id));
        Assert.That(result.Message, Does.Contain("Nut bun (nuts)"));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(100_000));
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.Accepted), "items without the allergen are sold");
    }

    [Test]
    public void Item_ban_blocks_only_that_item_and_lifting_it_allows_the_sale()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        var ban = rig.Ledger.BanItem(7, rig.Tea.Id, "parent:7", CanteenRig.Lunch);
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.BlockedByBan));
        Assert.That(rig.Sell(8, rig.Tea).Status, Is.Not.EqualTo(ChargeStatus.BlockedByBan), "another pupil is not banned");
        rig.Ledger.RemoveBan(ban.Id, CanteenRig.Lunch);
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.Accepted));
    }

    [Test]
    public void Overriding_a_ban_needs_a_reason_and_is_logged_reported_and_sent_to_the_centre()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        rig.Ledger.BanAllergen(7, "milk", "parent:7", CanteenRig.Lunch);
        var blank = rig.Ledger.Charge(Request(rig, "s-1", 7, rig.Bun) with { OverrideReason = "  " });
        Assert.That(blank.Status, Is.EqualTo(ChargeStatus.BlockedByBan), "a blank reason is no override");
        var result = rig.Ledger.Charge(Request(rig, "s-1", 7, rig.Bun) with { OverrideReason = "mother phoned: lactose-free bun" });
        Assert.That(result.Status, Is.EqualTo(ChargeStatus.Accepted));
        Assert.That(result.Bans, Has.Count.EqualTo(1));
        var overrides = rig.Ledger.BanOverrides(CanteenRig.Lunch.AddDays(-1), CanteenRig.Lunch.AddDays(1));
        Assert.That(overrides, Has.Count.EqualTo(1));
        Assert.That(overrides[0].Reason, Is.EqualTo("mother phoned: lactose-free bun"));
        Assert.That(overrides[0].Banned, Is.EqualTo("allergen milk"));
        Assert.That(overrides[0].StaffId, Is.EqualTo(CanteenRig.Cashier));
        Assert.That(rig.Outbox("canteen.ban-override"), Has.Count.EqualTo(1));
        Assert.That(rig.Ledger.GetZReport(rig.Shift.Id).BanOverrides, Is.EqualTo(1));
        var logged = rig.Logs.Entries.Single(e => e.EventId.Id == 4001);
        Assert.That(logged.Message, Does.Contain("pupil 7").And.Contain("allergen milk").And.Contain("mother phoned"));
        Assert.That(logged.Message, Does.Not.Contain(rig.Ledger.GetPupilAtTill(7, CanteenRig.Lunch)!.FullName), "logs name pupils by ID only");
    }

    [Test]
    public void Entitled_pupil_gets_one_free_meal_a_day_paid_by_subsidy_and_a_void_makes_it_available_again()
    {
        using var rig = new CanteenRig();
        rig.Ledger.GrantEntitlement(7, "social-wallet", 60_000, new DateOnly(2026, 9, 1));
        var meal = rig.Sell(7, rig.Plov);
        Assert.That(meal.Status, Is.EqualTo(ChargeStatus.Accepted), meal.Message);
        Assert.That((meal.FromSubsidy, meal.FromAccount), Is.EqualTo((60_000L, 0L)));
        Assert.That(rig.Ledger.GetPupilAtTill(7, CanteenRig.Lunch)!.EntitledMealAvailable, Is.False);
        Assert.That(rig.Sell(7, rig.Soup).Status, Is.EqualTo(ChargeStatus.InsufficientFunds), "the second meal of the day is not free");
        rig.Ledger.Void(new VoidRequest("v-1", meal.TransactionId!.Value, "keyed for the wrong pupil", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        Assert.That(rig.Ledger.GetPupilAtTill(7, CanteenRig.Lunch)!.EntitledMealAvailable, Is.True);
        Assert.That(rig.Sell(7, rig.Soup).FromSubsidy, Is.EqualTo(35_000));
        Assert.That(rig.Scalar($"SELECT balance FROM canteen_accounts WHERE id = {CanteenLedger.SubsidyAccount}"), Is.EqualTo(-35_000));
        var tomorrow = rig.Ledger.Charge(Request(rig, "tomorrow", 7, rig.Plov) with { At = CanteenRig.Lunch.AddDays(1) });
        Assert.That(tomorrow.FromSubsidy, Is.EqualTo(60_000), "a new day brings a new free meal");
    }

    [Test]
    public void Subsidy_smaller_than_the_price_leaves_the_rest_to_the_pupil_and_only_one_meal_is_covered()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 2, 100_000, CanteenRig.Lunch);
        Assert.That(rig.Ledger.GrantGradeEntitlements(4, "primary-grades", 40_000, new DateOnly(2026, 9, 1)), Is.EqualTo(20), "pupils of grades 1 and 3");
        var result = rig.Sell(2, rig.Plov, rig.Soup, rig.Tea);
        Assert.That(result.Total, Is.EqualTo(100_000));
        Assert.That(result.FromSubsidy, Is.EqualTo(40_000), "the dearer meal, up to the entitlement");
        Assert.That(result.FromAccount, Is.EqualTo(60_000));
        Assert.That(rig.Ledger.Verify().Balanced, Is.True);
        Assert.That(rig.Ledger.GetEntitlements(3), Is.Empty, "grade 5 is not primary");
    }

    [Test]
    public void Expired_entitlement_does_not_cover_a_meal()
    {
        using var rig = new CanteenRig();
        rig.Ledger.GrantEntitlement(7, "social-wallet", 60_000, new DateOnly(2026, 9, 1), new DateOnly(2026, 10, 31));
        Assert.That(rig.Sell(7, rig.Plov).Status, Is.EqualTo(ChargeStatus.InsufficientFunds));
    }

    [Test]
    public void Refund_needs_a_reason_and_active_staff_and_never_returns_more_than_was_paid()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        var sale = rig.Sell(7, rig.Plov);
        long id = sale.TransactionId!.Value;
        Assert.Throws<ArgumentException>(() => rig.Ledger.Refund(new RefundRequest("r-0", id, 1_000, " ", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch)));
        var noStaff = Assert.Throws<LedgerException>(() => rig.Ledger.Refund(new RefundRequest("r-0", id, 1_000, "cold food", 999, rig.Shift.Id, CanteenRig.Lunch)));
        Assert.That(noStaff!.Message, Does.Contain("cashier's identity"));
        var refund = rig.Ledger.Refund(new RefundRequest("r-1", id, 25_000, "cold food", CanteenRig.Supervisor, rig.Shift.Id, CanteenRig.Lunch));
        Assert.That(refund.ToAccount, Is.EqualTo(25_000));
        Assert.That(refund.BalanceAfter, Is.EqualTo(65_000));
        var again = rig.Ledger.Refund(new RefundRequest("r-1", id, 25_000, "cold food", CanteenRig.Supervisor, rig.Shift.Id, CanteenRig.Lunch));
        Assert.That(again.Replayed, Is.True);
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(65_000), "a retried refund is not paid twice");
        var tooMuch = Assert.Throws<LedgerException>(() => rig.Ledger.Refund(new RefundRequest("r-2", id, 35_001, "cold food", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch)));
        Assert.That(tooMuch!.Message, Does.Contain("350.00 ₸"));
        Assert.That(rig.Scalar("SELECT staff_id FROM canteen_transactions WHERE kind = 'refund'"), Is.EqualTo(CanteenRig.Supervisor));
        Assert.That(rig.Ledger.Verify().Problems, Is.Empty);
    }

    [Test]
    public void Void_returns_what_is_left_once_and_is_recorded_as_a_new_transaction()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        var sale = rig.Sell(7, rig.Plov);
        rig.Ledger.Refund(new RefundRequest("r-1", sale.TransactionId!.Value, 10_000, "small portion", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        var voided = rig.Ledger.Void(new VoidRequest("v-1", sale.TransactionId!.Value, "pupil returned the tray", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        Assert.That(voided.ToAccount, Is.EqualTo(50_000));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(100_000));
        Assert.Throws<LedgerException>(() => rig.Ledger.Void(new VoidRequest("v-2", sale.TransactionId!.Value, "again", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch)));
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_transactions"), Is.EqualTo(4), "top-up, sale, refund, void: nothing rewritten");
        Assert.That(rig.Outbox("canteen.void"), Has.Count.EqualTo(1));
        Assert.That(rig.Ledger.Statement(7, CanteenRig.Lunch.AddDays(-1), CanteenRig.Lunch.AddDays(1)).Select(l => l.Amount), Is.EqualTo(new long[] { 100_000, -60_000, 10_000, 50_000 }));
    }

    [Test]
    public void Top_up_is_idempotent_by_the_centres_id_and_a_changed_repeat_is_refused()
    {
        using var rig = new CanteenRig();
        var first = rig.Ledger.ApplyTopUp("centre-77", 9, 250_000, CanteenRig.Lunch);
        var again = rig.Ledger.ApplyTopUp("centre-77", 9, 250_000, CanteenRig.Lunch.AddMinutes(3));
        Assert.That(first.Status, Is.EqualTo(TopUpStatus.Applied));
        Assert.That(again.Status, Is.EqualTo(TopUpStatus.AlreadyApplied));
        Assert.That(again.TransactionId, Is.EqualTo(first.TransactionId));
        Assert.That(rig.Ledger.GetBalance(9), Is.EqualTo(250_000));
        var changed = Assert.Throws<LedgerException>(() => rig.Ledger.ApplyTopUp("centre-77", 9, 300_000, CanteenRig.Lunch));
        Assert.That(changed!.Message, Does.Contain("centre-77").And.Contain("The first is kept"));
        Assert.Throws<LedgerException>(() => rig.Ledger.ApplyTopUp("centre-78", 9999, 1_000, CanteenRig.Lunch));
        Assert.Throws<ArgumentException>(() => rig.Ledger.ApplyTopUp("centre-79", 9, 0, CanteenRig.Lunch));
        Assert.That(rig.Scalar($"SELECT balance FROM canteen_accounts WHERE id = {CanteenLedger.TopUpClearingAccount}"), Is.EqualTo(-250_000));
        Assert.That(rig.Outbox("canteen.topup-applied"), Has.Count.EqualTo(1));
    }

    [Test]
    public void While_the_centre_is_unreachable_a_pupils_spending_per_day_is_capped()
    {
        var centre = new SwitchableCentre();
        using var rig = new CanteenRig(new CanteenOptions { OfflineDailyCap = 70_000 }, centre);
        rig.Ledger.ApplyTopUp("t-1", 7, 500_000, CanteenRig.Lunch);
        Assert.That(rig.Sell(7, rig.Plov).Status, Is.EqualTo(ChargeStatus.Accepted), "online: no cap");
        centre.IsCentreReachable = false;
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.Accepted), "60,000 + 5,000 is within the 70,000 cap");
        var capped = rig.Sell(7, rig.Tea, rig.Tea);
        Assert.That(capped.Status, Is.EqualTo(ChargeStatus.OfflineCapReached));
        Assert.That(capped.Message, Does.Contain("700.00 ₸").And.Contain("cash"));
        var cash = rig.Ledger.Charge(Request(rig, "cash-1", 7, rig.Tea, rig.Tea) with { Payment = PaymentMethod.Cash });
        Assert.That(cash.Status, Is.EqualTo(ChargeStatus.Accepted), "cash is not capped");
        Assert.That(rig.Sell(8, rig.Plov).Status, Is.EqualTo(ChargeStatus.InsufficientFunds));
        rig.Ledger.ApplyTopUp("t-2", 8, 100_000, CanteenRig.Lunch);
        Assert.That(rig.Sell(8, rig.Plov).Status, Is.EqualTo(ChargeStatus.Accepted), "the cap is per pupil");
        centre.IsCentreReachable = true;
        Assert.That(rig.Sell(7, rig.Tea, rig.Tea).Status, Is.EqualTo(ChargeStatus.Accepted), "back online: no cap");
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_transactions WHERE offline = 1 AND kind = 'charge'"), Is.EqualTo(3));
    }

    [Test]
    public void Anonymous_cash_sale_goes_to_the_cash_account_and_the_z_report_counts_it_blind_until_closed()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        rig.Sell(7, rig.Plov);
        var cash = rig.Ledger.Charge(Request(rig, "cash-1", null, rig.Soup, rig.Tea) with { Payment = PaymentMethod.Cash });
        Assert.That(cash.FromCash, Is.EqualTo(40_000));
        Assert.That(cash.BalanceAfter, Is.Null);
        rig.Ledger.Refund(new RefundRequest("r-1", cash.TransactionId!.Value, 5_000, "tea spilled", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        var open = rig.Ledger.GetZReport(rig.Shift.Id);
        Assert.That(open.ExpectedCash, Is.Null, "blind count: the till does not show what it expects before the count");
        Assert.That(open.Sales, Is.EqualTo(2));
        var report = rig.Ledger.CloseShift(rig.Shift.Id, countedCash: 234_000, CanteenRig.Lunch.AddHours(3));
        Assert.That(report.ExpectedCash, Is.EqualTo(200_000 + 40_000 - 5_000));
        Assert.That(report.OverShort, Is.EqualTo(-1_000));
        Assert.That((report.SalesTotal, report.FromAccounts, report.FromCash, report.Refunds, report.RefundedTotal), Is.EqualTo((100_000L, 60_000L, 40_000L, 1, 5_000L)));
        Assert.That(rig.Ledger.GetOpenShift("till-1"), Is.Null);
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.ShiftNotOpen));
        Assert.That(rig.Ledger.CloseShift(rig.Shift.Id, 234_000, CanteenRig.Lunch.AddHours(4)).OverShort, Is.EqualTo(-1_000), "closing again with the same count is harmless");
        Assert.Throws<LedgerException>(() => rig.Ledger.CloseShift(rig.Shift.Id, 235_000, CanteenRig.Lunch.AddHours(4)));
        Assert.That(rig.Outbox("canteen.shift-closed"), Has.Count.EqualTo(1));
    }

    [Test]
    public void A_till_has_one_open_shift_at_a_time()
    {
        using var rig = new CanteenRig();
        var error = Assert.Throws<LedgerException>(() => rig.Ledger.OpenShift("till-1", CanteenRig.Cashier, 0, CanteenRig.Lunch));
        Assert.That(error!.Message, Does.Contain("already has an open shift"));
        Assert.That(rig.Ledger.OpenShift("till-2", CanteenRig.Supervisor, 0, CanteenRig.Lunch).Till, Is.EqualTo("till-2"));
    }

    [Test]
    public void Ledger_entries_and_transactions_cannot_be_changed_or_deleted()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        using var connection = rig.Database.Connect();
        foreach (var sql in new[] { "UPDATE canteen_entries SET amount = 1", "DELETE FROM canteen_entries", "UPDATE canteen_transactions SET total = 1", "DELETE FROM canteen_transactions" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var error = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery(), sql);
            Assert.That(error!.Message, Does.Contain("append-only"));
        }
    }

    [Test]
    public void Entries_that_do_not_sum_to_zero_are_refused_before_anything_is_written()
    {
        using var rig = new CanteenRig();
        using var connection = rig.Database.Connect();
        using var transaction = connection.BeginTransaction();
        var error = Assert.Throws<InvalidOperationException>(() =>
            CanteenLedger.PostEntries(connection, transaction, 1, [(CanteenLedger.RevenueAccount, 100), (CanteenLedger.CashAccount, -99)]));
        Assert.That(error!.Message, Does.Contain("does not balance"));
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_entries"), Is.Zero);
    }

    [Test]
    public void Verify_finds_a_stored_balance_that_disagrees_with_the_entries()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        using (var connection = rig.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE canteen_accounts SET balance = balance + 1 WHERE pupil_id = 7";
            command.ExecuteNonQuery();
        }
        var check = rig.Ledger.Verify();
        Assert.That(check.Balanced, Is.False);
        Assert.That(check.Problems.Single(), Does.Contain("stored balance 100001"));
    }

    [Test]
    public void Each_ledger_event_in_the_outbox_names_the_pupil_by_id_only()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        rig.Sell(7, rig.Plov);
        var name = rig.Ledger.GetPupilAtTill(7, CanteenRig.Lunch)!.FullName;
        var events = rig.Outbox("canteen.");
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "canteen.topup-applied", "canteen.charge" }));
        foreach (var (_, payload) in events)
        {
            Assert.That(payload, Does.Contain("\"pupilId\":7").And.Contain("\"schemaVersion\":1"));
            Assert.That(payload, Does.Not.Contain(name));
        }
        Assert.That(events[1].Payload, Does.Contain("\"code\":\"plov\"").And.Contain("\"fromAccount\":60000"));
    }

    [Test]
    public void Till_identifies_a_pupil_by_card_with_balance_bans_and_free_meal()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 12_345, CanteenRig.Lunch);
        rig.Ledger.BanAllergen(7, "nuts", "parent:7", CanteenRig.Lunch);
        var pupil = rig.Ledger.IdentifyByCard(Kezekshi.Edge.Agent.Demo.DemoSchool.PupilCard(7), CanteenRig.Lunch);
        Assert.That(pupil, Is.Not.Null);
        Assert.That((pupil!.PupilId, pupil.Balance, pupil.EntitledMealAvailable), Is.EqualTo((7L, 12_345L, false)));
        Assert.That(pupil.Bans.Single().Allergen, Is.EqualTo("nuts"));
        Assert.That(rig.Ledger.IdentifyByCard(Kezekshi.Edge.Agent.Demo.DemoSchool.StaffCard(1), CanteenRig.Lunch), Is.Null, "a staff card is not a pupil");
        Assert.That(CanteenLedger.Tenge(12_345), Is.EqualTo("123.45 ₸"));
    }

    [Test]
    public void Bad_requests_get_messages_that_say_what_to_fix()
    {
        using var rig = new CanteenRig();
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.Charge(Request(rig, "", 7, rig.Tea)))!.Message, Does.Contain("idempotency key"));
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.Charge(Request(rig, "k", 7)))!.Message, Does.Contain("at least one item"));
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.Charge(Request(rig, "k", null, rig.Tea)))!.Message, Does.Contain("identify them"));
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.Charge(Request(rig, "k", 7, rig.Tea) with { Lines = [new ChargeLine(rig.Tea.Id, 0)] }))!.Message, Does.Contain("Quantity 0"));
        Assert.That(rig.Ledger.Charge(Request(rig, "k", 7) with { Lines = [new ChargeLine(999)] }).Status, Is.EqualTo(ChargeStatus.UnknownItem));
        Assert.That(rig.Ledger.Charge(Request(rig, "k", 9999, rig.Tea)).Status, Is.EqualTo(ChargeStatus.UnknownPupil));
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.UpsertMenuItem(new MenuItemDraft("x", "X", -1)))!.Message, Does.Contain("tiyn"));
        Assert.That(Assert.Throws<ArgumentException>(() => rig.Ledger.UpsertMenuItem(new MenuItemDraft("x", "X", 1, Allergens: ["nuts; milk"])))!.Message, Does.Contain("letters"));
    }

    [Test]
    public void Menu_lists_prices_photos_and_normalised_allergens_and_hides_withdrawn_items()
    {
        using var rig = new CanteenRig();
        Assert.That(rig.Bun.Allergens, Is.EqualTo(new[] { "gluten", "milk", "nuts" }));
        Assert.That(rig.Plov.PhotoPath, Is.EqualTo("menu/plov.jpg"));
        rig.Ledger.UpsertMenuItem(new MenuItemDraft("tea", "Tea", 6_000, "drinks", Active: false));
        Assert.That(rig.Ledger.GetMenu().Select(m => m.Code), Is.EquivalentTo(new[] { "plov", "soup", "bun" }));
        Assert.That(rig.Ledger.GetMenu(includeInactive: true).Single(m => m.Code == "tea").Price, Is.EqualTo(6_000));
        Assert.That(rig.Sell(7, rig.Tea).Status, Is.EqualTo(ChargeStatus.UnknownItem));
    }

    [Test]
    public void Receipt_shows_the_lines_prices_at_sale_time_and_what_was_given_back()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        var sale = rig.Ledger.Charge(new ChargeRequest("s-1", rig.Shift.Id, 7, [new ChargeLine(rig.Tea.Id, 2), new ChargeLine(rig.Bun.Id)], CanteenRig.Lunch));
        rig.Ledger.UpsertMenuItem(new MenuItemDraft("tea", "Tea", 7_000, "drinks"));
        rig.Ledger.Refund(new RefundRequest("r-1", sale.TransactionId!.Value, 5_000, "one tea spilled", CanteenRig.Cashier, rig.Shift.Id, CanteenRig.Lunch));
        rig.Ledger.ApplyTopUp("t-2", 8, 100_000, CanteenRig.Lunch);
        var later = rig.Sell(8, rig.Tea);
        var receipt = rig.Ledger.GetReceipt(sale.TransactionId!.Value)!;
        Assert.That(receipt.Lines.Select(l => (l.Code, l.Quantity, l.UnitPrice)), Is.EqualTo(new[] { ("tea", 2, 5_000L), ("bun", 1, 15_000L) }), "the price when sold");
        Assert.That((receipt.Total, receipt.GivenBack, receipt.Voided, receipt.PupilId), Is.EqualTo((25_000L, 5_000L, false, (long?)7)));
        Assert.That(rig.Ledger.RecentSales(rig.Shift.Id).Select(r => r.TransactionId), Is.EqualTo(new[] { later.TransactionId, sale.TransactionId }), "newest first");
        Assert.That(rig.Ledger.GetReceipt(later.TransactionId!.Value)!.Lines.Single().UnitPrice, Is.EqualTo(7_000), "the new price for later sales");
        Assert.That(rig.Ledger.GetReceipt(99_999), Is.Null);
    }

    [Test]
    public void A_sale_whose_outbox_event_cannot_be_written_leaves_no_trace_in_the_ledger()
    {
        using var rig = new CanteenRig();
        rig.Ledger.ApplyTopUp("t-1", 7, 100_000, CanteenRig.Lunch);
        using (var connection = rig.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            Assert.That(new SqliteCommand("PRAGMA synchronous", connection).ExecuteScalar(), Is.EqualTo(2L), "synchronous=FULL");
            command.CommandText = "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox WHEN NEW.event_type = 'canteen.charge' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END";
            command.ExecuteNonQuery();
        }
        Assert.Throws<SqliteException>(() => rig.Sell(7, rig.Plov));
        Assert.That(rig.Ledger.GetBalance(7), Is.EqualTo(100_000));
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_transactions WHERE kind = 'charge'"), Is.Zero);
        Assert.That(rig.Scalar("SELECT COUNT(*) FROM canteen_entries"), Is.EqualTo(2), "only the top-up's two entries");
        Assert.That(rig.Ledger.Verify().Balanced, Is.True);
    }
}
