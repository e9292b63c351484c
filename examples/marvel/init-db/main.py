"""init-db: wait for the MongoDB replica set (initiating it if needed), then
load the bundled characters idempotently. Runs as a Kubernetes Job.

Environment: MONGODB_URI (the replica set connection string),
MONGODB_USERNAME/MONGODB_PASSWORD (from a Secret), MONGODB_REPLICA_SET (rs0),
MONGODB_MEMBERS or MONGODB_REPLICAS + POD_NAMESPACE, MONGODB_DATABASE,
MONGODB_COLLECTION, WAIT_TIMEOUT_SECONDS (300), DATA_FILE.

MONGODB_STANDALONE=true is for a single server without replication (FerretDB
in the local-db profile, or a mongod without --replSet): there is no replica
set to initiate, so init-db only waits for the server at MONGODB_URI and loads.
"""

import logging
import os
import sys

from pymongo import MongoClient

from load import load, read_characters
from replset import ensure_initiated, member_hosts, wait_until

log = logging.getLogger("init-db")


def client_for(uri_or_host, env, timeout_ms, **kwargs):
    auth = {}
    if env.get("MONGODB_USERNAME"):
        auth = {"username": env["MONGODB_USERNAME"], "password": env.get("MONGODB_PASSWORD", "")}
    return MongoClient(uri_or_host, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, **auth, **kwargs)


def standalone(env):
    """True when MONGODB_STANDALONE says the server has no replica set."""
    return (env.get("MONGODB_STANDALONE") or "").strip().lower() in ("1", "true", "yes")


def run(env, connect=client_for):
    """Initiate the replica set if needed and load the data. connect(uri,
    env, timeout_ms, **options) returns a MongoClient (tests pass fakes)."""
    name = env.get("MONGODB_REPLICA_SET") or "rs0"
    hosts = member_hosts(env)
    timeout = float(env.get("WAIT_TIMEOUT_SECONDS") or 300)
    data_file = env.get("DATA_FILE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "characters.json")
    chars = read_characters(data_file)
    log.info("read %d characters from %s", len(chars), data_file)

    if standalone(env):
        # No replication: replSetGetStatus and replSetInitiate would fail (a
        # mongod without --replSet refuses them, FerretDB has neither).
        log.info("standalone server (MONGODB_STANDALONE): no replica set to initiate")
        uri = env.get("MONGODB_URI") or f"mongodb://{hosts[0]}/"
        ready = "the server"
    else:
        # Every member must answer before the set can be initiated.
        for host in hosts:
            direct = connect(host, env, 2000, directConnection=True)
            wait_until(f"member {host}", lambda: direct.admin.command("ping"), timeout, 2, log)
            if host == hosts[0]:
                ensure_initiated(direct.admin, name, hosts, log)
            direct.close()
        uri = env.get("MONGODB_URI") or f"mongodb://{','.join(hosts)}/?replicaSet={name}"
        ready = "a primary"

    client = connect(uri, env, 5000, w="majority")
    wait_until(ready, lambda: client.admin.command("ping"), timeout, 2, log)
    collection = client[env.get("MONGODB_DATABASE") or "marvel"][env.get("MONGODB_COLLECTION") or "characters"]
    inserted, updated = load(collection, chars)
    log.info("characters loaded: %d inserted, %d already present (updated in place)", inserted, updated)
    client.close()


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s init-db: %(message)s")
    try:
        run(os.environ)
    except Exception as err:  # the Job's log shows why it failed, then it retries
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
