using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers.Canteen;

// Menu, parents' settings (limits, bans), entitlements and the till's view of a pupil.
public sealed partial class CanteenLedger
{
    /// <summary>Adds a menu item or changes the one with the same code. Prices change for future sales only.</summary>
    public MenuItem UpsertMenuItem(MenuItemDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (string.IsNullOrWhiteSpace(draft.Code) || string.IsNullOrWhiteSpace(draft.Name))
            throw new ArgumentException("A menu item needs a code (e.g. \"plov\") and a name.", nameof(draft));
        if (draft.Price < 0) throw new ArgumentException($"The price of {draft.Name} is negative ({draft.Price} tiyn); enter it in tiyn, e.g. 45000 for 450 ₸.", nameof(draft));
        string allergens = string.Join(',', NormaliseAllergens(draft.Allergens ?? []));
        lock (_write)
        {
            using var connection = Connect();
            long id = LedgerSql.Long(connection, null, """
                INSERT INTO canteen_menu_items(code, name, price, category, is_meal, allergens, photo_path, active) VALUES ($c, $n, $p, $cat, $m, $a, $photo, $act)
                ON CONFLICT(code) DO UPDATE SET name = excluded.name, price = excluded.price, category = excluded.category, is_meal = excluded.is_meal,
                    allergens = excluded.allergens, photo_path = excluded.photo_path, active = excluded.active
                RETURNING id
                """, ("$c", draft.Code.Trim()), ("$n", draft.Name.Trim()), ("$p", draft.Price), ("$cat", draft.Category), ("$m", draft.IsMeal ? 1 : 0),
                ("$a", allergens), ("$photo", draft.PhotoPath), ("$act", draft.Active ? 1 : 0));
            return LoadMenuItem(connection, null, id)!;
        }
    }

    /// <summary>The menu, by category and name; withdrawn items only when asked.</summary>
    public IReadOnlyList<MenuItem> GetMenu(bool includeInactive = false)
    {
        using var connection = Connect();
        return LedgerSql.Query(connection, null, $"SELECT {MenuColumns} FROM canteen_menu_items {(includeInactive ? "" : "WHERE active = 1")} ORDER BY category, name", ReadMenuItem);
    }

    public MenuItem? GetMenuItem(long id)
    {
        using var connection = Connect();
        return LoadMenuItem(connection, null, id);
    }

    /// <summary>Sets (or with null removes) a parent's daily spending limit in tiyn.</summary>
    public void SetDailyLimit(long pupilId, long? dailyLimit, string setBy, DateTimeOffset at)
    {
        if (dailyLimit < 0) throw new ArgumentException("A daily limit cannot be negative; use 0 to block spending from the account.", nameof(dailyLimit));
        ArgumentException.ThrowIfNullOrWhiteSpace(setBy);
        lock (_write)
        {
            using var connection = Connect();
            RequirePupil(connection, pupilId);
            if (dailyLimit is { } limit)
            {
                LedgerSql.Exec(connection, null, """
                    INSERT INTO canteen_daily_limits(pupil_id, daily_limit, set_by, set_at) VALUES ($p, $l, $b, $at)
                    ON CONFLICT(pupil_id) DO UPDATE SET daily_limit = excluded.daily_limit, set_by = excluded.set_by, set_at = excluded.set_at
                    """, ("$p", pupilId), ("$l", limit), ("$b", setBy), ("$at", LedgerSql.Time(at)));
            }
            else
            {
                LedgerSql.Exec(connection, null, "DELETE FROM canteen_daily_limits WHERE pupil_id = $p", ("$p", pupilId));
            }
        }
    }

    /// <summary>Bans one menu item for a pupil (a parent's decision).</summary>
    public Ban BanItem(long pupilId, long menuItemId, string setBy, DateTimeOffset at) => AddBan(pupilId, BanKind.Item, menuItemId, null, setBy, at);

    /// <summary>Bans every item containing <paramref name="allergen"/> (e.g. "nuts", "milk", "gluten") for a pupil.</summary>
    public Ban BanAllergen(long pupilId, string allergen, string setBy, DateTimeOffset at)
    {
        var normalised = NormaliseAllergens([allergen]);
        if (normalised.Count != 1) throw new ArgumentException("Name one allergen, e.g. \"nuts\".", nameof(allergen));
        return AddBan(pupilId, BanKind.Allergen, null, normalised[0], setBy, at);
    }

