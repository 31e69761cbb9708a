"""dns://name against a dnslib server in the test process (UDP on loopback)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from dnslib import AAAA, CNAME, MX, NS, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from services.checker.probes import probe

from .conftest import claim

ZONE = {
    "ok.test.": [
        RR("ok.test.", QTYPE.A, rdata=A("198.51.100.2"), ttl=60),
        RR("ok.test.", QTYPE.A, rdata=A("198.51.100.3"), ttl=60),
        RR("ok.test.", QTYPE.AAAA, rdata=AAAA("2001:db8::2"), ttl=60),
        RR("ok.test.", QTYPE.MX, rdata=MX("mail.ok.test.", 10), ttl=60),
        RR("ok.test.", QTYPE.TXT, rdata=TXT("v=spf1 -all"), ttl=60),
        RR("ok.test.", QTYPE.NS, rdata=NS("ns1.ok.test."), ttl=60),
    ],
    "www.ok.test.": [RR("www.ok.test.", QTYPE.CNAME, rdata=CNAME("ok.test."), ttl=60)],
}


class Zone(BaseResolver):
    """Answers from ZONE: NXDOMAIN for other names, SERVFAIL for servfail.test."""

    def resolve(self, request: DNSRecord, handler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname)
        if name == "servfail.test.":
            reply.header.rcode = RCODE.SERVFAIL
        elif name not in ZONE:
            reply.header.rcode = RCODE.NXDOMAIN
        for rr in ZONE.get(name, []):
            if rr.rtype == request.q.qtype:
                reply.add_answer(rr)
        return reply


@pytest.fixture(scope="module")
def dns_server() -> Iterator[str]:
    server = DNSServer(Zone(), port=0, address="127.0.0.1", logger=DNSLogger("-request,-reply"))
    server.start_thread()
    yield f"127.0.0.1:{server.server.server_address[1]}"
    server.stop()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A UDP port that takes every query and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{s.getsockname()[1]}"
    s.close()


async def lookup(session, name: str, server: str, **kw):
    return await probe(session, claim(f"dns://{name}", dns_server=server, **kw))


@pytest.mark.parametrize(
    ("rtype", "expected"),
    [
        ("A", "198.51.100.3"),
        ("AAAA", "2001:db8:0::2"),  # compared as addresses
        ("MX", "mail.ok.test"),
        ("TXT", "v=spf1 -all"),
        ("NS", "ns1.ok.test."),
    ],
)
async def test_records_are_up_and_match_the_expected_answer(session, dns_server, rtype, expected):
    r = await lookup(session, "ok.test", dns_server, dns_record_type=rtype)
    assert (r.status, r.error, r.status_code) == ("up", None, None)
    assert 0 <= r.response_ms < 1000
    r = await lookup(session, "ok.test", dns_server, dns_record_type=rtype, dns_expected=expected)
    assert (r.status, r.error) == ("up", None)


async def test_a_is_the_default_and_cname_is_resolved(session, dns_server):
    assert (await lookup(session, "ok.test", dns_server)).status == "up"
    r = await lookup(
        session, "www.ok.test", dns_server, dns_record_type="CNAME", dns_expected="ok.test"
    )
    assert (r.status, r.error) == ("up", None)


async def test_a_wrong_expected_value_is_down_naming_both(session, dns_server):
    r = await lookup(session, "ok.test", dns_server, dns_expected="203.0.113.7")
    assert (r.status, r.error) == ("down", "expected 203.0.113.7, got 198.51.100.2, 198.51.100.3")
    r = await lookup(session, "ok.test", dns_server, dns_record_type="MX", dns_expected="mx.other")
    assert (r.status, r.error) == ("down", "expected mx.other, got 10 mail.ok.test")


async def test_nxdomain_no_answer_and_servfail_are_down(session, dns_server):
    r = await lookup(session, "missing.test", dns_server)
    assert (r.status, r.error) == ("down", "no such domain (NXDOMAIN)")
    r = await lookup(session, "www.ok.test", dns_server, dns_record_type="TXT")
    assert (r.status, r.error) == ("down", "no TXT record")
    r = await lookup(session, "servfail.test", dns_server)
    assert (r.status, r.error) == ("down", "server failure (SERVFAIL)")


async def test_a_server_that_never_answers_times_out(session, silent_server):
    started = time.monotonic()
    r = await lookup(session, "ok.test", silent_server, timeout=1)
    assert (r.status, r.error) == ("down", "timeout after 1 s")
    assert 1.0 <= time.monotonic() - started < 2.5
    assert r.response_ms >= 1000
