"""Opening files off the loop (thread pool with an inline RESOLVE_CACHED
fast path) and open_file_cache."""

import os
import shutil
import subprocess
import threading
import time

import pytest

from helpers import Conn, get
from http_helpers import docroot, http_block, start

HERE = os.path.dirname(os.path.abspath(__file__))
PRELOAD_SRC = os.path.join(HERE, "preload", "slowopen.c")


def build_preload(out_dir):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the LD_PRELOAD library")
    so = os.path.join(out_dir, "slowopen.so")
    r = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-o", so, PRELOAD_SRC, "-ldl"],
                       capture_output=True, text=True)
    assert r.returncode == 0, "building the preload library failed:\n" + r.stderr
    os.chmod(so, 0o755)
    return so


@pytest.fixture
def slow_server(server, monkeypatch):
    so = build_preload(server.dir)
    root = docroot(server, {
        "slowopen.txt": "slow body\n" * 100,
        "fast.txt": "fast body\n",
        "slowopen-dir/index.html": "slow index\n",
    })
    monkeypatch.setenv("LD_PRELOAD", so)
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") + "verify_asan_link_order=0")
    # One worker: both requests must be served by the same loop.
    start(server, http_block("server { listen 127.0.0.1:%d; root %s; }"
                             % (server.port(), root)), workers=1)
    monkeypatch.delenv("LD_PRELOAD")
    return server


@pytest.mark.parametrize("slow_path,slow_body", [
    ("/slowopen.txt", "slow body\n" * 100),
    ("/slowopen-dir/", "slow index\n"),  # the index existence check in the pool
])
def test_loop_free_while_pool_blocked(slow_server, slow_path, slow_body):
    port = slow_server.port()
    done = []
    results = {}

    def fetch(name, path):
        try:
            results[name] = get(port, path, timeout=30)
        except Exception as e:  # reported below
            results[name] = e
        done.append(name)

    t = threading.Thread(target=fetch, args=("slow", slow_path))
    t.start()
    time.sleep(0.5)  # the slow open is now sleeping in a pool thread
    fetch("fast", "/fast.txt")
    t.join(30)
    assert not t.is_alive(), "the slow request never completed"
    assert done == ["fast", "slow"], "the fast request waited for the slow open: %r" % done
    fast, slow = results["fast"], results["slow"]
    assert not isinstance(slow, Exception), slow
    assert (fast.status, fast.text) == (200, "fast body\n")
    assert (slow.status, slow.text) == (200, slow_body)
    assert slow.header("Content-Length") == str(len(slow_body))


def test_slow_open_client_gone(slow_server):
    """The client leaves while its open sleeps in the pool: the completion
    only frees, and the worker keeps serving."""
    port = slow_server.port()
    workers = slow_server.workers()
    c = Conn(port)
    c.request("/slowopen.txt")
    time.sleep(0.3)
    c.close()
    assert get(port, "/fast.txt").text == "fast body\n"
    time.sleep(3.5)  # the open finishes for nobody
    assert get(port, "/fast.txt").text == "fast body\n"
    assert slow_server.workers() == workers


@pytest.mark.parametrize("replace", ["rename", "rewrite"])
def test_open_file_cache_valid(server, replace):
    root = docroot(server, {"f.txt": "version A\n"})
    start(server, http_block("""
open_file_cache max=16 inactive=60s;
open_file_cache_valid 2s;
server { listen 127.0.0.1:%d; root %s; location /nocache/ { open_file_cache off; alias %s/; } }
""" % (server.port(), root, root)), workers=1)
    port = server.port()
    path = os.path.join(root, "f.txt")
    with Conn(port) as c:
        assert c.get("/f.txt").text == "version A\n"
        t0 = time.monotonic()
        if replace == "rename":
            tmp = path + ".new"
            with open(tmp, "w") as f:
                f.write("version B\n")
            os.chmod(tmp, 0o644)
            os.rename(tmp, path)
        else:
            # Same size, new bytes, and a different mtime: the cached
            # descriptor and stat still describe the old state.
            st = os.stat(path)
            with open(path, "w") as f:
                f.write("version C\n")
            os.utime(path, (st.st_atime, st.st_mtime + 100))
        cached = c.get("/f.txt")
        fresh = c.get("/nocache/f.txt")
        elapsed = time.monotonic() - t0
        new = "version B\n" if replace == "rename" else "version C\n"
        assert fresh.text == new, "a location without the cache sees the change at once"
        if elapsed < 1.5:  # otherwise the machine was too slow to tell
            if replace == "rename":
                assert cached.text == "version A\n", "served from the cached descriptor"
            else:
                etag_old = '"%x-%x"' % (int(st.st_mtime), st.st_size)
                assert cached.header("ETag") == etag_old, "served with the cached stat"
        time.sleep(2.5)
        r = c.get("/f.txt")
        assert r.text == new, "revalidated after open_file_cache_valid"
        st = os.stat(path)
        assert r.header("ETag") == '"%x-%x"' % (int(st.st_mtime), st.st_size)


def test_open_file_cache_deleted_and_many_files(server):
    files = {"f%d.txt" % i: "file %d\n" % i for i in range(20)}
    root = docroot(server, files)
    start(server, http_block("""
open_file_cache max=4 inactive=60s;
open_file_cache_valid 30s;
server { listen 127.0.0.1:%d; root %s; }
""" % (server.port(), root)), workers=1)
    port = server.port()
    with Conn(port) as c:
        # More files than entries: eviction keeps every answer right.
        for _ in range(3):
            for i in range(20):
                assert c.get("/f%d.txt" % i).text == "file %d\n" % i
        # A cached file deleted on disk is still served from the open
        # descriptor until revalidation (nginx does the same).
        assert c.get("/f19.txt").status == 200
        os.unlink(os.path.join(root, "f19.txt"))
        r = c.get("/f19.txt")
        assert r.status == 200 and r.text == "file 19\n"
        # A file never seen is looked up on disk.
        assert c.get("/f_missing.txt").status == 404
