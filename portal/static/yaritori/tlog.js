// Yaritori tlog: RFC 6962 / RFC 9162 Merkle proofs and C2SP signed notes, checkpoints and
// witness cosignatures, verified in the browser with WebCrypto (SHA-256 and Ed25519).
//
// It mirrors audit/tlog/ (merkle.py, note.py, checkpoint.py, cosignature.py) function by
// function, with the same strictness: one spelling per value, 32-byte hashes, a consistency
// proof from the empty tree refused. Every check throws TlogError with the reason; nothing is
// believed until it returns. WebCrypto exists only in a secure context (HTTPS, or
// http://127.0.0.1 / localhost): elsewhere `crypto.subtle` is undefined and every check fails.
//
// No dependency, no network access: the caller fetches and passes the texts.

export class TlogError extends Error {
  constructor(message) {
    super(message);
    this.name = "TlogError";
  }
}

const HASH_SIZE = 32;
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
const SIGNATURE_PREFIX = "\u2014 ";
const MAX_SIGNATURES = 100;
const encoder = new TextEncoder();

function subtle() {
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new TlogError("WebCrypto is not available (the page is not in a secure context)");
  }
  return globalThis.crypto.subtle;
}

// --- bytes and strict base64 ----------------------------------------------------------------

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function b64encode(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/** Standard padded base64, or null unless `text` is the canonical encoding (as _text.py). */
export function b64decodeStrict(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    return null;
  }
  let raw;
  try {
    raw = atob(text);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  return b64encode(bytes) === text ? bytes : null;
}

/** Lenient base64 for test vectors and proofs from JSON (any valid base64). */
export function b64decode(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function parseDecimal(text) {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return null;
  const value = Number(text);
  // Tree sizes beyond 2**53 cannot be handled exactly here; no Yaritori log comes near.
  return Number.isSafeInteger(value) ? value : null;
}

function hasControlCharacter(text) {
  for (const ch of text) if (ch < " " && ch !== "\n") return true;
  return false;
}

// --- hashing (RFC 9162 section 2.1.1) ----------------------------------------------------------

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

export function leafHash(data) {
  return sha256(concat(new Uint8Array([0]), data));
}

export function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

function requireHash(what, value) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new TlogError(`${what} is not a ${HASH_SIZE}-byte hash`);
  }
}

// --- inclusion (RFC 9162 section 2.1.3.2) -------------------------------------------------------

/** The root that `proof` leads to from leaf `index` (hash `leaf`) in a tree of `size`. */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new TlogError(`leaf index ${index} is not in a tree of size ${size}`);
  }
  requireHash("leaf hash", leaf);
  proof.forEach((p, i) => requireHash(`proof hash #${i}`, p));
  // BigInt: the bit walk must not lose precision above 2**31 (JavaScript's bit operators).
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new TlogError(`inclusion proof has too many hashes (${proof.length})`);
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (fn && !(fn & 1n)) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new TlogError(`inclusion proof has too few hashes (${proof.length})`);
  return r;
}

/** Resolves when `leaf` is leaf `index` of the tree of `size` with `root`; throws otherwise. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  requireHash("root hash", root);
  const computed = await rootFromInclusionProof(index, size, leaf, proof);
  if (!equalBytes(computed, root)) {
    throw new TlogError(
      `inclusion proof for leaf ${index} does not lead to the root of the tree of size ${size}`,
    );
  }
}

// --- consistency (RFC 9162 section 2.1.4.2) ----------------------------------------------------

/** Resolves when the tree (size1, root1) is a prefix of (size2, root2); throws otherwise. */
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < 0) {
    throw new TlogError(`tree sizes must be whole numbers >= 0 (${size1}, ${size2})`);
  }
  if (size1 > size2) {
    throw new TlogError(`the first tree (${size1}) is larger than the second (${size2})`);
  }
  if (size1 === 0) {
    throw new TlogError("a consistency proof from the empty tree is meaningless");
  }
  if (size1 === size2) {
    if (proof.length) throw new TlogError("the trees have the same size, so the proof must be empty");
    if (!equalBytes(root1, root2)) {
      throw new TlogError(`two different roots for the same tree size ${size1}`);
    }
    return;
  }
  if (!proof.length) throw new TlogError("consistency proof is empty");
  requireHash("first root hash", root1);
  requireHash("second root hash", root2);
  proof.forEach((p, i) => requireHash(`proof hash #${i}`, p));
  const path = [...proof];
  const s1 = BigInt(size1);
  if ((s1 & (s1 - 1n)) === 0n) {
    // The old tree is a perfect subtree of the new one: its root starts the path (RFC step 2).
    path.unshift(root1);
  }
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new TlogError(`consistency proof has too many hashes (${proof.length})`);
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn && !(fn & 1n)) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new TlogError(`consistency proof has too few hashes (${proof.length})`);
  if (!equalBytes(fr, root1)) {
    throw new TlogError(`consistency proof does not lead to the root of the tree of size ${size1}`);
  }
  if (!equalBytes(sr, root2)) {
    throw new TlogError(`consistency proof does not lead to the root of the tree of size ${size2}`);
  }
}

