"""Full-text search over reports' text, on SQLite (FTS5) and PostgreSQL (``tsvector``).

Each report keeps its search terms in ``report.search_terms`` (``bot.core.search_terms``:
Chinese as character pairs, from the masked text), set whenever its text is written. The
index over them is the database's own: on SQLite an FTS5 table that reads the column
(``content='report'``) and is kept in step by triggers; on PostgreSQL a GIN index on
``to_tsvector('simple', search_terms)``. Both are created with the ``report`` table (by the
models' ``after_create`` hook, and by migration 0008).

A search asks the index for the reports holding every term of the words, then keeps those whose
text contains the words exactly (the pairs say which texts may contain them; the text decides).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, bindparam, text

from bot.core.search_terms import query_terms, search_terms

DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS report_fts USING fts5("
        "search_terms, content='report', content_rowid='id')",
        "CREATE TRIGGER IF NOT EXISTS report_fts_insert AFTER INSERT ON report BEGIN "
        "INSERT INTO report_fts(rowid, search_terms) VALUES (new.id, new.search_terms); END",
        "CREATE TRIGGER IF NOT EXISTS report_fts_delete AFTER DELETE ON report BEGIN "
        "INSERT INTO report_fts(report_fts, rowid, search_terms) "
        "VALUES ('delete', old.id, old.search_terms); END",
        "CREATE TRIGGER IF NOT EXISTS report_fts_update AFTER UPDATE OF search_terms ON report "
        "BEGIN INSERT INTO report_fts(report_fts, rowid, search_terms) "
        "VALUES ('delete', old.id, old.search_terms); "
        "INSERT INTO report_fts(rowid, search_terms) VALUES (new.id, new.search_terms); END",
    ),
    "postgresql": (
        "CREATE INDEX IF NOT EXISTS ix_report_search_terms ON report "
        "USING gin (to_tsvector('simple', coalesce(search_terms, '')))",
    ),
}
DROP: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS report_fts_insert",
        "DROP TRIGGER IF EXISTS report_fts_delete",
        "DROP TRIGGER IF EXISTS report_fts_update",
        "DROP TABLE IF EXISTS report_fts",
    ),
    "postgresql": ("DROP INDEX IF EXISTS ix_report_search_terms",),
}
# What the index adds beside the models' tables (the schema comparison leaves them out).
INDEX_OBJECTS = ("report_fts", "ix_report_search_terms")


def install(connection: Connection) -> None:
    """Create the search index of ``connection``'s database (after the ``report`` table)."""
    for statement in DDL.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def uninstall(connection: Connection) -> None:
    """Drop the search index."""
    for statement in DROP.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def reindex(connection: Connection, batch: int = 2000) -> int:
    """Set every report's search terms from its text (and rebuild SQLite's index); return
    how many reports there are."""
    done, last = 0, 0
    while True:
        rows = connection.execute(
            text("SELECT id, text FROM report WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": batch},
        ).all()
        if not rows:
            break
        connection.execute(
            text("UPDATE report SET search_terms = :terms WHERE id = :id"),
            [{"id": rid, "terms": search_terms(str(body or ""))} for rid, body in rows],
        )
        done, last = done + len(rows), rows[-1][0]
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("INSERT INTO report_fts(report_fts) VALUES ('rebuild')")
    return done


def matching(dialect: str, words: str) -> ColumnElement[bool] | None:
    """Return the condition that a report's terms hold every term of ``words`` (None when the
    words have no terms: a single character, which only the exact text match can find)."""
    terms = query_terms(words)
    if not terms:
        return None
    if dialect == "sqlite":
        return and_(
            text(
                "report.id IN (SELECT rowid FROM report_fts WHERE report_fts MATCH :fts)"
            ).bindparams(bindparam("fts", " ".join(f'"{term}"' for term in terms)))
        )
    return and_(
        text(
            "to_tsvector('simple', coalesce(report.search_terms, '')) @@ to_tsquery('simple', :tsq)"
        ).bindparams(bindparam("tsq", " & ".join(terms)))
    )
