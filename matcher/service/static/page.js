// The coordinator's page: plain JS, no build step.  Data from the API is put
// into the page with textContent only (never as HTML).  The API key is kept in
// sessionStorage: it goes when the browser tab is closed.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "trialmatch.key";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function key() { return sessionStorage.getItem(KEY) || ""; }

function showKeyState() {
  $("key-state").textContent = key() ? "key set for this tab" : "no key yet";
}

async function api(method, path, body, contentType) {
  const headers = { "Authorization": "Bearer " + key() };
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  const response = await fetch(path, { method, headers, body });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const error = new Error((data && data.title) || ("HTTP " + response.status));
    error.status = response.status;
    error.problems = (data && data.problems) || [];
    throw error;
  }
  return data;
}

function showProblems(target, error) {
  target.replaceChildren();
  target.classList.remove("hidden");
  target.append(el("strong", { text: error.message }));
  if (error.status === 401) target.append(el("p", { text: "Enter a valid API key above." }));
  if (error.problems && error.problems.length) {
    const list = el("ul");
    for (const p of error.problems) {
      list.append(el("li", {}, el("code", { text: p.pointer || "(whole body)" }),
                     p.in && p.in !== "body" ? ` (${p.in}) ` : " ", p.message));
    }
    target.append(list);
  }
}

// ------------------------------------------------------------------ the form

const ROWS = {
  labs: [["name", "text", "hemoglobin"], ["value", "number", ""], ["unit", "text", "g/dL"],
         ["date", "date", ""]],
  treatments: [["kind", ["drug", "radiotherapy", "surgery", "transplant", "other"]],
               ["name", "text", "cisplatin"], ["start", "date", ""], ["end", "date", ""]],
  conditions: [["name", "text", "hepatitis B"],
               ["status", ["active", "history", "resolved", "absent"]]],
};

function addRow(kind) {
  const tr = el("tr");
  for (const [name, type, placeholder] of ROWS[kind]) {
    let input;
    if (Array.isArray(type)) {
      input = el("select", { "data-field": name });
      for (const option of type) input.append(el("option", { text: option }));
    } else {
      input = el("input", { type, "data-field": name, placeholder: placeholder || "" });
      if (type === "number") input.setAttribute("step", "any");
    }
    tr.append(el("td", {}, input));
  }
  const remove = el("button", { type: "button", text: "remove" });
  remove.addEventListener("click", () => tr.remove());
  tr.append(el("td", {}, remove));
  $("f-" + kind).querySelector("tbody").append(tr);
}

function rowsOf(kind) {
  const out = [];
  for (const tr of $("f-" + kind).querySelectorAll("tbody tr")) {
    const item = {};
    for (const input of tr.querySelectorAll("[data-field]")) {
      const v = input.value.trim();
      if (v === "") continue;
      item[input.dataset.field] = input.type === "number" ? Number(v) : v;
    }
    if (Object.keys(item).length) out.push(item);
  }
  return out;
}

function formDocument() {
  const doc = { id: $("f-id").value.trim() || "patient-1", sex: $("f-sex").value };
  if ($("f-birth").value) doc.birth_date = $("f-birth").value;
  if ($("f-dx").value.trim()) {
    const dx = { condition: $("f-dx").value.trim() };
    if ($("f-stage").value.trim()) dx.stage = $("f-stage").value.trim();
    if ($("f-dx-status").value) dx.status = [$("f-dx-status").value];
    doc.diagnoses = [dx];
  }
  if ($("f-ps-value").value !== "") {
    const ps = { scale: $("f-ps-scale").value, value: Number($("f-ps-value").value) };
    if ($("f-ps-date").value) ps.date = $("f-ps-date").value;
    doc.performance_status = [ps];
  }
  const labs = rowsOf("labs"), treatments = rowsOf("treatments"), conditions = rowsOf("conditions");
  if (labs.length) doc.labs = labs;
  if (treatments.length) doc.treatments = treatments;
  if (conditions.length) doc.conditions = conditions;
  return doc;
}

