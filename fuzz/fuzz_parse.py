# ruff: noqa: PLC0415, PLW0603, S311, E501 - imports wait for atheris to instrument them
"""Coverage-guided fuzzing of the postmortem parser (and write-back) with atheris.

Three properties, checked on every input:

1. `parse_postmortem` never raises, whatever the bytes (invalid UTF-8, NUL, any nesting).
2. It is linear enough: a document parses at 2 s per MB or better. Each input is also blown up
   to about 1 MB (repeated) every few runs and must then parse in under 2 s, which is what
   catches quadratic scans (an unmatched '[' rescanned to the end of the item, say).
3. Write-back never corrupts: giving every item a reference (as `tracker sync` does, through
   tracker/safe_edit.py) leaves a file that parses with the same items, keys and titles.

Inputs are used raw, or decoded as a sequence of Markdown tokens (headings, table rows, list
markers, checkboxes, emphasis, brackets, fences, front matter, refs) so that most inputs reach
the action-item code. See fuzz/README.md for how to run it for hours.

    python fuzz/fuzz_parse.py -max_len=4096 -dict=fuzz/markdown.dict fuzz/corpus
    python fuzz/fuzz_parse.py --no-atheris 2000     # plain random inputs, no atheris needed
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_S_PER_MB = 2.0
HARD_LIMIT_S = 60.0  # a blown-up parse taking longer than this is reported without waiting
BLOWUP_BYTES = 1_000_000
BLOWUP_EVERY = 16  # runs between 1 MB blow-ups (each takes up to a second or two)
PATH = "postmortems/2026-06-15-fuzz.md"

TOKENS = (
    b"## Action items\n", b"# Outage\n", b"### Follow-ups\n", b"## Timeline\n", b"Action items\n===\n",
    b"**Action items:**\n", b"Action item: ", b"TODO: ", b"DONE: ", b"\n", b"\n\n", b"\r\n", b"\r",
    b"- ", b"* ", b"+ ", b"1. ", b"2) ", b"  ", b"    ", b"\t", b"> ", b"- [ ] ", b"- [x] ", b"[-] ",
    b"| Item | Owner | Due | Status | Ticket |\n", b"|---|---|---|---|---|\n", b"| ", b" |", b"|",
    b"Rotate the key", b"Add an alert on lag", b"@alice", b"[bob]", b"(carol)", b"Owner: dan",
    b"Due: 2026-07-01", b"due 2026-02-30", b"(P1)", b"P0", b"(done)", b"Done", b"In progress",
    b"(tracked: #12)", b"(tracked: local:3)", b"OPS-7", b"#41", b"https://x.test/i/1",
    b"**", b"__", b"~~", b"*", b"_", b"`", b"```\n", b"~~~\n", b"[", b"]", b"(", b")", b"<", b">",
    b"<!--", b"-->", b"<details>", b"\\", b"---\n", b"---\nid: pm-1\ndate: 2026-06-15\n---\n",
    b"---\ndate: 2026-13-01\n---\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3\x28", b"\x00", b"\xe2\x80\xa8",
)  # fmt: skip


def tokens_to_doc(data: bytes) -> bytes:
    """Read the input as token indexes (and an occasional literal byte run)."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        i += 1
        if b < 0xF0:
            out += TOKENS[b % len(TOKENS)]
        else:  # a literal run of up to 15 bytes
            n = b - 0xF0
            out += data[i : i + n]
            i += n
    return bytes(out)


def _blow_up(doc: bytes) -> bytes:
    return doc * max(1, BLOWUP_BYTES // len(doc))


def _parse_seconds(doc: bytes) -> float:
    from tracker.parse import parse_postmortem

    started = time.perf_counter()
    parse_postmortem(doc, PATH)
    return time.perf_counter() - started


def _timer_loop(conn: Connection) -> None:
    """Child process: parse what arrives, answer the seconds it took (never instrumented)."""
    while True:
        try:
            doc = conn.recv_bytes()
        except EOFError:  # the fuzzer is gone
            return
        try:
            conn.send(_parse_seconds(doc))
        except Exception as exc:  # reported to the parent as a finding
            conn.send(f"{type(exc).__name__}: {exc}")


class Timer:
    """Times a parse in a child interpreter: atheris slows the instrumented parser down several
    times over, and the 2 s budget is about the real one."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_timer_loop, args=(child,), daemon=True)
        self._proc.start()

    def seconds(self, doc: bytes) -> float:
        self._conn.send_bytes(doc)
        if not self._conn.poll(HARD_LIMIT_S):
            self._proc.kill()
            raise AssertionError(f"{len(doc)} bytes: no answer in {HARD_LIMIT_S} s")
        got = self._conn.recv()
        if isinstance(got, str):
            raise AssertionError(f"the parser raised on a blown-up input: {got}")
        return float(got)


_timer: Timer | None = None  # None: time in this process (no instrumentation to correct for)


def check(doc: bytes) -> None:
    """Properties 1 and 3 for one document (raises on a finding)."""
    from tracker.parse import DEFAULT_OPTIONS, parse_postmortem
    from tracker.parse.values import normalise_text
    from tracker.safe_edit import Edit, apply_checked

    pm = parse_postmortem(doc, PATH)  # property 1: any exception here is a finding
    if len(doc) > 65_536 or not pm.items:
        return
    edits = [Edit(item, "ref", f"#{n}") for n, item in enumerate(pm.items, 1)]
    out, _ = apply_checked(doc, pm, edits, DEFAULT_OPTIONS)
    again = parse_postmortem(out, PATH)
    assert [i.title for i in again.items] == [i.title for i in pm.items], out
    keyed = [n for n, i in enumerate(pm.items) if normalise_text(i.title)]
    assert [again.items[n].key for n in keyed] == [pm.items[n].key for n in keyed], out


def check_speed(doc: bytes) -> None:
    """Property 2: about 1 MB (the input repeated) parses in under 2 s."""
    big = _blow_up(doc)
    took = _timer.seconds(big) if _timer is not None else _parse_seconds(big)
    budget = BUDGET_S_PER_MB * len(big) / 1_000_000
    assert took <= budget, f"{len(big)} bytes took {took:.2f} s (budget {budget:.2f} s)"


_runs = 0


def one_input(data: bytes) -> None:
    """The fuzz target: raw bytes or tokens, and every BLOWUP_EVERY-th input at 1 MB."""
    global _runs
    _runs += 1
    # A leading NUL selects the token decoding; anything else (a seed postmortem) is raw.
    doc = tokens_to_doc(data[1:]) if data[:1] == b"\x00" else data
    check(doc)
    if _runs % BLOWUP_EVERY == 0 and doc:
        check_speed(doc)


def _random_runs(n: int, seed: int) -> None:
    """Without atheris: `n` seeded random inputs (no coverage guidance)."""
    rng = random.Random(seed)
    for k in range(n):
        size = rng.choice((8, 32, 128, 512, 2048))
        data = b"\x00"[: k % 2] + bytes(rng.randrange(256) for _ in range(size))
        try:
            one_input(data)
        except Exception:
            print(f"finding on input {k} (seed {seed}): {data!r}", file=sys.stderr)
            raise


def main() -> None:
    if "--no-atheris" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--no-atheris"]
        _random_runs(int(args[0]) if args else 1000, int(args[1]) if len(args) > 1 else 0)
        return
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    global _timer
    _timer = Timer()  # before instrumenting: the child imports the parser plain
    with atheris.instrument_imports():
        import tracker.parse
        import tracker.safe_edit
        import tracker.writeback  # noqa: F401

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
