"""District names as people type them → the canonical district, from config data."""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import yaml

from config import DISTRICTS_DIR
from config.errors import EventConfigError

_IGNORED = re.compile(r"[\s.\-_'’]+")


def district_key(text: str) -> str:
    """Fold what differs between spellings of one name: case, spaces, dots, hyphens, nukta."""
    folded = unicodedata.normalize("NFC", text).casefold()
    folded = unicodedata.normalize("NFD", folded).replace("\u093c", "")
    return _IGNORED.sub("", unicodedata.normalize("NFC", folded))


@dataclass(frozen=True)
class District:
    en: str
    hi: str


@dataclass(frozen=True)
class DistrictCatalog:
    state_en: str
    state_hi: str
    districts: tuple[District, ...]
    by_key: dict[str, District]

    def canonical(self, text: str) -> District | None:
        return self.by_key.get(district_key(text))


@cache
def load_districts(name: str) -> DistrictCatalog:
    path = DISTRICTS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise EventConfigError(f"No district list {name!r}: expected the file {path}.")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    districts = tuple(District(en=item["en"], hi=item["hi"]) for item in data["districts"])
    by_key: dict[str, District] = {}
    for item, district in zip(data["districts"], districts, strict=True):
        for spelling in (item["en"], item["hi"], *item.get("aliases", [])):
            by_key[district_key(spelling)] = district
    return DistrictCatalog(
        state_en=data["state"]["en"],
        state_hi=data["state"]["hi"],
        districts=districts,
        by_key=by_key,
    )
