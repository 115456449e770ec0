from __future__ import annotations

import hashlib

from aimsflow.evidence.merkle import leaf_hash, merkle_root, node_hash

# The certificate-transparency test vectors (RFC 6962 reference implementation's tests).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]


def test_empty_tree_is_hash_of_empty_string():
    assert merkle_root([]) == hashlib.sha256(b"").digest()


def test_ct_reference_vectors():
    assert (
        merkle_root(CT_LEAVES[:1]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle_root(CT_LEAVES).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_unbalanced_tree_splits_at_largest_power_of_two():
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle_root([b"a", b"b", b"c"]) == node_hash(node_hash(a, b), c)
