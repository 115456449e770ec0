from __future__ import annotations

import hashlib

import pytest

from aimsflow.evidence.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

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


# --- proofs ----------------------------------------------------------------------------------------
# Known proofs over CT_LEAVES from transparency-dev/merkle proof/verify_test.go (the RFC 6962
# reference vectors): the roots of the first 1..8 leaves, inclusion and consistency proofs.
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
HASHES = [leaf_hash(x) for x in CT_LEAVES]


def _root(n: int) -> bytes:
    return bytes.fromhex(ROOTS[n - 1])


def test_roots_of_every_prefix_match_the_reference_and_the_compact_range():
    tree = CompactRange()
    assert tree.root() == EMPTY_ROOT == tree_hash([])
    for n in range(1, 9):
        tree.append(HASHES[n - 1])
        assert tree_hash(HASHES[:n]) == _root(n) == tree.root() and tree.size == n


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(index, size, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(HASHES, index, size) == expected
    verify_inclusion(index, size, HASHES[index], expected, _root(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old, new, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(HASHES, old, new) == expected
    verify_consistency(old, new, _root(old), _root(new), expected)


def _every_size(limit: int = 17):
    """Sizes 1..limit: 1, 2, the powers of two and the numbers around them."""
    return range(1, limit + 1)


def test_every_inclusion_and_consistency_proof_of_small_trees_verifies():
    """Boundaries: tree sizes 1, 2, powers of two, m = n, m = 0, first and last leaf."""
    hashes = [leaf_hash(bytes([i])) for i in range(17)]
    for n in _every_size():
        root = tree_hash(hashes[:n])
        for i in range(n):
            verify_inclusion(i, n, hashes[i], inclusion_proof(hashes, i, n), root)
        for m in range(0, n + 1):
            proof = consistency_proof(hashes, m, n)
            assert (proof == []) is (m in (0, n))
            verify_consistency(m, n, tree_hash(hashes[:m]), root, proof)


def _bad_inclusion(index, size, leaf, proof, root):
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, root)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_tampered_inclusion_proofs_are_refused(index, size, proof):
    path = [bytes.fromhex(h) for h in proof]
    leaf, root = HASHES[index], _root(size)
    _bad_inclusion(index + 1, size, leaf, path, root)  # wrong index
    if index:
        _bad_inclusion(index - 1, size, leaf, path, root)
    _bad_inclusion(index, size * 2, leaf, path, root)  # wrong size
    _bad_inclusion(index, size, HASHES[(index + 1) % 8], path, root)  # wrong leaf
    _bad_inclusion(index, size, leaf, path, EMPTY_ROOT)  # wrong root
    _bad_inclusion(index, size, leaf, [*path, root], root)  # trailing garbage
    _bad_inclusion(index, size, leaf, path[:-1], root)  # removed component
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        _bad_inclusion(index, size, leaf, flipped, root)


def test_inclusion_arguments_outside_the_tree_are_refused():
    _bad_inclusion(0, 0, HASHES[0], [], EMPTY_ROOT)  # nothing is in the empty tree
    _bad_inclusion(1, 1, HASHES[0], [], _root(1))  # index = size
    verify_inclusion(0, 1, HASHES[0], [], _root(1))  # a one-leaf tree: the leaf is the root
    with pytest.raises(ProofError):
        inclusion_proof(HASHES, 8, 8)


def _bad_consistency(old, new, old_root, new_root, proof):
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_tampered_consistency_proofs_are_refused(old, new, proof):
    path = [bytes.fromhex(h) for h in proof]
    r1, r2 = _root(old), _root(new)
    _bad_consistency(old - 1, new, r1, r2, path)
    _bad_consistency(old + 1, new, r1, r2, path)
    _bad_consistency(old, new * 2, r1, r2, path)
    _bad_consistency(old, new, EMPTY_ROOT, r2, path)  # wrong old root
    _bad_consistency(old, new, r1, EMPTY_ROOT, path)  # wrong new root
    _bad_consistency(old, new, r2, r1, path)  # swapped roots
    _bad_consistency(old, new, r1, r2, [])  # empty proof
    _bad_consistency(old, new, r1, r2, [*path, r1])  # trailing root
    _bad_consistency(old, new, r1, r2, [r2, *path])  # preceding root
    _bad_consistency(old, new, r1, r2, path[:-1])  # truncated
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        _bad_consistency(old, new, r1, r2, flipped)


def test_consistency_boundaries():
    """m = 0 is consistent with anything through an empty proof; m = n only with the same root and
    an empty proof; a tree never shrinks."""
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 8, EMPTY_ROOT, _root(8), [])
    _bad_consistency(0, 8, EMPTY_ROOT, _root(8), [EMPTY_ROOT])
    verify_consistency(8, 8, _root(8), _root(8), [])
    _bad_consistency(8, 8, _root(8), _root(7), [])
    _bad_consistency(8, 8, _root(8), _root(8), [EMPTY_ROOT])
    _bad_consistency(2, 1, _root(2), _root(1), [])
    _bad_consistency(1, 2, _root(1), _root(2), [])  # needs a proof
    verify_consistency(1, 2, _root(1), _root(2), consistency_proof(HASHES, 1, 2))
    with pytest.raises(ProofError):
        consistency_proof(HASHES, 3, 2)


def test_every_proof_failure_says_what_is_wrong():
    """Mutation survivors (merkle.py ``inclusion_proof`` ``_2``/``_10``, ``root_from_inclusion`` ``_5``,
    ``_11``-``_13``, ``_44``-``_46``, ``verify_inclusion`` ``_10``-``_12``): the message of a refused
    proof is what `evidence prove` and verify tell an auditor, so each is pinned; and a tree size
    given explicitly is the one proved in, not the number of hashes known."""
    from aimsflow.evidence.merkle import root_from_inclusion

    hashes = [leaf_hash(bytes([i])) for i in range(5)]
    assert inclusion_proof(hashes, 1, size=2) == [hashes[0]]  # size 2, not the 5 hashes known
    with pytest.raises(ProofError, match=r"^no inclusion proof for leaf 5 in a tree of 5$"):
        inclusion_proof(hashes, 5)
    with pytest.raises(ProofError, match=r"^leaf index 4 is outside a tree of 4$"):
        root_from_inclusion(4, 4, hashes[0], [])
    proof = inclusion_proof(hashes, 2)
    with pytest.raises(ProofError, match=r"^inclusion proof is longer than the tree is deep$"):
        root_from_inclusion(2, 5, hashes[2], [*proof, hashes[0]])
    with pytest.raises(ProofError, match=r"^inclusion proof is shorter than the tree is deep$"):
        root_from_inclusion(2, 5, hashes[2], proof[:-1])
    with pytest.raises(ProofError, match=r"^inclusion proof leads to another root$"):
        verify_inclusion(2, 5, hashes[3], proof, tree_hash(hashes))
    verify_inclusion(2, 5, hashes[2], proof, tree_hash(hashes))
