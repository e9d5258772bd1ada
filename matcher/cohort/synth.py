"""Synthetic oncology patients for demos and benchmarks (``trialmatch synth``).

Every distribution lives in ``matcher/cohort/data/synth.yaml``; this module only
draws from it.  Lab values are drawn in a base unit and written in the unit the
patient's country reports; the factors come from pint (:mod:`criteria.units`),
computed once per (lab, unit) pair, so the per-patient loop does no unit work.

Determinism: patient ``i`` of seed ``s`` is drawn from its own
``random.Random`` seeded from ``(s, i)``, so a cohort is the same whatever the
chunking, and patient 17 of a 100-patient cohort equals patient 17 of a
100,000-patient one.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from criteria import vocab
from criteria.units import convert

__all__ = ["FORMATS", "SPEC_PATH", "Synthesizer", "generate", "write_cohort"]

SPEC_PATH = Path(__file__).parent / "data" / "synth.yaml"


class _Choice:
    """A weighted choice drawn with one ``rng.random()`` (bisect on cumulative weights)."""

    def __init__(self, weights: dict[Any, float] | list[tuple[Any, float]]):
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        if not pairs:
            raise ValueError("a weighted choice needs at least one option")
        self.items = [item for item, _ in pairs]
        total = 0.0
        self.cumulative: list[float] = []
        for _, w in pairs:
            total += float(w)
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> Any:
        i = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.items[min(i, len(self.items) - 1)]


def _weighted(entries: list[dict]) -> _Choice:
    return _Choice([(e, e["weight"]) for e in entries])


def _round3(x: float) -> float | int:
    """Three significant digits, as labs print them; whole numbers as ints."""
    if x == 0:
        return 0
    digits = 2 - int(math.floor(math.log10(abs(x))))
    r = round(x, digits)
    return int(r) if digits <= 0 else r


@dataclass(frozen=True)
class _Lab:
    id: str
    names: tuple[str, ...]
    loinc: str | None
    base_unit: str
    mean: float
    sd: float
    lo: float
    hi: float
    uln: float | None
    uln_rate: float
    missing_rate: float


@cache
def _factor(lab_id: str, base_unit: str, unit: str) -> float:
    analyte = vocab.analyte(lab_id)
    molar = analyte.molar_mass if analyte is not None else None
    return convert(1.0, base_unit, unit, molar)


class Synthesizer:
    """Draws patient documents (plain dicts, contract section 1) from the spec."""

    def __init__(self, spec: dict[str, Any] | None = None):
        if spec is None:
            spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
        self.spec = spec
        self.as_of = dt.date.fromisoformat(spec["as_of"])
        self.as_of_ord = self.as_of.toordinal()
        self.countries = _weighted(spec["countries"])
        self.cancers = _weighted(spec["cancers"])
        self.subtypes = {c["id"]: _weighted(c["subtypes"]) for c in spec["cancers"]}
        self.stages = {c["id"]: _Choice(c["stages"]) for c in spec["cancers"]}
        self.curative = {c["id"]: _weighted(c["curative"]) for c in spec["cancers"]}
        self.line_counts = {c["id"]: _Choice(c["lines"]["count"]) for c in spec["cancers"]}
        self.regimens = {c["id"]: _weighted(c["lines"]["regimens"]) for c in spec["cancers"]}
        self.ecog = _Choice(spec["performance"]["ecog"])
        self.labs = [
            _Lab(id=e["id"], names=tuple(e["names"]), loinc=e.get("loinc"),
                 base_unit=str(e["base_unit"]), mean=e["dist"]["mean"], sd=e["dist"]["sd"],
                 lo=e["dist"]["min"], hi=e["dist"]["max"], uln=e.get("uln"),
                 uln_rate=e.get("uln_rate", 0.0), missing_rate=e["missing_rate"])
            for e in spec["labs"]
        ]
        # Per country: each lab's written name (None: drawn), unit and factor from
        # the base unit, computed once here (pint is slow).
        self.lab_plans: dict[str, list[tuple[_Lab, str | None, str, float]]] = {}
        for country in spec["countries"]:
            plan = []
            for lab in self.labs:
                unit = country["units"].get(lab.id, lab.base_unit)
                name = country.get("names", {}).get(lab.id)
                plan.append((lab, name, unit, _factor(lab.id, lab.base_unit, unit)))
            self.lab_plans[country["id"]] = plan
        self.qualitative = [(e, _Choice(e["results"])) for e in spec["qualitative_labs"]]
        self.result_choices: dict[int, _Choice] = {}
        f = spec["findings"]
        self.life_expectancy = _Choice(f["life_expectancy_weeks"]["values"])
        self.brain_mets = _Choice(f["brain_metastases"]["values"])
        self.nyha = {c["name"]: _Choice(c["nyha"]) for c in spec["comorbidities"] if "nyha" in c}
        self.grades = {c["name"]: _Choice(c["grades"]) for c in spec["comorbidities"]
                       if "grades" in c}

    # ------------------------------------------------------------------ helpers

    def _choice(self, weights: dict) -> _Choice:
        key = id(weights)
        found = self.result_choices.get(key)
        if found is None:
            found = self.result_choices[key] = _Choice(weights)
        return found

    def _date(self, ordinal: int) -> str:
        return dt.date.fromordinal(min(ordinal, self.as_of_ord)).isoformat()

    # ------------------------------------------------------------------ patient

    def patient(self, seed: int, index: int) -> dict[str, Any]:
        """Patient ``index`` of cohort ``seed`` as a patient document (dict)."""
        rng = random.Random(seed * 1_000_003 + index)
        spec = self.spec
        country = self.countries.pick(rng)
        cancer = self.cancers.pick(rng)
        subtype = self.subtypes[cancer["id"]].pick(rng)
        age_spec = spec["age"]
        age = int(min(max(rng.gauss(age_spec["mean"], age_spec["sd"]), age_spec["min"]),
                      age_spec["max"]))
        if subtype.get("female_only"):
            sex = "female"
        else:
            sex = "male" if rng.random() < cancer["male_rate"] else "female"
        doc: dict[str, Any] = {"id": f"synth-{seed}-{index:07d}", "as_of": self.as_of.isoformat()}
        birth_ord = self.as_of_ord - int(age * 365.25) - rng.randint(1, 364)
        if rng.random() < spec["birth_date_rate"]:
            doc["birth_date"] = dt.date.fromordinal(birth_ord).isoformat()
        else:
            doc["age"] = _whole_years(dt.date.fromordinal(birth_ord), self.as_of)
        doc["sex"] = "unknown" if rng.random() < spec["sex_unknown_rate"] else sex

        treatments, dx_ord, n_lines, curative_given = self._history(rng, cancer)
        doc["diagnoses"] = [self._diagnosis(rng, cancer, subtype, dx_ord, n_lines, curative_given)]
        doc["performance_status"] = self._performance(rng, country)
        doc["biomarkers"] = self._biomarkers(rng, cancer, subtype, dx_ord)
        doc["labs"] = self._labs(rng, country)
        doc["treatments"] = treatments
        doc["conditions"] = self._comorbidities(rng, sex)
        doc["findings"] = self._findings(rng, sex, age)
        return {k: v for k, v in doc.items() if v != []}

    def _history(self, rng: random.Random, cancer: dict
                 ) -> tuple[list[dict], int, int, bool]:
        """Treatments (curative steps, then metastatic lines), the diagnosis date
        (an ordinal), the number of lines, and whether a curative treatment was
        given.  Lines are laid out backwards from as_of."""
        d = self.spec["disease"]
        n_lines = int(self.line_counts[cancer["id"]].pick(rng))
        lines: list[list[dict]] = []
        cursor = self.as_of_ord - rng.randint(7, 60)
        ongoing_last = rng.random() < d["ongoing_rate"]
        for k in range(n_lines, 0, -1):
            duration = rng.randint(*d["line_days"])
            last = k == n_lines
            end = None if last and ongoing_last else cursor
            start = (self.as_of_ord - duration) if end is None else end - duration
            regimen = self.regimens[cancer["id"]].pick(rng)
            progression = None
            if end is not None and rng.random() < d["progression_rate"]:
                progression = {"date": self._date(end + rng.randint(0, 14)),
                               "confirmed_by": "imaging"}
            line: list[dict] = []
            for drug in regimen["drugs"]:
                item: dict[str, Any] = {"kind": "drug", "name": drug,
                                        "start": self._date(start)}
                if end is not None:
                    item["end"] = self._date(end)
                else:
                    item["ongoing"] = True
                item["cycles"] = max(1, ((end or self.as_of_ord) - start) // d["cycle_days"])
                item["setting"] = "recurrent/metastatic"
                item["line"] = k
                if progression is not None:
                    item["progression"] = progression
                line.append(item)
            lines.append(line)
            cursor = start - rng.randint(10, 45)
        lines.reverse()  # laid out backwards; written in time order
        curative = self.curative[cancer["id"]].pick(rng)
        steps: list[dict] = []
        if curative["steps"]:
            span = max(s.get("days", 1) for s in curative["steps"]) + 30
            disease_free = rng.randint(90, 720) if n_lines else rng.randint(30, 900)
            c_start = min(cursor, self.as_of_ord - 30) - disease_free - span
            t = c_start
            for step in curative["steps"]:
                item = {"kind": step["kind"], "name": step["name"], "start": self._date(t)}
                if "days" in step:
                    item["end"] = self._date(t + step["days"])
                if "cycles" in step:
                    item["cycles"] = step["cycles"]
                if "setting" in step:
                    item["setting"] = step["setting"]
                steps.append(item)
                if step["kind"] == "surgery":
                    t += rng.randint(21, 42)  # adjuvant treatment starts after healing
            dx_ord = c_start - rng.randint(14, 45)
        else:
            lo, hi = d["years_since_diagnosis"]
            dx_ord = min(cursor - rng.randint(14, 45),
                         self.as_of_ord - int(rng.uniform(lo, hi) * 365))
        return steps + [item for line in lines for item in line], dx_ord, n_lines, bool(steps)

    def _diagnosis(self, rng: random.Random, cancer: dict, subtype: dict, dx_ord: int,
                   n_lines: int, curative_given: bool) -> dict[str, Any]:
        d = self.spec["disease"]
        stage = self.stages[cancer["id"]].pick(rng)
        status: list[str] = []
        if curative_given and rng.random() < d["recurrent_rate"]:
            status.append("recurrent")
        if n_lines or stage.startswith("IV") and stage not in ("IVA",):
            status.append("metastatic")
        if not status:
            status.append("locally advanced")
        dx: dict[str, Any] = {"condition": subtype["condition"],
                              "code": {"system": "ICD-10-CM", "code": subtype["code"]}}
        histology = subtype.get("histology", cancer.get("histology"))
        if histology:
            dx["histology"] = histology
        if rng.random() < d["diagnosis_confirmed_rate"]:
            dx["confirmed_by"] = "histology"
        dx["site"] = subtype["site"]
        dx["stage"] = stage
        dx["status"] = status
        if rng.random() >= d["diagnosis_date_missing_rate"]:
            dx["date"] = self._date(dx_ord)
        return dx

    def _performance(self, rng: random.Random, country: dict) -> list[dict]:
        p = self.spec["performance"]
        if rng.random() < p["missing_rate"]:
            return []
        ecog = int(self.ecog.pick(rng))
        days = rng.randint(60, 200) if rng.random() < p["stale_rate"] else rng.randint(1, 28)
        date = self._date(self.as_of_ord - days)
        if rng.random() < country["karnofsky_rate"]:
            return [{"scale": "Karnofsky", "value": rng.choice(p["karnofsky_of_ecog"][ecog]),
                     "date": date}]
        return [{"scale": "ECOG", "value": ecog, "date": date}]

    def _biomarkers(self, rng: random.Random, cancer: dict, subtype: dict, dx_ord: int
                    ) -> list[dict]:
        out: list[dict] = []
        results: dict[str, str] = {}
        overrides = subtype.get("results", {})
        date = self._date(dx_ord + rng.randint(5, 20))
        for marker in cancer["biomarkers"]:
            name = marker["name"]
            if rng.random() >= marker["tested_rate"]:
                continue
            item: dict[str, Any] = {"name": name}
            if "values" in marker:
                item["value"] = self._choice(marker["values"]).pick(rng)
                if "unit" in marker:
                    item["unit"] = marker["unit"]
            else:
                leader = results.get(marker.get("follows", ""))
                if leader is not None and rng.random() < marker["agreement"]:
                    result = leader
                else:
                    result = self._choice(overrides.get(name, marker["results"])).pick(rng)
                results[name] = result
                item["result"] = result
            if "method" in marker:
                item["method"] = marker["method"]
            item["date"] = date
            out.append(item)
        return out

    def _labs(self, rng: random.Random, country: dict) -> list[dict]:
        spec = self.spec["lab_dates"]
        if rng.random() < spec["stale_rate"]:
            days = rng.randint(*spec["stale_days"])
        else:
            days = rng.randint(*spec["recent_days"])
        date = self._date(self.as_of_ord - days)
        out: list[dict] = []
        for lab, name, unit, factor in self.lab_plans[country["id"]]:
            if rng.random() < lab.missing_rate:
                continue
            value = min(max(rng.gauss(lab.mean, lab.sd), lab.lo), lab.hi)
            item: dict[str, Any] = {"name": name or rng.choice(lab.names),
                                    "value": _round3(value * factor), "unit": unit}
            if lab.uln is not None and rng.random() < lab.uln_rate:
                item["upper_limit_normal"] = _round3(lab.uln * factor)
            item["date"] = date
            out.append(item)
        for entry, choice in self.qualitative:
            if rng.random() < entry["tested_rate"]:
                out.append({"name": entry["name"], "result": choice.pick(rng), "date": date})
        return out

    def _comorbidities(self, rng: random.Random, sex: str) -> list[dict]:
        out: list[dict] = []
        for c in self.spec["comorbidities"]:
            if c.get("male_only") and sex != "male":
                continue
            if rng.random() < c["rate"]:
                item: dict[str, Any] = {"name": c["name"]}
                if "code" in c:
                    item["code"] = {"system": "ICD-10-CM", "code": c["code"]}
                item["status"] = c.get("status", "active")
                if "controlled_rate" in c:
                    item["controlled"] = rng.random() < c["controlled_rate"]
                if c["name"] in self.grades:
                    item["grade"] = int(self.grades[c["name"]].pick(rng))
                if c["name"] in self.nyha:
                    item["nyha_class"] = int(self.nyha[c["name"]].pick(rng))
                item["onset"] = self._date(self.as_of_ord - rng.randint(200, 7000))
                out.append(item)
            elif rng.random() < c["absent_recorded_rate"]:
                out.append({"name": c["name"], "status": "absent"})
        return out

    def _findings(self, rng: random.Random, sex: str, age: int) -> dict[str, Any]:
        f = self.spec["findings"]
        out: dict[str, Any] = {}
        m = f["measurable_disease"]
        if rng.random() >= m["missing_rate"]:
            value = rng.random() < m["true_rate"]
            md: dict[str, Any] = {"value": value}
            if value and rng.random() < m["recist_rate"]:
                md["criteria"] = "RECIST 1.1"
                md["largest_lesion_mm"] = rng.randint(*m["lesion_mm"])
            out["measurable_disease"] = md
        if rng.random() >= f["life_expectancy_weeks"]["missing_rate"]:
            out["life_expectancy_weeks"] = self.life_expectancy.pick(rng)
        t = f["tumor_tissue_available"]
        if rng.random() >= t["missing_rate"]:
            out["tumor_tissue_available"] = rng.random() < t["true_rate"]
        for key in ("pregnant", "breastfeeding", "childbearing_potential"):
            spec = f[key]
            if sex == "female" and age < spec["women_under"] \
                    and rng.random() >= spec["missing_rate"]:
                out[key] = rng.random() < spec["true_rate"]
        if rng.random() >= f["brain_metastases"]["missing_rate"]:
            out["brain_metastases"] = self.brain_mets.pick(rng)
        tp = f["trial_participation"]
        if rng.random() < tp["rate"]:
            out["trial_participation_end"] = self._date(self.as_of_ord
                                                        - rng.randint(*tp["days_before"]))
        return out


def _whole_years(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def generate(n: int, seed: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Patients ``start .. start+n-1`` of cohort ``seed``, as patient-document dicts."""
    synth = Synthesizer()
    for i in range(start, start + n):
        yield synth.patient(seed, i)


