"""The knowledge files and their lookups (real files, no fixtures)."""

from __future__ import annotations

import pytest

from criteria import vocab as v
from criteria.units import parse_unit, same_dimension


def test_everything_loads_and_validates() -> None:
    v.load_all()
    kb = v._kb()
    assert len(kb.drugs) >= 150
    assert len(kb.classes) >= 40
    assert len(kb.analytes) >= 40
    assert len(kb.conditions) >= 60
    assert len(kb.biomarkers) >= 15


# ------------------------------------------------------------------ drugs


@pytest.mark.parametrize(
    ("name", "drug_id"),
    [
        ("Keytruda", "pembrolizumab"),
        ("keytruda", "pembrolizumab"),
        ("MK-3475", "pembrolizumab"),
        ("MK3475", "pembrolizumab"),
        ("pablizumab", "pembrolizumab"),
        ("Erbitux", "cetuximab"),
        ("SHR6390", "dalpiciclib"),
        ("SHR-6390", "dalpiciclib"),
        ("Dalpicilib", "dalpiciclib"),
        ("IL-2", "aldesleukin"),
        ("interleukin-2", "aldesleukin"),
        ("CTX", "cyclophosphamide"),
        ("Gleevec", "imatinib"),
        ("STI571", "imatinib"),
        ("Sprycel", "dasatinib"),
        ("Jakafi", "ruxolitinib"),
        ("Herceptin", "trastuzumab"),
        ("T-DM1", "trastuzumab emtansine"),
        ("T-DXd", "trastuzumab deruxtecan"),
        ("almonertinib", "aumolertinib"),
        ("Neulasta", "pegfilgrastim"),
        ("5-FU", "fluorouracil"),
        ("Tyvyt", "sintilimab"),
    ],
)
def test_drug_lookup(name: str, drug_id: str) -> None:
    d = v.drug(name)
    assert d is not None and d.id == drug_id
    assert d.names[0] == drug_id


@pytest.mark.parametrize("name", ["IM", "aspirinx", "", "PD-1", "imatinibb"])
def test_drug_lookup_misses(name: str) -> None:
    assert v.drug(name) is None


@pytest.mark.parametrize(
    ("drug", "inside", "outside"),
    [
        (
            "pembrolizumab",
            {
                "anti-pd-1",
                "immune-checkpoint-inhibitor",
                "antineoplastic",
                "immunotherapy",
                "monoclonal-antibody",
            },
            {"chemotherapy", "anti-pd-l1"},
        ),
        (
            "atezolizumab",
            {"anti-pd-l1", "anti-pd-1-or-pd-l1", "immune-checkpoint-inhibitor"},
            {"anti-pd-1"},
        ),
        (
            "cetuximab",
            {"anti-egfr-antibody", "anti-egfr", "monoclonal-antibody", "antineoplastic"},
            {"egfr-tki", "tyrosine-kinase-inhibitor"},
        ),
        (
            "gefitinib",
            {"egfr-tki", "anti-egfr", "tyrosine-kinase-inhibitor", "antineoplastic"},
            {"anti-egfr-antibody", "monoclonal-antibody"},
        ),
        ("dalpiciclib", {"cdk4-6-inhibitor", "targeted-therapy", "antineoplastic"}, set()),
        ("filgrastim", {"g-csf", "hematopoietic-growth-factor"}, {"antineoplastic"}),
        ("epoetin alfa", {"esa", "hematopoietic-growth-factor"}, {"antineoplastic"}),
        (
            "romiplostim",
            {"thrombopoietic-agent", "hematopoietic-growth-factor"},
            {"antineoplastic"},
        ),
        ("dasatinib", {"src-inhibitor", "bcr-abl-tki", "tyrosine-kinase-inhibitor"}, {"anti-egfr"}),
        ("ruxolitinib", {"jak-inhibitor", "antineoplastic"}, set()),
        ("tofacitinib", {"jak-inhibitor", "immunosuppressant"}, {"antineoplastic"}),
        ("trastuzumab", {"her2-directed", "antineoplastic"}, {"chemotherapy"}),
        ("trastuzumab deruxtecan", {"her2-directed", "antibody-drug-conjugate"}, set()),
        ("lapatinib", {"her2-directed", "egfr-tki"}, set()),
        ("cisplatin", {"platinum", "chemotherapy", "antineoplastic"}, {"targeted-therapy"}),
        ("paclitaxel", {"taxane", "chemotherapy"}, set()),
        ("capecitabine", {"fluoropyrimidine", "antimetabolite", "chemotherapy"}, set()),
        ("cyclophosphamide", {"alkylating-agent", "chemotherapy", "antineoplastic"}, set()),
        ("aldesleukin", {"interleukin", "immunotherapy", "antineoplastic"}, set()),
        ("letrozole", {"aromatase-inhibitor", "endocrine-therapy", "antineoplastic"}, set()),
        ("dexamethasone", {"corticosteroid"}, {"antineoplastic", "immunosuppressant"}),
    ],
)
def test_class_ancestry(drug: str, inside: set[str], outside: set[str]) -> None:
    classes = v.classes_of_drug(drug)
    assert inside <= classes
    assert not (outside & classes)