// --- keys (C2SP signed-note key texts) ----------------------------------------------------------

function checkKeyName(name) {
  if (!name) throw new TlogError("key name is empty");
  if (/\s/.test(name) || name.includes("+") || hasControlCharacter(name)) {
    throw new TlogError(`key name ${JSON.stringify(name)} is not a valid key name`);
  }
}

/** SHA-256(name || 0x0A || algorithm || public key)[:4]. */
export async function keyId(name, algorithm, publicKey) {
  const digest = await sha256(concat(encoder.encode(name), new Uint8Array([0x0a, algorithm]), publicKey));
  return digest.slice(0, 4);
}

/**
 * Parse a verifier key text "name+hex(key ID)+base64(algorithm || key)" (0x01 for a log,
 * 0x04 for a witness) into {name, keyId, algorithm, publicKey, text}; the stated key ID must
 * match. Throws TlogError.
 */
export async function parseVerifierKey(text, algorithm) {
  const trimmed = text.trim();
  // The name holds no "+", the key ID is hex; base64 may hold "+", so split twice only.
  const first = trimmed.indexOf("+");
  const second = trimmed.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new TlogError("a verifier key is name+keyid+key");
  const name = trimmed.slice(0, first);
  const kidHex = trimmed.slice(first + 1, second);
  const keyB64 = trimmed.slice(second + 1);
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(kidHex)) throw new TlogError(`verifier key ${name}: key ID is not 8 hex digits`);
  const blob = b64decodeStrict(keyB64);
  if (!blob || blob.length !== 33) throw new TlogError(`verifier key ${name}: not an Ed25519 key`);
  if (blob[0] !== algorithm) {
    throw new TlogError(`verifier key ${name} has algorithm 0x${blob[0].toString(16).padStart(2, "0")}`);
  }
  const publicKey = blob.slice(1);
  const kid = await keyId(name, algorithm, publicKey);
  if (hex(kid) !== kidHex) throw new TlogError(`verifier key ${name}: key ID does not match the key`);
  const cryptoKey = await subtle().importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return { name, keyId: kid, algorithm, publicKey, cryptoKey, text: trimmed };
}

/** A short fingerprint for people to compare: SHA-256 of the raw public key, in hex groups. */
export async function fingerprint(key) {
  const digest = hex(await sha256(key.publicKey));
  return digest.slice(0, 32).match(/.{4}/g).join(" ");
}

// --- signed notes (c2sp.org/signed-note) ---------------------------------------------------------

