"""Generate tests/vectors/native.json: native-format test vectors with their expected outcome.

Run once from the repository root (``python tests/vectors/generate.py``) and commit the JSON; the
tests read the JSON, not this script, so a change in the code cannot silently change the vectors.
Every vector is verified at ``now`` with ``skew`` seconds of allowance against the trust list it
names (``default``, ``stale`` or ``none``) and the site policy it names (default checkpoint).
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from terminal.crypto import sm2  # noqa: E402
from terminal.formats import base45, cbor, native  # noqa: E402
from terminal.lists.signedlist import ALG_SM2_SM3, key_id  # noqa: E402
from tests.support import credentials as kit  # noqa: E402
from tests.support.credentials import ISSUER_KID, NOW, OLD, OTHER, STRANGER  # noqa: E402

SKEW = 30
OUT = Path(__file__).with_name("native.json")
PROT = {1: ALG_SM2_SM3, 4: ISSUER_KID}


def map_bytes(pairs: list[tuple]) -> bytes:
    """A definite-length CBOR map written pair by pair (allows duplicates, for negative tests)."""
    assert len(pairs) < 24
    return bytes([0xA0 + len(pairs)]) + b"".join(cbor.dumps(k) + cbor.dumps(v) for k, v in pairs)


def signed(payload: bytes, **kw) -> str:
    """QR text of a COSE_Sign1 over raw ``payload`` bytes, signed by the issuer key."""
    return kit.wrap(kit.raw_sign1(payload, **kw))


def cases() -> list[dict]:
    good = kit.claims()
    good_sign1 = kit.raw_sign1(cbor.dumps(good))
    good_text = kit.wrap(good_sign1)
    good_b45 = good_text[len(native.PREFIX):]
    compressed = zlib.compress(good_sign1, 9)
    red = kit.claims(status="red")
    red_sig = cbor.loads(kit.raw_sign1(cbor.dumps(red))).value[3]
    bomb = zlib.compress(b"\x00" * 2_900_000, 9)
    n_bytes = sm2.N.to_bytes(32, "big")
    deep: object = 1
    for _ in range(20):
        deep = [deep]

    def c(name, text, decision, reason, description, **extra):
        return {"name": name, "description": description, "text": text, "decision": decision,
                "reason": reason, **extra}

    def claim_case(name, changes, reason, description, **kw):
        return c(name, kit.credential(kit.claims(changes=changes, **kw)), "deny", reason, description)

    return [
        # --- valid credentials and site policy
        c("valid_health_green", good_text, "pass", "OK", "health pass, green, at a checkpoint"),
        c("valid_health_yellow", kit.credential(kit.claims(status="yellow")), "check",
          "STATUS_YELLOW", "yellow status: staff check at a checkpoint"),
        c("valid_health_red", kit.credential(red), "deny", "STATUS_RED", "red status is refused"),
        c("valid_insurance_pharmacy", kit.credential(kit.claims(type="insurance")), "pass", "OK",
          "insurance card at a pharmacy", site="pharmacy"),
        c("valid_social_security_pharmacy", kit.credential(kit.claims(type="social-security")),
          "pass", "OK", "social-security card at a pharmacy", site="pharmacy"),
        c("valid_other_issuer_insurance", kit.credential(kit.claims(OTHER, type="insurance"), OTHER),
          "pass", "OK", "a second issuer key, allowed to sign insurance", site="pharmacy"),
        c("insurance_at_checkpoint", kit.credential(kit.claims(type="insurance")), "deny",
          "TYPE_NOT_ACCEPTED", "checkpoint accepts health passes only"),
        c("health_at_pharmacy", good_text, "deny", "TYPE_NOT_ACCEPTED",
          "pharmacy preset does not accept health passes", site="pharmacy"),
        c("valid_untagged_cose", kit.wrap(kit.raw_sign1(cbor.dumps(good), tag=False)), "pass", "OK",
          "COSE_Sign1 without tag 18 is allowed"),
        c("nbf_within_skew", kit.credential(kit.claims(now=NOW + 20)), "pass", "OK",
          "nbf 20 s ahead, inside the 30 s skew"),
        c("exp_within_skew", kit.credential(kit.claims(now=NOW - 80)), "pass", "OK",
          "expired 20 s ago, inside the 30 s skew"),
        c("valid_with_id_tail", kit.credential(kit.claims(type="insurance", changes={11: "123X"})),
          "pass", "OK", "insurance card with the ID's last 4 characters", site="pharmacy"),
        # --- lists
        c("trust_list_stale", good_text, "check", "LIST_STALE",
          "valid credential, but the trust list is past its valid_until", trust="stale"),
        c("trust_list_missing", good_text, "check", "TRUST_LIST_MISSING",
          "valid credential, but no trust list is loaded", trust="none"),
        c("red_under_stale_list", kit.credential(red), "deny", "STATUS_RED",
          "a deny wins over the stale-list check", trust="stale"),
        # --- text and prefix
        c("empty_text", "", "deny", "FORMAT_UNKNOWN", "empty QR text"),
        c("foreign_prefix", "XX1:" + good_b45, "deny", "FORMAT_UNKNOWN", "prefix of no known format"),
        c("url_text", "https://example.com/?q=1", "deny", "FORMAT_UNKNOWN", "a URL, not a credential"),
        c("future_version_prefix", "SP2:" + good_b45, "deny", "PREFIX_INVALID",
          "another version of this format"),
        c("prefix_without_colon", "SP1" + good_b45, "deny", "PREFIX_INVALID", "prefix missing ':'"),
        c("lowercase_prefix", "sp1:" + good_b45, "deny", "PREFIX_INVALID",
          "prefix in lower case (QR alphanumeric has none)"),
        c("oversize_text", "SP1:" + "0" * 4293, "deny", "PAYLOAD_TOO_LARGE",
          "4297 characters: more than any QR code holds"),
        # --- Base45
        c("base45_lowercase", "SP1:" + good_b45.lower(), "deny", "BASE45_INVALID",
          "characters outside the Base45 alphabet"),
        c("base45_dangling", good_text + "0", "deny", "BASE45_INVALID",
          "one character too many (length 1 mod 3)"),
        c("base45_overflow", "SP1:" + good_b45[:-3] + ":::", "deny", "BASE45_INVALID",
          "a 3-character group above 65535"),
        c("base45_newline", good_text + "\n", "deny", "BASE45_INVALID", "trailing newline"),
        # --- zlib
        c("empty_body", "SP1:", "deny", "DECOMPRESSION_FAILED", "prefix only, no data"),
        c("not_compressed", "SP1:" + base45.encode(good_sign1), "deny", "DECOMPRESSION_FAILED",
          "COSE bytes without zlib"),
        c("zlib_truncated", "SP1:" + base45.encode(compressed[:-6]), "deny", "DECOMPRESSION_FAILED",
          "zlib stream cut short"),
        c("zlib_trailing_bytes", "SP1:" + base45.encode(compressed + b"\x00\x00"), "deny",
          "DECOMPRESSION_FAILED", "bytes after the end of the zlib stream"),
        c("zlib_bad_checksum", "SP1:" + base45.encode(compressed[:-1] + bytes([compressed[-1] ^ 1])),
          "deny", "DECOMPRESSION_FAILED", "Adler-32 checksum altered"),
        c("zlib_bomb", "SP1:" + base45.encode(bomb), "deny", "PAYLOAD_TOO_LARGE",
          f"{len(bomb)} bytes inflating to 2.9 MB: refused at 64 KiB"),
        # --- CBOR and COSE structure
        c("cose_trailing_bytes", kit.wrap(good_sign1 + b"\x00"), "deny", "CBOR_INVALID",
          "a byte after the COSE_Sign1 (cbor2 would ignore it)"),
        c("cose_truncated", kit.wrap(good_sign1[:-10]), "deny", "CBOR_INVALID",
          "COSE_Sign1 cut short"),
        c("cose_not_array", kit.wrap(cbor.dumps({1: 2})), "deny", "COSE_INVALID",
          "a map instead of the COSE array"),
        c("cose_three_items", kit.wrap(cbor.dumps(cbor.Tag(18, cbor.loads(good_sign1).value[:3]))),
          "deny", "COSE_INVALID", "COSE_Sign1 array of 3 items"),
        c("cose_wrong_tag", kit.wrap(cbor.dumps(cbor.Tag(98, cbor.loads(good_sign1).value))),
          "deny", "COSE_INVALID", "tag 98 (COSE_Sign) instead of 18"),
        c("cose_payload_nil", kit.wrap(cbor.dumps(cbor.Tag(18, [cbor.dumps(PROT), {}, None,
                                                                  b"\x00" * 64]))),
          "deny", "COSE_INVALID", "detached (nil) payload"),
        c("deep_nesting", kit.wrap(kit.raw_sign1(cbor.dumps(good), unprotected={5: deep})),
          "deny", "CBOR_INVALID", "arrays nested 20 deep (limit 16)"),
        c("protected_duplicate_key",
          signed(cbor.dumps(good), protected_bytes=map_bytes([(1, ALG_SM2_SM3), (4, ISSUER_KID),
                                                              (1, ALG_SM2_SM3)])),
          "deny", "CBOR_INVALID", "protected header with label 1 twice"),
        c("unknown_critical_header",
          signed(cbor.dumps(good), protected={**PROT, 2: [99], 99: 1}), "deny",
          "CRITICAL_HEADER_UNKNOWN", "crit names label 99, which terminals do not process"),
        c("protected_extra_label", signed(cbor.dumps(good), protected={**PROT, 33: b"x"}), "deny",
          "COSE_INVALID", "protected header label 33 (x5chain) not allowed"),
        c("kid_unprotected", kit.wrap(kit.raw_sign1(cbor.dumps(good), protected={1: ALG_SM2_SM3},
                                                    unprotected={4: ISSUER_KID})),
          "deny", "COSE_INVALID", "kid only in the unprotected (unsigned) header"),
        c("missing_alg", signed(cbor.dumps(good), protected={4: ISSUER_KID}), "deny",
          "COSE_INVALID", "no alg in the protected header"),
        c("kid_wrong_length", signed(cbor.dumps(good), protected={1: ALG_SM2_SM3, 4: b"\x01\x02"}),
          "deny", "COSE_INVALID", "kid of 2 bytes"),
        c("algorithm_es256", signed(cbor.dumps(good), protected={1: -7, 4: ISSUER_KID}), "deny",
          "ALGORITHM_UNSUPPORTED", "alg -7 (ES256) is not the native algorithm"),
        # --- keys and signatures
        c("unknown_key", kit.credential(kit.claims(STRANGER), STRANGER), "deny", "KEY_UNKNOWN",
          "signed by a key not in the trust list"),
        c("signed_by_another_key", signed(cbor.dumps(good), key=STRANGER, protected=PROT), "deny",
          "SIGNATURE_INVALID", "issuer's kid, stranger's signature"),
        c("tampered_status", signed(cbor.dumps(kit.claims(status="green")), signature=red_sig),
          "deny", "SIGNATURE_INVALID", "red credential's signature over claims changed to green"),
        c("tampered_expiry", signed(cbor.dumps(kit.claims(ttl=120)),
                                    signature=cbor.loads(good_sign1).value[3]),
          "deny", "SIGNATURE_INVALID", "expiry pushed out after signing"),
        c("signature_der", signed(cbor.dumps(good), signature=b"\x30\x44\x02\x20" + b"\x01" * 32
                                  + b"\x02\x20" + b"\x01" * 32),
          "deny", "SIGNATURE_INVALID", "DER-encoded signature (only raw r||s)"),
        c("signature_zero", signed(cbor.dumps(good), signature=b"\x00" * 64), "deny",
          "SIGNATURE_INVALID", "r = s = 0"),
        c("signature_r_equals_n", signed(cbor.dumps(good), signature=n_bytes + b"\x00" * 31 + b"\x01"),
          "deny", "SIGNATURE_INVALID", "r = n (out of range)"),
        c("signature_truncated", signed(cbor.dumps(good), signature=red_sig[:63]), "deny",
          "SIGNATURE_INVALID", "63-byte signature"),
        c("key_outside_validity", kit.credential(kit.claims(OLD), OLD), "deny", "KEY_NOT_VALID",
          "key retired 30 days before the credential was issued"),
        c("type_not_allowed_for_key", kit.credential(kit.claims(OTHER), OTHER), "deny",
          "KEY_USAGE_INVALID", "insurance-only key signed a health pass"),
        # --- time
        c("expired", kit.credential(kit.claims(now=NOW - 200)), "deny", "EXPIRED",
          "expired 140 s ago"),
        c("not_yet_valid", kit.credential(kit.claims(now=NOW + 100)), "deny", "NOT_YET_VALID",
          "valid from 100 s in the future"),
        # --- claims
        claim_case("claims_unknown_key", {99: 1}, "CLAIMS_INVALID", "claim key 99 is unknown"),
        claim_case("claims_missing_serial", {6: None}, "CLAIMS_INVALID", "no serial"),
        claim_case("claims_iat_text", {3: "2026-01-01"}, "CLAIMS_INVALID", "iat as text"),
        claim_case("claims_iat_float", {3: float(NOW)}, "CLAIMS_INVALID", "iat as a float"),
        claim_case("claims_iat_bool", {3: True}, "CLAIMS_INVALID", "iat as a boolean"),
        claim_case("claims_serial_short", {6: b"\x01" * 8}, "CLAIMS_INVALID", "8-byte serial"),
        claim_case("claims_unmasked_name", {9: "张三丰"}, "CLAIMS_INVALID",
                   "full name instead of a masked one"),
        claim_case("claims_name_map", {9: {"first": "张"}}, "CLAIMS_INVALID", "name is a map"),
        claim_case("claims_health_no_status", {8: None}, "CLAIMS_INVALID",
                   "health pass without a status"),
        claim_case("claims_status_blue", {8: "blue"}, "CLAIMS_INVALID", "status not green/yellow/red"),
        claim_case("claims_insurance_with_status", {8: "green"}, "CLAIMS_INVALID",
                   "status on a non-health credential", type="insurance"),
        claim_case("claims_lifetime_too_long", {5: NOW + 3600}, "CLAIMS_INVALID",
                   "exp - iat of 3600 s (limit 120)"),
        claim_case("claims_exp_before_nbf", {5: NOW - 1}, "CLAIMS_INVALID", "exp before nbf"),
        claim_case("claims_kid_mismatch", {2: b"\x00" * 8}, "CLAIMS_INVALID",
                   "kid claim differs from the header kid"),
        claim_case("claims_issuer_mismatch", {1: "Someone Else"}, "CLAIMS_INVALID",
                   "issuer claim differs from the key's issuer"),
        claim_case("claims_raw_id_tail", {11: "11010119900101123X"}, "CLAIMS_INVALID",
                   "the full ID where at most 4 characters are allowed"),
        claim_case("claims_holder_raw", {10: "11010119900101123X"}, "CLAIMS_INVALID",
                   "the raw holder ID instead of its 16-byte hash"),
        c("claims_not_a_map", signed(cbor.dumps([1, 2, 3])), "deny", "CLAIMS_INVALID",
          "claims are an array"),
        c("claims_duplicate_key", signed(map_bytes(sorted(good.items()) + [(8, "green")])), "deny",
          "CBOR_INVALID", "status claim twice (cbor2 would merge them)"),
        c("claims_indefinite_map",
          signed(b"\xbf" + map_bytes(sorted(good.items()))[1:] + b"\xff"), "deny", "CBOR_INVALID",
          "indefinite-length claims map"),
        c("claims_trailing_bytes", signed(cbor.dumps(good) + b"\x00"), "deny", "CBOR_INVALID",
          "a byte after the claims map"),
        c("claims_bad_utf8", signed(map_bytes([(k, v) for k, v in sorted(good.items()) if k != 9]
                                              + [(9, "x")])[:-1] + b"\xff"),
          "deny", "CBOR_INVALID", "name claim with invalid UTF-8"),
    ]


def main() -> None:
    trust = {"default": kit.trust_bytes().hex(),
             "stale": kit.trust_bytes(issued=NOW - 40 * 86400, valid_until=NOW - 3600).hex()}
    doc = {
        "about": "scanpoint native credential vectors (docs/credential-format.md); "
                 "made by tests/vectors/generate.py",
        "now": NOW,
        "skew": SKEW,
        "default_site": "checkpoint",
        "root_public_key": kit.ROOT_PUB.hex(),
        "root_key_id": key_id(kit.ROOT_PUB).hex(),
        "trust_lists": trust,
        "cases": cases(),
    }
    names = [case["name"] for case in doc["cases"]]
    assert len(names) == len(set(names)), "duplicate vector names"
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(names)} vectors to {OUT}")


if __name__ == "__main__":
    main()
