"""sm2p256v1 point arithmetic for SM2 verification: comb tables, so verifying needs no doubling.

Jacobian points are (X, Y, Z) with x = X/Z², y = Y/Z³; None is the point at infinity. Every
coordinate is kept reduced into [0, P), so "≡ 0 (mod P)" is the plain test "== 0". See
:mod:`terminal.crypto.sm2` for how verification uses the tables and what they cost.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

#: Comb window (bits per signed digit) of the generator's table: 33 rows of 128 points (~1.4 MB).
G_WINDOW = 8

Point = tuple[int, int, int]
"""A Jacobian point (X, Y, Z); functions take and return ``Point | None`` (None: infinity)."""
Affine = tuple[int, int]
Table = list[list[Any]]
"""Comb-table rows of affine points (``row[0]`` is None: digit 0 adds nothing)."""
Walk = tuple[Table, list[int]]
"""A table and the digits to walk it with (one per row)."""


def double(pt: Point | None) -> Point | None:
    """[2]pt for a Jacobian point (dbl-2007-bl, using a = −3); None is the point at infinity."""
    if pt is None:
        return None
    x1, y1, z1 = pt
    if y1 == 0:
        return None
    zz = z1 * z1 % P
    yy = y1 * y1 % P
    s = 4 * x1 * yy % P
    m = 3 * (x1 - zz) * (x1 + zz) % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y1 * z1 % P
    return (x3, y3, z3)


def double_affine(x: int, y: int) -> Point:
    """[2](x, y) for an affine point of prime order n (so never the point at infinity)."""
    pt = double((x, y, 1))
    if pt is None:
        raise ValueError("a point of order 2: no valid sm2p256v1 key has one")
    return pt


def add_affine(pt: Point | None, x2: int, y2: int) -> Point | None:
    """pt + (x2, y2) for a Jacobian pt and an affine point (mixed addition, complete)."""
    if pt is None:
        return (x2, y2, 1)
    x1, y1, z1 = pt
    zz = z1 * z1 % P
    h = x2 * zz % P - x1
    r = y2 * zz * z1 % P - y1
    if h == 0:
        if r == 0:
            return double((x2, y2, 1))
        return None
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return (x3, (r * (v - x3) - y1 * hhh) % P, z1 * h % P)


def invert_many(values: list[int]) -> list[int]:
    """Inverses mod P of non-zero values with one modular inversion (Montgomery's trick)."""
    prefix = []
    acc = 1
    for v in values:
        prefix.append(acc)
        acc = acc * v % P
    inv = pow(acc, -1, P)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % P
        inv = inv * values[i] % P
    return out


def to_affine_many(points: list[Point]) -> list[Affine]:
    """Jacobian points (none at infinity) to affine with one inversion."""
    out = []
    for (x, y, _), zi in zip(points, invert_many([z for _, _, z in points])):
        zi2 = zi * zi % P
        out.append((x * zi2 % P, y * zi2 * zi % P))
    return out


def comb_table(x: int, y: int, window: int) -> Table:
    """Rows i = 0 … ⌈257/w⌉−1 of the signed comb table of Q = (x, y).

    ``row[d]`` is the affine point d·B_i, B_i = 2^(w·i)·Q, for every digit
    d ∈ [−(2^(w−1) − 1), 2^(w−1)] (negative d through Python's negative indexing: the row is
    [None, 1·B … h·B, −(h−1)·B … −1·B]). Q must have prime order n (any validated key does), so
    no multiple met here is infinity and no two added points are equal or opposite.

    Built in affine coordinates layer by layer: with 1·B … m·B known in every row, the next
    layer (m+j)·B = m·B + j·B needs one inversion per point, batched. See
    :func:`comb_table_steps` for the same work in small slices.
    """
    return drain(comb_table_steps(x, y, window))


def comb_table_steps(x: int, y: int, window: int, *,
                     batch: int = 96) -> Generator[None, None, list[list]]:
    """:func:`comb_table` as a generator that pauses (yields) after every slice of about
    ``batch`` point operations (a fraction of a millisecond), returning the table at the end.

    A background builder yields the interpreter between slices, so a scan waiting on the
    interpreter lock waits for one slice at most, never for a whole table (~7 ms).
    """
    half = 1 << (window - 1)
    rows = (257 + window - 1) // window
    bases: list[Any] = [(x, y, 1)]   # Q has prime order n: no multiple met here is infinity
    for i in range(rows - 1):
        b = bases[-1]
        for _ in range(window):
            b = double(b)
        bases.append(b)
        if i % 8 == 7:
            yield
    multiples = [[b] for b in to_affine_many(bases)]
    yield
    m = 1
    while m < half:
        step = min(m, half - m)
        jobs = [(row, j) for row in multiples for j in range(step)]  # row[m-1] + row[j]
        for start in range(0, len(jobs), batch):
            _add_layer(jobs[start:start + batch], m)
            yield
        m += step
    table = []
    for n, pos in enumerate(multiples):
        neg = [(px, P - py) for px, py in reversed(pos[:-1])]
        table.append([None, *pos, *neg])
        if n % 8 == 7:
            yield
    return table


def _add_layer(jobs: list[tuple[list, int]], m: int) -> None:
    """Append row[m-1] + row[j] to each row of ``jobs`` (affine, one batched inversion)."""
    denominators = []
    for row, j in jobs:
        x1, y1 = row[m - 1]
        if j == m - 1:  # doubling: tangent slope (3x² + a) / 2y
            denominators.append(2 * y1 % P)
        else:
            denominators.append((row[j][0] - x1) % P)
    inverses = invert_many(denominators)
    for (row, j), inv in zip(jobs, inverses, strict=True):
        x1, y1 = row[m - 1]
        if j == m - 1:
            lam = 3 * (x1 * x1 - 1) * inv % P  # a = −3
            x3 = (lam * lam - 2 * x1) % P
        else:
            x2, y2 = row[j]
            lam = (y2 - y1) * inv % P
            x3 = (lam * lam - x1 - x2) % P
        row.append((x3, (lam * (x1 - x3) - y1) % P))


def digits(k: int, window: int, rows: int) -> list[int]:
    """Signed base-2^w digits of 0 ≤ k < 2^256, each in [−(2^(w−1) − 1), 2^(w−1)]."""
    mask = (1 << window) - 1
    half = 1 << (window - 1)
    full = 1 << window
    out = []
    carry = 0
    for _ in range(rows):
        d = (k & mask) + carry
        k >>= window
        if d > half:
            out.append(d - full)
            carry = 1
        else:
            out.append(d)
            carry = 0
    return out


def comb_sum(*walks: Walk, acc: Point | None = None) -> Point | None:
    """acc + Σ table[i][digits[i]] over the (table, digits) walks, in Jacobian form (None = O).

    This loop is the whole cost of a verification, so the mixed Jacobian-affine addition
    (8M + 3S) is inlined on local variables; it is complete (doubling and cancellation handled).
    """
    x1: Any
    y1: Any
    z1: Any
    if acc is None:
        x1 = y1 = z1 = None
    else:
        x1, y1, z1 = acc
    for table, digits in walks:
        for row, d in zip(table, digits):
            if not d:
                continue
            x2, y2 = row[d]
            if x1 is None:
                x1, y1, z1 = x2, y2, 1
                continue
            zz = z1 * z1 % P
            h = x2 * zz % P - x1
            r = y2 * zz * z1 % P - y1
            if h == 0:  # same x: the same point (double it) or its negative (sum is O)
                if r == 0:
                    x1, y1, z1 = double_affine(x2, y2)
                else:
                    x1 = y1 = z1 = None
                continue
            hh = h * h % P
            hhh = h * hh % P
            v = x1 * hh % P
            x1 = (r * r - hhh - 2 * v) % P
            y1 = (r * (v - x1) - y1 * hhh) % P
            z1 = z1 * h % P
    return None if x1 is None else (x1, y1, z1)


_G_TABLE: Table | None = None
_G_ROWS = (257 + G_WINDOW - 1) // G_WINDOW
_G_LOCK = threading.Lock()


def g_table() -> Table:
    """The generator's comb table, built on first use (~11 ms) and kept for the process."""
    global _G_TABLE
    if _G_TABLE is None:
        with _G_LOCK:
            if _G_TABLE is None:
                _G_TABLE = comb_table(GX, GY, G_WINDOW)
    return _G_TABLE


def g_table_steps() -> Generator[None, None, Table]:
    """The generator's comb table in slices (see :func:`comb_table_steps`): the table manager
    builds it this way, off the scan path, and keeps it with :func:`install_g_table`."""
    return comb_table_steps(GX, GY, G_WINDOW)


def install_g_table(table: Table) -> None:
    """Keep ``table`` (from :func:`g_table_steps`) as the generator's table, unless one is."""
    global _G_TABLE
    with _G_LOCK:
        if _G_TABLE is None:
            _G_TABLE = table


def built_g_table() -> Table | None:
    """The generator's table if something built it already, else None (nothing is built)."""
    return _G_TABLE


def g_walk(k: int, table: Table | None = None) -> Walk:
    """The generator's table (``table``, or built now) and the digits of ``k`` for it: one walk
    for :func:`comb_sum`."""
    return (g_table() if table is None else table), digits(k, G_WINDOW, _G_ROWS)


def mul_g(k: int) -> Point | None:
    """[k]G in Jacobian form (None for infinity), 0 ≤ k < 2^256."""
    return comb_sum(g_walk(k))


def wnaf(k: int, width: int) -> list[int]:
    """Width-w NAF digits of k ≥ 0, least significant first (odd digits |d| < 2^(w−1), or 0)."""
    full = 1 << width
    half = full >> 1
    out = []
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
        else:
            d = 0
        out.append(d)
        k >>= 1
    return out


def mul_wnaf(k: int, x: int, y: int, acc: Point | None = None) -> Point | None:
    """acc + [k](x, y) by double-and-add over a width-5 NAF, for a key without a table.

    About 256 doublings and 50 mixed additions (~0.4 ms: the doubling and addition are inlined
    on local variables, as in :func:`comb_sum`) and no table: a key verified this way costs a
    few kilobytes, not a comb table's 0.7 MB and ~7 ms. (x, y) must have prime order n.
    """
    odd: list[Any] = [(x, y, 1)]     # Q has prime order n: no multiple met here is infinity
    tx, ty = affine(double(odd[0]))
    for _ in range(7):  # Q, 3Q, … 15Q
        odd.append(add_affine(odd[-1], tx, ty))
    lut = {}
    for i, (ox, oy) in enumerate(to_affine_many(odd)):
        lut[2 * i + 1] = (ox, oy)
        lut[-2 * i - 1] = (ox, P - oy)
    x1 = y1 = z1 = 0
    empty = True                     # the running sum is the point at infinity
    for d in reversed(wnaf(k, 5)):
        if not empty:                # double (dbl-2007-bl with a = −3); y1 ≠ 0: prime order
            zz = z1 * z1 % P
            yy = y1 * y1 % P
            s4 = 4 * x1 * yy % P
            m = 3 * (x1 - zz) * (x1 + zz) % P
            z1 = 2 * y1 * z1 % P
            x1 = (m * m - 2 * s4) % P
            y1 = (m * (s4 - x1) - 8 * yy * yy) % P
        if d:
            x2, y2 = lut[d]
            if empty:
                x1, y1, z1 = x2, y2, 1
                empty = False
                continue
            zz = z1 * z1 % P
            h = x2 * zz % P - x1
            r = y2 * zz * z1 % P - y1
            if h == 0:               # the same point (double it) or its negative (sum is O)
                if r == 0:
                    x1, y1, z1 = double_affine(x2, y2)
                else:
                    empty = True
                continue
            hh = h * h % P
            hhh = h * hh % P
            v = x1 * hh % P
            x1 = (r * r - hhh - 2 * v) % P
            y1 = (r * (v - x1) - y1 * hhh) % P
            z1 = z1 * h % P
    q = None if empty else (x1, y1, z1)
    if acc is None:
        return q
    if q is None:
        return acc
    qx, qy = affine(q)
    return add_affine(acc, qx, qy)


SPLIT_PARTS = 4
"""A split table cuts the scalar into this many parts (64 doublings instead of 256)."""
SPLIT_BITS = 256 // SPLIT_PARTS
SPLIT_WIDTH = 5
"""wNAF width of each part: the odd multiples 1·B … 15·B of each part's base are kept."""


def split_table_steps(x: int, y: int) -> Generator[None, None, list[list[tuple[int, int]]]]:
    """The small table of Q = (x, y) for :func:`mul_split`, in slices (see
    :func:`comb_table_steps`): for each part i, the affine odd multiples 1, 3, … 15 of
    B_i = 2^(64·i)·Q — 32 points, ~6 KB, ~0.7 ms to build.
    """
    bases: list[Any] = [(x, y, 1)]   # Q has prime order n: no multiple met here is infinity
    for _ in range(SPLIT_PARTS - 1):
        b = bases[-1]
        for n in range(SPLIT_BITS):
            b = double(b)
            if n % 16 == 15:
                yield
        bases.append(b)
    count = 1 << (SPLIT_WIDTH - 2)                    # 8 odd multiples a part
    points = []
    for b in bases:
        bx, by = affine(b)
        tx, ty = affine(double((bx, by, 1)))
        odd: list[Any] = [(bx, by, 1)]
        for _ in range(count - 1):
            odd.append(add_affine(odd[-1], tx, ty))
        points += odd
        yield
    flat = to_affine_many(points)
    return [flat[i * count:(i + 1) * count] for i in range(SPLIT_PARTS)]


def mul_split(k: int, table: list[list[tuple[int, int]]],
              acc: Point | None = None) -> Point | None:
    """acc + [k]Q from Q's split table (:func:`split_table_steps`), 0 ≤ k < 2^256.

    The four 64-bit parts of k are walked together (Straus): 64 doublings and about 45 mixed
    additions, ~0.35 ms — between the comb table (~0.15 ms, 0.7 MB) and none (~1 ms).
    """
    parts = []
    for i in range(SPLIT_PARTS):
        part = (k >> (SPLIT_BITS * i)) & ((1 << SPLIT_BITS) - 1)
        parts.append(wnaf(part, SPLIT_WIDTH))
    length = max(len(p) for p in parts)
    x1 = y1 = z1 = 0
    empty = True
    for pos in range(length - 1, -1, -1):
        if not empty:                # double (dbl-2007-bl with a = −3)
            zz = z1 * z1 % P
            yy = y1 * y1 % P
            s4 = 4 * x1 * yy % P
            m = 3 * (x1 - zz) * (x1 + zz) % P
            z1 = 2 * y1 * z1 % P
            x1 = (m * m - 2 * s4) % P
            y1 = (m * (s4 - x1) - 8 * yy * yy) % P
        for i in range(SPLIT_PARTS):
            digits = parts[i]
            if pos >= len(digits):
                continue
            d = digits[pos]
            if not d:
                continue
            x2, y2 = table[i][abs(d) >> 1]
            if d < 0:
                y2 = P - y2
            if empty:
                x1, y1, z1 = x2, y2, 1
                empty = False
                continue
            zz = z1 * z1 % P
            h = x2 * zz % P - x1
            r = y2 * zz * z1 % P - y1
            if h == 0:               # the same point (double it) or its negative (sum is O)
                if r == 0:
                    x1, y1, z1 = double_affine(x2, y2)
                else:
                    empty = True
                continue
            hh = h * h % P
            hhh = h * hh % P
            v = x1 * hh % P
            x1 = (r * r - hhh - 2 * v) % P
            y1 = (r * (v - x1) - y1 * hhh) % P
            z1 = z1 * h % P
    q = None if empty else (x1, y1, z1)
    if acc is None:
        return q
    if q is None:
        return acc
    qx, qy = affine(q)
    return add_affine(acc, qx, qy)


def drain(steps: Generator[None, None, Any]) -> Any:
    """Run a table generator (:func:`comb_table_steps`, :func:`split_table_steps`) to its end."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def affine(pt: Point | None) -> Affine:
    """The affine coordinates of a Jacobian point (not infinity)."""
    if pt is None:
        raise ValueError("the point at infinity has no affine coordinates")
    x, y, z = pt
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return (x * zi2 % P, y * zi2 * zi % P)
