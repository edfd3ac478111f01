"""The instance action record: actions (one per request that acted on a server) and their events."""
from __future__ import annotations

import sqlite3
from datetime import datetime

from sqlite_utils import Database

from nodecompute.domain.action_models import ActionEvent, ActionFilters, InstanceAction
from nodecompute.domain.errors import MarkerNotFound
from nodecompute.db.changed_between import add_changed_between
from nodecompute.domain.models import isotime, parse_isotime

ERROR, SUCCESS = "Error", "Success"


def _dt(text: str | None) -> datetime | None:
    return parse_isotime(text) if text else None


def _action(row: sqlite3.Row, events: tuple[ActionEvent, ...] = ()) -> InstanceAction:
    return InstanceAction(
        id=row["id"], server_uuid=row["server_uuid"], action=row["action"], request_id=row["request_id"],
        project_id=row["project_id"], user_id=row["user_id"], start_time=parse_isotime(row["start_time"]),
        updated_at=parse_isotime(row["updated_at"]), message=row["message"], events=events)


def _event(row: sqlite3.Row) -> ActionEvent:
    return ActionEvent(event=row["event"], start_time=parse_isotime(row["start_time"]),
                       finish_time=_dt(row["finish_time"]), result=row["result"], traceback=row["traceback"],
                       details=row["details"], host=row["host"])


def start_action(db: Database, server_uuid: str, action: str, request_id: str, project_id: str | None,
                 user_id: str | None, *, now: datetime) -> int:
    at = isotime(now)
    cur = db.execute("INSERT INTO instance_actions (server_uuid, action, request_id, project_id, user_id,"
                     " start_time, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [server_uuid, action, request_id, project_id, user_id, at, at])
    return cur.lastrowid


def start_event(db: Database, action_id: int, event: str, host: str | None, *, now: datetime) -> int:
    at = isotime(now)
    cur = db.execute("INSERT INTO instance_action_events (action_id, event, start_time, host) VALUES (?, ?, ?, ?)",
                     [action_id, event, at, host])
    db.execute("UPDATE instance_actions SET updated_at = ? WHERE id = ?", [at, action_id])
    return cur.lastrowid


def finish_event(db: Database, event_id: int, error: str | None = None, traceback: str | None = None, *,
                 now: datetime) -> None:
    """Success, or Error with the failure's message and traceback (the action's message becomes "Error")."""
    at = isotime(now)
    db.execute("UPDATE instance_action_events SET finish_time = ?, result = ?, traceback = ?, details = ?"
               " WHERE id = ?", [at, ERROR if error is not None else SUCCESS, traceback, error, event_id])
    action_id = db.execute("SELECT action_id FROM instance_action_events WHERE id = ?", [event_id]).fetchone()[0]
    message = ", message = 'Error'" if error is not None else ""
    db.execute(f"UPDATE instance_actions SET updated_at = ?{message} WHERE id = ?", [at, action_id])


def list_actions(db: Database, server_uuid: str, f: ActionFilters) -> list[InstanceAction]:
    """Newest first (Nova: created_at desc, id desc); the marker is a request id of this server's actions."""
    if f.limit == 0:
        return []
    where, args = ["server_uuid = ?"], [server_uuid]
    add_changed_between(where, args, f.changes_since, f.changes_before)
    if f.marker is not None:
        marker = db.execute("SELECT id, start_time FROM instance_actions WHERE server_uuid = ? AND request_id = ?"
                            " ORDER BY start_time DESC, id DESC", [server_uuid, f.marker]).fetchone()
        if marker is None:
            # Nova's db api looks the marker up, then formats the message with the lookup's result: None
            raise MarkerNotFound("Marker None could not be found.")
        where.append("(start_time < ? OR (start_time = ? AND id < ?))")
        args.extend([marker["start_time"], marker["start_time"], marker["id"]])
    sql = f"SELECT * FROM instance_actions WHERE {' AND '.join(where)} ORDER BY start_time DESC, id DESC"
    if f.limit is not None:
        sql += f" LIMIT {int(f.limit)}"
    return [_action(row) for row in db.execute(sql, args).fetchall()]


def actions_of(db: Database, server_uuids: list[str]) -> dict[str, list[InstanceAction]]:
    """Every action of each of the servers, newest first (the Cyclades server view's `diagnostics`, D25/D48)."""
    found: dict[str, list[InstanceAction]] = {}
    for start in range(0, len(server_uuids), 500):  # under SQLite's bound-parameter limit
        chunk = server_uuids[start:start + 500]
        rows = db.execute(f"SELECT * FROM instance_actions WHERE server_uuid IN ({', '.join('?' * len(chunk))})"
                          " ORDER BY start_time DESC, id DESC", chunk).fetchall()
        for row in rows:
            found.setdefault(row["server_uuid"], []).append(_action(row))
    return found


def get_action(db: Database, server_uuid: str, request_id: str) -> InstanceAction | None:
    row = db.execute("SELECT * FROM instance_actions WHERE server_uuid = ? AND request_id = ?"
                     " ORDER BY start_time DESC, id DESC", [server_uuid, request_id]).fetchone()
    if row is None:
        return None
    events = db.execute("SELECT * FROM instance_action_events WHERE action_id = ? ORDER BY start_time DESC, id DESC",
                        [row["id"]]).fetchall()
    return _action(row, tuple(_event(e) for e in events))




def last_action_id(db: Database, server_uuid: str) -> int | None:
    row = db.execute("SELECT id FROM instance_actions WHERE server_uuid = ? ORDER BY start_time DESC, id DESC",
                     [server_uuid]).fetchone()
    return row["id"] if row else None
