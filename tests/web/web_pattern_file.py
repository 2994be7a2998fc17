"""A fictional case file for the pattern view's browser test and screenshot.

Five cases over two teams and most of 2024: three that show neglect above the threshold, one
with a single mention in a longer file (listed only with weaker matches), and one where
neglect is only ruled out, feared or about an adult (set apart). Everything here is made up.
"""

from __future__ import annotations

from factories import make_record

from connectors.record import Record

QA_PRINCIPALS = ("team:north", "team:south")

_ROUTINE = (
    "The social worker visited the family home and spoke with the child alone.",
    "School reported good attendance this term and the child is settled in class.",
    "Contact with dad took place at the family centre and went well.",
)

# (case, team, [(date, doc_type, title, text)])
_CASES: tuple[tuple[str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    (
        "CASE-1021",
        "team:north",
        (
            (
                "2024-01-16",
                "visit_note",
                "Home visit",
                "There was no food in the house and the fridge was empty.",
            ),
            (
                "2024-02-08",
                "school_contact",
                "Call from school",
                "Both children arrived with untreated head lice and dirty clothes.",
            ),
            (
                "2024-03-14",
                "visit_note",
                "Unannounced visit",
                "The home conditions were poor, with rubbish on the floor and no heating.",
            ),
            (
                "2024-03-28",
                "health_contact",
                "Health visitor",
                "Missed dental appointments again; the teeth show decay that has not been treated.",
            ),
            (
                "2024-05-02",
                "case_note",
                "Case note",
                "Concerns about neglect were discussed with mum, who agreed to a cleaning plan.",
            ),
            (
                "2024-06-20",
                "visit_note",
                "Home visit",
                "Again no food in the cupboards and the children were hungry when I arrived.",
            ),
        ),
    ),
    (
        "CASE-1034",
        "team:north",
        (
            (
                "2024-04-03",
                "referral",
                "Referral from nursery",
                "Nursery report the child is often hungry and wearing the same dirty clothes.",
            ),
            (
                "2024-05-15",
                "assessment",
                "Assessment",
                "The assessment found neglect of the children's basic care over several months.",
            ),
            (
                "2024-07-09",
                "visit_note",
                "Home visit",
                "The home was cold with no heating and mould on the bedroom walls.",
            ),
        ),
    ),
    (
        "CASE-1047",
        "team:south",
        (
            (
                "2024-02-21",
                "police_notification",
                "Police notification",
                "Police found the home squalid with no food for the children.",
            ),
            (
                "2024-06-11",
                "visit_note",
                "Home visit",
                "The children had untreated head lice and their clothes were dirty.",
            ),
            (
                "2024-08-27",
                "case_note",
                "Case note",
                "Persistent neglect: the children's needs are still not being met.",
            ),
        ),
    ),
    (
        "CASE-1052",
        "team:north",
        (("2024-09-04", "visit_note", "Home visit", "The fridge was empty on this visit."),),
    ),
    (
        "CASE-1060",
        "team:south",
        (
            (
                "2024-03-05",
                "school_contact",
                "Call from school",
                "School raised no concerns about neglect this term.",
            ),
            (
                "2024-04-17",
                "assessment",
                "Assessment",
                "If the home conditions do not improve there is a risk of neglect.",
            ),
            (
                "2024-05-29",
                "case_note",
                "Case note",
                "Mum told me she was neglected by her own mother as a child.",
            ),
        ),
    ),
)


def pattern_file() -> list[Record]:
    records: list[Record] = []
    for case_id, team, entries in _CASES:
        for n, (date, doc_type, title, text) in enumerate(entries, start=1):
            records.append(
                make_record(
                    id=f"{case_id}-{n:02d}",
                    case_id=case_id,
                    doc_type=doc_type,
                    title=title,
                    created_at=date,
                    text=text,
                    acl=[team],
                )
            )
        # routine records, so a case's share of strong matches is a real share
        for n, text in enumerate(_ROUTINE * (4 if case_id == "CASE-1052" else 1), start=50):
            records.append(
                make_record(
                    id=f"{case_id}-{n:02d}",
                    case_id=case_id,
                    doc_type="case_note",
                    title="Case note",
                    created_at=f"2024-{(n % 9) + 1:02d}-10",
                    text=text,
                    acl=[team],
                )
            )
    return records
