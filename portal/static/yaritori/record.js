// The record page's verified mark, computed here in the browser, not by the server: the
// record's entries are in the log's Merkle tree (RFC 9162 inclusion proofs), under a
// checkpoint signed by the pinned log key and cosigned by at least the pinned number of
// pinned witnesses (C2SP signed note and tlog-cosignature, Ed25519), and that checkpoint is
// consistent with the last one this browser saw. See docs/portal.md for what this does and
// does not prove.
import { TlogError, b64decode, leafHash, openCheckpoint, verifyInclusion } from "./tlog.js";
import { Inconsistent, checkAgainstRemembered, pinnedKeys, showInconsistency } from "./log-watch.js";

const encoder = new TextEncoder();

function set(element, state, text, details = []) {
  element.classList.remove("pending", "ok", "bad", "waiting");
  element.classList.add(state);
  element.dataset.state = state;
  element.querySelector(".verify-status").textContent = text;
  const list = element.querySelector(".verify-details");
  list.replaceChildren(
    ...details.map((d) => {
      const li = document.createElement("li");
      li.textContent = d;
      return li;
    }),
  );
  if (state === "bad") element.setAttribute("role", "alert");
}

function sameFacts(leaf, expected) {
  const parsed = JSON.parse(leaf);
  for (const [key, value] of Object.entries(expected)) {
    if (parsed[key] !== value) return false;
  }
  return true;
}

async function verifyRecord(element) {
  const t = element.dataset;
  const keysElement = document.getElementById("log-watch");
  try {
    const { logKey, witnessKeys } = await pinnedKeys(keysElement);
    const response = await fetch(t.proofUrl, { cache: "no-store" });
    if (!response.ok) throw new TlogError(`proof: HTTP ${response.status}`);
    const bundle = await response.json();
    const pending = bundle.entries.some((e) => e.seq === null || !e.proof);
    if (!bundle.checkpoint || pending) {
      set(element, "waiting", t.textWaiting);
      return;
    }
    // Quorum 0 first: a cosignature that is there but wrong must turn the page red, while one
    // not there yet only means "not yet witnessed".
    const { checkpoint, witnesses } = await openCheckpoint(bundle.checkpoint.note, logKey, witnessKeys, 0);
    if (checkpoint.size !== bundle.checkpoint.size) throw new TlogError("the checkpoint's size is not the one stated");
    for (const entry of bundle.entries) {
      const hash = await leafHash(encoder.encode(entry.leaf));
      await verifyInclusion(entry.seq, checkpoint.size, hash, entry.proof.map(b64decode), checkpoint.root);
    }
    if (!sameFacts(bundle.entries[0].leaf, JSON.parse(t.fields))) {
      throw new TlogError("the record in the log differs from the one shown on this page");
    }
    await checkAgainstRemembered(logKey, checkpoint, t.consistencyUrl);
    const details = [
      `${t.textEntries} ${bundle.entries.map((e) => `#${e.seq}`).join(", ")}`,
      `${t.textCheckpoint} ${checkpoint.size}, ${checkpoint.rootB64}`,
      `${t.textSignedBy} ${logKey.name}`,
      ...witnesses.map((w) => `${t.textWitnessed} ${w.name} (${new Date(w.timestamp * 1000).toISOString()})`),
    ];
    if (witnesses.length < Number(t.quorum)) {
      set(element, "waiting", t.textUnwitnessed, details);
      return;
    }
    set(element, "ok", t.textOk, details);
  } catch (error) {
    if (error instanceof Inconsistent) {
      showInconsistency(keysElement, error);
    }
    set(element, "bad", `${t.textBad} ${error.message}`);
  } finally {
    element.dataset.done = "1";
  }
}

const element = document.getElementById("verify");
if (element) verifyRecord(element);
