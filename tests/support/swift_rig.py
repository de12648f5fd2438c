#!/usr/bin/python3
"""swift_rig.py ROOT PORT_FILE -- OpenStack Swift with s3api on loopback.

A single node: one account server, one container server and three object
servers (three replicas, one device each), a proxy with tempauth + s3api, all
on free 127.0.0.1 ports, everything under ROOT (a temporary directory on a
filesystem with user xattrs, which Swift's object files need).

Once the proxy answers, the proxy's port is written to PORT_FILE and every
server's pid to ROOT/pids ("name pid" lines), so a test can kill one object
server mid-transfer. SIGTERM/SIGINT (or the death of this process: children
get PR_SET_PDEATHSIG) kills every server. S3 credentials: access key
"test:tester", secret "testing", region us-east-1.

Run with Debian's /usr/bin/python3 (python3-swift installs there).
"""
import ctypes
import os
import signal
import socket
import sys
import time
import urllib.request

# eventlet's green DNS costs a second of imports per process; every address
# here is a literal 127.0.0.1. Set before swift imports eventlet.
os.environ["EVENTLET_NO_GREENDNS"] = "yes"

from swift.common.ring import RingBuilder  # noqa: E402

PART_POWER = 8  # 256 partitions: rings build in milliseconds
OBJECT_SERVERS = 3
REPLICAS = 3

children = {}  # name -> pid


def free_port():
    # A port the kernel just gave out: free, and not reused at once.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check_xattrs(directory):
    probe = os.path.join(directory, ".xattr-probe")
    write(probe, "")
    try:
        os.setxattr(probe, "user.swift.probe", b"1")
    except OSError as e:
        sys.exit("swift_rig: %s has no user xattrs (%s); Swift needs them: set TMPDIR to "
                 "a directory on ext4/xfs/tmpfs" % (directory, e))
    finally:
        os.unlink(probe)


def build_ring(path, devices):
    """devices: list of (port, device name)."""
    b = RingBuilder(PART_POWER, REPLICAS, 0)
    for i, (port, dev) in enumerate(devices):
        b.add_dev({"id": i, "region": 1, "zone": i + 1, "ip": "127.0.0.1", "port": port,
                   "device": dev, "weight": 100.0, "meta": ""})
    b.rebalance()
    b.get_ring().save(path)


def backend_conf(kind, root, etc, port, devices, logsock):
    return """[DEFAULT]
devices = %s
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = %d
workers = 0
swift_dir = %s
log_address = %s
log_name = %s
# A loaded test machine must not turn an object's container update (or a
# container's account update) into an async pending that no updater runs:
# listings would then miss objects the test just wrote.
conn_timeout = 5
node_timeout = 30
container_update_timeout = 30

[pipeline:main]
pipeline = %s-server

[app:%s-server]
use = egg:swift#%s
""" % (devices, port, etc, logsock, os.path.basename(devices) if kind == "object" else kind,
       kind, kind, kind)


def proxy_conf(etc, port, logsock):
    # s3api right before tempauth; copy and slo after them (s3api's multipart
    # Complete writes an SLO manifest, its copies go through copy).
    return """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %d
workers = 0
swift_dir = %s
log_address = %s
log_name = proxy

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
node_timeout = 10
conn_timeout = 1
recoverable_node_timeout = 5
error_suppression_interval = 60

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = true
max_upload_part_num = 10000
storage_domain = localhost
# pages of at most 100 keys (S3 allows fewer than max-keys): listings
# page with a few hundred objects instead of thousands
max_bucket_listing = 100

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo

[filter:copy]
use = egg:swift#copy

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:%d

[filter:listing_formats]
use = egg:swift#listing_formats
""" % (port, etc, logsock, free_port())


def die_with_parent():
    # PR_SET_PDEATHSIG = 1: SIGKILL when the parent dies, even by SIGKILL.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def spawn(name, kind, conf, log_fd):
    # A fork of this process, which has imported Swift once already: six
    # servers start in the time of one import instead of six (what
    # /usr/bin/swift-*-server does, without the exec).
    from swift.common.wsgi import run_wsgi
    from swift.obj import server as object_server
    pid = os.fork()
    if pid:
        children[name] = pid
        return
    rc = 1
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        options = {}
        if kind == "object":
            options["global_conf_callback"] = object_server.global_conf_callback
        rc = run_wsgi(conf, kind + "-server", **options)
    finally:
        os._exit(rc if isinstance(rc, int) else 1)


def stop_all(*_):
    for pid in children.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in children.values():
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    os._exit(0)


def exited(pid):
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 1
    return status if done else None


