"""Reading, checking and loading the bundled characters."""

import hashlib
import json
import re
from urllib.parse import quote

from pymongo import ReplaceOne

ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class DataError(ValueError):
    """The data file is not what the loader expects."""


def read_characters(path):
    """Read and validate the characters of the data file at path."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    chars = data.get("characters") if isinstance(data, dict) else None
    if not isinstance(chars, list):
        raise DataError(f"{path}: expected an object with a 'characters' list")
    validate(chars)
    return chars


def validate(chars):
    """Raise DataError unless every character has a unique slug id, a name,
    a description and a list of comic titles."""
    seen = set()
    for i, c in enumerate(chars):
        where = f"character {i}"
        if not isinstance(c, dict):
            raise DataError(f"{where}: not an object")
        cid = c.get("id")
        if not isinstance(cid, str) or not ID_PATTERN.match(cid):
            raise DataError(f"{where}: id {cid!r} is not a lower-case slug")
        if cid in seen:
            raise DataError(f"{where}: duplicate id {cid!r}")
        seen.add(cid)
        for field in ("name", "description"):
            if not isinstance(c.get(field), str) or not c[field].strip():
                raise DataError(f"{where} ({cid}): missing {field}")
        comics = c.get("comics")
        if not isinstance(comics, list) or not all(isinstance(t, str) and t for t in comics):
            raise DataError(f"{where} ({cid}): comics must be a list of titles")


def initials(name):
    words = [w for w in re.split(r"[\s-]+", name) if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def placeholder_image(name):
    """An SVG data URI with the character's initials on a colour derived
    from the name: placeholder artwork that needs no network."""
    hue = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:4], 16) % 360
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='160' height='160' viewBox='0 0 160 160'>"
        f"<rect width='160' height='160' rx='16' fill='hsl({hue},60%,45%)'/>"
        f"<circle cx='80' cy='80' r='58' fill='hsl({(hue + 40) % 360},70%,60%)' opacity='.5'/>"
        "<text x='80' y='98' font-family='sans-serif' font-size='52' font-weight='bold' "
        f"text-anchor='middle' fill='#fff'>{initials(name)}</text></svg>"
    )
    return "data:image/svg+xml;charset=utf-8," + quote(svg, safe="")


def to_document(c):
    """The MongoDB document of a character, keyed by its stable id."""
    return {
        "_id": c["id"],
        "id": c["id"],
        "name": c["name"],
        "description": c["description"],
        "comics": list(c["comics"]),
        "image": c.get("image") or placeholder_image(c["name"]),
    }


def load(collection, chars):
    """Upsert every character by its id: running it again replaces the same
    documents and adds none. Returns (inserted, updated)."""
    if not chars:
        return 0, 0
    result = collection.bulk_write([ReplaceOne({"_id": c["id"]}, to_document(c), upsert=True) for c in chars], ordered=False)
    return result.upserted_count, result.matched_count