# --------------------------------------------------------------------------- writing

FORMATS = ("jsonl", "ndjson", "csv", "parquet")


def write_cohort(out_dir: Path, n: int, seed: int, fmt: str = "jsonl") -> list[Path]:
    """Write patients ``0 .. n-1`` of cohort ``seed`` into ``out_dir`` and return the
    files written: ``patients.jsonl`` (jsonl), one ``<Resource>.ndjson`` per FHIR
    resource type (ndjson, a Bulk Data export), or one file per flat table
    (csv, parquet; :mod:`matcher.cohort.flat_tables`).  Streams: memory stays flat."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = generate(n, seed)
    if fmt == "jsonl":
        path = out_dir / "patients.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
                f.write("\n")
        return [path]
    if fmt == "ndjson":
        return _write_ndjson(out_dir, docs)
    return _write_tables(out_dir, docs, fmt)


def _write_ndjson(out_dir: Path, docs: Iterator[dict[str, Any]]) -> list[Path]:
    from matcher.cohort.fhir_export import RESOURCE_TYPES, document_resources

    paths = {t: out_dir / f"{t}.ndjson" for t in RESOURCE_TYPES}
    handles = {t: p.open("w", encoding="utf-8") for t, p in paths.items()}
    try:
        for doc in docs:
            for resource in document_resources(doc):
                handles[resource["resourceType"]].write(
                    json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        for h in handles.values():
            h.close()
    return list(paths.values())


def _write_tables(out_dir: Path, docs: Iterator[dict[str, Any]], fmt: str) -> list[Path]:
    from matcher.cohort.flat_tables import TABLES, document_rows

    names = {t: ["patient_id"] + [c.name for c in cols] for t, (_, cols) in TABLES.items()}
    paths = {t: out_dir / f"{t}.{fmt}" for t in TABLES}
    if fmt == "csv":
        import csv

        files = {t: p.open("w", encoding="utf-8", newline="") for t, p in paths.items()}
        writers = {t: csv.writer(f) for t, f in files.items()}
        for t, w in writers.items():
            w.writerow(names[t])
        try:
            for doc in docs:
                for t, rows in document_rows(doc).items():
                    for row in rows:
                        writers[t].writerow([_csv_cell(row[c]) for c in names[t]])
        finally:
            for f in files.values():
                f.close()
        return list(paths.values())
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {"str": pa.string(), "list": pa.string(), "date": pa.date32(), "int": pa.int64(),
             "float": pa.float64(), "bool": pa.bool_()}
    schemas = {t: pa.schema([("patient_id", pa.string())]
                            + [(c.name, arrow[c.type]) for c in cols])
               for t, (_, cols) in TABLES.items()}
    dates = {t: {c.name for c in cols if c.type == "date"} for t, (_, cols) in TABLES.items()}
    writers_pq = {t: pq.ParquetWriter(paths[t], schemas[t]) for t in TABLES}
    buffers: dict[str, list[dict]] = {t: [] for t in TABLES}

    def flush(t: str) -> None:
        if buffers[t]:
            writers_pq[t].write_table(pa.Table.from_pylist(buffers[t], schema=schemas[t]))
            buffers[t] = []

    try:
        for doc in docs:
            for t, rows in document_rows(doc).items():
                for row in rows:
                    for c in dates[t]:
                        if row[c] is not None:
                            row[c] = dt.date.fromisoformat(row[c])
                    buffers[t].append(row)
                if len(buffers[t]) >= 20_000:
                    flush(t)
        for t in TABLES:
            flush(t)
    finally:
        for w in writers_pq.values():
            w.close()
    return list(paths.values())


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
