"""Controlled vocabularies: drugs, drug classes, lab analytes, conditions, biomarkers.

The knowledge lives in reviewable YAML files under ``criteria/knowledge/``
(see the README there); this module only loads, validates and indexes them.

Matching (lookups and the ``find_*`` scanners) works on *tokens*: a name is
split into runs of letters, runs of digits and "+" signs, lower-cased.  So "anti-PD-1",
"anti PD-1", "anti PD1" and "Anti-PD-1" are the same name; between two tokens
of a name the text may have nothing (letter/digit boundary) or up to three
separator characters (space, hyphen/dash, slash, underscore, apostrophe,
parenthesis).
Matches are whole-word: the characters just before and after a mention are
not letters or digits.

* Names that are short upper-case acronyms (at most three letters, e.g. "ALT",
  "PT", "ER", "TKI") and names listed under an entry's ``case_sensitive`` are
  matched by ``find_*`` with their exact case, so "pt" (patient) is not
  prothrombin time.  Lookups (``drug()``, ``analyte()``...) ignore case.
* Names listed under ``lookup_only`` are found by lookups but never by
  ``find_*`` (too ambiguous in running text, e.g. "PR").
* Except for drugs, the last word of a name may take a plural ending in text
  ("inhibitors", "antibodies").
* ``find_*`` returns leftmost-longest, non-overlapping mentions.  The scanner
  indexes names by their first token, so its cost is linear in the text,
  whatever the vocabulary size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Analyte",
    "Biomarker",
    "ConditionConcept",
    "Drug",
    "DrugClass",
    "KnowledgeError",
    "Mention",
    "analyte",
    "analyte_by_loinc",
    "biomarker",
    "class_descendants",
    "classes_of_drug",
    "condition",
    "condition_ancestors",
    "conditions_for_icd10",
    "drug",
    "drug_class",
    "drugs_in_class",
    "find_analytes",
    "find_biomarkers",
    "find_conditions",
    "find_drug_classes",
    "find_drugs",
    "load_all",
    "normalize_method",
    "normalize_result",
]

KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"


class KnowledgeError(ValueError):
    """A knowledge file is malformed (message names the file and entry)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DrugClass:
    id: str
    label: str
    parents: tuple[str, ...]
    phrases: tuple[str, ...]
    # Classes whose exclusions list this one among their exceptions ("no
    # immunosuppressive medication, except: inhaled steroids ..."): not a kind of
    # them, but named in their exception lists.
    excepted_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drug:
    id: str
    names: tuple[str, ...]  # generic first, then synonyms, brands, codes, misspellings
    classes: tuple[str, ...]  # direct classes only


@dataclass(frozen=True)
class Analyte:
    id: str
    label: str
    synonyms: tuple[str, ...]
    loinc: tuple[str, ...]
    kind: str  # quantitative | qualitative
    canonical_unit: str | None
    molar_mass: float | None
    default_low: float | None
    default_high: float | None
    default_range_unit: str | None
    default_range_source: str | None
    plausible_min: float | None
    plausible_max: float | None
    conventional_units: tuple[str, ...]
    results: tuple[str, ...] = ()  # qualitative result vocabulary (canonical results)
    # which side of the normal range is the harm: "Bilirubin normal" asks <= ULN,
    # "Hemoglobin within normal limits" >= LLN; "both" (potassium) asks both
    abnormal_side: str = "both"  # high | low | both


@dataclass(frozen=True)
class ConditionConcept:
    id: str
    label: str
    synonyms: tuple[str, ...]
    icd10: tuple[str, ...]
    parents: tuple[str, ...]
    kind: str  # condition | procedure | histology | site
    # Forms severe by nature ("sepsis" of "infection"): "severe infection" is met by
    # a recorded sepsis without a person's judgement.
    severe_forms: tuple[str, ...] = ()
    # Named in a lab criterion, a qualifier of its bounds ("..., Gilbert's syndrome"),
    # never a requirement of its own.
    qualifies_labs: bool = False
    # A histology group that records usually name by its members ("non-small cell
    # carcinoma": adenocarcinoma, squamous cell carcinoma): a criterion asking for
    # the group is met by a member at the group's site.
    covers: tuple[str, ...] = ()
    # A subtype defined by biomarker results ("triple-negative breast cancer": ER,
    # PR and HER2 negative): (marker id, canonical result) pairs.
    biomarkers: tuple[tuple[str, str], ...] = ()
    # The scale a record grades it on, so that a severity word has a threshold:
    # "ctcae" ("severe" = grade 3 or worse, "life-threatening" = grade 4), "nyha"
    # ("symptomatic" = class II or worse).  Empty: severity is a person's judgement.
    graded_by: str = ""
    # Concepts whose exclusions list this one among their exceptions ("no other
    # malignancy, except: carcinoma in situ"): not a kind of them, but named in
    # their exception lists.
    excepted_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Biomarker:
    id: str
    label: str
    synonyms: tuple[str, ...]
    kind: str  # categorical | numeric
    methods: tuple[str, ...]
    results: tuple[str, ...] = ()  # canonical results this marker is reported with
    # A status derived from others when not recorded itself: positive when any of
    # them is, negative when all are ("hormone receptor": ER, PR).
    positive_if_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    id: str
    start: int
    end: int
    text: str


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r"[^\W\d_]+|\d+|\+")
# Between the words of a name: a little punctuation, and any run of spaces (the
# legacy registry text wraps lines inside names: "nonmelanoma skin\r\n   cancer").
_GAP = re.compile(r"[ \t]*(?:\r?\n[ \t]*)?[\-/_\u2010-\u2015'\u2019()]{0,3}[ \t]*")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(m.group(0).lower() for m in _TOKEN.finditer(text))


