"""The Job's whole run against fakes: direct member connections answer like
an uninitiated mongod, the replica-set connection is mongomock."""

import logging
import unittest

import mongomock

from main import run, standalone
from test_replset import FakeAdmin


class FakeDirectClient:
    def __init__(self, admin):
        self.admin = admin
        self.closed = False

    def close(self):
        self.closed = True


class PingingAdmin(FakeAdmin):
    def command(self, name, arg=None):
        if name == "ping":
            self.calls.append((name, arg))
            return {"ok": 1}
        return super().command(name, arg)


class RunTest(unittest.TestCase):
    def setUp(self):
        self.admins = {}
        self.db = mongomock.MongoClient()
        self.connections = []

    def connect(self, target, env, timeout_ms, **options):
        self.connections.append((target, options))
        if options.get("directConnection"):
            return FakeDirectClient(self.admins.setdefault(target, PingingAdmin()))
        self.db.close = lambda: None
        return self.db

    def test_initiates_and_loads_once(self):
        env = {"MONGODB_REPLICAS": "3", "POD_NAMESPACE": "marvel", "MONGODB_URI": "mongodb://x/?replicaSet=rs0"}
        with self.assertLogs("init-db", logging.INFO):
            run(env, connect=self.connect)
        hosts = [f"mongo-{i}.mongo.marvel.svc.cluster.local:27017" for i in range(3)]
        self.assertEqual(sorted(self.admins), hosts)
        first = self.admins[hosts[0]]
        self.assertEqual([c[0] for c in first.calls].count("replSetInitiate"), 1)
        for h in hosts[1:]:
            self.assertNotIn("replSetInitiate", [c[0] for c in self.admins[h].calls])
        count = self.db.marvel.characters.count_documents({})
        self.assertGreaterEqual(count, 25)
        self.assertIn(("mongodb://x/?replicaSet=rs0", {"w": "majority"}), self.connections)

        # A second run (the Job retried, or redeployed) changes nothing.
        with self.assertLogs("init-db", logging.INFO):
            run(env, connect=self.connect)
        self.assertEqual([c[0] for c in first.calls].count("replSetInitiate"), 1)
        self.assertEqual(self.db.marvel.characters.count_documents({}), count)

    def test_standalone_loads_without_touching_a_replica_set(self):
        env = {"MONGODB_STANDALONE": "true", "MONGODB_URI": "mongodb://ferretdb-0.ferretdb:27017/"}
        with self.assertLogs("init-db", logging.INFO) as logs:
            run(env, connect=self.connect)
        # No direct member connection, hence no replSetGetStatus or replSetInitiate.
        self.assertEqual(self.admins, {})
        self.assertEqual(self.connections, [("mongodb://ferretdb-0.ferretdb:27017/", {"w": "majority"})])
        self.assertGreaterEqual(self.db.marvel.characters.count_documents({}), 25)
        self.assertTrue(any("no replica set to initiate" in line for line in logs.output))

    def test_standalone_only_when_set(self):
        for value, want in (("true", True), ("1", True), ("", False), ("false", False)):
            self.assertEqual(standalone({"MONGODB_STANDALONE": value}), want, value)
        self.assertFalse(standalone({}))


if __name__ == "__main__":
    unittest.main()