    private Ban AddBan(long pupilId, BanKind kind, long? menuItemId, string? allergen, string setBy, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(setBy);
        lock (_write)
        {
            using var connection = Connect();
            RequirePupil(connection, pupilId);
            if (menuItemId is { } item && LoadMenuItem(connection, null, item) is null) throw new LedgerException($"There is no menu item {item} to ban.");
            var existing = LoadBans(connection, null, pupilId).FirstOrDefault(b => b.Kind == kind && b.MenuItemId == menuItemId && b.Allergen == allergen);
            if (existing is not null) return existing;
            long id = LedgerSql.Long(connection, null, "INSERT INTO canteen_bans(pupil_id, kind, menu_item_id, allergen, set_by, set_at) VALUES ($p, $k, $i, $a, $b, $at) RETURNING id",
                ("$p", pupilId), ("$k", kind == BanKind.Item ? "item" : "allergen"), ("$i", menuItemId), ("$a", allergen), ("$b", setBy), ("$at", LedgerSql.Time(at)));
            return new Ban(id, pupilId, kind, menuItemId, allergen, setBy, at);
        }
    }

    /// <summary>Lifts a ban. The row stays (with its removal time) so past overrides still name it.</summary>
    public void RemoveBan(long banId, DateTimeOffset at)
    {
        lock (_write)
        {
            using var connection = Connect();
            if (LedgerSql.Exec(connection, null, "UPDATE canteen_bans SET removed_at = $at WHERE id = $i AND removed_at IS NULL", ("$i", banId), ("$at", LedgerSql.Time(at))) == 0)
                throw new LedgerException($"There is no active ban {banId}.");
        }
    }

    /// <summary>A pupil's active bans.</summary>
    public IReadOnlyList<Ban> GetBans(long pupilId)
    {
        using var connection = Connect();
        return LoadBans(connection, null, pupilId);
    }

    /// <summary>Grants a free or subsidised meal entitlement: one meal a day covered up to <paramref name="maxAmount"/> tiyn.</summary>
    public Entitlement GrantEntitlement(long pupilId, string program, long maxAmount, DateOnly validFrom, DateOnly? validUntil = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(program);
        if (maxAmount <= 0) throw new ArgumentException("An entitlement covers a positive amount of tiyn per meal.", nameof(maxAmount));
        if (validUntil < validFrom) throw new ArgumentException($"The entitlement ends ({validUntil}) before it starts ({validFrom}).", nameof(validUntil));
        lock (_write)
        {
            using var connection = Connect();
            RequirePupil(connection, pupilId);
            long id = LedgerSql.Long(connection, null, """
                INSERT INTO canteen_entitlements(pupil_id, program, max_amount, valid_from, valid_until) VALUES ($p, $g, $m, $f, $u)
                ON CONFLICT(pupil_id, program, valid_from) DO UPDATE SET max_amount = excluded.max_amount, valid_until = excluded.valid_until RETURNING id
                """, ("$p", pupilId), ("$g", program.Trim()), ("$m", maxAmount), ("$f", LedgerSql.Day(validFrom)), ("$u", validUntil is { } u ? LedgerSql.Day(u) : null));
            return new Entitlement(id, pupilId, program.Trim(), maxAmount, validFrom, validUntil);
        }
    }

    /// <summary>Grants <paramref name="program"/> to every active pupil in grades up to <paramref name="maxGrade"/> (free meals for primary grades).</summary>
    /// <returns>How many pupils were granted.</returns>
    public int GrantGradeEntitlements(int maxGrade, string program, long maxAmount, DateOnly validFrom, DateOnly? validUntil = null)
    {
        List<long> pupils;
        using (var connection = Connect())
        {
            pupils = LedgerSql.Query(connection, null, "SELECT p.id FROM pupils p JOIN classes c ON c.id = p.class_id WHERE p.status = 'active' AND c.grade <= $g",
                r => r.GetInt64(0), ("$g", maxGrade));
        }
        foreach (var pupil in pupils) GrantEntitlement(pupil, program, maxAmount, validFrom, validUntil);
        return pupils.Count;
    }

