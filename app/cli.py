"""The ``casesearch`` command line (DESIGN.md, "Command line")."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import ConfigurationError, Settings, get_settings

if TYPE_CHECKING:
    from indexer.pipeline import Shard


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args, get_settings())
        return result
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for the operator, no stack trace
        from app.errors import AppError
        from app.settings import ConfigurationError
        from connectors.errors import ConnectorError
        from retrieval.errors import RetrievalError

        known = AppError | ConfigurationError | ConnectorError | RetrievalError
        if isinstance(exc, known | ValueError | OSError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casesearch", description="Search children's social-care case records."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("index", help="index a source incrementally")
    p.add_argument("--source", required=True, help="jsonl:PATH, files:DIR or sql:URL#table")
    p.add_argument("--no-deletions", action="store_true", help="do not remove missing ids")
    p.add_argument("--rebuild", action="store_true", help="re-embed every stored record first")
    p.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="K/N",
        help="index only shard K of N of the source's records (by a hash of the record id),"
        " with its own checkpoint: run N processes, K = 1 … N, to index it in parallel",
    )
    p.set_defaults(handler=_cmd_index)

    p = sub.add_parser("serve", help="run the API and web page")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser("demo", help="generate the synthetic case file, index it, serve it")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cases", type=int, default=40)
    p.add_argument("--no-serve", action="store_true", help="generate and index only")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser(
        "search", help="search from the shell as the given principals (audited like the API)"
    )
    p.add_argument("query")
    p.add_argument(
        "--as",
        dest="subject",
        default=None,
        help="who is searching, for the audit log (default: cli:<login name>)",
    )
    p.add_argument("--case-id")
    p.add_argument("--doc-type", action="append", default=[])
    p.add_argument("--principal", action="append", default=[])
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default="hybrid")
    p.add_argument("--json", action="store_true", help="print the API's response body")
    p.add_argument(
        "--local",
        action="store_true",
        help="search in this process (loads the model) even when a server answers at"
        " CASESEARCH_SERVER_URL",
    )
    p.set_defaults(handler=_cmd_search)

    ma = sub.add_parser("manifest", help="the files: connector's manifest")
    ma_sub = ma.add_subparsers(metavar="ACTION")
    p = ma_sub.add_parser(
        "init", help="write DIR/manifest.csv listing every file that is read, to fill in"
    )
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(handler=_cmd_manifest_init)

    p = sub.add_parser("token", help="mint a development token with the configured secret")
    p.add_argument("--sub", required=True)
    p.add_argument("--principal", action="append", default=[])
    p.add_argument("--ttl", type=int, default=None, help="seconds")
    p.set_defaults(handler=_cmd_token)

    p = sub.add_parser("failures", help="list quarantined records and files")
    p.add_argument("--source")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_failures)

    p = sub.add_parser("status", help="per-source checkpoint, counts and last run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_status)

    au = sub.add_parser("audit", help="verify or list the audit log")
    au_sub = au.add_subparsers(metavar="ACTION")
    p = au_sub.add_parser("verify", help="check the hash chain; exit 1 at the first bad event")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="a head hash kept elsewhere earlier: fail unless the chain still contains it "
        "(detects events cut off the end)",
    )
    p.set_defaults(handler=_cmd_audit_verify)
    p = au_sub.add_parser("list", help="audit events, newest first")
    p.add_argument("--subject")
    p.add_argument("--case-id")
    p.add_argument("--record-id")
    p.add_argument("--action", choices=_AuditActions(), metavar="ACTION", help="one of %(choices)s")
    p.add_argument("--date-from", type=dt.date.fromisoformat, help="first UTC day (inclusive)")
    p.add_argument("--date-to", type=dt.date.fromisoformat, help="last UTC day (inclusive)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_cmd_audit_list)
    p = au_sub.add_parser(
        "person",
        aliases=["subject"],
        help="events whose records name a data subject (a person id), oldest first",
    )
    p.add_argument("person_id")
    p.add_argument("--csv", action="store_true", help="CSV (the default is one line an event)")
    p.add_argument("--out", type=Path, help="write to this file instead of standard output")
    p.set_defaults(handler=_cmd_audit_person)

    p = sub.add_parser(
        "export-subject",
        help="every record about a person the principals may see, with who saw them (audited)",
    )
    p.add_argument("person_id")
    p.add_argument("--principal", action="append", default=[], help="repeatable")
    p.add_argument("--subject", help="who is exporting (default: cli:<login name>)")
    p.add_argument("--out", type=Path, required=True, help="directory for records.jsonl, audit.csv")
    p.set_defaults(handler=_cmd_export_subject)

    p = sub.add_parser(
        "people",
        help="load a people source: who each case is about (supplies or corrects subjects)",
    )
    p.add_argument("--source", required=True, help="jsonl:PATH or sql:URL")
    p.add_argument("--table", help="for sql:URL, the table or view with one row per person")
    p.set_defaults(handler=_cmd_people)

    p = sub.add_parser(
        "erase", help="erase records (or every record about a person) from every store"
    )
    p.add_argument("--record", action="append", default=[], help="a record id (repeatable)")
    p.add_argument("--subject", dest="person_id", help="a person id: every record naming them")
    p.add_argument("--reason", required=True, help="why (kept in the audit log: no names)")
    p.add_argument("--by", help="who is erasing (default: cli:<login name>)")
    p.set_defaults(handler=_cmd_erase)

    p = sub.add_parser(
        "reconcile",
        help="compare the store with the Qdrant collection and repair drift",
        description="Compare every chunk of the record store with its Qdrant point (ids,"
        " content and permission hashes, payload) and repair the drift: missing points"
        " upserted from the stored vectors, stray points deleted, stale payloads rewritten."
        " Needs CASESEARCH_QDRANT_URL.",
    )
    p.add_argument("--check", action="store_true", help="only report; exit 1 when there is drift")
    p.set_defaults(handler=_cmd_reconcile)

    ev = sub.add_parser("eval", help="evaluate retrieval on a test collection")
    ev_sub = ev.add_subparsers(metavar="KIND")
    p = ev_sub.add_parser("beir", help="a BEIR-layout collection")
    p.add_argument("directory", type=Path)
    p.add_argument("--mode", choices=["bm25", "dense", "hybrid", "all"], default="all")
    p.add_argument("--run-out", type=Path, required=True)
    p.add_argument("--report-out", type=Path, required=True)
    p.add_argument("--principal", action="append", default=[])
    p.add_argument("--split", default="test")
    p.add_argument(
        "--understand",
        choices=["auto", "on", "off"],
        default="auto",
        help="social-care query understanding (auto: on when documents carry case_id)",
    )
    p.add_argument(
        "--as-you-type",
        choices=["auto", "on", "off"],
        default="auto",
        help="also time finding with results as you type, searching each query word by word"
        " (auto: on when documents carry case_id)",
    )
    p.add_argument("--scratch", type=Path, default=None, help="scratch store folder")
    _store_url_option(p)
    _qdrant_url_option(p)
    p.add_argument("--today", type=dt.date.fromisoformat, default=None)
    _ablation_option(p)
    p.set_defaults(handler=_cmd_eval_beir)

    p = ev_sub.add_parser("synthetic", help="the seeded synthetic case file")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cases", type=int, default=40)
    p.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    p.add_argument(
        "--phrasings",
        choices=["tuning", "held-out"],
        default="tuning",
        help="wordings of the per-case questions; held-out ones were never used for tuning",
    )
    p.add_argument("--mode", choices=["bm25", "dense", "hybrid", "all"], default="all")
    p.add_argument("--run-out", type=Path, required=True)
    p.add_argument("--report-out", type=Path, required=True)
    p.add_argument("--principal", action="append", default=[])
    p.add_argument("--understand", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--as-you-type", choices=["auto", "on", "off"], default="auto")
    _ablation_option(p)
    _store_url_option(p)
    _qdrant_url_option(p)
    p.set_defaults(handler=_cmd_eval_synthetic)

    p = ev_sub.add_parser(
        "assertion", help="assertion detection (negated, historical) on a NegEx/ConText TSV"
    )
    p.add_argument("tsv", type=Path)
    p.add_argument("--predictions-out", type=Path, required=True)
    p.add_argument("--report-out", type=Path, default=None)
    p.add_argument(
        "--lines",
        choices=["all", "odd", "even"],
        default="all",
        help="only rows with odd / even line numbers (a split kept apart from tuning)",
    )
    p.set_defaults(handler=_cmd_eval_assertion)
    return parser


def _ablation_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ablation-out",
        type=Path,
        default=None,
        help="also rank with each rule switched off in turn; nDCG@10 per kind (JSON + .md)",
    )


def _services(settings: Settings) -> Any:
    from app.services import build_services

    return build_services(settings)


def _shard(text: str) -> Shard:
    """``--shard K/N`` as an ``indexer.pipeline.Shard``; argparse's usage error otherwise."""
    from indexer.pipeline import Shard

    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from app.media import media_copies
    from connectors.registry import connector_from_source

    services = _services(settings)
    connector = connector_from_source(
        args.source, limits=settings.extraction.limits(), media_dir=media_copies(settings).folder
    )
    if args.rebuild:
        services.indexer.rebuild()
    summary = services.indexer.run(
        connector, detect_deletions=not args.no_deletions, shard=args.shard
    )
    data = summary.as_dict()
    shard = f" (shard {data['shard']})" if "shard" in data else ""
    print(
        f"{data['source']}{shard}: added {data['added']}, updated {data['updated']}, unchanged "
        f"{data['unchanged']}, deleted {data['deleted']}, acl-changed {data['acl_changed']}, "
        f"failed {data['failed']}; {data['chunks_embedded']} chunks embedded in "
        f"{data['elapsed_s']:.1f} s"
    )
    for item in data["failures"][:50]:
        print(f"  failed: {item['source_ref']}: {item['reason']}", file=sys.stderr)
    if len(data["failures"]) > 50:
        print(f"  … and {len(data['failures']) - 50} more (casesearch failures)", file=sys.stderr)
    if data["resolved"]:
        print(f"  resolved: {data['resolved']} earlier failures no longer occur", file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app, server_options

    settings.check_can_serve()  # before loading anything: no secret, no server
    options = server_options(settings)  # keep-alive, header limit, shutdown bound
    host, port = args.host or settings.host, args.port or settings.port
    if settings.workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **options)
    else:
        # each worker process builds its app from the same environment
        options["workers"] = settings.workers
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port, **options)
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo import prepare_demo

    if not args.no_serve:
        settings.check_can_serve()
    info = prepare_demo(settings, seed=args.seed, n_cases=args.cases)
    print(info)
    if args.no_serve:
        return 0
    return _cmd_serve(args, settings)


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    if not args.principal:
        print(
            "error: give at least one --principal (nobody sees anything otherwise)", file=sys.stderr
        )
        return 2
    subject = args.subject or f"cli:{getpass.getuser()}"
    body: dict[str, Any] | None = None
    if not args.local and args.mode == "hybrid":  # the API searches in hybrid mode only
        try:
            body = _search_server(args, settings, subject)
        except ServerRefused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    where = "in this process"
    if body is None:
        body = _search_here(args, settings, subject)
    else:
        where = f"by {_server_url(settings)}"
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    if not body["results"]:
        print("no results")
    for rank, hit in enumerate(body["results"], start=1):
        print(
            f"{rank:>2}. {hit['title'] or hit['document_id']}  [{hit['doc_type']}, "
            f"{hit['created_at'] or 'undated'}, {hit['case_id']}]  {hit['document_id']}"
        )
        print(f"    “{hit['snippet']['text']}”")
    print(f"({body['took_ms']:.0f} ms {where})")
    return 0