def test_unknown_drug_has_no_classes() -> None:
    assert v.classes_of_drug("not-a-drug") == frozenset()


def test_class_descendants_and_members() -> None:
    assert {"anti-pd-1", "anti-pd-l1", "anti-ctla-4"} <= v.class_descendants(
        "immune-checkpoint-inhibitor"
    )
    assert {"anti-egfr-antibody", "egfr-tki", "anti-egfr"} <= v.class_descendants("anti-egfr")
    assert "g-csf" not in v.class_descendants("antineoplastic")
    anti_pd1 = {d.id for d in v.drugs_in_class("anti-pd-1")}
    assert {
        "pembrolizumab",
        "nivolumab",
        "toripalimab",
        "sintilimab",
        "camrelizumab",
        "tislelizumab",
        "penpulimab",
        "zimberelimab",
        "serplulimab",
    } <= anti_pd1
    assert "atezolizumab" not in anti_pd1
    egfr_mabs = {d.id for d in v.drugs_in_class("anti-egfr-antibody")}
    assert {"cetuximab", "panitumumab", "necitumumab", "nimotuzumab"} <= egfr_mabs
    cdk = {d.id for d in v.drugs_in_class("cdk4-6-inhibitor")}
    assert {"palbociclib", "ribociclib", "abemaciclib", "dalpiciclib"} <= cdk
    with pytest.raises(KeyError):
        v.drug_class("no-such-class")
    with pytest.raises(KeyError):
        v.class_descendants("no-such-class")


def test_every_drug_class_reaches_a_root() -> None:
    kb = v._kb()
    for d in kb.drugs.values():
        for c in d.classes:
            assert c in kb.classes, (d.id, c)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Patients previously treated with cetuximab or other anti-EGFR monoclonal "
            "antibodies or small molecule tyrosine kinase inhibitors.",
            [
                ("anti-egfr-antibody", "anti-EGFR monoclonal antibodies"),
                ("tyrosine-kinase-inhibitor", "small molecule tyrosine kinase inhibitors"),
            ],
        ),
        (
            "Have received at least 1 cycle of prior PD-1 immunotherapy with imaging",
            [("anti-pd-1", "PD-1 immunotherapy")],
        ),
        (
            "Patients who have received hematopoietic stimulating factors, such as granulocyte "
            "colony-stimulating factor (G-CSF), erythropoietin, etc., within 1 week",
            [
                ("hematopoietic-growth-factor", "hematopoietic stimulating factors"),
                ("g-csf", "granulocyte colony-stimulating factor"),
                ("g-csf", "G-CSF"),
                ("esa", "erythropoietin"),
            ],
        ),
        (
            "Prior anti PD1 therapy; anti-PD-L1 therapy",
            [("anti-pd-1", "anti PD1 therapy"), ("anti-pd-l1", "anti-PD-L1 therapy")],
        ),
        (
            "Prior anti PD1 or anti-PD-L1 therapy",
            [("anti-pd-1-or-pd-l1", "anti PD1 or anti-PD-L1")],
        ),
        ("prior PD-1/PD-L1 inhibitors", [("anti-pd-1-or-pd-l1", "PD-1/PD-L1 inhibitors")]),
        (
            "Progression on at least 2 lines of HER2-directed therapy",
            [("her2-directed", "HER2-directed therapy")],
        ),
        ("prior CDK4/6 inhibitor", [("cdk4-6-inhibitor", "CDK4/6 inhibitor")]),
        ("prior EGFR TKIs", [("egfr-tki", "EGFR TKIs")]),
        ("platinum-based chemotherapy", [("platinum", "platinum-based chemotherapy")]),
        (
            "currently receiving antineoplastic therapy",
            [("antineoplastic", "antineoplastic therapy")],
        ),
        ("any anticancer therapy", [("antineoplastic", "anticancer therapy")]),
        ("no tki given", []),  # short acronyms are case-sensitive
    ],
)
def test_find_drug_classes(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.id, m.text) for m in v.find_drug_classes(text)] == expected
    for m in v.find_drug_classes(text):
        assert text[m.start : m.end] == m.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dalpiciclib plus cetuximab", ["dalpiciclib", "cetuximab"]),
        (
            "prior Keytruda (pablizumab) or nivolumab",
            ["pembrolizumab", "pembrolizumab", "nivolumab"],
        ),
        ("imatinib, IL-2 and CTX", ["imatinib", "aldesleukin", "cyclophosphamide"]),
        ("trastuzumab emtansine after trastuzumab", ["trastuzumab emtansine", "trastuzumab"]),
        ("nab-paclitaxel", ["nab-paclitaxel"]),
        ("ruxolitinibs", []),  # whole word only
        ("Tamoxifenx", []),
    ],
)
def test_find_drugs(text: str, expected: list[str]) -> None:
    assert [m.id for m in v.find_drugs(text)] == expected


