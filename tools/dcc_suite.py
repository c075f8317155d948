"""Run the EU DCC test suite (dgc-testdata) through scanpoint's DCC stages and count agreement.

Each case is a JSON file holding every stage of one certificate (``PREFIX`` = the QR text,
``BASE45``, ``COMPRESSED``, ``COSE``, ``2DCODE`` = PNG), the signer certificate and validation
clock in ``TESTCTX``, and in ``EXPECTEDRESULTS`` the expected outcome of each stage (unset = not
asked, true = must pass, false = must fail). For every flag a case sets, the matching stage of
:mod:`terminal.formats.dcc` is run on our own artefacts of the earlier stages, starting from the
QR text, at the case's validation clock, with the case's certificate as the only signer:

=========================  ======================================================================
flag                       scanpoint agrees when
=========================  ======================================================================
EXPECTEDPICTUREDECODE      our QR decoder reads the PNG to exactly ``PREFIX`` (false: it does not)
EXPECTEDUNPREFIX           ``unprefix`` gives ``BASE45`` (false: refused)
EXPECTEDB45DECODE          ``base45_decode`` gives ``COMPRESSED`` (false: refused here or earlier)
EXPECTEDCOMPRESSION        ``decompress`` gives ``COSE`` (false: refused here or earlier)
EXPECTEDDECODE             ``parse_cose`` and ``parse_claims`` accept it (false: refused)
EXPECTEDVERIFY             ``verify_signature`` finds the kid and the signature verifies
EXPECTEDEXPIRATIONCHECK    ``check_validity`` passes at the validation clock
EXPECTEDKEYUSAGE           ``check_key_usage`` allows the certificate type
=========================  ======================================================================

Validity and key usage are judged against the case's certificate whether or not the signature
verified (the suite defines them that way). A false flag also agrees when an earlier stage
already refused the code: the terminal never accepted it. Quirks of the data handled here:
the misspelt flag ``EXPTECTEDEXPIRED`` (read as ``EXPECTEDEXPIRATIONCHECK``), ``_2DCODE`` for
``2DCODE``, and an ``EXPECTEDRESULTS`` nested inside ``EXPECTEDRESULTS`` or ``TESTCTX``.
Rows of ``known_issues.csv`` naming a flag's upstream test are skipped and counted as such.

Usage (from the repository root): ``python -m tools.dcc_suite [TESTDATA_DIR] [--failures]``.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from terminal.errors import CredentialError
from terminal.formats import cbor, dcc, dsc
from terminal.formats.chain import VerifyContext
from terminal.reasons import Reason
from tools.testdata import find_testdata

FLAGS = ("EXPECTEDPICTUREDECODE", "EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION",
         "EXPECTEDDECODE", "EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE")
FLAG_ALIASES = {"EXPTECTEDEXPIRED": "EXPECTEDEXPIRATIONCHECK"}
# the upstream test (known_issues.csv ``test_name``) that checks each flag
UPSTREAM_TEST = {
    "EXPECTEDPICTUREDECODE": ("test_picture_decode",),
    "EXPECTEDUNPREFIX": ("test_un_prefix",),
    "EXPECTEDB45DECODE": ("test_b45decode",),
    "EXPECTEDCOMPRESSION": ("test_compression",),
    "EXPECTEDDECODE": ("test_cose_json", "test_cose_cbor"),
    "EXPECTEDVERIFY": ("test_verification_check",),
    "EXPECTEDEXPIRATIONCHECK": ("test_expiration_check",),
    "EXPECTEDKEYUSAGE": ("test_expected_key_usage",),
}
END_TO_END = "read() end-to-end"


@dataclass
class Case:
    """One test-suite file, with its quirks normalised."""

    path: Path
    name: str                 # path relative to the dcc folder
    country: str
    test_set: str             # file name without .json (known_issues ``test_set``)
    data: dict[str, Any]
    expected: dict[str, bool]
    clock: float              # validation clock, Unix seconds
    certificate: str | None   # base64 DER
    description: str = ""


@dataclass
class Outcome:
    """One flag of one case: expected, what scanpoint did, and whether they agree."""

    case: str
    flag: str
    expected: bool
    agreed: bool
    detail: str


@dataclass
class Table:
    """Agreement counts per flag."""

    rows: dict[str, list[int]] = field(default_factory=dict)   # flag -> [agreed, total, known, no input]
    outcomes: list[Outcome] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        row = self.rows.setdefault(outcome.flag, [0, 0, 0, 0])
        row[0] += outcome.agreed
        row[1] += 1
        self.outcomes.append(outcome)

    def skip(self, flag: str) -> None:
        """A known_issues.csv row."""
        self.rows.setdefault(flag, [0, 0, 0, 0])[2] += 1

    def no_input(self, flag: str, case: str) -> None:
        """The case sets the flag but holds nothing to run the stage on."""
        self.rows.setdefault(flag, [0, 0, 0, 0])[3] += 1
        self.missing.append((case, flag))

    @property
    def disagreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.agreed]

    def format(self) -> str:
        lines = [f"{'flag':<26}{'agreed':>8}{'total':>7}{'known issue':>13}{'no input':>10}"
                 "   expected true/false"]
        for flag in (*FLAGS, END_TO_END):
            if flag not in self.rows:
                continue
            agreed, total, known, missing = self.rows[flag]
            trues = sum(1 for o in self.outcomes if o.flag == flag and o.expected)
            lines.append(f"{flag:<26}{agreed:>8}{total:>7}{known:>13}{missing:>10}"
                         f"   {trues}/{total - trues}")
        return "\n".join(lines)


# --- loading -----------------------------------------------------------------------------------

def parse_clock(text: str) -> float:
    """An ISO 8601 validation clock; without a zone it is UTC (as the suite's own runner assumes)."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _expected(data: dict[str, Any]) -> dict[str, bool]:
    raw: dict[str, Any] = {}
    for holder in (data.get("TESTCTX", {}), data):
        block = holder.get("EXPECTEDRESULTS") if isinstance(holder, dict) else None
        if isinstance(block, dict):
            nested = block.get("EXPECTEDRESULTS")
            if isinstance(nested, dict):
                raw.update(nested)
            raw.update({k: v for k, v in block.items() if k != "EXPECTEDRESULTS"})
    out = {}
    for key, value in raw.items():
        key = FLAG_ALIASES.get(key, key)
        if key in FLAGS and isinstance(value, bool):
            out.setdefault(key, value)
    return out


def load_cases(root: Path) -> Iterator[Case]:
    """Every ``*.json`` case under ``root`` (the ``dcc`` folder), sorted by path."""
    for path in sorted(root.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "_2DCODE" in data and "2DCODE" not in data:
            data["2DCODE"] = data["_2DCODE"]
        ctx = data.get("TESTCTX") or {}
        rel = path.relative_to(root)
        yield Case(path=path, name=rel.as_posix(), country=rel.parts[0], test_set=path.stem,
                   data=data, expected=_expected(data),
                   clock=parse_clock(ctx["VALIDATIONCLOCK"]),
                   certificate=ctx.get("CERTIFICATE"), description=ctx.get("DESCRIPTION", ""))


def load_known_issues(root: Path) -> set[tuple[str, str, str]]:
    """(test_name, country, test_set) rows of ``known_issues.csv`` (empty test_set = all files)."""
    path = root / "known_issues.csv"
    if not path.is_file():
        return set()
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["test_name"], r["country"], r["test_set"]) for r in csv.DictReader(fh)}