// ------------------------------------------------------------------ matching

function badge(word) { return el("span", { class: "badge " + word, text: word }); }

function renderResults(answer) {
  const box = $("results");
  box.replaceChildren();
  const total = answer.total_results ?? answer.results.length;
  $("results-summary").textContent =
    `patient ${answer.patient_id}, judged as of ${answer.as_of}; showing ${answer.results.length} of ${total}`;
  $("print-button").classList.toggle("hidden", answer.results.length === 0);
  if (!answer.results.length) {
    box.append(el("p", { class: "muted", text: "No trial matched the status filter (tick 'closed trials too')." }));
  }
  answer.results.forEach((r, i) => {
    const details = el("details", { class: "trial", "data-trial": r.trial_id });
    if (i === 0) details.open = true;
    const n = r.counts;
    details.append(el("summary", {}, badge(r.verdict),
      el("strong", { text: r.trial_id }), el("span", { class: "score", text: r.score.toFixed(2) }),
      el("span", { text: r.title }),
      el("span", { class: "counts", text: `${n.pass} pass, ${n.fail} fail, ${n.unknown} unknown, ${n.review} review` })));
    const body = el("div", { class: "body" });
    const link = el("a", { href: "#trial/" + encodeURIComponent(r.trial_id), text: "compiled rules and overrides" });
    body.append(el("p", {}, link));
    const table = el("table", { class: "criteria" },
      el("thead", {}, el("tr", {}, el("th", { text: "kind" }), el("th", { text: "status" }),
                          el("th", { text: "criterion" }), el("th", { text: "reason" }))));
    const tbody = el("tbody");
    for (const c of r.criteria) {
      tbody.append(el("tr", { class: "criterion-row " + c.status },
        el("td", { text: c.kind }), el("td", {}, badge(c.status)),
        el("td", { text: c.text + (c.curated ? " (curated)" : "") }), el("td", { text: c.reason })));
    }
    table.append(tbody);
    body.append(table);
    if (r.to_confirm.length) {
      body.append(el("h3", { text: "To confirm" }));
      const list = el("ul", { class: "checklist" });
      for (const item of r.to_confirm) {
        list.append(el("li", {}, el("label", {}, el("input", { type: "checkbox" }), " ", item)));
      }
      body.append(list);
    }
    details.append(body);
    box.append(details);
  });
  if (answer.unused_data && answer.unused_data.length) {
    box.append(el("p", { class: "muted", text: "Patient data not used: " + answer.unused_data.join("; ") }));
  }
}

async function runMatch() {
  const problems = $("problems");
  problems.classList.add("hidden");
  const text = $("patient-json").value.trim();
  if (!text) {
    showProblems(problems, { message: "Paste or upload a patient first (or use the form)." });
    return;
  }
  const params = new URLSearchParams();
  if ($("opt-as-of").value) params.set("as_of", $("opt-as-of").value);
  if ($("opt-assume-absent").checked) params.set("assume_absent", "true");
  if ($("opt-any-status").checked) params.set("status", "any");
  if ($("opt-limit").value) params.set("limit", $("opt-limit").value);
  $("match-button").disabled = true;
  try {
    renderResults(await api("POST", "/v1/match?" + params, text, "application/json"));
  } catch (error) {
    showProblems(problems, error);
  } finally {
    $("match-button").disabled = false;
  }
}

// ------------------------------------------------------------------ a trial

function overrideTemplate(trial) {
  const first = trial.criteria.find((c) => c.compiled !== "none") || trial.criteria[0];
  const today = new Date().toISOString().slice(0, 10);
  if (trial.overrides) return JSON.stringify(trial.overrides, null, 2);
  return [
    "format: trialmatch.overrides/1",
    `trial_id: ${trial.trial.trial_id}`,
    "overrides:",
    "  - action: review",
    `    criterion: "${first ? first.id : ""}"`,
    `    text: ${JSON.stringify(first ? first.text : "")}`,
    "    curator: your name",
    `    date: ${today}`,
    "    note: why",
  ].join("\n");
}

