"""Unit tests of the replica-set logic against a fake admin database."""

import logging
import unittest

from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from replset import ALREADY_INITIALIZED, NOT_YET_INITIALIZED, config_for, ensure_initiated, member_hosts, wait_until

log = logging.getLogger("test")


class FakeAdmin:
    """Answers replSetGetStatus/replSetInitiate like a mongod member."""

    def __init__(self, initiated=False, initiate_error=None):
        self.initiated = initiated
        self.initiate_error = initiate_error
        self.calls = []

    def command(self, name, arg=None):
        self.calls.append((name, arg))
        if name == "replSetGetStatus":
            if not self.initiated:
                raise OperationFailure("no replset config has been received", code=NOT_YET_INITIALIZED)
            return {"ok": 1}
        if name == "replSetInitiate":
            if self.initiate_error is not None:
                raise OperationFailure("error", code=self.initiate_error)
            self.initiated = True
            return {"ok": 1}
        raise AssertionError(f"unexpected command {name}")


class EnsureInitiatedTest(unittest.TestCase):
    hosts = ["mongo-0.mongo.marvel.svc.cluster.local:27017"]

    def test_initiates_once(self):
        admin = FakeAdmin()
        self.assertTrue(ensure_initiated(admin, "rs0", self.hosts, log))
        self.assertEqual(admin.calls[-1], ("replSetInitiate", config_for("rs0", self.hosts)))
        self.assertFalse(ensure_initiated(admin, "rs0", self.hosts, log))
        self.assertEqual([c[0] for c in admin.calls].count("replSetInitiate"), 1)

    def test_concurrent_initiation_is_fine(self):
        self.assertFalse(ensure_initiated(FakeAdmin(initiate_error=ALREADY_INITIALIZED), "rs0", self.hosts, log))

    def test_other_errors_propagate(self):
        with self.assertRaises(OperationFailure):
            ensure_initiated(FakeAdmin(initiate_error=13), "rs0", self.hosts, log)


class MembersTest(unittest.TestCase):
    def test_derived_from_replicas_and_namespace(self):
        self.assertEqual(
            member_hosts({"MONGODB_REPLICAS": "3", "POD_NAMESPACE": "marvel"}),
            [f"mongo-{i}.mongo.marvel.svc.cluster.local:27017" for i in range(3)],
        )

    def test_explicit_list_wins(self):
        self.assertEqual(member_hosts({"MONGODB_MEMBERS": " a:1, b:2 ,", "MONGODB_REPLICAS": "5"}), ["a:1", "b:2"])

    def test_config_prefers_first_member(self):
        cfg = config_for("rs0", ["a:1", "b:1", "c:1"])
        self.assertEqual(cfg["_id"], "rs0")
        self.assertEqual([m["_id"] for m in cfg["members"]], [0, 1, 2])
        self.assertEqual(cfg["members"][0]["priority"], 2)
        self.assertNotIn("priority", config_for("rs0", ["a:1"])["members"][0])


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, d):
        self.now += d


class WaitUntilTest(unittest.TestCase):
    def test_retries_until_ready(self):
        clock = FakeClock()
        answers = [ServerSelectionTimeoutError("down"), None, {"ok": 1}]

        def check():
            a = answers.pop(0)
            if isinstance(a, Exception):
                raise a
            return a

        with self.assertLogs("test", "INFO"):
            self.assertEqual(wait_until("db", check, 60, 2, log, clock, clock.sleep), {"ok": 1})
        self.assertEqual(clock.now, 4)

    def test_times_out(self):
        clock = FakeClock()

        def check():
            raise ServerSelectionTimeoutError("down")

        with self.assertLogs("test", "INFO"), self.assertRaises(TimeoutError) as ctx:
            wait_until("db", check, 10, 2, log, clock, clock.sleep)
        self.assertIn("down", str(ctx.exception))
        self.assertGreaterEqual(clock.now, 10)


if __name__ == "__main__":
    unittest.main()
