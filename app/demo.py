"""``casesearch demo``: generate the synthetic case file, index it, say how to sign in."""

from __future__ import annotations

import datetime as dt

from app.auth import mint_token
from app.services import build_services
from app.settings import Settings
from connectors.jsonl import JsonlConnector
from evaluation.synthetic import demo_users, generate_case_file


def prepare_demo(
    settings: Settings, *, seed: int = 7, n_cases: int = 40, today: dt.date | None = None
) -> str:
    """Write the case file under ``<data_dir>/demo`` and index it (incrementally).

    Dates are generated relative to ``today`` (default: the real today), so "last 6 months"
    means something in the demo. Returns a short text for the operator.
    """
    target = settings.data_dir / "demo"
    generated = generate_case_file(
        target, seed=seed, n_cases=n_cases, today=today or dt.date.today()
    )
    services = build_services(settings)
    try:
        summary = services.indexer.run(JsonlConnector(generated.records_path))
    finally:
        services.close()
    where = f"open http://{settings.host}:{settings.port}/"
    lines = [
        f"demo case file: {len(generated.documents)} records in {n_cases} cases "
        f"({summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged)",
        f"{where} and sign in as one of the demo users (development mode: anyone can sign in"
        " as anyone),"
        if settings.dev_sign_in
        else f"{where} through the configured identity provider (no development sign-in),",
        "or call the API with one of these tokens (valid for 8 hours):",
    ]
    for user in demo_users():
        token = mint_token(settings, user.sub, list(user.principals))
        lines.append(f"  {user.sub:<16} {' '.join(user.principals)}")
        lines.append(f"    {token}")
    return "\n".join(lines)
