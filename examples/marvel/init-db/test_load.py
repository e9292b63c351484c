"""Unit tests of the loader: `python3 -m unittest discover` with Debian's
python3-pymongo and python3-mongomock."""

import json
import os
import tempfile
import unittest
from urllib.parse import unquote

import mongomock

from load import DataError, initials, load, placeholder_image, read_characters, to_document, validate

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "characters.json")


class DataFileTest(unittest.TestCase):
    def test_bundled_file_is_valid(self):
        chars = read_characters(DATA_FILE)
        self.assertGreaterEqual(len(chars), 25)
        for c in chars:
            self.assertTrue(c["comics"], c["id"])
            self.assertLessEqual(len(c["description"]), 200, c["id"])
            # Artwork is generated, never fetched from elsewhere.
            self.assertNotIn("image", c, c["id"])

    def test_validation_rejects_bad_records(self):
        good = {"id": "a-b", "name": "A B", "description": "d", "comics": ["c"]}
        cases = {
            "duplicate id": [good, dict(good)],
            "bad id": [dict(good, id="Not A Slug")],
            "missing name": [dict(good, name="")],
            "missing description": [{k: v for k, v in good.items() if k != "description"}],
            "comics not a list": [dict(good, comics="c")],
        }
        validate([good])
        for what, chars in cases.items():
            with self.subTest(what), self.assertRaises(DataError):
                validate(chars)

    def test_read_rejects_wrong_shape(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([{"id": "x"}], f)
        self.addCleanup(os.remove, f.name)
        with self.assertRaises(DataError):
            read_characters(f.name)


class PlaceholderTest(unittest.TestCase):
    def test_svg_data_uri_with_initials(self):
        uri = placeholder_image("Doctor Strange")
        self.assertTrue(uri.startswith("data:image/svg+xml"))
        svg = unquote(uri.split(",", 1)[1])
        self.assertIn("<svg", svg)
        self.assertIn(">DS</text>", svg)
        self.assertEqual(uri, placeholder_image("Doctor Strange"))
        self.assertNotEqual(uri, placeholder_image("Spider-Man"))

    def test_initials(self):
        self.assertEqual(initials("Spider-Man"), "SM")
        self.assertEqual(initials("Thor"), "T")
        self.assertEqual(initials("Mister Fantastic Extra"), "MF")


class LoadTest(unittest.TestCase):
    def setUp(self):
        self.collection = mongomock.MongoClient().marvel.characters
        self.chars = read_characters(DATA_FILE)

    def test_load_twice_does_not_duplicate(self):
        inserted, updated = load(self.collection, self.chars)
        self.assertEqual((inserted, updated), (len(self.chars), 0))
        inserted, updated = load(self.collection, self.chars)
        self.assertEqual((inserted, updated), (0, len(self.chars)))
        self.assertEqual(self.collection.count_documents({}), len(self.chars))

    def test_reload_updates_in_place(self):
        load(self.collection, self.chars)
        changed = [dict(c) for c in self.chars]
        changed[0]["description"] = "A new description."
        load(self.collection, changed)
        self.assertEqual(self.collection.count_documents({}), len(self.chars))
        doc = self.collection.find_one({"_id": changed[0]["id"]})
        self.assertEqual(doc["description"], "A new description.")

    def test_documents_have_what_a_card_shows(self):
        load(self.collection, self.chars)
        doc = self.collection.find_one({"_id": "spider-man"})
        self.assertEqual(doc, to_document(next(c for c in self.chars if c["id"] == "spider-man")))
        for field in ("id", "name", "description", "image", "comics"):
            self.assertIn(field, doc)

    def test_load_nothing(self):
        self.assertEqual(load(self.collection, []), (0, 0))


if __name__ == "__main__":
    unittest.main()
