"""Unit tests of the frontend: run with `python3 -m unittest discover`
(Debian's python3-flask, python3-pymongo and python3-mongomock suffice)."""

import json
import socket
import unittest

import mongomock
from pymongo.errors import OperationFailure

from app import CARDS_PER_PAGE, Settings, connect, create_app


def characters(n):
    return [
        {
            "_id": f"hero-{i}",
            "id": f"hero-{i}",
            "name": f"Hero {i}",
            "description": f"Description of hero {i}.",
            "image": f"data:image/svg+xml;utf8,<svg id='{i}'/>",
            "comics": [f"Comic {i}-{j}" for j in range(5)],
        }
        for i in range(n)
    ]


def unused_local_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CardsTest(unittest.TestCase):
    def setUp(self):
        self.collection = mongomock.MongoClient().marvel.characters
        self.collection.insert_many(characters(10))
        self.client = create_app(collection=self.collection).test_client()

    def test_index_shows_six_distinct_cards(self):
        resp = self.client.get("/")
        self.assertEqual(resp.status_code, 200)
        html = resp.get_data(as_text=True)
        self.assertEqual(html.count('<article class="card"'), CARDS_PER_PAGE)
        names = {f"Hero {i}" for i in range(10) if f">Hero {i}</h2>" in html}
        self.assertEqual(len(names), CARDS_PER_PAGE)
        self.assertIn("cards.js", html)
        self.assertEqual(html.count('class="reload"'), CARDS_PER_PAGE)

    def test_card_shows_at_most_three_comics(self):
        self.collection.delete_many({})
        self.collection.insert_many(characters(1))
        html = self.client.get("/").get_data(as_text=True)
        self.assertIn("Comic 0-2", html)
        self.assertNotIn("Comic 0-3", html)

    def test_text_is_escaped(self):
        self.collection.delete_many({})
        self.collection.insert_one({"_id": "x", "id": "x", "name": "<script>bad</script>", "description": "", "image": "", "comics": []})
        html = self.client.get("/").get_data(as_text=True)
        self.assertNotIn("<script>bad", html)
        self.assertIn("&lt;script&gt;bad", html)

    def test_empty_database_explains_itself(self):
        self.collection.delete_many({})
        resp = self.client.get("/")
        self.assertEqual(resp.status_code, 200)
        self.assertIn("init-db", resp.get_data(as_text=True))

    def test_random_character_json(self):
        resp = self.client.get("/api/characters/random")
        self.assertEqual(resp.status_code, 200)
        card = json.loads(resp.get_data(as_text=True))
        self.assertEqual(set(card), {"id", "name", "description", "image", "comics"})
        self.assertTrue(card["name"].startswith("Hero "))

    def test_random_character_when_empty(self):
        self.collection.delete_many({})
        self.assertEqual(self.client.get("/api/characters/random").status_code, 404)

    def test_healthz(self):
        resp = self.client.get("/healthz")
        self.assertEqual(resp.status_code, 200)
        self.assertEqual(resp.get_data(as_text=True), "ok\n")


class NoSampleCollection:
    """A mongomock collection whose server lacks $sample, as FerretDB does:
    aggregate fails with NotImplemented (238)."""

    def __init__(self, collection, code=238):
        self.collection = collection
        self.code = code

    def aggregate(self, pipeline):
        raise OperationFailure('`aggregate` stage "$sample" is not implemented yet', code=self.code)

    def __getattr__(self, name):
        return getattr(self.collection, name)


class NoSampleTest(unittest.TestCase):
    def setUp(self):
        self.collection = mongomock.MongoClient().marvel.characters
        self.collection.insert_many(characters(10))
        self.client = create_app(collection=NoSampleCollection(self.collection)).test_client()

    def test_index_shows_six_distinct_cards(self):
        resp = self.client.get("/")
        self.assertEqual(resp.status_code, 200)
        html = resp.get_data(as_text=True)
        self.assertEqual(html.count('<article class="card"'), CARDS_PER_PAGE)
        names = {f"Hero {i}" for i in range(10) if f">Hero {i}</h2>" in html}
        self.assertEqual(len(names), CARDS_PER_PAGE)

    def test_random_character_json(self):
        resp = self.client.get("/api/characters/random")
        self.assertEqual(resp.status_code, 200)
        card = json.loads(resp.get_data(as_text=True))
        self.assertEqual(set(card), {"id", "name", "description", "image", "comics"})
        self.assertTrue(card["name"].startswith("Hero "))

    def test_empty_collection(self):
        self.collection.delete_many({})
        self.assertEqual(self.client.get("/api/characters/random").status_code, 404)
        self.assertEqual(self.client.get("/").status_code, 200)

    def test_fewer_characters_than_cards(self):
        self.collection.delete_many({"_id": {"$nin": ["hero-0", "hero-1"]}})
        html = self.client.get("/").get_data(as_text=True)
        self.assertEqual(html.count('<article class="card"'), 2)

    def test_other_server_errors_still_fail(self):
        app = create_app(collection=NoSampleCollection(self.collection, code=13)).test_client()
        with self.assertLogs("marvel.frontend", "WARNING"):
            self.assertEqual(app.get("/").status_code, 503)


class DatabaseDownTest(unittest.TestCase):
    """A real pymongo client pointed at a closed local port."""

    def setUp(self):
        settings = Settings(uri=f"mongodb://127.0.0.1:{unused_local_port()}/", timeout_ms=300)
        self.client = create_app(collection=connect(settings)).test_client()

    def test_index_degrades_to_503(self):
        with self.assertLogs("marvel.frontend", "WARNING"):
            resp = self.client.get("/")
        self.assertEqual(resp.status_code, 503)
        html = resp.get_data(as_text=True)
        self.assertIn("database is unavailable", html)
        self.assertNotIn('class="card"', html)

    def test_json_endpoint_is_503(self):
        with self.assertLogs("marvel.frontend", "WARNING"):
            resp = self.client.get("/api/characters/random")
        self.assertEqual(resp.status_code, 503)
        self.assertIn("unreachable", json.loads(resp.get_data(as_text=True))["error"])

    def test_healthz_does_not_need_the_database(self):
        self.assertEqual(self.client.get("/healthz").status_code, 200)


class SettingsTest(unittest.TestCase):
    def test_from_env(self):
        s = Settings.from_env({
            "MONGODB_URI": "mongodb://db:27017/?replicaSet=rs0",
            "MONGODB_USERNAME": "u",
            "MONGODB_PASSWORD": "p",
            "MONGODB_TIMEOUT_MS": "500",
        })
        self.assertEqual((s.uri, s.username, s.password, s.timeout_ms), ("mongodb://db:27017/?replicaSet=rs0", "u", "p", 500))
        self.assertEqual((s.database, s.collection), ("marvel", "characters"))

    def test_defaults(self):
        s = Settings.from_env({})
        self.assertIn("replicaSet=rs0", s.uri)
        self.assertEqual(s.username, "")


if __name__ == "__main__":
    unittest.main()