# ------------------------------------------------------------------ analytes


@pytest.mark.parametrize(
    ("name", "aid"),
    [
        ("Hb", "hemoglobin"),
        ("haemoglobin", "hemoglobin"),
        ("WBC", "wbc"),
        ("white blood cell count", "wbc"),
        ("leukocytes", "wbc"),
        ("ANC", "anc"),
        ("absolute neutrophil count", "anc"),
        ("neutrophil count", "anc"),
        ("PLT", "platelets"),
        ("platelet count", "platelets"),
        ("serum total bilirubin", "total_bilirubin"),
        ("TBIL", "total_bilirubin"),
        ("SGOT", "ast"),
        ("aspartate aminotransferase", "ast"),
        ("SGPT", "alt"),
        ("alanine aminotransferase", "alt"),
        ("serum creatinine", "creatinine"),
        ("blood creatinine", "creatinine"),
        ("CrCl", "creatinine_clearance"),
        ("creatinine clearance", "creatinine_clearance"),
        ("urea nitrogen", "bun"),
        ("blood urea nitrogen", "bun"),
        ("BUN", "bun"),
        ("blood glucose", "glucose"),
        ("total_bilirubin", "total_bilirubin"),
        ("eGFR", "egfr"),
        ("IL-6", "il6"),
        ("HBsAg", "hbsag"),
        ("HBcAb", "hbcab"),
        ("Alanine aminotransferase (ALT)", "alt"),
    ],
)
def test_analyte_lookup(name: str, aid: str) -> None:
    a = v.analyte(name)
    assert a is not None and a.id == aid


@pytest.mark.parametrize(
    ("code", "aid"),
    [
        ("718-7", "hemoglobin"),
        ("6690-2", "wbc"),
        ("751-8", "anc"),
        ("777-3", "platelets"),
        ("1975-2", "total_bilirubin"),
        ("1920-8", "ast"),
        ("1742-6", "alt"),
        ("2160-0", "creatinine"),
        ("2164-2", "creatinine_clearance"),
        ("3094-0", "bun"),
        ("2345-7", "glucose"),
        ("6301-6", "inr"),
    ],
)
def test_analyte_by_loinc(code: str, aid: str) -> None:
    a = v.analyte_by_loinc(code)
    assert a is not None and a.id == aid
    assert v.analyte_by_loinc("0000-0") is None


