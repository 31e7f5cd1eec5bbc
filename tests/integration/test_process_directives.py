"""Main-context directives of nginx configs about worker processes: env,
working_directory, worker_priority, timer_resolution and pcre_jit, seen
from /proc and from requests."""

import os

import pytest

from helpers import child_env, get
from http_helpers import http_block


def nice(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def simple(server, main):
    server.write(main=main, http=http_block(
        "server { listen 127.0.0.1:%d; location ~ ^/re/(\\d+)$ { return 200 \"re $1\\n\"; }"
        " location / { return 200 \"ok\\n\"; } }" % server.port()))
    assert server.cli("-t").returncode == 0


# What a worker's environment holds is seen through TZ, the one variable
# turnpike itself reads ($time_local's zone); which variables the list
# keeps is tests/unit/proc/test_process_conf.c's.  /proc/PID/environ shows
# the block the process started with (and the title overwrote), not the
# worker's environ.

def zone(server):
    server.write(main=server.main_extra, http=http_block(
        "server { listen 127.0.0.1:%d; return 200 \"$time_local\\n\"; }" % server.port()))
    server.start(env=server.start_env)
    return get(server.port()).text.split()[1]


def test_env_sets_a_variable_for_workers(server):
    server.main_extra, server.start_env = "env TZ=Asia/Tokyo;", child_env(TZ="UTC")
    assert zone(server) == "+0900"


def test_env_keeps_tz_by_default(server):
    server.main_extra, server.start_env = "env OTHER;", child_env(TZ="Asia/Tokyo")
    assert zone(server) == "+0900"


def test_env_in_a_single_process(server):
    server.write(master_process=False, main="env TZ=Asia/Tokyo;", http=http_block(
        "server { listen 127.0.0.1:%d; return 200 \"$time_local\\n\"; }" % server.port()))
    server.start(env=child_env(TZ="UTC"))
    assert get(server.port()).text.split()[1] == "+0900"


def test_env_without_tz_in_the_master(server):
    env = child_env()
    env.pop("TZ", None)
    server.main_extra, server.start_env = "", env
    assert zone(server) == "+0000"


def test_working_directory_and_priority(server):
    wd = os.path.join(server.dir, "cores")
    os.mkdir(wd)
    os.chmod(wd, 0o755)
    simple(server, "working_directory %s; worker_priority -5;" % wd)
    server.start()
    for w in server.workers():
        assert os.readlink("/proc/%d/cwd" % w) == wd
        assert nice(w) == -5
    assert nice(server.master_pid) == 0
    assert get(server.port()).text == "ok\n"


def test_working_directory_the_worker_cannot_enter(server):
    simple(server, "working_directory %s/missing;" % server.dir)
    server.expect_log(r"\[alert\].*chdir\(\"[^\"]*/missing\"\) failed")
    server.expect_log(r"\[alert\].*(exited with code 2|keeps dying)")
    server.start(wait=False)
    server.wait_log(r'chdir\("%s/missing"\) failed \(2: No such file or directory\)'
                    % server.dir)


def test_timer_resolution_and_pcre_jit(server):
    simple(server, "timer_resolution 100ms; pcre_jit on;")
    server.start()
    assert get(server.port(), "/re/42").text == "re 42\n"
    assert get(server.port(), "/re/x").text == "ok\n"


@pytest.mark.parametrize("line,message", [
    ("pcre_jit maybe;", 'invalid value "maybe" in "pcre_jit" directive'),
    ("pcre_jit on; pcre_jit off;", '"pcre_jit" directive is duplicate'),
    ("timer_resolution soon;", 'invalid value "soon" in "timer_resolution" directive'),
    ("worker_priority high;", 'invalid number "high"'),
    ("working_directory /a; working_directory /b;", '"working_directory" directive is duplicate'),
    ("http { env X; }", '"env" directive is not allowed here'),
])
def test_errors(server, line, message):
    server.write(text="events {}\n%s\n" % line)
    r = server.cli("-t")
    assert r.returncode == 1 and message in r.stderr, r.stderr