/** Split a signed note into its text and signature lines, verifying nothing. */
export function parseNote(note) {
  if (hasControlCharacter(note)) throw new TlogError("note contains a control character other than newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new TlogError("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block || !block.endsWith("\n")) {
    throw new TlogError("note has no signature lines, or its last line lacks a newline");
  }
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new TlogError(`note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new TlogError("signature line does not start with an em dash");
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) throw new TlogError("signature line has no signature");
    const name = rest.slice(0, space);
    checkKeyName(name);
    const blob = b64decodeStrict(rest.slice(space + 1));
    if (!blob || blob.length < 5) throw new TlogError(`signature by ${name} is not valid base64 of key ID and signature`);
    return { name, keyId: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { text, signatures };
}

function cosignedMessage(text, timestamp) {
  return encoder.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

async function verifySignature(key, text, signature) {
  let signed = encoder.encode(text);
  let ed25519 = signature;
  let timestamp = null;
  if (key.algorithm === ALG_COSIGNATURE_V1) {
    if (signature.length !== 72) return { ok: false };
    const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
    if (t > 2n ** 63n - 1n) return { ok: false };
    timestamp = Number(t);
    signed = cosignedMessage(text, t.toString());
    ed25519 = signature.slice(8);
  }
  const ok = await subtle().verify({ name: "Ed25519" }, key.cryptoKey, ed25519, signed);
  return { ok, timestamp };
}

/**
 * Verify a signed note against known keys (as Go's note.Open and audit/tlog/note.open_note):
 * unknown signers are ignored, a known signer's bad signature rejects the whole note, and at
 * least one known key must have signed. Returns {text, verified: [{name, keyId, timestamp}]}.
 */
export async function openNote(note, keys) {
  const { text, signatures } = parseNote(note);
  const known = new Map(keys.map((k) => [`${k.name}+${hex(k.keyId)}`, k]));
  const verified = [];
  const seen = new Set();
  for (const sig of signatures) {
    const id = `${sig.name}+${hex(sig.keyId)}`;
    const key = known.get(id);
    if (!key || seen.has(id)) continue;
    const { ok, timestamp } = await verifySignature(key, text, sig.signature);
    if (!ok) throw new TlogError(`signature by ${id} does not verify`);
    seen.add(id);
    verified.push({ name: sig.name, keyId: sig.keyId, timestamp, algorithm: key.algorithm });
  }
  if (!verified.length) {
    const present = [...new Set(signatures.map((s) => `${s.name}+${hex(s.keyId)}`))].sort().join(", ");
    throw new TlogError(`note is not signed by any known key (signed by: ${present})`);
  }
  return { text, verified };
}

// --- checkpoints (c2sp.org/tlog-checkpoint) -------------------------------------------------------

/** Parse a checkpoint body strictly: origin, size, base64 root, extension lines. */
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new TlogError("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new TlogError("checkpoint needs origin, size and root hash lines");
  const [origin, sizeText, rootText, ...extensions] = lines;
  for (const line of [origin, ...extensions]) {
    if (!line || hasControlCharacter(line)) throw new TlogError("checkpoint has an empty or invalid line");
  }
  const size = parseDecimal(sizeText);
  if (size === null) throw new TlogError("checkpoint size is not a decimal without leading zeros");
  const root = b64decodeStrict(rootText);
  if (!root || root.length !== HASH_SIZE) throw new TlogError("checkpoint root hash is not canonical base64 of 32 bytes");
  return { origin, size, root, rootB64: rootText, extensions };
}

/**
 * Open a signed checkpoint: the log's signature must verify (and carry the log's name, its
 * origin), and every witness key's cosignature present must verify; at least `quorum`
 * witnesses must have cosigned. Returns {checkpoint, witnesses: [{name, timestamp}]}.
 */
export async function openCheckpoint(note, logKey, witnessKeys = [], quorum = 0) {
  const { text, verified } = await openNote(note, [logKey, ...witnessKeys]);
  const bylog = verified.filter((v) => v.name === logKey.name && equalBytes(v.keyId, logKey.keyId));
  if (!bylog.length) throw new TlogError(`checkpoint is not signed by the log key ${logKey.name}+${hex(logKey.keyId)}`);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== logKey.name) {
    throw new TlogError(`checkpoint is for log ${checkpoint.origin}, not ${logKey.name}`);
  }
  const witnesses = verified.filter((v) => v.algorithm === ALG_COSIGNATURE_V1);
  if (witnesses.length < quorum) {
    throw new TlogError(`only ${witnesses.length} of the required ${quorum} witness cosignatures are present`);
  }
  return { checkpoint, witnesses: witnesses.map((w) => ({ name: w.name, timestamp: w.timestamp })) };
}
