"""Settings, the event model and the data files they read (events, districts, sample roster)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_DIR = CONFIG_DIR.parent
EVENTS_DIR = CONFIG_DIR / "events"
DISTRICTS_DIR = CONFIG_DIR / "districts"
TEMPLATES_DIR = PROJECT_DIR / "templates"
