// On every portal page: fetch the log's latest signed checkpoint, check its signature against
// the pinned log key, and check that it is consistent with the last checkpoint this browser
// verified (kept in localStorage). A log that shrank (rolled back) or shows another tree for a
// size seen before (forked) turns the banner red, names both checkpoints, and the remembered
// one is kept as evidence rather than replaced.
import {
  ALG_COSIGNATURE_V1,
  ALG_ED25519,
  TlogError,
  b64decode,
  b64decodeStrict,
  hex,
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
} from "./tlog.js";

export async function pinnedKeys(element) {
  const logKey = await parseVerifierKey(element.dataset.logKey, ALG_ED25519);
  const witnessKeys = [];
  for (const text of (element.dataset.witnessKeys || "").split(/\s+/).filter(Boolean)) {
    witnessKeys.push(await parseVerifierKey(text, ALG_COSIGNATURE_V1));
  }
  return { logKey, witnessKeys };
}

function storageKey(logKey) {
  return `yaritori.checkpoint/${logKey.name}+${hex(logKey.keyId)}`;
}

export function remembered(logKey) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(logKey)) || "null");
  } catch {
    return null;
  }
}

function remember(logKey, checkpoint) {
  const known = remembered(logKey);
  if (known && known.size >= checkpoint.size) return; // never move backwards
  localStorage.setItem(
    storageKey(logKey),
    JSON.stringify({ size: checkpoint.size, root: checkpoint.rootB64, seenAt: new Date().toISOString() }),
  );
}

export class Inconsistent extends TlogError {
  constructor(message, seen, shown) {
    super(message);
    this.seen = seen;
    this.shown = shown;
  }
}

async function fetchProof(url, oldSize, newSize) {
  const response = await fetch(`${url}?old=${oldSize}&new=${newSize}`, { cache: "no-store" });
  if (!response.ok) return null;
  const body = await response.json();
  return body.proof.map((h) => b64decode(h));
}

/**
 * Check a verified checkpoint against the one this browser remembers, fetching a consistency
 * proof between them; remember the larger one. Throws Inconsistent for a rollback or a fork.
 * `latest`: the checkpoint is what the log calls its newest, so one smaller than the remembered
 * is a rollback whatever proof comes with it (a record's checkpoint may be an older one).
 * Returns {previous, current} sizes.
 */
export async function checkAgainstRemembered(logKey, checkpoint, consistencyUrl, latest = false) {
  const seen = remembered(logKey);
  const shown = { size: checkpoint.size, root: checkpoint.rootB64 };
  if (!seen || !seen.size) {
    remember(logKey, checkpoint);
    return { previous: null, current: checkpoint.size };
  }
  const seenRoot = b64decodeStrict(seen.root);
  const fail = (why) => new Inconsistent(why, seen, shown);
  if (!seenRoot) throw fail("the remembered checkpoint is damaged");
  if (latest && seen.size > checkpoint.size) {
    throw fail("the log is smaller than when you last saw it (rolled back)");
  }
  if (seen.size === checkpoint.size) {
    if (seen.root !== checkpoint.rootB64) throw fail("two different trees of the same size (a fork)");
  } else {
    const [oldSize, newSize] = seen.size < checkpoint.size ? [seen.size, checkpoint.size] : [checkpoint.size, seen.size];
    const proof = await fetchProof(consistencyUrl, oldSize, newSize);
    if (proof === null) {
      throw fail(
        seen.size > checkpoint.size
          ? "the log is smaller than when you last saw it, and cannot prove the larger tree (rolled back)"
          : "the server gave no consistency proof",
      );
    }
    try {
      if (seen.size < checkpoint.size) {
        await verifyConsistency(seen.size, checkpoint.size, seenRoot, checkpoint.root, proof);
      } else {
        // An older checkpoint than the one remembered (a record's witnessed checkpoint):
        // fine if it is a prefix of what was seen.
        await verifyConsistency(checkpoint.size, seen.size, checkpoint.root, seenRoot, proof);
      }
    } catch (error) {
      throw fail(`the consistency proof does not hold: ${error.message}`);
    }
  }
  remember(logKey, checkpoint);
  return { previous: seen.size, current: checkpoint.size };
}

function describe(label, c) {
  const line = document.createElement("li");
  line.textContent = `${label}: size ${c.size}, root ${c.root}${c.seenAt ? ` (${c.seenAt})` : ""}`;
  return line;
}

export function showInconsistency(element, error) {
  element.classList.remove("ok", "pending");
  element.classList.add("bad");
  element.setAttribute("role", "alert");
  element.textContent = `${element.dataset.textBad} (${error.message})`;
  if (error.seen) {
    const list = document.createElement("ul");
    list.append(describe(element.dataset.textSeen, error.seen), describe(element.dataset.textNow, error.shown));
    element.append(list);
  }
}

async function watch(element) {
  element.classList.add("pending");
  try {
    const { logKey, witnessKeys } = await pinnedKeys(element);
    const response = await fetch(element.dataset.checkpointUrl, { cache: "no-store" });
    if (!response.ok) throw new TlogError(`checkpoint: HTTP ${response.status}`);
    const { checkpoint } = await openCheckpoint(await response.text(), logKey, witnessKeys, 0);
    const { previous, current } = await checkAgainstRemembered(
      logKey,
      checkpoint,
      element.dataset.consistencyUrl,
      true,
    );
    element.classList.remove("pending");
    element.classList.add("ok");
    element.dataset.size = String(current);
    element.textContent =
      previous === null
        ? `${element.dataset.textFirst} ${current}.`
        : `${element.dataset.textOk} ${previous} ${element.dataset.textTo} ${current}.`;
  } catch (error) {
    if (error instanceof Inconsistent) {
      showInconsistency(element, error);
    } else {
      element.classList.remove("pending");
      element.classList.add("bad");
      element.textContent = `${element.dataset.textError} ${error.message}`;
    }
  }
  element.dataset.done = "1";
}

const element = document.getElementById("log-watch");
if (element) watch(element);