    /// <summary>A pupil's entitlements, current and past.</summary>
    public IReadOnlyList<Entitlement> GetEntitlements(long pupilId)
    {
        using var connection = Connect();
        return LedgerSql.Query(connection, null, "SELECT id, pupil_id, program, max_amount, valid_from, valid_until FROM canteen_entitlements WHERE pupil_id = $p ORDER BY valid_from",
            r => new Entitlement(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), LedgerSql.ParseDay(r.GetString(4)), r.IsDBNull(5) ? null : LedgerSql.ParseDay(r.GetString(5))),
            ("$p", pupilId));
    }

    /// <summary>The pupil holding an active card, as the till shows them; null for an unknown, blocked or non-pupil card.</summary>
    public PupilAtTill? IdentifyByCard(ulong cardNumber, DateTimeOffset at)
    {
        using var connection = Connect();
        if (LedgerSql.Scalar(connection, null, "SELECT holder_id FROM credentials WHERE card_number = $c AND holder_kind = 'pupil' AND status = 'active'",
            ("$c", (long)cardNumber)) is not long pupilId) return null;
        return PupilAtTill(connection, pupilId, at);
    }

    /// <summary>What the till shows for a pupil: name, class, balance, today's spending and limit, free meal, bans. Null if unknown or left.</summary>
    public PupilAtTill? GetPupilAtTill(long pupilId, DateTimeOffset at)
    {
        using var connection = Connect();
        return PupilAtTill(connection, pupilId, at);
    }

    private PupilAtTill? PupilAtTill(SqliteConnection connection, long pupilId, DateTimeOffset at)
    {
        var pupil = LedgerSql.Query(connection, null, "SELECT p.full_name, c.name FROM pupils p JOIN classes c ON c.id = p.class_id WHERE p.id = $p AND p.status = 'active'",
            r => (Name: r.GetString(0), Class: r.GetString(1)), ("$p", pupilId)).FirstOrDefault();
        if (pupil.Name is null) return null;
        string day = LedgerSql.Day(Calendar.DayOf(at));
        long spent = LedgerSql.Scalar(connection, null, "SELECT id FROM canteen_accounts WHERE pupil_id = $p", ("$p", pupilId)) is long account ? SpentOn(connection, null, account, day) : 0;
        return new PupilAtTill(pupilId, pupil.Name, pupil.Class, BalanceOf(connection, null, pupilId), DailyLimitOf(connection, null, pupilId), spent,
            EntitledAmount(connection, null, pupilId, day) is not null, LoadBans(connection, null, pupilId));
    }

    private static void RequirePupil(SqliteConnection connection, long pupilId)
    {
        if (LedgerSql.Scalar(connection, null, "SELECT 1 FROM pupils WHERE id = $p", ("$p", pupilId)) is null)
            throw new LedgerException($"There is no pupil {pupilId} in this school's list; check the ID or wait for the centre's update.");
    }

    private static List<string> NormaliseAllergens(IEnumerable<string> allergens)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in allergens)
        {
            string a = raw.Trim().ToLowerInvariant();
            if (a.Length == 0) continue;
            if (a.Any(c => !(char.IsLetterOrDigit(c) || c == '-')))
                throw new ArgumentException($"Allergen \"{raw}\" may hold only letters, digits and '-', e.g. \"nuts\", \"milk\", \"gluten\".", nameof(allergens));
            result.Add(a);
        }
        return [.. result];
    }

    private const string MenuColumns = "id, code, name, price, category, is_meal, allergens, photo_path, active";

    private static MenuItem ReadMenuItem(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetInt64(5) != 0,
            r.GetString(6).Length == 0 ? [] : r.GetString(6).Split(','), LedgerSql.NullableString(r, 7), r.GetInt64(8) != 0);

    private static MenuItem? LoadMenuItem(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        LedgerSql.Query(connection, transaction, $"SELECT {MenuColumns} FROM canteen_menu_items WHERE id = $i", ReadMenuItem, ("$i", id)).FirstOrDefault();

    private static List<Ban> LoadBans(SqliteConnection connection, SqliteTransaction? transaction, long pupilId) =>
        LedgerSql.Query(connection, transaction,
            "SELECT id, pupil_id, kind, menu_item_id, allergen, set_by, set_at FROM canteen_bans WHERE pupil_id = $p AND removed_at IS NULL ORDER BY id",
            r => new Ban(r.GetInt64(0), r.GetInt64(1), r.GetString(2) == "item" ? BanKind.Item : BanKind.Allergen, LedgerSql.NullableLong(r, 3), LedgerSql.NullableString(r, 4),
                r.GetString(5), LedgerSql.ParseTime(r.GetString(6))), ("$p", pupilId));

    internal EdgeDatabase Database => _database;
}