def _key(text: str) -> str:
    return " ".join(_tokens(text))


def _is_acronym(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return 0 < len(letters) <= 3 and all(c.isupper() for c in letters)


@dataclass(frozen=True)
class _Pattern:
    id: str
    tokens: tuple[str, ...]  # lower-case, or exact case when case_sensitive
    case_sensitive: bool
    plural: bool


@dataclass
class _Scanner:
    """Leftmost-longest, whole-word, token-level matcher over one vocabulary."""

    by_first: dict[str, list[_Pattern]] = field(default_factory=dict)

    def add(self, entry_id: str, name: str, *, case_sensitive: bool, plural: bool) -> None:
        raw = tuple(m.group(0) for m in _TOKEN.finditer(name))
        if not raw:
            return
        cs = case_sensitive or _is_acronym(name)
        toks = raw if cs else tuple(t.lower() for t in raw)
        last = raw[-1]
        can_plural = plural and last.isalpha() and (cs or len(name) >= 4)
        pat = _Pattern(entry_id, toks, cs, can_plural)
        bucket = self.by_first.setdefault(toks[0].lower(), [])
        if pat not in bucket:
            bucket.append(pat)

    def freeze(self) -> None:
        for bucket in self.by_first.values():
            bucket.sort(key=lambda p: (-len(p.tokens), -sum(map(len, p.tokens))))

    @staticmethod
    def _tok_eq(pat_tok: str, text_tok: str, cs: bool, plural_ok: bool) -> bool:
        t = text_tok if cs else text_tok.lower()
        if t == pat_tok:
            return True
        if not plural_ok:
            return False
        if t in (pat_tok + "s", pat_tok + "es"):  # "inhibitors", "TKIs"
            return True
        return pat_tok.endswith("y") and t == pat_tok[:-1] + "ies"

    def _bucket(self, low: str) -> list[_Pattern]:
        """Patterns opening with ``low`` or, for a one-word plural, its singular;
        longest first."""
        hit = [k for k in _singulars(low) if k in self.by_first]
        if len(hit) <= 1:
            return self.by_first.get(hit[0], []) if hit else []
        pats = [p for k in hit for p in self.by_first[k]]
        return sorted(pats, key=lambda p: (-len(p.tokens), -sum(map(len, p.tokens))))

    def find(self, text: str) -> list[Mention]:
        toks, positions = _scan_tokens(text)
        # Only positions whose token (or its singular) opens a name are tried.
        # (Iterate the clause's few tokens, not the vocabulary's many first words.)
        opening = positions.keys() & self.by_first.keys()  # a set operation in C
        if not opening:
            return []
        candidates = sorted({i for key in opening for i in positions[key]})
        out: list[Mention] = []
        n = len(toks)
        taken_until = 0
        for i in candidates:
            if i < taken_until:
                continue
            raw0, low0, start, _end0, word_start, _gap0 = toks[i]
            if not word_start:
                continue
            best: _Pattern | None = None
            for pat in self._bucket(low0):
                k = len(pat.tokens)
                if i + k > n:
                    continue
                ok = True
                for j in range(k):
                    raw, low, _s, _e, _ws, gap_ok = toks[i + j]
                    if j and not gap_ok:
                        ok = False
                        break
                    if not self._tok_eq(pat.tokens[j], raw if pat.case_sensitive else low,
                                        True, j == k - 1 and pat.plural):
                        ok = False
                        break
                if not ok:
                    continue
                end = toks[i + k - 1][3]
                if end < len(text) and text[end].isalnum():
                    continue
                best = pat
                break  # bucket is sorted longest first
            if best is None:
                continue
            k = len(best.tokens)
            end = toks[i + k - 1][3]
            out.append(Mention(best.id, start, end, text[start:end]))
            taken_until = i + k
        return out


@lru_cache(maxsize=65536)
def _singulars(tok: str) -> tuple[str, ...]:
    """The token and the singulars a plural ending allows ("inhibitors", "therapies")."""
    out = [tok]
    if tok.endswith("ies") and len(tok) > 4:
        out.append(tok[:-3] + "y")
    if tok.endswith("es") and len(tok) > 3:
        out.append(tok[:-2])
    if tok.endswith("s") and len(tok) > 2:
        out.append(tok[:-1])
    return tuple(out)


_SINGULARS: dict[str, tuple[str, ...]] = {}


@lru_cache(maxsize=8192)
def _scan_tokens(text: str) -> tuple[tuple[tuple[str, str, int, int, bool, bool], ...],
                                     dict[str, list[int]]]:
    """Tokens of a text, once for all vocabularies: (raw, lower, start, end,
    starts a word, gap to the previous token allows a multi-word name), and
    the positions of each lower-case token."""
    out = []
    positions: dict[str, list[int]] = {}
    prev_end = -1
    singulars = _SINGULARS  # a plain dict: this loop runs for every token of the corpus
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        raw = m.group()
        word_start = start == 0 or not text[start - 1].isalnum()
        if prev_end < 0:
            gap_ok = False
        elif start == prev_end or (start - prev_end == 1 and text[prev_end] == " "):
            gap_ok = True  # the common cases, without a regex
        else:
            gap_ok = _GAP.fullmatch(text, prev_end, start) is not None
        low = raw.lower()
        variants = singulars.get(low)
        if variants is None:
            variants = singulars[low] = _singulars(low)
        index = len(out)
        for variant in variants:  # a plural also opens its singular's names
            where = positions.get(variant)
            if where is None:
                positions[variant] = [index]
            else:
                where.append(index)
        out.append((raw, low, start, end, word_start, gap_ok))
        prev_end = end
    return tuple(out), positions


# --------------------------------------------------------------------------- loading


def _load_yaml(name: str) -> Any:
    path = KNOWLEDGE_DIR / name
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{name}: invalid YAML: {exc}") from exc


def _strs(file: str, entry: str, value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise KnowledgeError(f"{file}: entry {entry!r}: {key!r} must be a list of strings")
    return tuple(str(v) for v in value)


def _opt_float(file: str, entry: str, value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KnowledgeError(f"{file}: entry {entry!r}: {key!r} must be a number")
    return float(value)


def _entries(file: str, data: Any, allowed: set[str]) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise KnowledgeError(f"{file}: expected a list of entries")
    seen: set[str] = set()
    for e in data:
        if not isinstance(e, dict) or not isinstance(e.get("id"), str) or not e["id"]:
            raise KnowledgeError(f"{file}: every entry needs a string 'id': {e!r}")
        unknown = set(e) - allowed
        if unknown:
            raise KnowledgeError(f"{file}: entry {e['id']!r}: unknown keys {sorted(unknown)}")
        if e["id"] in seen:
            raise KnowledgeError(f"{file}: duplicate id {e['id']!r}")
        seen.add(e["id"])
    return data


def _graded_by(f: str, cid: str, value: object) -> str:
    if value is None:
        return ""
    if value not in ("ctcae", "nyha"):
        raise KnowledgeError(f"{f}: concept {cid!r}: graded_by is ctcae or nyha, not {value!r}")
    return str(value)


def _marker_results(f: str, cid: str, value: Any) -> tuple[tuple[str, str], ...]:
    """``biomarkers: {er: negative, ...}`` of a condition (checked against
    biomarkers.yaml once both are loaded)."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise KnowledgeError(f"{f}: entry {cid!r}: biomarkers must map marker ids to results")
    return tuple(value.items())


class _NameIndex:
    """Case-insensitive token key -> entry id, rejecting a name shared by two entries."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.ids: dict[str, str] = {}

    def add(self, entry_id: str, name: str) -> None:
        k = _key(name)
        if not k:
            raise KnowledgeError(f"{self.file}: entry {entry_id!r}: empty name {name!r}")
        other = self.ids.get(k)
        if other is not None and other != entry_id:
            raise KnowledgeError(
                f"{self.file}: name {name!r} of entry {entry_id!r} is already a name of {other!r}"
            )
        self.ids[k] = entry_id

    def get(self, name: str) -> str | None:
        return self.ids.get(_key(name))


def _closure(file: str, parents: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    """Each id -> itself + all ancestors; rejects unknown parents and cycles."""
    for cid, ps in parents.items():
        for p in ps:
            if p not in parents:
                raise KnowledgeError(f"{file}: entry {cid!r}: unknown parent {p!r}")
    out: dict[str, frozenset[str]] = {}

    def visit(cid: str, stack: tuple[str, ...]) -> frozenset[str]:
        if cid in out:
            return out[cid]
        if cid in stack:
            raise KnowledgeError(f"{file}: parent cycle {' -> '.join(stack + (cid,))}")
        acc = {cid}
        for p in parents[cid]:
            acc |= visit(p, stack + (cid,))
        out[cid] = frozenset(acc)
        return out[cid]

    for cid in parents:
        visit(cid, ())
    return out


def _scanner_add(
    sc: _Scanner, entry_id: str, names: Iterable[str], e: dict[str, Any], file: str, plural: bool
) -> None:
    cs = set(_strs(file, entry_id, e.get("case_sensitive"), "case_sensitive"))
    skip = {_key(x) for x in _strs(file, entry_id, e.get("lookup_only"), "lookup_only")}
    for nm in names:
        if _key(nm) in skip:
            continue
        sc.add(entry_id, nm, case_sensitive=nm in cs, plural=plural)


_COMMON = {"case_sensitive", "lookup_only", "notes", "source"}


def _bare_label(label: str) -> str:
    """A label without its parenthetical ("Alanine aminotransferase (ALT)" -> "Alanine
    aminotransferase"): labels are looked up as written, but scanned for bare."""
    return re.sub(r"\s*\([^)]*\)", "", label).strip() or label


class _Knowledge:
    def __init__(self) -> None:
        self._load_classes()
        self._load_drugs()
        self._load_analytes()
        self._load_conditions()
        self._load_biomarkers()
        for c in self.conditions.values():
            for marker, result in c.biomarkers:
                b = self.biomarkers.get(marker)
                if b is None or result not in b.results:
                    raise KnowledgeError(f"conditions.yaml: entry {c.id!r}: biomarkers: "
                                         f"{marker}: {result} is no result of a known marker")

    # drug classes
    def _load_classes(self) -> None:
        f = "drug_classes.yaml"
        data = _entries(f, _load_yaml(f), {"id", "label", "parents", "phrases", "excepted_from"}
                        | _COMMON)
        self.classes: dict[str, DrugClass] = {}
        self.class_scanner = _Scanner()
        idx = _NameIndex(f)
        for e in data:
            cid = e["id"]
            if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", cid):
                raise KnowledgeError(f"{f}: class id {cid!r} is not kebab-case")
            label = str(e.get("label") or cid)
            phrases = _strs(f, cid, e.get("phrases"), "phrases")
            dc = DrugClass(cid, label, _strs(f, cid, e.get("parents"), "parents"), phrases,
                           _strs(f, cid, e.get("excepted_from"), "excepted_from"))
            self.classes[cid] = dc
            for p in phrases:
                idx.add(cid, p)
            _scanner_add(self.class_scanner, cid, phrases, e, f, plural=True)
        self.class_scanner.freeze()
        self.class_ancestors = _closure(f, {c.id: c.parents for c in self.classes.values()})
        for c in self.classes.values():
            if unknown := [x for x in c.excepted_from if x not in self.classes]:
                raise KnowledgeError(f"{f}: class {c.id!r}: excepted_from names unknown {unknown}")
        desc: dict[str, set[str]] = {c: set() for c in self.classes}
        for c, anc in self.class_ancestors.items():
            for a in anc:
                desc[a].add(c)
        self.class_desc = {c: frozenset(s) for c, s in desc.items()}

    # drugs
    def _load_drugs(self) -> None:
        f = "drugs.yaml"
        keys = {"id", "synonyms", "brands", "codes", "misspellings", "classes"} | _COMMON
        data = _entries(f, _load_yaml(f), keys)
        self.drugs: dict[str, Drug] = {}
        self.drug_names = _NameIndex(f)
        self.drug_scanner = _Scanner()
        for e in data:
            did = e["id"]
            if did != did.lower():
                raise KnowledgeError(f"{f}: drug id {did!r} must be lower-case")
            names: list[str] = [did]
            for k in ("synonyms", "brands", "codes", "misspellings"):
                for nm in _strs(f, did, e.get(k), k):
                    if nm not in names:
                        names.append(nm)
            classes = _strs(f, did, e.get("classes"), "classes")
            if not classes:
                raise KnowledgeError(f"{f}: drug {did!r} has no classes")
            for c in classes:
                if c not in self.classes:
                    raise KnowledgeError(f"{f}: drug {did!r}: unknown class {c!r}")
            for nm in names:
                self.drug_names.add(did, nm)
            self.drugs[did] = Drug(did, tuple(names), classes)
            _scanner_add(self.drug_scanner, did, names, e, f, plural=False)
        self.drug_scanner.freeze()
        self.drug_classes: dict[str, frozenset[str]] = {}
        for d in self.drugs.values():
            acc: set[str] = set()
            for c in d.classes:
                acc |= self.class_ancestors[c]
            self.drug_classes[d.id] = frozenset(acc)

    # analytes
    def _load_analytes(self) -> None:
        f = "analytes.yaml"
        keys = {
            "id",
            "label",
            "synonyms",
            "loinc",
            "kind",
            "canonical_unit",
            "molar_mass",
            "default_range",
            "plausible",
            "conventional_units",
            "results",
            "abnormal_side",
        } | _COMMON
        data = _entries(f, _load_yaml(f), keys)
        self.analytes: dict[str, Analyte] = {}
        self.analyte_names = _NameIndex(f)
        self.analyte_scanner = _Scanner()
        self.loinc: dict[str, str] = {}
        from criteria.units import UnitError, parse_unit

        for e in data:
            aid = e["id"]
            kind = e.get("kind", "quantitative")
            if kind not in ("quantitative", "qualitative"):
                raise KnowledgeError(f"{f}: analyte {aid!r}: bad kind {kind!r}")
            dr = e.get("default_range") or {}
            pl = e.get("plausible") or {}
            if not isinstance(dr, dict) or not isinstance(pl, dict):
                raise KnowledgeError(f"{f}: analyte {aid!r}: default_range/plausible not maps")
            unit = e.get("canonical_unit")
            conv = _strs(f, aid, e.get("conventional_units"), "conventional_units")
            for u in (unit, dr.get("unit"), *conv):
                if u is None:
                    continue
                try:
                    parse_unit(str(u))
                except UnitError as exc:
                    raise KnowledgeError(f"{f}: analyte {aid!r}: {exc}") from exc
            if kind == "quantitative" and "canonical_unit" not in e:
                # a dimensionless quantity (INR) says so with an explicit null
                raise KnowledgeError(f"{f}: analyte {aid!r}: quantitative needs canonical_unit")
            label = str(e.get("label") or aid)
            syn = _strs(f, aid, e.get("synonyms"), "synonyms")
            side = str(e.get("abnormal_side", "both"))
            if side not in ("high", "low", "both"):
                raise KnowledgeError(f"{f}: analyte {aid!r}: bad abnormal_side {side!r}")
            a = Analyte(
                id=aid,
                label=label,
                synonyms=syn,
                loinc=_strs(f, aid, e.get("loinc"), "loinc"),
                kind=kind,
                canonical_unit=None if unit is None else str(unit),
                molar_mass=_opt_float(f, aid, e.get("molar_mass"), "molar_mass"),
                default_low=_opt_float(f, aid, dr.get("low"), "default_range.low"),
                default_high=_opt_float(f, aid, dr.get("high"), "default_range.high"),
                default_range_unit=None if dr.get("unit") is None else str(dr["unit"]),
                default_range_source=None if dr.get("source") is None else str(dr["source"]),
                plausible_min=_opt_float(f, aid, pl.get("min"), "plausible.min"),
                plausible_max=_opt_float(f, aid, pl.get("max"), "plausible.max"),
                conventional_units=conv,
                results=_strs(f, aid, e.get("results"), "results"),
                abnormal_side=side,
            )
            self.analytes[aid] = a
            for nm in (label, _bare_label(label), *syn):
                self.analyte_names.add(aid, nm)
            for code in a.loinc:
                if code in self.loinc:
                    raise KnowledgeError(f"{f}: LOINC {code} on {aid!r} and {self.loinc[code]!r}")
                self.loinc[code] = aid
            _scanner_add(self.analyte_scanner, aid, (_bare_label(label), *syn), e, f, plural=True)
        self.analyte_scanner.freeze()

    # conditions
    def _load_conditions(self) -> None:  # noqa: C901 - one loop checking each field
        f = "conditions.yaml"
        keys = {"id", "label", "synonyms", "icd10", "parents", "kind", "severe_forms",
                "qualifies_labs", "covers", "biomarkers", "graded_by", "excepted_from"} | _COMMON
        data = _entries(f, _load_yaml(f), keys)
        self.conditions: dict[str, ConditionConcept] = {}
        self.condition_names = _NameIndex(f)
        self.condition_scanner = _Scanner()
        for e in data:
            cid = e["id"]
            kind = e.get("kind", "condition")
            if kind not in ("condition", "procedure", "histology", "site"):
                raise KnowledgeError(f"{f}: concept {cid!r}: bad kind {kind!r}")
            icd = tuple(c.upper().strip() for c in _strs(f, cid, e.get("icd10"), "icd10"))
            for c in icd:
                if not re.fullmatch(r"[A-Z]\d{2}(?:\.\d{1,2})?(?:-[A-Z]\d{2}(?:\.\d{1,2})?)?", c):
                    raise KnowledgeError(f"{f}: concept {cid!r}: bad ICD-10 code/range {c!r}")
            label = str(e.get("label") or cid)
            syn = _strs(f, cid, e.get("synonyms"), "synonyms")
            cc = ConditionConcept(
                cid, label, syn, icd, _strs(f, cid, e.get("parents"), "parents"), kind,
                _strs(f, cid, e.get("severe_forms"), "severe_forms"),
                e.get("qualifies_labs") is True,
                _strs(f, cid, e.get("covers"), "covers"),
                _marker_results(f, cid, e.get("biomarkers")),
                _graded_by(f, cid, e.get("graded_by")),
                _strs(f, cid, e.get("excepted_from"), "excepted_from"),
            )
            self.conditions[cid] = cc
            for nm in (label, _bare_label(label), *syn):
                self.condition_names.add(cid, nm)
            _scanner_add(self.condition_scanner, cid, (_bare_label(label), *syn), e, f, plural=True)
        self.condition_scanner.freeze()
        self.condition_anc = _closure(f, {c.id: c.parents for c in self.conditions.values()})
        for c in self.conditions.values():
            for key in ("severe_forms", "covers", "excepted_from"):
                unknown = [s for s in getattr(c, key) if s not in self.conditions]
                if unknown:
                    raise KnowledgeError(f"{f}: entry {c.id!r}: {key} names unknown {unknown}")

    # biomarkers
    def _load_biomarkers(self) -> None:
        f = "biomarkers.yaml"
        data = _load_yaml(f)
        if not isinstance(data, dict) or not {"results", "methods", "biomarkers"} <= set(data):
            raise KnowledgeError(f"{f}: expected keys results, methods, biomarkers")
        self.results: dict[str, str] = {}
        for canon, syns in (data["results"] or {}).items():
            for s in (canon, *_strs(f, f"results.{canon}", syns, "synonyms")):
                k = _result_key(s)
                if self.results.get(k, canon) != canon:
                    raise KnowledgeError(f"{f}: result {s!r} maps to {canon} and {self.results[k]}")
                self.results[k] = canon
        self.methods: dict[str, str] = {}
        for canon, syns in (data["methods"] or {}).items():
            for s in (canon, *_strs(f, f"methods.{canon}", syns, "synonyms")):
                k = _key(s)
                if self.methods.get(k, canon) != canon:
                    raise KnowledgeError(f"{f}: method {s!r} maps to {canon} and {self.methods[k]}")
                self.methods[k] = canon
        keys = {"id", "label", "synonyms", "kind", "methods", "results",
                "positive_if_any"} | _COMMON
        entries = _entries(f, data["biomarkers"], keys)
        self.biomarkers: dict[str, Biomarker] = {}
        self.biomarker_names = _NameIndex(f)
        self.biomarker_scanner = _Scanner()
        for e in entries:
            bid = e["id"]
            kind = e.get("kind", "categorical")
            if kind not in ("categorical", "numeric"):
                raise KnowledgeError(f"{f}: biomarker {bid!r}: bad kind {kind!r}")
            methods = _strs(f, bid, e.get("methods"), "methods")
            for m in methods:
                if m not in data["methods"]:
                    raise KnowledgeError(f"{f}: biomarker {bid!r}: unknown method {m!r}")
            results = _strs(f, bid, e.get("results"), "results")
            for r in results:
                if r not in data["results"]:
                    raise KnowledgeError(f"{f}: biomarker {bid!r}: unknown result {r!r}")
            label = str(e.get("label") or bid)
            syn = _strs(f, bid, e.get("synonyms"), "synonyms")
            self.biomarkers[bid] = Biomarker(bid, label, syn, kind, methods, results,
                                             _strs(f, bid, e.get("positive_if_any"),
                                                   "positive_if_any"))
            for nm in (label, _bare_label(label), *syn):
                self.biomarker_names.add(bid, nm)
            _scanner_add(self.biomarker_scanner, bid, (_bare_label(label), *syn), e, f, plural=True)
        self.biomarker_scanner.freeze()
        for b in self.biomarkers.values():
            unknown = [m for m in b.positive_if_any if m not in self.biomarkers]
            if unknown:
                raise KnowledgeError(f"{f}: biomarker {b.id!r}: positive_if_any names unknown "
                                     f"{unknown}")


def _result_key(text: str) -> str:
    s = re.sub(r"\s+", " ", text.strip().lower()).strip(" .;,:()")
    return s


@cache
def _kb() -> _Knowledge:
    return _Knowledge()


def load_all() -> None:
    """Load and validate every knowledge file (raises :class:`KnowledgeError`)."""
    _kb()


# --------------------------------------------------------------------------- drugs


def drug(name: str) -> Drug | None:
    """The drug with this generic name, brand, code or known misspelling."""
    kb = _kb()
    did = kb.drug_names.get(name)
    return None if did is None else kb.drugs[did]


def drug_class(class_id: str) -> DrugClass:
    return _kb().classes[class_id]


def classes_of_drug(name: str) -> frozenset[str]:
    """Direct classes of the drug plus all their ancestors; empty if unknown."""
    d = drug(name)
    return frozenset() if d is None else _kb().drug_classes[d.id]


def class_descendants(class_id: str) -> frozenset[str]:
    """The class itself and every class below it (KeyError if unknown)."""
    return _kb().class_desc[class_id]


@cache
def drugs_in_class(class_id: str) -> tuple[Drug, ...]:
    kb = _kb()
    if class_id not in kb.classes:
        raise KeyError(class_id)
    return tuple(d for d in kb.drugs.values() if class_id in kb.drug_classes[d.id])


def find_drugs(text: str) -> list[Mention]:
    return list(_find_drugs_cached(text))


@lru_cache(maxsize=8192)
def _find_drugs_cached(text: str) -> tuple[Mention, ...]:
    return tuple(_kb().drug_scanner.find(text))



def find_drug_classes(text: str) -> list[Mention]:
    return list(_find_drug_classes_cached(text))


@lru_cache(maxsize=8192)
def _find_drug_classes_cached(text: str) -> tuple[Mention, ...]:
    return tuple(_kb().class_scanner.find(text))


# --------------------------------------------------------------------------- analytes



def analyte(name_or_id: str) -> Analyte | None:
    kb = _kb()
    if name_or_id in kb.analytes:
        return kb.analytes[name_or_id]
    aid = kb.analyte_names.get(name_or_id)
    return None if aid is None else kb.analytes[aid]


def analyte_by_loinc(code: str) -> Analyte | None:
    kb = _kb()
    aid = kb.loinc.get(code.strip())
    return None if aid is None else kb.analytes[aid]


def find_analytes(text: str) -> list[Mention]:
    return list(_find_analytes_cached(text))


@lru_cache(maxsize=8192)
def _find_analytes_cached(text: str) -> tuple[Mention, ...]:
    return tuple(_kb().analyte_scanner.find(text))


# --------------------------------------------------------------------------- conditions



def condition(name_or_id: str) -> ConditionConcept | None:
    kb = _kb()
    if name_or_id in kb.conditions:
        return kb.conditions[name_or_id]
    cid = kb.condition_names.get(name_or_id)
    return None if cid is None else kb.conditions[cid]


def _icd_norm(code: str) -> str:
    return code.upper().replace(".", "").strip()


def _icd_contains(spec: str, code: str) -> bool:
    """Whether ICD-10 ``code`` falls under ``spec`` (a code or an inclusive range).

    A code covers its subcodes (C02 covers C02.1); a range A-B covers every
    code whose leading characters sort between A and B (C00-C14 covers C14.8).
    """
    c = _icd_norm(code)
    if "-" in spec:
        lo, hi = (_icd_norm(x) for x in spec.split("-", 1))
        return c[: len(lo)] >= lo and c[: len(hi)] <= hi
    s = _icd_norm(spec)
    return c.startswith(s)


@cache
def conditions_for_icd10(code: str) -> frozenset[str]:
    """Concepts whose ICD-10 codes/ranges contain ``code``, plus their ancestors."""
    kb = _kb()
    if not code or not code.strip():
        return frozenset()
    acc: set[str] = set()
    for c in kb.conditions.values():
        if any(_icd_contains(spec, code) for spec in c.icd10):
            acc |= kb.condition_anc[c.id]
    return frozenset(acc)


def condition_ancestors(concept_id: str) -> frozenset[str]:
    """The concept itself and all its ancestors (KeyError if unknown)."""
    return _kb().condition_anc[concept_id]


def names_a_kind_of(item: str, intro: str) -> bool:
    """Does ``item`` name a kind of something ``intro`` names, or something the
    knowledge files list among its exceptions (``excepted_from``)?  A cancer after
    "No other malignancy, except:", a steroid after "immunosuppressive medication,
    with the following exceptions:"; an antiplatelet drug there is not."""
    kb = _kb()

    def concepts(text: str, excepted: bool) -> set[str]:
        out: set[str] = set()
        for m in find_conditions(text):
            out |= kb.condition_anc[m.id]
            out |= set(kb.conditions[m.id].excepted_from) if excepted else set()
        return out

    def classes(text: str, excepted: bool) -> set[str]:
        ids = {m.id for m in find_drug_classes(text)} | {
            c for m in find_drugs(text) for c in kb.drug_classes[m.id]}
        out: set[str] = set()
        for c in ids:
            out |= kb.class_ancestors[c] | (set(kb.classes[c].excepted_from) if excepted else set())
        return out

    return bool(concepts(item, True) & concepts(intro, False)
                or classes(item, True) & classes(intro, False))


def find_conditions(text: str) -> list[Mention]:
    return list(_find_conditions_cached(text))


@lru_cache(maxsize=8192)
def _find_conditions_cached(text: str) -> tuple[Mention, ...]:
    found = _kb().condition_scanner.find(text)
    if not found:
        return ()
    # A disease word inside a marker's name is part of that name: the "lymphoma" of
    # "anaplastic lymphoma kinase (ALK)" is no lymphoma.
    markers = [(m.start, m.end) for m in _find_biomarkers_cached(text)]
    return tuple(m for m in found if not any(a <= m.start and m.end <= b and (a, b) != (
        m.start, m.end) for a, b in markers))


# --------------------------------------------------------------------------- biomarkers



@cache
def derived_biomarkers() -> tuple[Biomarker, ...]:
    """Markers whose status can be derived from others (``positive_if_any``)."""
    return tuple(b for b in _kb().biomarkers.values() if b.positive_if_any)


def biomarker(name: str) -> Biomarker | None:
    kb = _kb()
    if name in kb.biomarkers:
        return kb.biomarkers[name]
    bid = kb.biomarker_names.get(name)
    return None if bid is None else kb.biomarkers[bid]


def find_biomarkers(text: str) -> list[Mention]:
    return list(_find_biomarkers_cached(text))


@lru_cache(maxsize=8192)
def _find_biomarkers_cached(text: str) -> tuple[Mention, ...]:
    return tuple(_kb().biomarker_scanner.find(text))


def normalize_result(text: str) -> str | None:
    """Canonical result ("positive", "negative", "equivocal", "undetectable"...) or None."""
    return _kb().results.get(_result_key(text))


def normalize_method(text: str) -> str | None:
    """Canonical assay method ("IHC", "PCR", "ISH", "NGS", "ELISA"...) or None."""
    return _kb().methods.get(_key(text))


# Words that make a site concept's name a tumour name; what remains is the organ
# ("carcinoma of the breast" -> "breast").  Used to read anatomical sites as
# records state them ("Breast structure", "oral cavity"), never in trial text.
_TUMOUR_WORDS = frozenset(
    "cancer cancers carcinoma carcinomas tumor tumors tumour tumours neoplasm neoplasms "
    "malignancy malignancies malignant squamous cell cell adenocarcinoma of the and or "
    "primary metastatic advanced mbc structure structures entire region".split())


@cache
def _organ_index() -> tuple[tuple[tuple[str, ...], str], ...]:
    out = set()
    for concept in _kb().conditions.values():
        if concept.kind != "site":
            continue
        for name in (concept.label, *concept.synonyms):
            organ = tuple(t for t in _tokens(name) if t not in _TUMOUR_WORDS)
            if organ and not any(t.isdigit() for t in organ) and len(" ".join(organ)) > 3:
                out.add((organ, concept.id))
    # longest organ phrases first, so "oral tongue" wins over "tongue"
    return tuple(sorted(out, key=lambda o: -len(o[0])))


def site_concepts(text: str) -> frozenset[str]:
    """Site concepts (with ancestors) whose organ a record's text names:
    "Breast structure" -> breast-cancer; "oral cavity" -> oral-cavity-cancer."""
    tokens = _tokens(text)
    found: set[str] = set()
    used: set[int] = set()
    for organ, cid in _organ_index():
        n = len(organ)
        for i in range(len(tokens) - n + 1):
            if tokens[i:i + n] == organ and not used.intersection(range(i, i + n)):
                found |= condition_ancestors(cid)
                used.update(range(i, i + n))
    return frozenset(found)