def is_known_issue(known: set[tuple[str, str, str]], flag: str, case: Case) -> bool:
    return any((test, case.country, test_set) in known
               for test in UPSTREAM_TEST[flag] for test_set in (case.test_set, ""))


# --- evaluation --------------------------------------------------------------------------------

def _run(stage: Callable[..., Any], *args: Any) -> tuple[Any, Reason | None, str]:
    try:
        return stage(*args), None, ""
    except CredentialError as exc:
        return None, exc.reason, str(exc)


def evaluate(case: Case, picture_decoder: Callable[[bytes], list[str]] | None) -> dict[str, tuple[bool | None, str]]:
    """flag → (did scanpoint pass that stage, detail) for every flag the case sets.

    ``False`` with detail ``"not reached: ..."`` means an earlier stage refused the code; ``None``
    means the case lacks the stage's input (only seen for pictures: five cases set
    EXPECTEDPICTUREDECODE without a ``2DCODE``; the suite's own runner skips them too).
    """
    data, wanted = case.data, case.expected
    result: dict[str, tuple[bool | None, str]] = {}

    if "EXPECTEDPICTUREDECODE" in wanted:
        if "2DCODE" not in data:
            result["EXPECTEDPICTUREDECODE"] = (None, "the case holds no picture")
        elif picture_decoder is None:
            result["EXPECTEDPICTUREDECODE"] = (False, "no QR decoder available")
        else:
            texts = picture_decoder(base64.b64decode(data["2DCODE"]))
            ok = texts == [data["PREFIX"]]
            result["EXPECTEDPICTUREDECODE"] = (ok, f"decoded {len(texts)} code(s)"
                                               + ("" if ok else ", text differs" if texts else ""))

    refused: str | None = None   # the first refusal along the chain

    def stage(flag: str, fn: Callable[..., Any], *args: Any, compare: Any = None) -> Any:
        nonlocal refused
        if refused is not None:
            result.setdefault(flag, (False, f"not reached: {refused}"))
            return None
        value, reason, detail = _run(fn, *args)
        if reason is not None:
            refused = f"{fn.__name__} {reason.value}"
            result.setdefault(flag, (False, f"{reason.value}: {detail}"))
            return None
        if compare is not None and value != compare:
            result.setdefault(flag, (False, f"{fn.__name__} output differs from the case's"))
        else:
            result.setdefault(flag, (True, "passed"))
        return value

    def field_bytes(key: str) -> bytes | None:
        return bytes.fromhex(data[key]) if data.get(key) else None

    b45 = stage("EXPECTEDUNPREFIX", dcc.unprefix, data["PREFIX"], compare=data.get("BASE45") or None)
    compressed = stage("EXPECTEDB45DECODE", dcc.base45_decode, b45, compare=field_bytes("COMPRESSED"))
    cose_bytes = stage("EXPECTEDCOMPRESSION", dcc.decompress, compressed, compare=field_bytes("COSE"))
    sign1 = stage("EXPECTEDDECODE", dcc.parse_cose, cose_bytes)
    if sign1 is None:
        for flag in ("EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE"):
            result.setdefault(flag, (False, f"not reached: {refused}"))
        return {k: v for k, v in result.items() if k in wanted}
    # the signature and the claims each need only the envelope: judge them independently
    signer_cert = dsc.certificate_from_base64(case.certificate) if case.certificate else None
    store = dsc.DscStore([signer_cert] if signer_cert else [])
    _, reason, detail = _run(dcc.verify_signature, sign1, store)
    result["EXPECTEDVERIFY"] = (reason is None, "verified" if reason is None else f"{reason.value}: {detail}")
    claims, reason, detail = _run(dcc.parse_claims, sign1)
    if reason is not None:
        result["EXPECTEDDECODE"] = (False, f"{reason.value}: {detail}")
    elif data.get("CBOR") and not _same_cbor(bytes.fromhex(data["CBOR"]), sign1.payload):
        result["EXPECTEDDECODE"] = (False, "decoded claims differ from the case's CBOR")
    else:
        result["EXPECTEDDECODE"] = (True, "decoded")
    if claims is None:
        for flag in ("EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE"):
            result[flag] = (False, f"not reached: parse_claims {reason.value}")
    elif signer_cert is None:
        result["EXPECTEDEXPIRATIONCHECK"] = result["EXPECTEDKEYUSAGE"] = (False, "no certificate")
    else:
        _, reason, detail = _run(dcc.check_validity, claims, signer_cert, case.clock)
        result["EXPECTEDEXPIRATIONCHECK"] = (reason is None,
                                             "in date" if reason is None else f"{reason.value}: {detail}")
        _, reason, detail = _run(dcc.check_key_usage, claims, signer_cert)
        result["EXPECTEDKEYUSAGE"] = (reason is None, "allowed" if reason is None else f"{reason.value}: {detail}")
    return {k: v for k, v in result.items() if k in wanted}


