"""testssl.sh against a turnpike HTTPS port with the test CA: nothing HIGH
or CRITICAL, and no protocol or cipher suite below Mozilla's intermediate
profile.  (About 40 s; the slow client simulation is left out.)"""

import json
import os
import subprocess

from tls_helpers import pki_path, tls_server

# Mozilla's intermediate TLS 1.2 suites (the ones this library has).
INTERMEDIATE = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}


def findings(path):
    with open(path) as f:
        d = json.load(f)
    return [f for s in d["scanResult"] for v in s.values() if isinstance(v, list) for f in v]


def test_testssl_finds_nothing_high(server):
    tls = tls_server(server, server_extra="ssl_prefer_server_ciphers on;"
                     ' add_header Strict-Transport-Security "max-age=63072000" always;')
    out = os.path.join(server.dir, "testssl.json")
    r = subprocess.run(["testssl", "-p", "-P", "-s", "-f", "-S", "-U", "--quiet", "--color", "0",
                        "--warnings", "batch", "--add-ca", pki_path("ca.pem"), "--ip",
                        "127.0.0.1", "--jsonfile-pretty", out, "https://a.test:%d/" % tls],
                       capture_output=True, text=True, timeout=600)
    fs = findings(out)
    assert fs, r.stdout[-3000:] + r.stderr[-3000:]
    bad = [f for f in fs if f["severity"] in ("HIGH", "CRITICAL")]
    assert not bad, bad
    by_id = {f["id"]: f["finding"] for f in fs}
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert by_id[proto] == "not offered", (proto, by_id[proto])
    for weak in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
        assert by_id["cipherlist_" + weak] == "not offered", weak
    offered = set(by_id["cipherorder_TLSv1_2"].split())
    assert offered and offered <= INTERMEDIATE, offered
    # The overall result goes to docs/benchmarks.md by hand; keep it visible.
    print("testssl: %d findings, severities %s" % (len(fs), sorted({f["severity"] for f in fs})))
