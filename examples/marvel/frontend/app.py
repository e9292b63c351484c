"""The Marvel cards frontend: six random character cards from MongoDB.

Routes:
  GET /                       six random cards (503 and a readable page if the
                              database cannot be reached)
  GET /api/characters/random  one random card as JSON (used by the reload button)
  GET /healthz                200 while the process serves; never touches MongoDB

Served by gunicorn: ``gunicorn 'app:create_app()'``.
"""

import logging
import os
import random
from dataclasses import dataclass

from flask import Flask, jsonify, render_template
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

CARDS_PER_PAGE = 6
# Only what a card shows leaves the database.
CARD_FIELDS = {"_id": 0, "id": 1, "name": 1, "description": 1, "image": 1, "comics": 1}
# The server errors that mean "no $sample stage here": FerretDB's
# NotImplemented (the local-db profile) and MongoDB's unknown-stage error.
SAMPLE_UNSUPPORTED = {238, 40324}

log = logging.getLogger("marvel.frontend")


@dataclass(frozen=True)
class Settings:
    """Database settings, read from the environment."""

    uri: str = "mongodb://mongo-0.mongo:27017/?replicaSet=rs0"
    username: str = ""
    password: str = ""
    database: str = "marvel"
    collection: str = "characters"
    timeout_ms: int = 2000

    @classmethod
    def from_env(cls, env):
        return cls(
            uri=env.get("MONGODB_URI") or cls.uri,
            username=env.get("MONGODB_USERNAME", ""),
            password=env.get("MONGODB_PASSWORD", ""),
            database=env.get("MONGODB_DATABASE") or cls.database,
            collection=env.get("MONGODB_COLLECTION") or cls.collection,
            timeout_ms=int(env.get("MONGODB_TIMEOUT_MS") or cls.timeout_ms),
        )


def connect(settings):
    """Return the characters collection. The client connects lazily; a short
    server-selection timeout makes an unreachable database fail fast."""
    auth = {}
    if settings.username:
        auth = {"username": settings.username, "password": settings.password}
    client = MongoClient(
        settings.uri,
        serverSelectionTimeoutMS=settings.timeout_ms,
        connectTimeoutMS=settings.timeout_ms,
        socketTimeoutMS=settings.timeout_ms * 2,
        **auth,
    )
    return client[settings.database][settings.collection]


def random_cards(collection, count):
    """Return up to count random character documents, shaped for a card.
    $sample picks them on the server; a server without it (FerretDB) gets
    sampled_by_id instead."""
    try:
        cards = list(collection.aggregate([{"$sample": {"size": count}}, {"$project": CARD_FIELDS}]))
    except OperationFailure as err:
        if err.code not in SAMPLE_UNSUPPORTED:
            raise
        cards = sampled_by_id(collection, count)
    for card in cards:
        card.setdefault("comics", [])
    return cards


def sampled_by_id(collection, count):
    """Pick up to count random ids from all of the collection's ids, then
    read those documents: two queries, and every id read, which suits a
    collection of a few dozen characters."""
    ids = collection.distinct("_id")
    picked = random.sample(ids, min(count, len(ids)))
    if not picked:
        return []
    return list(collection.find({"_id": {"$in": picked}}, CARD_FIELDS))


def create_app(collection=None, settings=None):
    """Build the Flask app. Tests pass a collection (mongomock); gunicorn
    calls it without arguments and the settings come from the environment."""
    app = Flask(__name__)
    # Templates synced into the running container take effect at once.
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    if collection is None:
        collection = connect(settings or Settings.from_env(os.environ))

    @app.get("/healthz")
    def healthz():
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/")
    def index():
        try:
            cards = random_cards(collection, CARDS_PER_PAGE)
        except PyMongoError as err:
            log.warning("database unreachable: %s", err)
            return render_template("degraded.html"), 503
        return render_template("index.html", cards=cards)

    @app.get("/api/characters/random")
    def random_character():
        try:
            cards = random_cards(collection, 1)
        except PyMongoError as err:
            log.warning("database unreachable: %s", err)
            return jsonify(error="the character database is unreachable"), 503
        if not cards:
            return jsonify(error="no characters loaded yet"), 404
        return jsonify(cards[0])

    return app
