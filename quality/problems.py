"""What each data-quality check means: the words the page shows beside its records.

One entry per check of quality.selectors, under the same key. `why` and `fix` are HTML
(trusted constants); `{required_roles}` in them is filled in by the view.
"""

from __future__ import annotations

from dataclasses import dataclass

TOUCH_COLUMNS = ("Account", "Contact", "Contact's account", "Source")
ACCOUNT_COLUMNS = ("Domain", "Tier")


@dataclass(frozen=True)
class Problem:
    key: str
    title: str
    # What the count counts, after the number: one, many ("1 contact", "3 contacts").
    unit: tuple[str, str]
    why: str
    fix: str
    # Headings of the record table: the link's column, then one per Record.details entry.
    columns: tuple[str, ...]
    # Words after Finding.also (one, many), for the checks that report a second figure.
    also: tuple[str, str] | None = None


PROBLEMS: dict[str, Problem] = {
    p.key: p
    for p in (
        Problem(
            key="unmatched_contacts",
            title="Contacts matched to no account",
            unit=("contact", "contacts"),
            why="Every account metric leaves these people out, and a touch of theirs cannot be imported "
            "(a touch whose contact has no account could count nowhere, so the import rejects it).",
            fix="Re-import them in a contacts file whose <code>account_external_id</code> column names their account, "
            "or first add the account, with their email's domain as its <code>domain</code>, and re-import them. "
            "For a single contact, pick the account on its admin page.",
            columns=("Contact", "Email", "Title"),
        ),
        Problem(
            key="unowned_target_accounts",
            title="Target accounts with no owner",
            unit=("target account", "target accounts"),
            why="No sales rep has them on <em>My accounts</em>: their spikes and newly engaged people reach nobody, "
            "and per-rep figures leave them out.",
            fix="Fill the <code>owner_email</code> column (the rep's login email) in an accounts file and re-import it, "
            "or set <em>Owner</em> on the account's admin page.",
            columns=("Account", *ACCOUNT_COLUMNS),
            also=("account has no owner in all, target or not.", "accounts have no owner in all, target or not."),
        ),
        Problem(
            key="target_accounts_without_contacts",
            title="Target accounts with no contacts",
            unit=("target account", "target accounts"),
            why="Nobody there is known, so coverage is 0 and the account can never be covered, nor have aware or "
            "engaged contacts: only anonymous traffic counts for it.",
            fix="Import their people in a contacts file with <code>account_external_id</code> set, or with emails at "
            "the account's <code>domain</code> (they are matched by domain).",
            columns=("Account", *ACCOUNT_COLUMNS),
        ),
        Problem(
            key="target_accounts_without_required_role",
            title="Target accounts with no one in a required role",
            unit=("target account", "target accounts"),
            why="Coverage counts the required buying-committee roles ({required_roles}) held by a contact. These "
            "accounts have contacts but none in those roles, so their role coverage is 0 and they are never covered. "
            "(Accounts with no contacts at all are listed above, not here.)",
            fix="Fill the <code>role</code> column of their contacts (<code>decision_maker</code> or "
            "&ldquo;Decision maker&rdquo;…) in a contacts file and re-import it, or set <em>Role</em> on each "
            "contact's admin page. The required roles are a setting: Settings → Metric settings.",
            columns=("Account", *ACCOUNT_COLUMNS),
        ),
        Problem(
            key="free_mail_accounts",
            title="Accounts with a free-mail domain",
            unit=("account", "accounts"),
            why="Contacts are matched to accounts by their email's domain, so every contact with an address at this "
            "provider, from any company, lands on this account and their touches count for it.",
            fix="Put the company's own domain in the <code>domain</code> column of an accounts file (matched on "
            "<code>external_id</code>) and re-import it, or clear <em>Domain</em> on the account's admin page. Then "
            "re-import the contacts matched to it with <code>account_external_id</code> set.",
            columns=("Account", "Domain", "Contacts"),
        ),
        Problem(
            key="duplicate_accounts",
            title="Accounts that look like duplicates",
            unit=("name used more than once", "names used more than once"),
            why="One company stored twice splits its contacts, touches and opportunities between the records, so "
            "neither reaches the thresholds it should, and the company counts twice in segments and the target list.",
            fix="Keep one account per name: move the contacts (contacts file with <code>account_external_id</code>) "
            "and opportunities to it, then delete the others in the admin. If they are different companies, rename "
            "one. Fix the CRM too, or the next import brings the duplicate back.",
            columns=("Name", "Accounts"),
            also=("account shares these names.", "accounts share these names."),
        ),
        Problem(
            key="duplicate_programs",
            title="Programs with the same name",
            unit=("name used more than once", "names used more than once"),
            why="Touches split between two programs halve each one's reach and focus and divide its attribution "
            "credit; on the programs page one campaign looks like two. A programs file without "
            "<code>external_id</code> matches programs by name, which these names make ambiguous.",
            fix="Merge them: point the touches at one program (<code>program_external_id</code> in a touchpoints "
            "file) and delete the other in the admin. If they are different campaigns, rename one.",
            columns=("Name", "Programs"),
            also=("program shares these names.", "programs share these names."),
        ),
        Problem(
            key="future_touchpoints",
            title="Touches dated in the future",
            unit=("touch", "touches"),
            why="A touch dated after today counts for nothing yet, then suddenly counts on the day it claims to have "
            "happened, making engagement and spikes that never were. Usually a date an import read the wrong way "
            "(day and month swapped, a wrong year or time zone).",
            fix="Re-import the file with the right <code>occurred_at</code> (choose the file's time zone on the import "
            "page): the same <code>source</code> and <code>external_id</code> update each touch in place. Single "
            "touches: correct or delete them in the admin.",
            columns=("Touch", *TOUCH_COLUMNS),
        ),
        Problem(
            key="touchpoints_at_another_account",
            title="Touches at another account than their contact's",
            unit=("touch", "touches"),
            why="The touch counts for one account while the person who made it is stored at another (or at none): "
            "engagement and awareness go to the wrong account.",
            fix="If the person moved company, their old touches rightly stay where they happened. Otherwise correct "
            "the contact's account (contacts file, <code>account_external_id</code>), or re-import the touches with "
            "only <code>contact_email</code> or <code>contact_external_id</code> so they take the contact's account.",
            columns=("Touch", *TOUCH_COLUMNS),
        ),
        Problem(
            key="opportunities_without_amount",
            title="Opportunities with no amount",
            unit=("opportunity", "opportunities"),
            why="Pipeline, won revenue, contract value and attributed pipeline add up amounts: these count as deals "
            "but add nothing, and pull the average contract value down.",
            fix="Fill the <code>amount</code> column in an opportunities file (matched on <code>external_id</code>) "
            "and re-import it, or set <em>Amount</em> on the opportunity's admin page.",
            columns=("Opportunity", "Account", "Stage", "State"),
        ),
    )
}
