"""/u/<token>: an invitee asks for no more mail about this event. GET (and HEAD) only shows
the page, as mail scanners open links; only a POST records the opt-out (the button, or a mail
program's one-click List-Unsubscribe-Post)."""

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from store.db import transaction
from store.models import OptOut
from store.queries import insert_ignoring_existing
from web.pages import Invitee, Site, find_invitee, invalid_link, page


class OptOutPage:
    def __init__(self, site: Site) -> None:
        self.site = site

    def show(self, request: Request) -> HTMLResponse:
        with transaction(self.site.settings.store_url) as session:
            invitee = find_invitee(session, self.site, request.path_params["token"], "opt-out")
        if invitee is None:
            return invalid_link()
        return render(invitee, done=False)

    def record(self, request: Request) -> HTMLResponse:
        with transaction(self.site.settings.store_url, writes=True) as session:
            invitee = find_invitee(session, self.site, request.path_params["token"], "opt-out")
            if invitee is None:
                return self.site.refuse_link(session, request)
            record_opt_out(session, invitee)
        return render(invitee, done=True)


def render(invitee: Invitee, done: bool) -> HTMLResponse:
    title = invitee.t(invitee.event.title)
    return page("opt_out.html.j2", {"lang": invitee.language, "title": title, "done": done})


def record_opt_out(session: Session, invitee: Invitee) -> None:
    """Once per person and event: opting out again changes nothing."""
    row: dict[str, object] = {
        "event_id": invitee.event.id,
        "person_id": invitee.person_id,
        "channel": "link",
    }
    insert_ignoring_existing(session, OptOut, [row])
