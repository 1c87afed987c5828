"""portal/static/yaritori/tlog.js against the golden vectors, run in Debian's chromium on a page
served by the live server (WebCrypto exists only in a secure context, such as 127.0.0.1): the
RFC 6962 inclusion and consistency vectors of transparency-dev/merkle, the C2SP signed-note
example, the classic roots, and a checkpoint with a witness cosignature made by audit.tlog."""

from __future__ import annotations

import json

import pytest

from audit.tlog.checkpoint import Checkpoint
from audit.tlog.cosignature import add_cosignature, generate_witness, parse_witness_signer_key
from audit.tlog.merkle import root_from_leaf_hashes
from audit.tlog.note import generate_signer, parse_signer_key, parse_verifier_key, sign_note
from tests.portal.browser import launch

pytestmark = pytest.mark.browser

RUN_VECTORS = """
async ({inclusion, consistency}) => {
  const t = await import('/static/yaritori/tlog.js');
  const d = (s) => t.b64decode(s);
  const failures = [];
  for (const c of inclusion) {
    let ok = true;
    try {
      const proof = (c.proof || []).map(d);
      await t.verifyInclusion(c.leafIdx, c.treeSize, d(c.leafHash), proof, d(c.root));
    } catch (e) { if (!(e instanceof t.TlogError)) failures.push(c.name + ': ' + e); ok = false; }
    if (ok === c.wantErr) failures.push(c.name + (c.wantErr ? ': accepted' : ': rejected'));
  }
  for (const c of consistency) {
    let ok = true;
    try {
      await t.verifyConsistency(c.size1, c.size2, d(c.root1), d(c.root2), (c.proof || []).map(d));
    } catch (e) { if (!(e instanceof t.TlogError)) failures.push(c.name + ': ' + e); ok = false; }
    if (ok === c.wantErr) failures.push(c.name + (c.wantErr ? ': accepted' : ': rejected'));
  }
  return failures;
}
"""


@pytest.fixture
def page(live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.goto(f"{live_server.url}/")
        yield page
        browser.close()


def _cases(folder):
    cases = []
    for path in sorted(folder.rglob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        case["name"] = str(path.relative_to(folder))
        cases.append(case)
    return cases


def test_merkle_proofs_agree_with_every_golden_vector(page, shared_vectors_dir):
    inclusion = _cases(shared_vectors_dir / "rfc6962" / "inclusion")
    consistency = _cases(shared_vectors_dir / "rfc6962" / "consistency")
    assert len(inclusion) + len(consistency) == 196
    assert page.evaluate(RUN_VECTORS, {"inclusion": inclusion, "consistency": consistency}) == []


def test_classic_roots_and_the_c2sp_signed_note_example(page, shared_vectors_dir):
    readme = (shared_vectors_dir / "README.md").read_text(encoding="utf-8")
    assert "530d903a" in readme  # the example this test copies
    result = page.evaluate(
        """async () => {
          const t = await import('/static/yaritori/tlog.js');
          const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657',
                          '606162636465666768696a6b6c6d6e6f'];
          const bytes = (h) => new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) || []);
          const hashes = [];
          for (const l of leaves) hashes.push(await t.leafHash(bytes(l)));
          async function mth(a, b) {
            if (b - a === 1) return hashes[a];
            let k = 1; while (k * 2 < b - a) k *= 2;
            return t.nodeHash(await mth(a, a + k), await mth(a + k, b));
          }
          const roots = [];
          for (let n = 1; n <= 8; n++) roots.push(t.hex(await mth(0, n)));
          const key = await t.parseVerifierKey(
            'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', t.ALG_ED25519);
          const note = 'This is an example message.\\n\\n\\u2014 example.com/foo ' +
            'Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\\n';
          const opened = await t.openNote(note, [key]);
          let tampered = 'accepted';
          try { await t.openNote(note.replace('example message', 'exemple message'), [key]); }
          catch (e) { tampered = e.message; }
          return {roots, keyId: t.hex(key.keyId), text: opened.text, tampered};
        }"""
    )
    assert result["roots"] == [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    assert result["keyId"] == "530d903a"
    assert result["text"] == "This is an example message.\n"
    assert "does not verify" in result["tampered"]


def test_checkpoints_and_witness_cosignatures_made_by_audit_tlog(page):
    origin = "demo.yaritori.invalid/audit-log"
    signer_text, verifier_text = generate_signer(origin)
    witness_text, witness_vkey = generate_witness("witness.example/w1")
    _, other_vkey = generate_witness("witness.example/w1")  # same name, another key
    body = Checkpoint(origin, 3, root_from_leaf_hashes([bytes(32)] * 3)).to_text()
    note = sign_note(body, [parse_signer_key(signer_text)])
    cosigned = add_cosignature(
        note,
        parse_witness_signer_key(witness_text),
        1_700_000_000,
        parse_verifier_key(verifier_text),
    )
    result = page.evaluate(
        """async ({note, log, witness, other}) => {
          const t = await import('/static/yaritori/tlog.js');
          const logKey = await t.parseVerifierKey(log, t.ALG_ED25519);
          const w = await t.parseVerifierKey(witness, t.ALG_COSIGNATURE_V1);
          const o = await t.parseVerifierKey(other, t.ALG_COSIGNATURE_V1);
          const good = await t.openCheckpoint(note, logKey, [w], 1);
          const errors = [];
          for (const [label, n, keys, q] of [
            ['unknown witness', note, [o], 1],
            ['bad cosignature', note.replace(/(witness.example\\/w1 \\S{20})\\S/, '$1A'), [w], 1],
            ['changed size', note.replace('\\n3\\n', '\\n4\\n'), [w], 0],
          ]) {
            try { await t.openCheckpoint(n, logKey, keys, q); errors.push(label + ': accepted'); }
            catch (e) { errors.push(label + ': ' + (e instanceof t.TlogError)); }
          }
          return {size: good.checkpoint.size, witnesses: good.witnesses, errors};
        }""",
        {"note": cosigned, "log": verifier_text, "witness": witness_vkey, "other": other_vkey},
    )
    assert result["size"] == 3
    assert result["witnesses"] == [{"name": "witness.example/w1", "timestamp": 1_700_000_000}]
    assert result["errors"] == [
        "unknown witness: true",
        "bad cosignature: true",
        "changed size: true",
    ]
