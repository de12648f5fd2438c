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
import subprocess
import sys
import threading
import time
import urllib.request

from swift.common.ring import RingBuilder

PART_POWER = 8  # 256 partitions: rings build in milliseconds
OBJECT_SERVERS = 3
REPLICAS = 3

children = {}  # name -> Popen


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
    # PR_SET_PDEATHSIG = 1: the server gets SIGKILL when the rig dies, even by SIGKILL.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def spawn(name, program, conf, log):
    # eventlet's green DNS costs a second of imports per server; every
    # address here is a literal 127.0.0.1
    env = dict(os.environ, EVENTLET_NO_GREENDNS="yes")
    children[name] = subprocess.Popen([program, conf], stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT, env=env,
                                      preexec_fn=die_with_parent)


def stop_all(*_):
    for p in children.values():
        try:
            p.kill()
        except OSError:
            pass
    for p in children.values():
        p.wait()
    os._exit(0)


def collect_logs(sock, path):
    # Swift logs through syslog; this socket is its log_address.
    with open(path, "ab", buffering=0) as out:
        while True:
            out.write(sock.recv(65536) + b"\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    t0 = time.monotonic()
    root, port_file = os.path.abspath(sys.argv[1]), sys.argv[2]
    etc = os.path.join(root, "etc")
    os.makedirs(etc, exist_ok=True)
    check_xattrs(root)
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)

    logsock_path = os.path.join(root, "log.sock")
    logsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    logsock.bind(logsock_path)
    threading.Thread(target=collect_logs, args=(logsock, os.path.join(root, "swift.log")),
                     daemon=True).start()

    write(os.path.join(etc, "swift.conf"), """[swift-hash]
swift_hash_path_suffix = cos-c-test-rig
swift_hash_path_prefix = cos-c

[storage-policy:0]
name = replicated
default = yes
""")
    ports = {name: free_port() for name in
             ["proxy", "account", "container"] + ["object%d" % i for i in range(1, OBJECT_SERVERS + 1)]}
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

    log = open(os.path.join(root, "servers.log"), "ab")
    for name in ports:
        kind = "object" if name.startswith("object") else name
        spawn(name, "/usr/bin/swift-%s-server" % kind, os.path.join(etc, name + ".conf"), log)
    write(os.path.join(root, "pids"), "".join("%s %d\n" % (n, p.pid) for n, p in children.items()))

    # Ready when every server accepts and the proxy's healthcheck answers.
    deadline = time.monotonic() + 120
    pending = dict(ports)
    while pending:
        for name, p in children.items():
            if p.poll() is not None:
                sys.stderr.write("swift_rig: %s exited with %d (see %s/servers.log)\n" % (name, p.returncode, root))
                stop_all()
        for name, port in list(pending.items()):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                del pending[name]
            except OSError:
                pass
        if time.monotonic() > deadline:
            sys.stderr.write("swift_rig: %s never listened\n" % ", ".join(pending))
            stop_all()
        if pending:
            time.sleep(0.05)
    urllib.request.urlopen("http://127.0.0.1:%d/healthcheck" % ports["proxy"], timeout=10).read()
    t_ready = time.monotonic()
    sys.stderr.write("swift_rig: configs and rings %.2f s, servers ready %.2f s after start\n"
                     % (t_conf - t0, t_ready - t0))
    tmp = port_file + ".tmp"
    write(tmp, "%d\n" % ports["proxy"])
    os.rename(tmp, port_file)

    # Stay until told to stop; a server dying is what the kill tests do, so
    # it is not an error here.
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
