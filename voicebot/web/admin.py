"""The admin's pages: users (add a user, disable or enable one, reset a password, change an
email address or a role) and an incident (its timeline, and the post-incident note). Every route
asks the archive for itself with ``db.admin()``, which refuses anyone but an admin (403)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from voicebot.errors import UserError
from voicebot.web.deps import get_db, page

router = APIRouter(prefix="/admin", include_in_schema=False)


def _back() -> RedirectResponse:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/users")
def users(request: Request, db=Depends(get_db)) -> Any:
    archive = db.admin()
    return page(request, "admin_users.html", {"users": archive.list_users(), "tokens": archive.list_tokens()})


@router.post("/users")
def add_user(request: Request, name: str = Form(..., max_length=200), email: str = Form("", max_length=320),
             role: str = Form("member", max_length=20), password: str = Form(..., max_length=4096),
             db=Depends(get_db)) -> Any:
    from voicebot.web.auth import check_email, check_user_name, hash_password

    archive = db.admin()
    session = request.state.session
    try:
        name = check_user_name(name)
        archive.add_user(name, hash_password(password), email=check_email(email) if email.strip() else None,
                         role=role)
    except UserError as exc:
        session.flash(f"Could not add the user: {exc}", "error")
    else:
        session.flash(f"Added {name} ({role}).")
    return _back()


@router.post("/users/{name}")
def change_user(request: Request, name: str, action: str = Form(..., max_length=20),
                email: str = Form("", max_length=320), role: str = Form("", max_length=20),
                password: str = Form("", max_length=4096), db=Depends(get_db)) -> Any:
    """One change to a user: ``action`` is disable, enable, password, email or role."""
    from voicebot.web.auth import check_email, hash_password

    archive = db.admin()
    session = request.state.session
    try:
        if archive.get_user(name) is None:
            raise UserError(f"no user {name!r}")
        if action in ("disable", "role") and name == request.state.user.name:
            raise UserError("you cannot disable yourself or change your own role (another admin can)")
        if action == "disable":
            archive.set_user(name, disabled=True)
            done = f"Disabled {name}: their sessions and API tokens ended."
        elif action == "enable":
            archive.set_user(name, disabled=False)
            done = f"Enabled {name}."
        elif action == "password":
            archive.add_user(name, hash_password(password), replace=True)
            done = f"New password for {name}: their sessions and API tokens ended."
        elif action == "email":
            archive.set_user(name, email=check_email(email) if email.strip() else "")
            done = f"Email address of {name} changed."
        elif action == "role":
            archive.set_user(name, role=role)
            done = f"{name} is now {role}."
        else:
            raise UserError(f"unknown action {action!r}")
    except UserError as exc:
        session.flash(f"Could not change {name}: {exc}", "error")
    else:
        session.flash(done)
    return _back()


@router.get("/incidents/{incident_id}")
def incident(request: Request, incident_id: int, db=Depends(get_db)) -> Any:
    from voicebot.web.views import NotFound

    row = db.admin().incident(incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return page(request, "admin_incident.html", {"incident": row})


@router.post("/incidents/{incident_id}/note")
def incident_note(request: Request, incident_id: int, note: str = Form("", max_length=5000),
                  db=Depends(get_db)) -> Any:
    from voicebot.web.views import NotFound

    archive = db.admin()
    if archive.incident(incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    archive.set_incident_note(incident_id, note, request.state.user.name)
    request.state.session.flash("Note saved." if note.strip() else "Note removed.")
    return RedirectResponse(f"/admin/incidents/{incident_id}", status_code=303)
