"""The .ics file an invitee adds to their phone's calendar. Pure."""

from datetime import datetime

from icalendar import Calendar, vText
from icalendar import Event as CalendarEvent

from config.event import Event


def event_calendar(event: Event, language: str, uid_domain: str, stamp: datetime) -> bytes:
    """One VEVENT in the event's own time zone, so phones show the local time right."""
    calendar = Calendar()
    calendar.add("prodid", "-//Karyashala//karyashala//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"{event.id}@{uid_domain}")
    entry.add("dtstamp", stamp)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    title = getattr(event.title, language)
    entry.add("summary", title)
    venue = event.venue
    place = [getattr(venue.name, language)]
    if venue.landmark is not None:
        place.append(getattr(venue.landmark, language))
    place.append(getattr(venue.city, language))
    entry.add("location", vText(", ".join(place)))
    if venue.map_url:
        entry.add("url", venue.map_url)
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