async function showTrial(id) {
  $("match-view").classList.add("hidden");
  $("trial-view").classList.remove("hidden");
  $("override-result").replaceChildren();
  try {
    const trial = await api("GET", "/v1/trials/" + encodeURIComponent(id));
    $("trial-title").textContent = `${trial.trial.trial_id}: ${trial.trial.title}`;
    $("trial-meta").textContent = `${trial.trial.status}, version ${trial.version} of ${trial.versions.length}, updated ${trial.updated}`;
    $("trial-text").textContent = trial.eligibility_text;
    const list = $("trial-criteria");
    list.replaceChildren();
    for (const c of trial.criteria) {
      list.append(el("div", { class: "criterion" },
        el("div", {}, el("strong", { text: c.kind }), " ", badge(c.compiled === "full" ? "pass" : c.compiled === "partial" ? "unknown" : "review"),
           ` compiled: ${c.compiled}`, c.curation ? ` (curated, ${c.curation.status})` : ""),
        el("div", { text: c.text }), el("code", { text: c.rule || "(no rule: a person decides)" }),
        c.review && c.review.length ? el("div", { class: "muted", text: "for review: " + c.review.join("; ") }) : null,
        el("div", { class: "id", text: c.id })));
    }
    $("override-text").value = overrideTemplate(trial);
    $("override-save").dataset.trial = id;
    for (const s of trial.stale_overrides) {
      $("override-result").append(el("p", { class: "problems", text: `stale override: ${s.criterion}: ${s.reason}` }));
    }
  } catch (error) {
    showProblems($("override-result"), error);
  }
}

async function saveOverride() {
  const id = $("override-save").dataset.trial;
  const out = $("override-result");
  out.replaceChildren();
  try {
    const r = await api("PUT", `/v1/trials/${encodeURIComponent(id)}/overrides`,
                        $("override-text").value, "application/yaml");
    out.append(el("p", { text: `Saved (overrides version ${r.overrides_version}).` }));
    for (const s of r.stale_overrides) out.append(el("p", { class: "problems", text: `stale: ${s.criterion}: ${s.reason}` }));
    await showTrial(id);
    out.prepend(el("p", { text: `Saved (overrides version ${r.overrides_version}).` }));
  } catch (error) {
    out.classList.add("problems");
    showProblems(out, error);
  }
}

function route() {
  const m = location.hash.match(/^#trial\/(.+)$/);
  if (m) {
    showTrial(decodeURIComponent(m[1]));
  } else {
    $("trial-view").classList.add("hidden");
    $("match-view").classList.remove("hidden");
  }
}

// ------------------------------------------------------------------ wiring

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("api-key").value.trim());
  $("api-key").value = "";
  showKeyState();
});
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
    $("tab-paste").classList.toggle("hidden", tab.dataset.tab !== "paste");
    $("tab-form").classList.toggle("hidden", tab.dataset.tab !== "form");
  });
}
for (const button of document.querySelectorAll("[data-add]")) {
  button.addEventListener("click", () => addRow(button.dataset.add));
}
$("form-to-json").addEventListener("click", () => {
  $("patient-json").value = JSON.stringify(formDocument(), null, 2);
  document.querySelector('.tab[data-tab="paste"]').click();
});
$("patient-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) $("patient-json").value = await file.text();
});
$("match-button").addEventListener("click", runMatch);
$("print-button").addEventListener("click", () => window.print());
window.addEventListener("beforeprint", () => {
  for (const d of document.querySelectorAll("details.trial")) d.open = true;
});
$("override-save").addEventListener("click", saveOverride);
window.addEventListener("hashchange", route);
showKeyState();
route();