def _search_here(args: argparse.Namespace, settings: Settings, subject: str) -> dict[str, Any]:
    """The search in this process: the same audited action as ``POST /v1/search``."""
    import time

    from app.actions import SearchParams, run_search
    from app.api.routes import to_response
    from app.auth import Caller

    started = time.perf_counter()
    services = _services(settings)
    # Load the model first, so the time printed is the search's, not the load's.
    services.embedder.embed(["warm up"])
    loaded_s = time.perf_counter() - started
    if settings.progress:
        print(
            f"loaded the model in {loaded_s:.1f} s (`casesearch serve` keeps it loaded:"
            " searches then go to the server)",
            file=sys.stderr,
        )
    # Limits, then an audit event written before any result is shown (a failed audit write
    # prints an error and shows nothing).
    caller = Caller(subject=subject, principals=frozenset(args.principal))
    search_id, result = run_search(
        services,
        caller,
        SearchParams(
            query=args.query,
            case_id=args.case_id,
            doc_types=tuple(args.doc_type),
            top_k=args.top_k,
            mode=args.mode,
        ),
    )
    return to_response(result, search_id=search_id).model_dump(mode="json")


def _server_url(settings: Settings) -> str:
    if settings.server_url:
        return settings.server_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"


def _search_server(
    args: argparse.Namespace, settings: Settings, subject: str
) -> dict[str, Any] | None:
    """``POST /v1/search`` to a running server, as ``subject`` with a token minted here.

    ``None`` when no casesearch server answers at the address or no token can be minted here
    (the caller then searches in-process). An error the server answers with is raised as
    ``ServerRefused`` carrying its message.
    """
    import urllib.error
    import urllib.request

    base = _server_url(settings)
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1.0) as answer:  # noqa: S310
            healthy = json.loads(answer.read()).get("status") == "ok"
    except (OSError, ValueError, AttributeError):
        healthy = False
    if not healthy:
        return None
    try:
        token = _shell_token(settings, subject, args.principal)
    except ConfigurationError as exc:  # no secret here: the server cannot be asked
        print(f"note: searching in this process: {exc}", file=sys.stderr)
        return None
    if token is None:
        return None
    request = urllib.request.Request(  # noqa: S310 (the operator's own server address)
        f"{base}/v1/search",
        data=json.dumps(
            {
                "query": args.query,
                "case_id": args.case_id,
                "doc_types": args.doc_type or None,
                "top_k": args.top_k,
            }
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            body: dict[str, Any] = json.loads(answer.read())
            return body
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        hint = " (does it use the same CASESEARCH_JWT_SECRET?)" if exc.code == 401 else ""
        raise ServerRefused(f"{base} answered {exc.code}: {message}{hint}") from None


def _shell_token(settings: Settings, subject: str, principals: list[str]) -> str | None:
    """A five-minute token for one search: the claims ``app.auth.mint_token`` signs, made here
    so that the shell does not import the API's modules (FastAPI, 0.2-0.4 s). ``None`` under
    RS256, where only the identity provider can sign. Raises ``ConfigurationError`` when no
    secret is configured outside development mode."""
    import time

    import jwt

    if settings.auth.algorithm != "HS256":
        return None
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        settings.auth.principals_claim: sorted(set(principals)),
        "iat": now,
        "exp": now + 300,
    }
    if settings.auth.issuer:
        claims["iss"] = settings.auth.issuer
    if settings.auth.audience:
        claims["aud"] = settings.auth.audience
    return jwt.encode(claims, settings.token_secret(), algorithm="HS256")


class ServerRefused(Exception):
    """The server answered a search with an error (its message is this one's)."""


def _cmd_manifest_init(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.manifest_template import write_manifest_template

    path, count = write_manifest_template(args.folder)
    print(
        f"wrote {path} listing {count} files; fill in what the folders and files do not say"
        " (an empty cell changes nothing) and index again"
    )
    return 0


def _store_url_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store-url",
        default=None,
        help="evaluate on this PostgreSQL store (postgresql+psycopg://…; its records are"
        " replaced by the collection's) instead of a scratch SQLite file",
    )


def _qdrant_url_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--qdrant-url",
        default=None,
        help="take the dense lists from this Qdrant (local:PATH for qdrant-client's local mode,"
        " or a server's URL with CASESEARCH_QDRANT_API_KEY), collection"
        " CASESEARCH_QDRANT_COLLECTION, synced and reconciled with the store first; the"
        " ablation stays in memory",
    )