def test_analyte_units_are_consistent() -> None:
    for a in v._kb().analytes.values():
        if a.canonical_unit is not None:
            parse_unit(a.canonical_unit)
            for u in a.conventional_units:
                assert same_dimension(u, a.canonical_unit, a.molar_mass), (a.id, u)
            if a.default_range_unit is not None:
                assert same_dimension(a.default_range_unit, a.canonical_unit, a.molar_mass), a.id
        if a.plausible_min is not None and a.plausible_max is not None:
            assert a.plausible_min < a.plausible_max, a.id
        if a.default_low is not None and a.default_high is not None:
            assert a.default_low <= a.default_high, a.id
        if a.default_high is not None:
            assert a.default_range_source, a.id
    alt = v.analyte("alt")
    assert alt is not None and alt.default_high == 40
    hb = v.analyte("hemoglobin")
    assert hb is not None and hb.conventional_units[0] == "g/dL" and hb.canonical_unit == "g/L"


def test_find_analytes() -> None:
    text = (
        "hemoglobin >= 100 g/L, white blood cell count >= 4.0x10^9/L or neutrophil count >= 2.0, "
        "AST and ALT <= 1.5 x ULN; creatinine clearance >= 60 ml/min; eGFR >= 50; pt must be"
        " EGFR-mutant"
    )
    ids = [m.id for m in v.find_analytes(text)]
    assert ids == ["hemoglobin", "wbc", "anc", "ast", "alt", "creatinine_clearance", "egfr"]


# ------------------------------------------------------------------ conditions


@pytest.mark.parametrize(
    ("code", "inside", "outside"),
    [
        (
            "C02.1",
            {
                "oral-tongue-cancer",
                "oral-cavity-cancer",
                "tongue-cancer",
                "head-and-neck-cancer",
                "solid-tumor",
                "malignant-neoplasm",
            },
            {"oropharyngeal-cancer", "nasopharyngeal-carcinoma"},
        ),
        ("C02.4", {"oropharyngeal-cancer", "head-and-neck-cancer"}, {"oral-tongue-cancer"}),
        ("C11.9", {"nasopharyngeal-carcinoma", "head-and-neck-cancer"}, {"oral-cavity-cancer"}),
        ("C14.8", {"head-and-neck-cancer"}, set()),
        ("C15.9", {"solid-tumor"}, {"head-and-neck-cancer"}),
        ("C32.0", {"laryngeal-cancer", "head-and-neck-cancer"}, set()),
        ("C50.911", {"breast-cancer", "solid-tumor"}, set()),
        ("J84.1", {"interstitial-lung-disease", "lung-disease"}, {"pneumonia"}),
        (
            "I21.4",
            {"myocardial-infarction", "ischemic-heart-disease", "cardiovascular-disease"},
            set(),
        ),
        ("B18.1", {"hepatitis-b", "viral-hepatitis", "infection"}, {"hepatitis-c"}),
        ("A15.0", {"tuberculosis", "infection"}, set()),
        ("C83.3", {"lymphoma", "hematologic-malignancy"}, {"solid-tumor"}),
        ("Z99.9", set(), {"malignant-neoplasm"}),
    ],
)
def test_icd10_membership(code: str, inside: set[str], outside: set[str]) -> None:
    got = v.conditions_for_icd10(code)
    assert inside <= got
    assert not (outside & got)


@pytest.mark.parametrize(
    ("name", "cid"),
    [
        ("HNSCC", "hnscc"),
        ("squamous cell carcinoma of the head and neck", "hnscc"),
        ("nasopharyngeal carcinoma", "nasopharyngeal-carcinoma"),
        ("NPC", "nasopharyngeal-carcinoma"),
        ("interstitial pneumonia", "interstitial-lung-disease"),
        ("CABG", "cabg"),
        ("percutaneous coronary intervention", "pci"),
        ("cerebrovascular accident", "stroke"),
        ("hypersensitivity-anti-egfr-antibody", "hypersensitivity-anti-egfr-antibody"),
        ("HER2+ breast cancer", "her2-positive-breast-cancer"),
    ],
)
def test_condition_lookup(name: str, cid: str) -> None:
    c = v.condition(name)
    assert c is not None and c.id == cid


def test_condition_kinds_and_ancestors() -> None:
    assert v.condition("pci").kind == "procedure"  # type: ignore[union-attr]
    assert v.condition("stem-cell-transplant").kind == "procedure"  # type: ignore[union-attr]
    assert v.condition("squamous-cell-carcinoma").kind == "histology"  # type: ignore[union-attr]
    assert {"hnscc", "head-and-neck-cancer", "squamous-cell-carcinoma", "malignant-neoplasm"} <= (
        v.condition_ancestors("hnscc")
    )
    assert "hnscc" not in v.condition_ancestors("nasopharyngeal-carcinoma")
    assert "cardiovascular-disease" in v.condition_ancestors("myocardial-infarction")
    assert "lung-disease" in v.condition_ancestors("pneumonitis")