def collect_logs(sock, path):
    # Swift logs through syslog; this socket is its log_address. A process
    # of its own (a thread would starve once eventlet patches this one).
    pid = os.fork()
    if pid:
        children["logs"] = pid
        sock.close()
        return
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with open(path, "ab", buffering=0) as out:
            while True:
                out.write(sock.recv(65536) + b"\n")
    finally:
        os._exit(0)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    t0 = time.monotonic()
    parent = os.getppid()
    die_with_parent()  # the test that started the rig died: so does the rig
    if os.getppid() != parent or parent == 1:  # it died before the line above
        sys.exit("swift_rig: parent gone")
    root, port_file = os.path.abspath(sys.argv[1]), sys.argv[2]
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    check_xattrs(root)
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)

    logsock_path = os.path.join(root, "log.sock")
    logsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    logsock.bind(logsock_path)
    collect_logs(logsock, os.path.join(root, "swift.log"))

    write(os.path.join(etc, "swift.conf"), """[swift-hash]
swift_hash_path_suffix = cos-c-test-rig
swift_hash_path_prefix = cos-c

[storage-policy:0]
name = replicated
default = yes
""")
    # all the rig's ports held open together while chosen, so no two are the same
    names = ["proxy", "account", "container"] + ["object%d" % i for i in range(1, OBJECT_SERVERS + 1)]
    held = [socket.socket() for _ in names]
    for s in held:
        s.bind(("127.0.0.1", 0))
    ports = {name: s.getsockname()[1] for name, s in zip(names, held)}
    for s in held:
        s.close()
    # account and container: one server, three devices; objects: three servers
    for kind in ("account", "container"):
        devs = os.path.join(root, "srv", kind)
        for d in range(1, REPLICAS + 1):
            os.makedirs(os.path.join(devs, "d%d" % d), exist_ok=True)
        build_ring(os.path.join(etc, kind + ".ring.gz"), [(ports[kind], "d%d" % d) for d in range(1, REPLICAS + 1)])
        write(os.path.join(etc, kind + ".conf"), backend_conf(kind, root, etc, ports[kind], devs, logsock_path))
    for i in range(1, OBJECT_SERVERS + 1):
        name = "object%d" % i
        devs = os.path.join(root, "srv", name)
        os.makedirs(os.path.join(devs, "d%d" % i), exist_ok=True)
        write(os.path.join(etc, name + ".conf"), backend_conf("object", root, etc, ports[name], devs, logsock_path))
    build_ring(os.path.join(etc, "object.ring.gz"),
               [(ports["object%d" % i], "d%d" % i) for i in range(1, OBJECT_SERVERS + 1)])
    write(os.path.join(etc, "proxy.conf"), proxy_conf(etc, ports["proxy"], logsock_path))
    t_conf = time.monotonic()

    # Import what the servers run before forking them (see spawn).
    import swift.account.server  # noqa: F401
    import swift.container.server  # noqa: F401
    import swift.obj.server  # noqa: F401
    import swift.proxy.server  # noqa: F401
    import swift.common.middleware.s3api.s3api  # noqa: F401
    from swift.common import utils
    utils.eventlet_monkey_patch()  # once here, not once per server
    t_import = time.monotonic()
    log_fd = os.open(os.path.join(root, "servers.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for name in ports:
        kind = "object" if name.startswith("object") else name
        spawn(name, kind, os.path.join(etc, name + ".conf"), log_fd)
    write(os.path.join(root, "pids"), "".join("%s %d\n" % (n, p) for n, p in children.items() if n != "logs"))

    # Ready when every server accepts and the proxy's healthcheck answers.
    deadline = time.monotonic() + 120
    pending = dict(ports)
    servers = {n: p for n, p in children.items() if n != "logs"}
    ready_at = {}
    while pending:
        for name, pid in servers.items():
            status = exited(pid)
            if status is not None:
                sys.stderr.write("swift_rig: %s exited (status %d); %s/servers.log says:\n" % (name, status, root))
                with open(os.path.join(root, "servers.log")) as f:
                    sys.stderr.write(f.read()[-4000:])
                stop_all()
        for name, port in list(pending.items()):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                del pending[name]
                ready_at[name] = time.monotonic() - t0
            except OSError:
                pass
        if time.monotonic() > deadline:
            sys.stderr.write("swift_rig: %s never listened\n" % ", ".join(pending))
            stop_all()
        if pending:
            time.sleep(0.05)
    urllib.request.urlopen("http://127.0.0.1:%d/healthcheck" % ports["proxy"], timeout=10).read()
    t_ready = time.monotonic()
    sys.stderr.write("swift_rig: configs and rings %.2f s, Swift imported %.2f s, servers ready %.2f s after start (%s)\n"
                     % (t_conf - t0, t_import - t0, t_ready - t0,
                        ", ".join("%s %.2f" % kv for kv in sorted(ready_at.items(), key=lambda kv: kv[1]))))
    tmp = port_file + ".tmp"
    write(tmp, "%d\n" % ports["proxy"])
    os.rename(tmp, port_file)

    # Stay until told to stop; a server dying is what the kill tests do, so
    # it is not an error here.
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