def _cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth import mint_token

    print(mint_token(settings, args.sub, args.principal, ttl_s=args.ttl))
    return 0


def _cmd_failures(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.store import RecordStore

    rows = RecordStore(settings.store_target).failures(args.source)
    if args.json:
        print(
            json.dumps(
                [r.__dict__ if hasattr(r, "__dict__") else _row(r) for r in rows],
                indent=2,
                sort_keys=True,
            )
        )
        return 0
    if not rows:
        print("no failures")
    for r in rows:
        print(f"{r.source}  {r.source_ref}: {r.reason}  (last seen {r.last_seen})")
    return 0


def _row(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in row.__slots__}


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.store import RecordStore

    store = RecordStore(settings.store_target)
    status: dict[str, Any] = {
        "store": store.where,
        **store.counts(),
        "sources": store.source_status(),
    }
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    print(f"store {status['store']}: {status['records']} records, {status['chunks']} chunks")
    for src in status["sources"]:
        last = src["last_run"] or {}
        print(
            f"  {src['source']}: {src['records']} records, {src['failures']} failures, "
            f"checkpoint at {src['checkpoint_updated_at']}; last run: "
            f"+{last.get('added', 0)} ~{last.get('updated', 0)} -{last.get('deleted', 0)}"
        )
    return 0


def _audit_actions() -> list[str]:
    from app.audit import ACTIONS

    return list(ACTIONS)


class _AuditActions:
    """``audit list --action``'s choices, read only when that option is used or shown: app.audit
    loads the store's libraries (0.3-0.4 s), which every command, ``search`` included, paid."""

    def __contains__(self, value: object) -> bool:
        return value in _audit_actions()

    def __iter__(self) -> Iterator[str]:
        return iter(_audit_actions())


def _audit_store(settings: Settings) -> Any:
    from retrieval.store import RecordStore

    if settings.database_url is None and not settings.store_path.exists():
        raise OSError(
            f"no store at {settings.store_path} (set CASESEARCH_DATA_DIR or"
            " CASESEARCH_DATABASE_URL)"
        )
    return RecordStore(settings.store_target)


def _cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from app.audit import AuditLog

    report = AuditLog(_audit_store(settings), create=False).verify(expect_head=args.expect_head)
    if args.json:
        print(json.dumps(dataclasses.asdict(report), indent=2, sort_keys=True))
    elif report.ok:
        print(
            f"audit log intact: {report.events} events; head event {report.head_seq}, "
            f"hash {report.head_hash}"
        )
    elif report.first_bad is None:
        print(f"audit log BROKEN: {report.reason}", file=sys.stderr)
    else:
        print(
            f"audit log BROKEN at event {report.first_bad} "
            f"(event id {report.first_bad_event_id or '-'}): {report.reason}; "
            f"the {report.events} events before it verify",
            file=sys.stderr,
        )
    if not report.protected:
        print(
            "warning: an append-only trigger of the audit log has been dropped "
            "(the server restores them when it starts)",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


def _cmd_audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.audit import AuditLog, AuditQuery

    page = AuditLog(_audit_store(settings), create=False).query(
        AuditQuery(
            subject=args.subject,
            case_id=args.case_id,
            record_id=args.record_id,
            action=args.action,
            date_from=args.date_from,
            date_to=args.date_to,
            limit=args.limit,
            offset=args.offset,
        )
    )
    for event in page.events:
        if args.json:
            print(json.dumps(event.as_json(), sort_keys=True))
            continue
        ids = ", ".join(event.record_ids[:5]) + (" …" if len(event.record_ids) > 5 else "")
        query = f" “{event.query}”" if event.query else ""
        print(
            f"{event.seq:>6}  {event.at}  {event.subject}  {event.action}{query}"
            f"  cases [{', '.join(event.case_ids)}]  records [{ids}]"
        )
    if not args.json:
        print(f"({len(page.events)} of {page.total} matching events)")
    return 0


_AUDIT_CSV_COLUMNS = (
    "seq",
    "at",
    "user",
    "action",
    "query",
    "record_ids",
    "case_ids",
    "person_ids",
    "event_id",
)


def _write_audit_csv(events: Sequence[Any], out: Any) -> None:
    """One row an event; lists are joined with spaces."""
    import csv

    writer = csv.writer(out)
    writer.writerow(_AUDIT_CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.seq,
                e.at,
                e.subject,
                e.action,
                e.query or "",
                " ".join(e.record_ids),
                " ".join(e.case_ids),
                " ".join(e.person_ids or ()),
                e.event_id,
            ]
        )


def _cmd_audit_person(args: argparse.Namespace, settings: Settings) -> int:
    from app.audit import AuditLog, AuditQuery

    log = AuditLog(_audit_store(settings), create=False)
    events: list[Any] = []
    while True:
        page = log.query(AuditQuery(person=args.person_id, limit=1000, offset=len(events)))
        events.extend(page.events)
        if not page.events or len(events) >= page.total:
            break
    events.reverse()  # oldest first
    out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        if args.csv:
            _write_audit_csv(events, out)
        else:
            for e in events:
                query = f" “{e.query}”" if e.query else ""
                print(
                    f"{e.seq:>6}  {e.at}  {e.subject}  {e.action}{query}"
                    f"  records [{', '.join(e.record_ids)}]",
                    file=out,
                )
    finally:
        if args.out:
            out.close()
    return 0


def _cmd_export_subject(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from app.actions import export_subject
    from app.auth import Caller

    if not args.principal:
        print(
            "error: give at least one --principal (nobody sees anything otherwise)", file=sys.stderr
        )
        return 2
    caller = Caller(
        subject=args.subject or f"cli:{getpass.getuser()}", principals=frozenset(args.principal)
    )
    export = export_subject(_services(settings), caller, args.person_id)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "records.jsonl").open("w", encoding="utf-8") as records:
        for doc in export.records:
            records.write(json.dumps(_document_json(doc), sort_keys=True, ensure_ascii=False))
            records.write("\n")
    with (args.out / "audit.csv").open("w", encoding="utf-8", newline="") as audit:
        _write_audit_csv(export.events, audit)
    print(
        f"{len(export.records)} records and {len(export.events)} audit events about "
        f"{args.person_id} written to {args.out}"
    )
    return 0


def _document_json(doc: Any) -> dict[str, Any]:
    import dataclasses

    out: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(doc), default=str))
    return out