def _same_cbor(expected: bytes, payload: bytes) -> bool:
    """The case's CBOR is our CWT payload, byte for byte, or (older cases) its DCC part."""
    if expected == payload:
        return True
    try:
        ours = cbor.loads(payload, allow_indefinite=True)
        theirs = cbor.loads(expected, allow_indefinite=True)
    except CredentialError:
        return False
    hcert = ours.get(dcc.CLAIM_HCERT) if isinstance(ours, dict) else None
    return theirs == ours or (isinstance(hcert, dict) and theirs == hcert.get(dcc.HCERT_EU_DCC))


_STAGE_OF_FLAG = {"EXPECTEDUNPREFIX": "unprefix", "EXPECTEDB45DECODE": "base45",
                  "EXPECTEDCOMPRESSION": "decompress", "EXPECTEDDECODE": ("cose", "claims"),
                  "EXPECTEDVERIFY": "signature", "EXPECTEDEXPIRATIONCHECK": "validity",
                  "EXPECTEDKEYUSAGE": "key_usage"}
_CHAIN_FLAGS = tuple(_STAGE_OF_FLAG)


def end_to_end(case: Case) -> tuple[bool, bool, str] | None:
    """(expected pass, agreed, detail) of :func:`dcc.read` on the QR text, or None when the case
    does not say enough (a chain flag is unset and none is false)."""
    wanted = {k: v for k, v in case.expected.items() if k in _CHAIN_FLAGS}
    if not wanted:
        return None
    expect_pass = all(wanted.values()) and {"EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK",
                                             "EXPECTEDKEYUSAGE"} <= wanted.keys()
    if all(wanted.values()) and not expect_pass:
        return None
    try:
        store = dsc.DscStore([dsc.certificate_from_base64(case.certificate)]) if case.certificate else dsc.DscStore()
    except CredentialError:
        store = dsc.DscStore()
    result = dcc.read(case.data["PREFIX"], VerifyContext(now=case.clock, dsc=store))
    decoded = dcc.decode(case.data["PREFIX"], VerifyContext(now=case.clock, dsc=store))
    if expect_pass:
        return True, result.passed, f"{result.decision} {result.reason}"
    # a false flag: read() must deny, at that stage or an earlier one
    false_stages = [_STAGE_OF_FLAG[k] for k, v in wanted.items() if v is False]
    order = ("unprefix", "base45", "decompress", "cose", "signature", "claims", "validity", "key_usage")
    allowed = set()
    for s in false_stages:
        for st in (s if isinstance(s, tuple) else (s,)):
            allowed.update(order[:order.index(st) + 1])
    agreed = not result.passed and decoded.stage in allowed
    return False, agreed, f"{result.decision} {result.reason} at {decoded.stage}"


