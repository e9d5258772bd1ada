"""Token-level grammar of eligibility text: comparators, numbers, units,
multiples of the normal limits, time windows.

Phrasings are data (the tables below, read top to bottom, longest first);
the functions only scan.  Every hit keeps its character span so that the
compiler can tell what it understood from what it did not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Comparator phrasings -> operator.  Garbled symbols seen in registry text
# ("> =", "=>", "≧") are listed as what they evidently mean.
COMPARATORS: list[tuple[str, str]] = [
    (r"greater\s+than\s+or\s+equal\s+(?:to\s+)?", ">="),
    (r"more\s+than\s+or\s+equal\s+(?:to\s+)?", ">="),
    (r"higher\s+than\s+or\s+equal\s+(?:to\s+)?", ">="),
    (r"less\s+than\s+or\s+equal\s+(?:to\s+)?", "<="),
    (r"less\s+then\s+or\s+equal\s+(?:to\s+)?", "<="),  # a common typo
    (r"(?:greater|more)\s+then\s+or\s+equal\s+(?:to\s+)?", ">="),
    (r"lower\s+than\s+or\s+equal\s+(?:to\s+)?", "<="),
    (r"equal\s+to\s+or\s+(?:greater|more|higher)\s+than\s+", ">="),
    (r"equal\s+to\s+or\s+(?:less|lower)\s+than\s+", "<="),
    (r"(?:of\s+)?at\s+least\s+", ">="),
    # "at or below the upper limit of normal" (read as "below", a value at the ULN failed)
    (r"at\s+or\s+(?:below|under|less\s+than)\s+", "<="),
    (r"at\s+or\s+(?:above|over|greater\s+than)\s+", ">="),
    (r"not\s+less\s+than\s+", ">="),
    (r"no\s+less\s+than\s+", ">="),
    (r"(?:a\s+)?minimum\s+(?:of\s+)?", ">="),
    (r"(?:of\s+)?at\s+most\s+", "<="),
    (r"not\s+(?:more|greater|higher)\s+than\s+", "<="),
    (r"no\s+(?:more|greater|higher)\s+than\s+", "<="),
    (r"not\s+(?:to\s+)?exceed(?:ing)?\s+", "<="),
    (r"(?:a\s+)?maximum\s+(?:of\s+)?", "<="),
    (r"up\s+to\s+", "<="),
    (r"(?:greater|more|higher)\s+than\s+", ">"),
    (r"above\s+", ">"),
    (r"exceed(?:ing|s)?\s+", ">"),
    (r"over\s+", ">"),
    (r"(?:less|lower|fewer)\s+than\s+", "<"),
    (r"below\s+", "<"),
    (r"under\s+", "<"),
    (r"(?:>\s*or\s*=|>\s*/\s*=|=\s*or\s*>)\s*", ">="),
    (r"(?:<\s*or\s*=|<\s*/\s*=|=\s*or\s*<)\s*", "<="),
    (r"equal\s+(?:to\s+)?or\s+(?:above|over|older\s+than)\s+", ">="),
    (r"equal\s+(?:to\s+)?or\s+(?:below|under|younger\s+than)\s+", "<="),
    (r"(?:≥|>\s*=|=\s*>|≧|⩾)\s*", ">="),
    (r"(?:≤|<\s*=|=\s*<|≦|⩽)\s*", "<="),
    # The Symbol font's ≥ and ≤ read as Latin-1 in some legacy records: "Age ³ 18", "£ 1.5 x ULN".
    (r"³\s*", ">="),
    (r"£\s*", "<="),
    (r">\s*", ">"),
    (r"<\s*", "<"),
    (r"=\s*", "=="),
]

_COMPARATOR_RE = re.compile("|".join(f"(?:{p})" for p, _ in COMPARATORS), re.IGNORECASE)
# The characters a comparator can start with (tests/test_grammar.py checks every
# pattern above against it).  Unanchored searches put it first: one character
# test per position instead of trying every comparator there (twice as fast).
COMPARATOR_FIRST = "abefghlmnou<>=≥≤≧⩾≦⩽³£"
_COMPARATOR_START = f"(?=[{COMPARATOR_FIRST}])"
_COMPARATOR_PARTS = [(re.compile(p, re.IGNORECASE), op) for p, op in COMPARATORS]

WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "eighteen": 18, "twenty-one": 21, "twenty-eight": 28,
    "twenty": 20, "thirty": 30, "forty-two": 42, "sixty": 60, "ninety": 90,
}

# A number written as a word where a bound or a duration needs it: after a
# comparator ("less than or equal to two", ">= eighteen") or before a unit of
# time ("three months").
_WORD_NUMBER = re.compile(
    r"(?:(?<=than\s)|(?<=least\s)|(?<=most\s)|(?<=to\s)|(?<=over\s)|(?<=under\s)|"
    r"(?<=above\s)|(?<=below\s)|(?<=of\s)|(?<=[<>≥≤=]\s)|(?<=[<>≥≤=]))"
    r"(?P<w>" + "|".join(WORD_NUMBERS) + r")\b(?!-)"
    r"|\b(?<!-)(?P<u>" + "|".join(WORD_NUMBERS) + r")(?=\s+(?:\(\d+\)\s*)?(?:years?|months?|weeks?|"
    r"days?)\b)", re.IGNORECASE)


_ANY_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(WORD_NUMBERS) + r")\b", re.IGNORECASE)
# A comparator's symbol echoed after its words: "greater than or equal to (≥) 12".
_ECHOED_SYMBOL = re.compile(r"(?<=[a-z])\s*\(\s*(?:[<>]\s*/?\s*=?|=\s*[<>]|[≥≤=])\s*\)",
                            re.IGNORECASE)


def digits_for_number_words(text: str) -> str:
    """``text`` with bound and duration numbers written as words put in digits,
    and comparator symbols echoed after their words blanked, padded with spaces
    so that every offset stays where it was."""
    def digits(m: re.Match[str]) -> str:
        word = m.group(0)
        return str(WORD_NUMBERS[word.lower()]).ljust(len(word))
    if "(" in text:
        text = _ECHOED_SYMBOL.sub(lambda m: " " * len(m.group(0)), text)
    if not _ANY_NUMBER_WORD.search(text):
        return text  # (most clauses: the lookbehinds of _WORD_NUMBER cost more)
    return _WORD_NUMBER.sub(digits, text)


# (thousands grouped by commas, or by spaces: "100 000/uL")
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:[ \u00a0\u2009]\d{3})+(?![\d.,])|\d+(?:\.\d+)?"
# Scientific count units, including lost multiplication signs:
# "4.0 x 10^9/L", "100*10^9/L", "4.010^9/L" (= 4.0 x 10^9/L), "1.5 × 10⁹/L".
_SCI_UNIT = (r"(?:\s*[x×X\*·]\s*|\s*)10\s*(?:\^|\*\*|e|E|ˆ)?\s*(?P<exp>\d{1,2}|⁹|¹²|⁶|⁴|³)"
             r"\s*(?:cells\s*)?/\s*(?P<per>L|l|mm3|mm³|mm\^3|µL|μL|uL|ul|mcL)")
_PLAIN_UNIT = (r"(?:g/dl|g/dL|g/l|g/L|mg/dl|mg/dL|mg/l|mg/L|µmol/L|μmol/L|umol/L|umol/l|"
               r"micromol(?:es?)?/[lL]|(?:ml|mL|cc)\s*(?:/|\s+per\s+)\s*min(?:ute)?|"
               r"mmol/L|mmol/l|mEq/L|U/L|IU/L|u/l|iu/l|mL/min(?:/1\.73\s*m(?:2|²))?|"
               r"ml/min(?:/1\.73\s*m(?:2|²))?|/mm\^3|cells/mm\^3|/mm3|/mm³|/µL|/μL|/uL|/ul|/mcL|cells/mm3|"
               r"cells/mm³|m?g\s*/\s*100\s*m[lL]|mg\s*%|"
               r"cells/µL|cells/uL|cells/mcL|K/uL|K/µL|ng/mL|ng/ml|pg/mL|pg/ml|µg/L|ug/L|"
               r"mg/24\s*h(?:ours?)?|g/24\s*h(?:ours?)?|mg|ml|mL|L|%|"
               # a footnote mark glued on ("5.6 mmol/La Renal ...") ends the unit
               r"sec(?:onds)?|s|ms|msec)(?:(?![A-Za-z0-9])|(?=[a-d]\s+[A-Z]))")
_ULN = (r"(?:\s*[x×X\*]\s*|\s*times\s+(?:of\s+)?|\s*-?\s*fold\s+|\s+)?(?:the\s+)?"
        r"(?:specific\s+|local\s+)?(?:institutional\s+|laboratory\s+|site\s+)?(?:(?P<side>upper|lower)\s+limits?\s+(?:of\s+)?(?:the\s+)?normal"
        r"(?:\s+(?:range|limits?|value))?|(?:(?P<side2>upper|lower)\s+normal\s+limits?)|"
        # "1.5 times of normal upper limit"
        r"normal\s+(?P<side3>upper|lower)\s+limits?|"
        r"(?P<abbr>ULN|LLN|UNL|ULRR|LLRR|IULN|ILLN)|maximum\s+normal\s+"
        r"(?:value|limit)|(?:(?<=times\s)|(?<=[x×X]\s)|(?<=[x×X]))normal(?:\s+(?:value|limit))?)")

# Tried first: a one-decimal mantissa glued to "10^N" ("4.010^9/L").
_NUMBER_GLUED = r"\d+\.\d(?=10\s*(?:\^|\*\*)\s*\d)"

# A unit the table does not know but that looks like one ("mIU/mL", "cells/ml"):
# kept as written, so that conversion decides (and refuses) rather than a guess.
_OTHER_UNIT = r"[A-Za-zµμ]{1,6}(?:/[A-Za-zµμ0-9.^]{1,8})+(?![A-Za-z0-9])"
# "6,1 mmol/l": a decimal comma (one or two digits after it, then no digit).
_NUMBER_COMMA = r"\d+,\d{1,2}(?![\d,])"

THRESHOLD_RE = re.compile(
    rf"{_COMPARATOR_START}(?P<cmp>{_COMPARATOR_RE.pattern})"
    rf"(?P<num>{_NUMBER_GLUED}|{_NUMBER_COMMA}|{_NUMBER})"
    rf"(?P<tail>{_SCI_UNIT}|{_ULN}|\s*{_PLAIN_UNIT}|\s*{_OTHER_UNIT})?",
    re.IGNORECASE,
)
_SCI_RE = re.compile(_SCI_UNIT, re.IGNORECASE)
_BARE_LIMIT_RE = re.compile(
    rf"{_COMPARATOR_START}(?P<cmp>{_COMPARATOR_RE.pattern})"
    rf"(?:the\s+)?(?:institutional\s+|laboratory\s+|site\s+)?"
    rf"(?:(?P<side>upper|lower)\s+limits?\s+(?:of\s+)?(?:the\s+)?normal(?:\s+(?:range|limits?|"
    rf"value))?|(?P<side2>upper|lower)\s+normal\s+limits?|"
    rf"(?P<abbr>ULN|LLN|UNL|ULRR|LLRR|IULN|ILLN)\b)", re.IGNORECASE)
_ULN_RE = re.compile(_ULN, re.IGNORECASE)
_TIMES_AFTER = re.compile(r"(?:\s*\([A-Za-z]{2,5}\))?\s*(?:[x×X\*]|times)\s*"
                          r"(?P<n>\d+(?:[.,]\d+)?)(?!\s*(?:\^|\*\*|\d))")
_DIGIT = re.compile(r"\d")
_LIMIT_WORDS = ("upper", "lower", "uln", "lln", "unl", "ulrr", "llrr")  # _BARE_LIMIT_RE's words
_SUPERSCRIPT = {"⁹": "9", "¹²": "12", "⁶": "6", "⁴": "4", "³": "3"}


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float
    unit: str | None  # normalized unit text; None when the text gives none
    relative_to: str | None  # "uln" / "lln" for multiples of the normal limits
    start: int
    end: int
    text: str
    note: str | None = None


def comparator(text: str) -> str:
    """The operator of a comparator phrase as matched by THRESHOLD_RE."""
    for pattern, op in _COMPARATOR_PARTS:
        if pattern.fullmatch(text):
            return op
    raise ValueError(f"not a comparator: {text!r}")


def parse_number(text: str) -> float:
    if re.fullmatch(_NUMBER_COMMA, text):
        return float(text.replace(",", "."))
    return float(re.sub(r"[,\s]", "", text))


def find_thresholds(text: str) -> list[Threshold]:
    return list(_thresholds(text))


@lru_cache(maxsize=8192)
def _thresholds(text: str) -> tuple[Threshold, ...]:
    out: list[Threshold] = []
    # Both patterns open with a long list of comparators, so an unanchored search
    # tries them at every character: texts that lack what each one needs (a digit;
    # a named limit) skip it.
    numbered = THRESHOLD_RE.finditer(text) if _DIGIT.search(text) else ()
    for m in numbered:
        op = comparator(m.group("cmp"))
        number = m.group("num")
        tail = m.group("tail") or ""
        note = None
        unit: str | None = None
        relative = None
        sci = _SCI_RE.fullmatch(tail) if tail else None
        uln = _ULN_RE.fullmatch(tail) if tail and not sci else None
        if sci:
            exp = _SUPERSCRIPT.get(sci.group("exp"), sci.group("exp"))
            per = sci.group("per").replace("μ", "u").replace("µ", "u").replace("mcL", "uL")
            per = "mm3" if per == "mm³" else per
            unit = f"10^{exp}/{'L' if per.lower() == 'l' else per}"
            # A lost multiplication sign glues the mantissa to "10^9":
            # "4.010^9/L" is 4.0 x 10^9/L (see _NUMBER_GLUED).
            if not re.match(r"\s*[x×X\*·]", tail) and not tail.startswith(" "):
                note = (f'read "{m.group(0).strip()}" as {number} x {unit} '
                        f"(multiplication sign lost in the source)")
        elif uln:
            relative = _side(uln)
        elif tail.strip():
            unit = tail.strip()
        out.append(Threshold(op, parse_number(number), unit, relative, m.start(), m.end(),
                             m.group(0), note))
    # "no greater than the upper limit of normal", "<= IULN": one times the limit.
    low = text.lower()
    limits = _BARE_LIMIT_RE.finditer(text) if any(w in low for w in _LIMIT_WORDS) else ()
    for m in limits:
        if any(t.start < m.end() and m.start() < t.end for t in out):
            continue
        # "<= ULN*2.5", "<= upper limit of normal x3.0": the multiple written after
        times = _TIMES_AFTER.match(text, m.end())
        value = parse_number(times.group("n")) if times else 1.0
        end = times.end() if times else m.end()
        out.append(Threshold(comparator(m.group("cmp")), value, None, _side(m), m.start(),
                             end, text[m.start():end]))
    return tuple(sorted(out, key=lambda t: t.start))


def _side(m: re.Match[str]) -> str:
    side = (m.group("side") or m.group("side2") or m.groupdict().get("side3") or "").lower()
    return "lln" if side == "lower" or (m.group("abbr") or "").upper() in (
        "LLN", "LLRR", "ILLN") else "uln"


# ---------------------------------------------------------------- time windows

_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_AMOUNT = r"(?P<n>\d+(?:\.\d+)?|" + "|".join(WORD_NUMBERS) + r")(?:\s*\(\d+\))?"
_PERIOD = r"\s*+[-‐]?\s*(?P<u>day|week|month|year|d\b|wk|mo|yr)s?"

WINDOW_PATTERNS: list[tuple[str, str]] = [
    # (tried first: the "at least 6 months from" inside them is theirs)
    # "a >= 21-day treatment-free interval from chemotherapy", "a therapy-free interval
    # of at least 4 weeks since": a washout ("platinum-free interval" is not: it dates
    # a relapse)
    (rf"(?:(?:at\s+least|minimum(?:\s+of)?|≥|>=|>)\s*)?(?:an?\s+)?{_AMOUNT}{_PERIOD}\s*[-\s]\s*"
     rf"(?:treatment|therapy)[\s-]+free\s+(?:interval|period)", "since"),
    (rf"(?:treatment|therapy)[\s-]+free\s+(?:interval|period)\s+(?:of\s+)?(?:at\s+least\s+|"
     rf"(?:a\s+)?minimum\s+(?:of\s+)?|≥\s*|>=\s*|>\s*)?{_AMOUNT}{_PERIOD}", "since"),
    # "within 4 weeks prior to", "in the last 6 months", "during the past year"
    (rf"(?:within(?:\s+(?:the\s+)?(?:last|past|previous|preceding))?|in\s+the\s+(?:last|past|"
     rf"previous|preceding)|during\s+the\s+(?:last|past|previous|preceding))\s+{_AMOUNT}{_PERIOD}",
     "within"),
    (r"(?:within|in|during)\s+the\s+(?:last|past|previous|preceding)\s+(?P<u>year|month|week|day)",
     "within1"),
    # "No chemotherapy for prior 4 weeks", "for the past 6 months"
    (rf"for\s+(?:the\s+)?(?:prior|past|last|previous|preceding)\s+{_AMOUNT}{_PERIOD}", "within"),
    # "at least 4 weeks prior to", "more than 1 year since", "≥ 28 days before"
    (rf"(?:at\s+least|more\s+than|greater\s+than|no\s+less\s+than|≥|>=|>)\s*{_AMOUNT}{_PERIOD}"
     rf"\s+(?:(?:(?:has|have)\s+)?(?:passed|elapsed)\s+)?"
     rf"(?:prior|before|since|from|after|elapsed|post|following)", "since"),
    # "(=< 14 days prior to registration)", "obtained less than 28 days from"
    (rf"(?:=<|<=|≤|<|less\s+than|no\s+more\s+than|not\s+more\s+than)\s*{_AMOUNT}{_PERIOD}"
     rf"(?=\s+(?:prior\s+to|before|from))", "within"),
    (rf"{_AMOUNT}{_PERIOD}\s+(?:prior\s+to|before)", "since_or_within"),
    # "washout period of at least 28 days", "a minimum 4-week wash out",
    # "Washout from prior tamoxifen: 4 months"
    # (not "up to a maximum washout period of 28 days": a cap on a half-lives rule)
    (rf"(?<!maximum\s)(?<!maximal\s)wash\s*-?\s*out(?:\s+period)?\s+(?:of\s+)?"
     rf"(?:at\s+least\s+|(?:a\s+)?minimum\s+(?:of\s+)?)?{_AMOUNT}{_PERIOD}", "since"),
    (rf"(?:(?:a\s+)?minimum(?:\s+of)?|at\s+least)\s+(?:an?\s+)?{_AMOUNT}{_PERIOD}\s+wash\s*-?\s*out",
     "since"),
    (rf"wash\s*-?\s*out\s+(?:from|of|after)\s+[^:;.]{{1,60}}:\s*{_AMOUNT}{_PERIOD}", "since"),
    # "must have been discontinued for >= 7 days prior to"
    (rf"(?:discontinued|stopped|ceased)\s+(?:for\s+)?(?:at\s+least|more\s+than|greater\s+than|≥|>=|>)"
     rf"\s*{_AMOUNT}{_PERIOD}", "since"),
]
_WINDOW_RES = [(re.compile(p, re.IGNORECASE), k) for p, k in WINDOW_PATTERNS]
# Words without which a pattern cannot match (lower case): the patterns are tried
# at every character, so a text lacking them skips the pattern.  None: always tried.
_WINDOW_NEEDS: list[tuple[str, ...] | None] = [
    ("free",), ("free",), None, None, ("for",), ("least", "more", "greater", "less", "≥", ">"),
    ("<", "≤", "less", "more"), ("prior", "before"),
    ("wash",), ("wash",), ("wash",), ("discontinued", "stopped", "ceased")]
_SHORT_PERIOD = re.compile(r"\d\s*-?\s*(?:d|mo)s?\b")


@dataclass(frozen=True)
class Window:
    kind: str  # "within": in the last N days; "since": at least N days ago
    days: int
    start: int
    end: int
    text: str


def duration_days(n: str, unit: str) -> int:
    """Days in "3 weeks", "six months", "5 d" (a number or number word, a unit)."""
    amount = WORD_NUMBERS.get(n.lower()) if not n[0].isdigit() else float(n)
    key = {"d": "day", "wk": "week", "mo": "month", "yr": "year"}.get(unit.lower(), unit.lower())
    return int(round(float(amount) * _UNIT_DAYS[key]))


def find_windows(text: str) -> list[Window]:
    return list(_windows(text))


@lru_cache(maxsize=8192)
def _windows(text: str) -> tuple[Window, ...]:
    out: list[Window] = []
    low = text.lower()
    # Every window has a period; "d" and "mo" only count after a number ("5 d", "6 mo").
    if not any(k in low for k in ("day", "week", "month", "year", "wk", "yr")) and \
            not _SHORT_PERIOD.search(low):
        return ()
    taken: list[tuple[int, int]] = []
    for (pattern, kind), needs in zip(_WINDOW_RES, _WINDOW_NEEDS, strict=True):
        if needs is not None and not any(w in low for w in needs):
            continue
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            if kind == "within1":
                days, real = duration_days("1", m.group("u")), "within"
            elif kind == "since_or_within":
                # "4 weeks prior to": after "within" it is a window, else a washout
                before = text[max(0, m.start() - 12):m.start()].lower()
                # "during the three weeks prior to", "in the 4 weeks before": windows too
                real = "within" if re.search(r"within|during|\bin\s+the\b", before) else "since"
                days = duration_days(m.group("n"), m.group("u"))
            else:
                days, real = duration_days(m.group("n"), m.group("u")), kind
            out.append(Window(real, days, m.start(), m.end(), m.group(0)))
            taken.append((m.start(), m.end()))
    return tuple(sorted(out, key=lambda w: w.start))
