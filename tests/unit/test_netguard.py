"""worker.netguard: the SSRF address policy, as a table (pure: no network)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from worker.errors import BlockedAddress, ConfigError
from worker.netguard import AddressPolicy, classify, is_local_name, parse_ip, system_resolver


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("0", "0.0.0.0"),
        ("news.example.org", None),
        ("cafe.be", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.0.0.1", None),
    ],
)
def test_parse_ip_reads_every_spelling_a_resolver_accepts(host: str, expected: str | None) -> None:
    parsed = parse_ip(host)
    assert (str(parsed) if parsed is not None else None) == expected


BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.1", "loopback"),
    ("2130706433", "loopback"),
    ("0x7f000001", "loopback"),
    ("[::1]", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("localhost", "loopback name"),
    ("LOCALHOST.", "loopback name"),
    ("api.localhost", "loopback name"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"),
    ("192.0.2.1", "private"),
    ("2001:db8::1", "private"),
]


@pytest.mark.parametrize(("host", "kind"), BLOCKED)
def test_non_public_hosts_are_refused_by_default(host: str, kind: str) -> None:
    with pytest.raises(BlockedAddress) as info:
        AddressPolicy.build().check_host(host)
    message = str(info.value)
    assert message.startswith("blocked: ")
    assert kind in message
    assert "fetch.allow_private_networks = true" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "news.example.org"]
)
def test_public_addresses_and_names_pass_the_pre_check(host: str) -> None:
    AddressPolicy.build().check_host(host)


@pytest.mark.parametrize(("host", "_kind"), BLOCKED)
def test_allow_private_networks_lifts_every_refusal(host: str, _kind: str) -> None:
    AddressPolicy.build(allow_private_networks=True).check_host(host)


def test_message_names_the_address_and_its_spelling() -> None:
    with pytest.raises(BlockedAddress) as info:
        AddressPolicy.build().check_host("0x7f000001")
    assert str(info.value) == (
        "blocked: 0x7f000001 (127.0.0.1) is a loopback address "
        "(set fetch.allow_private_networks = true or add it to fetch.allowlist to allow)"
    )


def test_allowlist_cidr_lifts_the_rule_for_its_addresses_only() -> None:
    policy = AddressPolicy.build(allowlist=["10.20.0.0/16", "fd00::/8"])
    policy.check_host("10.20.3.4")
    policy.check_host("fd00::5")
    policy.check_host("::ffff:10.20.3.4")
    with pytest.raises(BlockedAddress):
        policy.check_host("10.21.0.1")
    with pytest.raises(BlockedAddress):
        policy.check_host("127.0.0.1")


def test_allowlist_single_ip_and_host_name() -> None:
    policy = AddressPolicy.build(allowlist=["127.0.0.1", "Intranet.Example."])
    policy.check_host("127.1")
    policy.check_host("intranet.example")
    assert policy.allowed_addresses("intranet.example", ["10.9.9.9"]) == [
        ipaddress.ip_address("10.9.9.9")
    ]
    with pytest.raises(BlockedAddress, match=r"other\.example resolves to 10\.9\.9\.9, a private"):
        policy.allowed_addresses("other.example", ["10.9.9.9"])


def test_resolved_addresses_are_filtered() -> None:
    policy = AddressPolicy.build()
    assert policy.allowed_addresses("mixed.example", ["10.0.0.1", "93.184.216.34"]) == [
        ipaddress.ip_address("93.184.216.34")
    ]
    with pytest.raises(BlockedAddress, match=r"rebind\.example resolves to 127\.0\.0\.1"):
        policy.allowed_addresses("rebind.example", ["127.0.0.1", "::1"])
    with pytest.raises(BlockedAddress, match="no usable address"):
        policy.allowed_addresses("empty.example", [])


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host!", "fe80::/200"])
def test_bad_allowlist_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ConfigError, match=r"fetch\.allowlist"):
        AddressPolicy.build(allowlist=[entry])


def test_classify_returns_none_only_for_public_unicast() -> None:
    assert classify(ipaddress.ip_address("8.8.4.4")) is None
    assert classify(ipaddress.ip_address("::ffff:8.8.4.4")) is None
    assert classify(ipaddress.ip_address("100.63.255.255")) is None
    assert classify(ipaddress.ip_address("100.128.0.0")) is None


def test_local_names() -> None:
    assert is_local_name("localhost") and is_local_name("x.LOCALHOST.")
    assert not is_local_name("localhost.example.org")


def test_system_resolver_returns_literals_unchanged() -> None:
    assert asyncio.run(system_resolver("127.0.0.1", 80)) == ["127.0.0.1"]
