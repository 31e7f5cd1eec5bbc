"""Resumption: tickets shared by the workers (keys made by the master),
tickets shared by instances (ssl_session_ticket_key), and the shared
session-ID cache.  A resumption "across workers" is one whose first
handshake and resumption were answered by different worker pids."""

import ssl

from tls_helpers import client_ctx, info, pki_path, s_client, tls_server

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


def first_session(port, ctx):
    """A full handshake's session (for TLS 1.3 the ticket comes after the
    handshake, so info() reads a response first)."""
    d = info(port, ctx=ctx)
    assert d["reused"] == "." and not d["session_reused"]
    return d


def resume_on_other_worker(port, ctx, first, tries=60):
    """Resumes first's session until a different worker answers; returns
    that answer."""
    for _ in range(tries):
        d = info(port, ctx=ctx, session=first["session"])
        assert d["session_reused"] and d["reused"] == "r", d
        if d["pid"] != first["pid"]:
            return d
    raise AssertionError("no other worker answered in %d resumptions" % tries)


def test_tickets_resume_across_workers(server):
    tls = tls_server(server)
    for version in (TLS13, TLS12):
        ctx = client_ctx(version)
        first = first_session(tls, ctx)
        resume_on_other_worker(tls, ctx, first)


def test_no_resumption_without_tickets_or_cache(server):
    tls = tls_server(server, server_extra="ssl_session_tickets off;")
    for version in (TLS13, TLS12):
        ctx = client_ctx(version)
        first = first_session(tls, ctx)
        for _ in range(4):
            d = info(tls, ctx=ctx, session=first["session"])
            assert not d["session_reused"] and d["reused"] == "."


def test_session_cache_resumes_across_workers(server):
    tls = tls_server(server, server_extra="ssl_session_tickets off;"
                     " ssl_session_cache shared:SSL:1m; ssl_session_timeout 10m;")
    ctx = client_ctx(TLS12, tickets=False)
    first = first_session(tls, ctx)
    resume_on_other_worker(tls, ctx, first)


def test_session_cache_is_shared_between_servers_blocks(server):
    """Two ssl_session_cache directives naming one zone use one zone."""
    tls = tls_server(server, extra="ssl_session_cache shared:Z:1m;",
                     server_extra="ssl_session_tickets off; ssl_session_cache shared:Z:1m;")
    ctx = client_ctx(TLS12, tickets=False)
    first = first_session(tls, ctx)
    resume_on_other_worker(tls, ctx, first)


def test_tickets_survive_a_reload(server):
    tls = tls_server(server)
    ctx = client_ctx(TLS13)
    first = first_session(tls, ctx)
    old = server.reload()
    d = info(tls, ctx=ctx, session=first["session"])
    assert d["reused"] == "r" and int(d["pid"]) not in old


def _two_instances(make_server, keys):
    ports = []
    for name in ("one", "two"):
        srv = make_server(name)
        lines = " ".join("ssl_session_ticket_key %s;" % pki_path(k) for k in keys)
        ports.append(tls_server(srv, server_extra=lines))
    return ports


def test_ticket_key_files_resume_across_instances(make_server, tmp_path):
    one, two = _two_instances(make_server, ("ticket-1.key", "ticket-2.key"))
    for version in ("-tls1_3", "-tls1_2"):
        sess = str(tmp_path / ("sess" + version))
        rc, out = s_client(one, version, "-sess_out", sess, "-CAfile", pki_path("ca.pem"),
                           stdin="GET /info HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        assert "New, TLS" in out, out
        for port in (two, one, two):
            rc, out = s_client(port, version, "-sess_in", sess, "-CAfile", pki_path("ca.pem"),
                               stdin="GET /info HTTP/1.1\r\nHost: a.test\r\n"
                                     "Connection: close\r\n\r\n")
            assert "Reused, TLS" in out and "|r|" in out, out


def test_instances_with_their_own_keys_do_not_resume_each_other(make_server, tmp_path):
    one = tls_server(make_server("one"))
    two = tls_server(make_server("two"))
    sess = str(tmp_path / "sess")
    s_client(one, "-tls1_3", "-sess_out", sess,
             stdin="GET /info HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    rc, out = s_client(two, "-tls1_3", "-sess_in", sess,
                       stdin="GET /info HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    assert "New, TLS" in out and "|.|" in out, out


def test_first_ticket_key_seals_every_key_opens(make_server, tmp_path):
    """An instance with keys (1, 2) seals with 1; one with (2, 1) opens it
    and seals with 2, which the first opens too: a rotation."""
    a = tls_server(make_server("a"), server_extra="ssl_session_ticket_key %s;"
                   " ssl_session_ticket_key %s;" % (pki_path("ticket-1.key"),
                                                   pki_path("ticket-2.key")))
    b = tls_server(make_server("b"), server_extra="ssl_session_ticket_key %s;"
                   " ssl_session_ticket_key %s;" % (pki_path("ticket-2.key"),
                                                   pki_path("ticket-1.key")))
    c = tls_server(make_server("c"), server_extra="ssl_session_ticket_key %s;"
                   % pki_path("ticket-2.key"))
    sess = str(tmp_path / "s")
    req = "GET /info HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    s_client(a, "-tls1_2", "-sess_out", sess, stdin=req)
    rc, out = s_client(b, "-tls1_2", "-sess_in", sess, stdin=req)
    assert "Reused" in out, out
    # c has only key 2: a's ticket (sealed with key 1) does not open there.
    rc, out = s_client(c, "-tls1_2", "-sess_in", sess, stdin=req)
    assert "New, TLS" in out, out
