"""new_request_id: 128 random bits as 32 hex digits, never repeated, not even across a fork."""

from __future__ import annotations

import os
import re

from gateway.exchange import _RequestIds, new_request_id


def test_ids_are_32_hex_digits_and_never_repeat_across_refills() -> None:
    ids = _RequestIds()
    many = [ids() for _ in range(3 * _RequestIds.POOL // 16 + 5)]  # three refills and some
    assert all(re.fullmatch(r"[0-9a-f]{32}", one) for one in many)
    assert len(set(many)) == len(many)


def test_two_generators_do_not_share_a_pool() -> None:
    assert {_RequestIds()() for _ in range(50)}.isdisjoint({_RequestIds()() for _ in range(50)})


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_request_id()  # the pool is filled: a child copying it would repeat what follows
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave without pytest's cleanup
        os.write(write, " ".join(new_request_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_request_id() for _ in range(5)}
    assert len(child) == 5 and child.isdisjoint(parent)