def run(root: Path, picture_decoder: Callable[[bytes], list[str]] | None) -> Table:
    """Evaluate every case and flag; returns the agreement table."""
    known = load_known_issues(root)
    table = Table()
    for case in load_cases(root):
        got = evaluate(case, picture_decoder)
        for flag, expected in case.expected.items():
            if is_known_issue(known, flag, case):
                table.skip(flag)
                continue
            passed, detail = got[flag]
            if passed is None:
                table.no_input(flag, case.name)
                continue
            table.add(Outcome(case.name, flag, expected, passed == expected, detail))
        e2e = end_to_end(case)
        if e2e is not None:
            table.add(Outcome(case.name, END_TO_END, e2e[0], e2e[1], e2e[2]))
    return table


def default_picture_decoder() -> Callable[[bytes], list[str]]:
    """PNG bytes → QR texts, through the project's decoder (``drivers.decoder``, zxing-cpp with
    its rescue retries) when present, else zxing-cpp directly. ``.name`` says which."""
    import importlib.util
    import io

    import numpy as np
    from PIL import Image
    if importlib.util.find_spec("drivers") and importlib.util.find_spec("drivers.decoder"):
        from drivers.decoder import open_decoder  # a broken driver must fail here, not hide
        read_gray = open_decoder("zxing").decode
        name = "drivers.decoder zxing"
    else:                                   # before the hardware drivers land
        import zxingcpp

        def read_gray(gray: Any) -> list[str]:
            return [r.text for r in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
                    if r.valid]
        name = "zxingcpp (direct)"

    def decode(png: bytes) -> list[str]:
        try:
            with Image.open(io.BytesIO(png)) as image:
                gray = np.ascontiguousarray(np.asarray(image.convert("L")))
        except (OSError, ValueError):       # not an image at all: nothing can be read
            return []
        return list(read_gray(gray))
    decode.name = name  # type: ignore[attr-defined]
    return decode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("testdata", nargs="?", default=None,
                        help="the shared testdata folder (default: ../shared/testdata)")
    parser.add_argument("--failures", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    base = Path(args.testdata) if args.testdata else find_testdata()
    if base is None:
        print("shared test data not found: set SCANPOINT_TESTDATA or give its folder", file=sys.stderr)
        return 2
    decoder = default_picture_decoder()
    table = run(base / "dcc", decoder)
    print(f"EU DCC test suite at {base / 'dcc'} (QR decoder: {decoder.name})")  # type: ignore[attr-defined]
    print(table.format())
    if args.failures or table.disagreements:
        for o in table.disagreements:
            print(f"DISAGREE {o.case} {o.flag} expected={o.expected}: {o.detail}")
    return 0 if not table.disagreements else 1


if __name__ == "__main__":
    sys.exit(main())