def _cmd_people(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.people import load_people

    load = load_people(_services(settings).store, args.source, table=args.table)
    print(
        f"{load.source}: {load.cases} cases, {load.people} people; {load.changed_cases} cases"
        f" changed; {len(load.failures)} failed"
    )
    for ref, reason in load.failures[:50]:
        print(f"  failed: {ref}: {reason}", file=sys.stderr)
    if not load.complete:
        print(
            "  cases missing from the source keep what an earlier load supplied, because some"
            " lines failed",
            file=sys.stderr,
        )
    return 0


def _cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from app.actions import erase

    if not args.record and not args.person_id:
        print("error: give --record ID (repeatable) or --subject PERSON_ID", file=sys.stderr)
        return 2
    outcome = erase(
        _services(settings),
        args.by or f"cli:{getpass.getuser()}",
        reason=args.reason,
        record_ids=args.record,
        person_id=args.person_id,
    )
    print(
        f"erased {len(outcome.record_ids)} records ({outcome.chunks} chunks, "
        f"{outcome.cached_vectors} cached vectors); query text removed from "
        f"{outcome.redacted_queries} audit events; audit event {outcome.audit_seq}"
    )
    if outcome.unredacted_queries:
        print(
            f"warning: {outcome.unredacted_queries} older audit events keep their query text "
            "(it is part of their chained hash; README, 'Erasure')",
            file=sys.stderr,
        )
    return 0


def _cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from app.services import build_embedder, build_qdrant
    from retrieval.qdrant_reconcile import reconcile
    from retrieval.store import RecordStore

    index = build_qdrant(settings, build_embedder(settings).dimension)
    if index is None:
        raise ConfigurationError(
            "CASESEARCH_QDRANT_URL is not set: there is no Qdrant collection to reconcile"
        )
    store = RecordStore(settings.store_target)
    try:
        drift = reconcile(store, index, repair=not args.check)
    finally:
        store.close()
        index.client.close()
    pending = (
        "never synced"
        if drift.acknowledged is None
        else f"acknowledged generation {drift.acknowledged}"
    )
    print(
        f"store generation {drift.generation} ({pending}): {drift.chunks} chunks;"
        f" missing {drift.missing}, stray {drift.stray}, content {drift.content},"
        f" stale payload {drift.stale}" + ("; repaired" if drift.repaired and drift.total else "")
    )
    for pid in drift.examples:
        print(f"  drift: point {pid}", file=sys.stderr)
    return 1 if args.check and drift.total else 0


def _cmd_eval_synthetic(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.synthetic import generate_case_file

    name = f"synthetic-seed{args.seed}-cases{args.cases}-{args.today.isoformat()}"
    wording = "" if args.phrasings == "tuning" else f"-phrasings-{args.phrasings}"
    generated = generate_case_file(
        settings.data_dir / "eval" / "sources" / f"{name}{wording}",
        seed=args.seed,
        n_cases=args.cases,
        today=args.today,
        phrasings=args.phrasings,
    )
    args.directory = generated.root
    args.split = "test"
    args.scratch = settings.data_dir / "eval" / name  # the records do not depend on the wording
    return _cmd_eval_beir(args, settings)


def _cmd_eval_beir(args: argparse.Namespace, settings: Settings) -> int:
    from app.services import build_embedder, build_qdrant
    from evaluation.beir import load_collection
    from evaluation.beir_run import evaluate_collection, run_paths
    from evaluation.report import write_report
    from evaluation.runfile import write_run
    from retrieval.embedding import CachedEmbedder
    from retrieval.models import MODES

    collection = load_collection(args.directory, args.split)
    modes = list(MODES) if args.mode == "all" else [args.mode]
    scratch = args.scratch or settings.data_dir / "eval" / collection.name
    store = args.store_url or scratch / "store.sqlite3"
    embedder = CachedEmbedder(build_embedder(settings), settings.embedding_cache_path)
    qdrant = None
    if args.qdrant_url:
        # checked as CASESEARCH_QDRANT_URL is; key and collection from the settings
        checked = Settings(qdrant_url=args.qdrant_url).qdrant_url
        qdrant = build_qdrant(
            settings.model_copy(update={"qdrant_url": checked}), embedder.dimension
        )
    try:
        report = evaluate_collection(
            collection,
            store=store,
            embedder=embedder,
            chunking=settings.chunking.config(),
            search_config=settings.search.config(),
            modes=modes,
            principals=args.principal,
            understand=args.understand,
            as_you_type=args.as_you_type,
            today=args.today,
            progress=settings.progress,
            qdrant=qdrant,
        )
    finally:
        if qdrant is not None:
            qdrant.client.close()
    for mode, path in run_paths(args.run_out, modes).items():
        write_run(path, report.modes[mode].run, tag=f"casesearch-{mode}")
    paths = write_report(report, args.report_out)
    print(paths.markdown.read_text(encoding="utf-8"))
    if args.ablation_out is not None:
        _write_ablation(args, settings, collection, store)
    return 0


def _write_ablation(
    args: argparse.Namespace, settings: Settings, collection: Any, store: Path | str
) -> None:
    from app.services import build_embedder
    from evaluation.ablation import run_ablation, write_ablation
    from evaluation.beir_run import EVAL_PRINCIPAL
    from retrieval.embedding import CachedEmbedder
    from retrieval.models import AccessScope
    from retrieval.search import HybridSearcher
    from retrieval.store import RecordStore

    embedder = CachedEmbedder(build_embedder(settings), settings.embedding_cache_path)
    scope = AccessScope.of(*(args.principal or [EVAL_PRINCIPAL]))
    opened = RecordStore(store)
    try:
        table = run_ablation(
            collection,
            lambda config: HybridSearcher(opened, embedder, config),
            settings.search.config(),
            scope,
            today=args.today,
        )
    finally:
        opened.close()
    print(write_ablation(table, args.ablation_out).read_text(encoding="utf-8"))


def _cmd_eval_assertion(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.assertion import evaluate

    report = evaluate(
        args.tsv,
        predictions_out=args.predictions_out,
        report_out=args.report_out,
        subset=args.lines,
    )
    if report is not None:
        print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
