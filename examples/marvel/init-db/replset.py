"""Waiting for the MongoDB members and initiating the replica set once."""

import time

from pymongo.errors import OperationFailure, PyMongoError

# Server error codes (https://www.mongodb.com/docs/manual/reference/error-codes/).
NOT_YET_INITIALIZED = 94
ALREADY_INITIALIZED = 23


def member_hosts(env):
    """The replica set's member addresses: MONGODB_MEMBERS (comma separated)
    or, without it, MONGODB_REPLICAS stable StatefulSet names in POD_NAMESPACE."""
    listed = [m.strip() for m in env.get("MONGODB_MEMBERS", "").split(",") if m.strip()]
    if listed:
        return listed
    replicas = int(env.get("MONGODB_REPLICAS") or 1)
    ns = env.get("POD_NAMESPACE") or "default"
    service = env.get("MONGODB_SERVICE") or "mongo"
    return [f"{service}-{i}.{service}.{ns}.svc.cluster.local:27017" for i in range(replicas)]


def config_for(name, hosts):
    """The replSetInitiate document: the first member is preferred as primary."""
    members = []
    for i, host in enumerate(hosts):
        m = {"_id": i, "host": host}
        if i == 0 and len(hosts) > 1:
            m["priority"] = 2
        members.append(m)
    return {"_id": name, "members": members}


def wait_until(what, check, timeout, interval, log, clock=time.monotonic, sleep=time.sleep):
    """Call check until it returns a truthy value or timeout seconds pass;
    PyMongoError counts as not yet. Returns the value or raises TimeoutError."""
    deadline = clock() + timeout
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
            last = "not yet"
        except PyMongoError as err:
            last = err
        if clock() >= deadline:
            raise TimeoutError(f"waiting for {what}: gave up after {timeout:.0f}s (last: {last})")
        log.info("waiting for %s (%s)", what, last)
        sleep(interval)


def ensure_initiated(admin, name, hosts, log):
    """Initiate the replica set through admin (a database handle of the first
    member, directly connected) unless it is initiated already. Returns True
    when this call initiated it."""
    try:
        admin.command("replSetGetStatus")
        log.info("replica set %s is already initiated", name)
        return False
    except OperationFailure as err:
        if err.code != NOT_YET_INITIALIZED:
            raise
    try:
        admin.command("replSetInitiate", config_for(name, hosts))
    except OperationFailure as err:
        if err.code == ALREADY_INITIALIZED:
            log.info("replica set %s was initiated concurrently", name)
            return False
        raise
    log.info("initiated replica set %s with %s", name, ", ".join(hosts))
    return True