def test_find_conditions_seed_phrases() -> None:
    text = (
        "Active lung disease (interstitial pneumonia, pneumonia, obstructive lung disease, "
        "asthma) or a history of active tuberculosis. Known hypersensitivity to recombinant "
        "humanized EGFR monoclonal antibody drugs. Deep vein thrombosis or pulmonary embolism."
    )
    ids = [m.id for m in v.find_conditions(text)]
    assert ids == [
        "lung-disease",
        "interstitial-lung-disease",
        "pneumonia",
        "obstructive-lung-disease",
        "asthma",
        "tuberculosis",
        "hypersensitivity-anti-egfr-antibody",
        "deep-vein-thrombosis",
        "pulmonary-embolism",
    ]


# ------------------------------------------------------------------ biomarkers


@pytest.mark.parametrize(
    ("name", "bid"),
    [
        ("human papillomavirus", "hpv"),
        ("HPV viral testing", "hpv"),
        ("p16INK4a", "p16"),
        ("PD-L1 CPS", "pd-l1-cps"),
        ("TPS", "pd-l1-tps"),
        ("HER2/neu", "her2"),
        ("dMMR", "msi"),
        ("serum IL6", "il6"),
        ("PR", "pr"),
    ],
)
def test_biomarker_lookup(name: str, bid: str) -> None:
    b = v.biomarker(name)
    assert b is not None and b.id == bid


def test_find_biomarkers() -> None:
    ids = [m.id for m in v.find_biomarkers("HPV-negative by IHC; PD-L1 CPS >= 1; CR or PR")]
    assert ids == ["hpv", "pd-l1-cps"]


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("neg", "negative"),
        ("-", "negative"),
        ("Not detected", "negative"),
        ("pos", "positive"),
        ("+", "positive"),
        ("detected", "positive"),
        ("3+", "positive"),
        ("Positive", "positive"),
        ("equivocal", "equivocal"),
        ("undetectable", "undetectable"),
        ("below detection", "undetectable"),
        ("banana", None),
        ("2+", None),
    ],
)
def test_normalize_result(text: str, result: str | None) -> None:
    assert v.normalize_result(text) == result


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("immunohistochemistry", "IHC"),
        ("IHC", "IHC"),
        ("FISH", "ISH"),
        ("RT-PCR", "PCR"),
        ("next-generation sequencing", "NGS"),
        ("ELISA", "ELISA"),
        ("tea leaves", None),
    ],
)
def test_normalize_method(text: str, method: str | None) -> None:
    assert v.normalize_method(text) == method


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("file", "extra", "message"),
    [
        ("drugs.yaml", "- {id: newdrug, brands: [Keytruda], classes: [anti-pd-1]}\n", "Keytruda"),
        ("drugs.yaml", "- {id: newdrug, classes: [no-such-class]}\n", "no-such-class"),
        ("drugs.yaml", "- {id: newdrug}\n", "newdrug"),
        ("drug_classes.yaml", "- {id: new-class, parents: [nowhere], phrases: [x]}\n", "nowhere"),
        ("drug_classes.yaml", "- {id: Bad_Id, parents: [], phrases: [y]}\n", "Bad_Id"),
        ("conditions.yaml", "- {id: new-c, icd10: [X1], parents: []}\n", "X1"),
        ("analytes.yaml", "- {id: newlab, canonical_unit: zorkmids/L}\n", "zorkmids"),
    ],
)
def test_bad_knowledge_is_rejected_naming_file_and_entry(
    tmp_path, monkeypatch, file: str, extra: str, message: str
) -> None:
    for src in v.KNOWLEDGE_DIR.iterdir():
        (tmp_path / src.name).write_bytes(src.read_bytes())
    with (tmp_path / file).open("a", encoding="utf-8") as fh:
        fh.write("\n" + extra)
    monkeypatch.setattr(v, "KNOWLEDGE_DIR", tmp_path)
    with pytest.raises(v.KnowledgeError) as err:
        v._Knowledge()
    assert file in str(err.value) and message in str(err.value)
