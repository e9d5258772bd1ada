"""Proven equal: the per-patient evaluator, DuckDB and Spark give the same
status for every criterion, the same verdict, score and to-confirm list.

Hypothesis draws random patient documents (values near thresholds, fresh,
stale and undated data, convertible and unconvertible units, histories
recorded, absent or missing) and random criteria built straight from the IR
(random thresholds, windows, facets, Kleene trees with review leaves), and
screens them with the bundled trials and real criterion texts.  Spark runs
few, large batches (one session for the test session)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from screen_strategies import cohort, random_trial

from criteria import ir
from criteria.compiler import compile_trial
from criteria.sql.dialects import DIALECTS
from criteria.trial import CompiledTrial, Trial
from matcher.cohort.chunk import Finisher, chunk_table
from matcher.cohort.duckdb_exec import DuckDBExecutor
from matcher.cohort.plan import build_plan
from matcher.facts import build_facts
from matcher.library import load_trials
from matcher.match import trial_result
from matcher.patient import PatientDocument

REAL_TEXT = """Inclusion Criteria:
- Age >= 18 years
- ECOG performance status 0-1
- Histologically confirmed recurrent or metastatic squamous cell carcinoma of the head and neck
- HPV-negative or p16-negative oropharyngeal cancer
- Absolute neutrophil count >= 1.5 x 10^9/L
- Platelets >= 100,000/mm3
- Hemoglobin >= 9 g/dL within 14 days prior to enrollment
- Total bilirubin <= 1.5 x ULN (or <= 3 x ULN in patients with Gilbert's syndrome)
- AST and ALT <= 2.5 x ULN, or <= 5 x ULN if liver metastases
- Creatinine clearance >= 60 mL/min
- Progression on or after anti-PD-1 therapy
- Life expectancy of at least 12 weeks
- At least one measurable lesion per RECIST 1.1
- Signed informed consent
Exclusion Criteria:
- Prior treatment with a CDK4/6 inhibitor
- Prior cetuximab unless given in the curative setting
- Active hepatitis B or hepatitis C infection
- HIV positive
- History of interstitial lung disease or pneumonitis
- Other malignancy within 5 years except basal cell carcinoma of the skin
- Poorly controlled diabetes mellitus
- NYHA class III or IV heart failure
- Pregnant or breastfeeding women
- Active brain metastases
- Chemotherapy within 4 weeks before the first dose
- Participation in another interventional trial within 30 days
- Major surgery within 28 days
"""


def _real_trials() -> list[CompiledTrial]:
    text_trial = compile_trial(Trial(trial_id="REAL-TEXTS", status="RECRUITING",
                                     eligibility_text=REAL_TEXT, minimum_age=18))
    return [text_trial, *load_trials(None, None, [])]


REAL = _real_trials()


def expected(patients: list[PatientDocument], trials: list[CompiledTrial],
             assume_absent: bool) -> dict[tuple[str, str], tuple]:
    out = {}
    for p in patients:
        facts = build_facts(p, p.effective_as_of(None), assume_absent)
        for t in trials:
            r = trial_result(t, facts)
            out[(p.id, t.trial.trial_id)] = ([c["status"] for c in r["criteria"]],
                                             r["verdict"], r["score"], r["to_confirm"])
    return out


def screened(patients: list[PatientDocument], trials: list[CompiledTrial], assume_absent: bool,
             engine: str, spark=None) -> dict[tuple[str, str], tuple]:
    plan = build_plan(trials, DIALECTS[engine])
    if engine == "spark":
        from matcher.cohort.spark_exec import SparkExecutor

        executor = SparkExecutor(plan)
    else:
        executor = DuckDBExecutor(plan, threads=1)
    table = chunk_table(patients, plan, None, assume_absent)
    rows = Finisher(plan)(executor.run(table)).to_pylist()
    executor.close()
    return {(r["patient_id"], r["trial_id"]): (r["statuses"], r["verdict"], r["score"],
                                               r["to_confirm"]) for r in rows}


def assert_same(want: dict, got: dict, trials: list[CompiledTrial]) -> None:
    assert set(got) == set(want)
    criteria = {t.trial.trial_id: t.criteria for t in trials}
    for key, (statuses, verdict, score, confirm) in want.items():
        g_statuses, g_verdict, g_score, g_confirm = got[key]
        for i, (a, b) in enumerate(zip(statuses, g_statuses, strict=True)):
            assert a == b, (key, i, criteria[key[1]][i].logic, a, b)
        assert (g_verdict, g_score) == (verdict, score), key
        assert g_confirm == confirm, key


# No shrinking: examples are large and the assertion names the criterion, its
# logic and both statuses.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
_RANDOM = settings(max_examples=60, deadline=None, derandomize=True, phases=_PHASES,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_RANDOM
@given(patients=cohort(1, 20),
       trials=st.lists(st.integers(0, 10**6), min_size=1, max_size=3).flatmap(
           lambda seeds: st.tuples(*[random_trial(f"T{i}") for i in range(len(seeds))])),
       assume_absent=st.booleans())
def test_duckdb_equals_evaluator_on_random_atoms(patients, trials, assume_absent):
    trials = list(trials)
    assert_same(expected(patients, trials, assume_absent),
                screened(patients, trials, assume_absent, "duckdb"), trials)


@settings(max_examples=25, deadline=None, derandomize=True, phases=_PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(patients=cohort(5, 30), assume_absent=st.booleans())
def test_duckdb_equals_evaluator_on_bundled_trials_and_real_texts(patients, assume_absent):
    assert_same(expected(patients, REAL, assume_absent),
                screened(patients, REAL, assume_absent, "duckdb"), REAL)


def test_real_texts_compile_to_sql_without_fallback():
    """The real texts exercise every atom family; none falls back."""
    plan = build_plan(REAL, DIALECTS["duckdb"])
    families = {type(a).__name__ for a in plan.atoms}
    assert {"LabAtom", "ConditionAtom", "TreatmentAtom", "FindingAtom", "DiagnosisAtom",
            "PerformanceAtom", "BiomarkerAtom", "AgeAtom"} <= families
    assert plan.fallback_list() == []


def test_untranslatable_atom_falls_back_and_still_agrees():
    """A finding compared with a threshold of another type has no SQL translation:
    the criterion is listed as a fallback and evaluated per patient."""
    odd = ir.Criterion(id="ODD-1", kind="inclusion", text="odd", family="finding",
                       compiled="full",
                       logic=ir.And(items=(ir.FindingAtom(key="brain_metastases", op="==",
                                                          value=2.0),
                                           ir.AgeAtom(op=">=", value=18))))
    trial = CompiledTrial(trial=Trial(trial_id="ODD", status="RECRUITING"), criteria=[odd])
    plan = build_plan([trial], DIALECTS["duckdb"])
    assert [(f["criterion_id"], "float threshold" in f["why"]) for f in plan.fallback_list()] \
        == [("ODD-1", True)]
    patients = [PatientDocument.model_validate(
        {"id": f"x{i}", "age": 40 + i, "as_of": "2026-06-01",
         "findings": {"brain_metastases": m} if m else {}})
        for i, m in enumerate(["active", None, "none"])]
    assert_same(expected(patients, [trial], False), screened(patients, [trial], False, "duckdb"),
                [trial])


@pytest.fixture(scope="session")
def spark():
    from matcher.cohort.spark_exec import spark_session, stop_session

    session = spark_session()
    yield session
    stop_session()


@settings(max_examples=3, deadline=None, derandomize=True, phases=_PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(patients=cohort(60, 120),
       trials=st.tuples(*[random_trial(f"S{i}") for i in range(8)]),
       assume_absent=st.booleans())
def test_spark_and_duckdb_equal_evaluator_in_one_batch(spark, patients, trials, assume_absent):
    """Random atoms, the bundled trials and the real texts, many patients per
    Spark run: evaluator, DuckDB and Spark agree on every criterion."""
    every = [*trials, *REAL]
    want = expected(patients, every, assume_absent)
    assert_same(want, screened(patients, every, assume_absent, "duckdb"), every)
    assert_same(want, screened(patients, every, assume_absent, "spark"), every)
