"""Operations: nginx's binary upgrade sequence (USR2, WINCH, QUIT) and its
rollback (USR2, WINCH, HUP, QUIT to the new master), with the same binary,
under wrk load that must see 0 failed requests (issue #4)."""

import os
import signal
import time

from helpers import TIMEOUT, children, get, proc_stat, wait_for
from ops_helpers import Wrk, make_site, ppid, rewrite, site_http, wait_gone


def pids_answering(port, want, tries=2000):
    """Pids of the workers answering /pid on fresh connections, until every
    set in `want` has answered at least once (or tries run out)."""
    seen = set()
    for _ in range(tries):
        r = get(port, "/pid")
        assert r.status == 200, r
        seen.add(int(r.text))
        if all(seen & set(w) for w in want):
            break
    return seen


def start_upgrade(server):
    """USR2 to the master; returns the new master's pid once its workers
    run."""
    old = server.master_pid
    oldbin = server.pid_file + ".oldbin"
    mark = server.log_size()
    server.kill(signal.SIGUSR2)
    wait_for(lambda: os.path.exists(oldbin), what="pid file renamed to .oldbin")
    new = wait_for(lambda: server.read_pid() not in (None, old) and server.read_pid(),
                   what="new pid file")
    with open(oldbin) as f:
        assert int(f.read()) == old
    assert ppid(new) == old, "the new master is a child of the old one"
    st = proc_stat(new)
    server.seen[new] = st[2]  # the fixture checks it is gone at the end
    server.wait_log(r"started new binary process %d" % new, since=mark)
    with open("/proc/%d/cmdline" % new, "rb") as f:
        assert f.read().split(b"\0")[0].decode() == server.argv()[0]
    return new


def new_workers(server, master, n=2):
    def ok():
        kids = children(master)
        return kids if len(kids) == n else None
    kids = wait_for(ok, what="%d workers of %d" % (n, master))
    for k in kids:
        server.seen.setdefault(k, proc_stat(k)[2])
    return kids


def test_binary_upgrade_under_load(server):
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    old_master = server.master_pid
    old_workers = server.workers()
    oldbin = server.pid_file + ".oldbin"
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=64, duration=120)
    with wrk:
        time.sleep(0.5)
        new_master = start_upgrade(server)
        nw = new_workers(server, new_master)
        # Old and new workers accept on the same sockets.
        assert set(server.workers()) == set(old_workers) | {new_master}
        seen = pids_answering(port, [old_workers, nw])
        assert seen & set(old_workers) and seen & set(nw), \
            "both generations serve (%s; old %s, new %s)" % (seen, old_workers, nw)
        time.sleep(0.5)

        # WINCH: the old master's workers go, the port stays served.
        os.kill(old_master, signal.SIGWINCH)
        wait_gone(old_workers, what="old workers to exit after WINCH")
        assert server.workers() == [new_master]
        assert pids_answering(port, [nw], tries=50) <= set(nw)
        time.sleep(0.5)

        # QUIT to the old master finishes the upgrade.
        os.kill(old_master, signal.SIGQUIT)
        server.proc.wait(TIMEOUT)
        assert not os.path.exists(oldbin)
        assert server.read_pid() == new_master
        assert pids_answering(port, [nw], tries=50) <= set(nw)
        time.sleep(0.5)
        res = wrk.stop()
    print("\nupgrade USR2/WINCH/QUIT under load: %s" % res.summary())
    assert res.failed == 0, res.out
    assert res.requests > 1000, res.out
    # The fixture now stops and checks the new master.
    server.proc = None
    server.master_pid = new_master
    assert server.workers() == nw
    r = get(port, "/1k.bin")
    assert (r.status, r.header("X-Gen")) == (200, "g1")


def test_binary_upgrade_rollback_under_load(server):
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    old_master = server.master_pid
    old_workers = server.workers()
    oldbin = server.pid_file + ".oldbin"
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=64, duration=120)
    with wrk:
        time.sleep(0.5)
        new_master = start_upgrade(server)
        nw = new_workers(server, new_master)
        time.sleep(0.5)
        os.kill(old_master, signal.SIGWINCH)
        wait_gone(old_workers, what="old workers to exit after WINCH")
        time.sleep(0.5)

        # HUP after WINCH starts workers again, with the configuration the
        # old master has: it does not read the (changed) file.
        rewrite(server, http=site_http(server, "changed-on-disk"))
        mark = server.log_size()
        os.kill(old_master, signal.SIGHUP)
        back = wait_for(lambda: len(server.workers()) == 3 and
                        [k for k in server.workers() if k != new_master],
                        what="old master's workers to come back")
        assert not set(back) & set(old_workers)
        server.wait_log(r"starting worker processes again", since=mark)
        seen = pids_answering(port, [back, nw])
        assert seen & set(back) and seen & set(nw)
        time.sleep(0.5)

        # QUIT to the new master: the old one is the master again, under the
        # usual pid file name.
        os.kill(new_master, signal.SIGQUIT)
        wait_gone([new_master] + nw, what="new master and its workers to exit")
        wait_for(lambda: not os.path.exists(oldbin), what=".oldbin renamed back")
        wait_for(lambda: server.read_pid() == old_master, what="pid file naming the old master")
        assert server.workers() == sorted(back)
        assert pids_answering(port, [back], tries=50) <= set(back)
        time.sleep(0.5)
        res = wrk.stop()
    print("\nrollback USR2/WINCH/HUP/QUIT(new) under load: %s" % res.summary())
    assert res.failed == 0, res.out
    assert res.requests > 1000, res.out
    r = get(port, "/1k.bin")
    assert (r.status, r.header("X-Gen")) == (200, "g1"), "HUP after WINCH did not reload"
    assert "reconfiguring" not in server.log()
    # And the old master goes on as usual: a real reload reads the file now.
    server.reload()
    assert get(port, "/1k.bin").header("X-Gen") == "changed-on-disk"
