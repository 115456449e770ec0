"""RFC 6962 (Certificate Transparency) Merkle tree hash and its proofs, so a seal can prove that one
record is in the log (inclusion) and that a later tree extends an earlier one (consistency) without
shipping the other records.

Proofs are generated as RFC 6962 section 2.1.1 (PATH) and 2.1.2 (SUBPROOF) define them and verified
with the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2. Leaf data is raw bytes (here: a
manifest's 32-byte SHA-256 digest); proof and tree functions take the *leaf hashes*
(``leaf_hash(data)``) so a caller hashes each leaf once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof can exist for."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 section 2.1 over the raw leaf data (here: manifest SHA-256 digests)."""
    return tree_hash([leaf_hash(leaf) for leaf in leaves])


def tree_hash(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf *hashes* (empty tree: SHA-256 of the empty string)."""
    if not hashes:
        return EMPTY_ROOT
    return _subtree(hashes, 0, len(hashes))


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return hashes[start]
    k = _split(end - start)
    return node_hash(_subtree(hashes, start, start + k), _subtree(hashes, start + k, end))


class CompactRange:
    """The roots of the perfect subtrees of a growing tree (one per set bit of its size), so the
    root at every size is known after one pass over the leaves: verify checks each seal's root while
    walking the log once, instead of re-hashing the tree per seal."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, hash), sizes strictly decreasing

    def append(self, hash_: bytes) -> None:
        node = (1, hash_)
        while self._stack and self._stack[-1][0] == node[0]:
            size, left = self._stack.pop()
            node = (size * 2, node_hash(left, node[1]))
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc


def inclusion_proof(hashes: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 section 2.1.1: the audit path of leaf ``index`` in the tree of
    the first ``size`` leaf hashes (default: all)."""
    size = len(hashes) if size is None else size
    if not 0 <= index < size <= len(hashes):
        raise ProofError(f"no inclusion proof for leaf {index} in a tree of {size}")
    return _path(hashes, index, 0, size)


def _path(hashes: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(hashes, m, start, start + k), _subtree(hashes, start + k, end)]
    return [*_path(hashes, m - k, start + k, end), _subtree(hashes, start, start + k)]


def consistency_proof(hashes: Sequence[bytes], old_size: int, new_size: int | None = None) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2 (SUBPROOF with b = true); empty when m = 0 or m = n."""
    new_size = len(hashes) if new_size is None else new_size
    if not 0 <= old_size <= new_size <= len(hashes):
        raise ProofError(f"no consistency proof from a tree of {old_size} to one of {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(hashes, old_size, 0, new_size, True)


def _subproof(hashes: Sequence[bytes], m: int, start: int, end: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [_subtree(hashes, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(hashes, m, start, start + k, whole), _subtree(hashes, start + k, end)]
    return [*_subproof(hashes, m - k, start + k, end, False), _subtree(hashes, start, start + k)]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2, steps 1-4: the root the audit path leads to; raises ProofError when
    the path has the wrong length for (index, size)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raises ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``root``."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError("inclusion proof leads to another root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2; raises ProofError unless the tree ``new_root`` of ``new_size`` leaves
    extends the tree ``old_root`` of ``old_size``. From the empty tree every tree is consistent (the
    proof must be empty); from a tree to itself the roots must be equal and the proof empty."""
    if old_size < 0 or new_size < old_size:
        raise ProofError(f"tree size went down from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError(f"consistency proof from size {old_size} to {new_size} must be empty")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {new_size}")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the new root (size {new_size})")
