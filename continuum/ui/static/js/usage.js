// The usage view: GET /usage, drawn per model and per day, with the rows below.

import { api } from "./api.js";
import { barChart, stackedColumns } from "./charts.js";

const MEASURES = {
  total_tokens: "tokens",
  requests: "requests",
  prompt_tokens: "prompt tokens",
  completion_tokens: "completion tokens",
};
const numbers = new Intl.NumberFormat();

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

export function createUsage(elements, notify) {
  const { scope, scopeLabel, measure, refresh, totals, modelsChart, daysChart, table } = elements;
  let rows = [];

  function render() {
    const key = measure.value;
    const unit = MEASURES[key];
    const byModel = new Map();
    const byDay = new Map();
    for (const row of rows) {
      byModel.set(row.model, (byModel.get(row.model) || 0) + row[key]);
      if (!byDay.has(row.day)) byDay.set(row.day, new Map());
      const day = byDay.get(row.day);
      day.set(row.model, (day.get(row.model) || 0) + row[key]);
    }
    const models = [...byModel.keys()].sort();
    const seriesOf = new Map(models.map((model, index) => [model, index]));
    const bars = [...byModel.entries()]
      .map(([label, value]) => ({ label, value, series: seriesOf.get(label) }))
      .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
    barChart(modelsChart, bars, { unit });
    const columns = [...byDay.keys()].sort().map((day) => ({
      label: day,
      parts: models.map((model) => ({
        series: seriesOf.get(model), name: model, value: byDay.get(day).get(model) || 0,
      })),
    }));
    stackedColumns(daysChart, columns, models, { unit });
  }

  function renderTotals(sums) {
    const entries = [
      ["Requests", sums.requests], ["Prompt tokens", sums.prompt_tokens],
      ["Completion tokens", sums.completion_tokens], ["Total tokens", sums.total_tokens],
    ];
    totals.replaceChildren(...entries.map(([label, value]) => {
      const box = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = numbers.format(value);
      dd.dataset.value = String(value);
      box.append(dt, dd);
      return box;
    }));
  }

  function renderTable() {
    const body = table.tBodies[0];
    const sorted = [...rows].sort((a, b) => b.day.localeCompare(a.day) || a.model.localeCompare(b.model));
    body.replaceChildren(...sorted.map((row) => {
      const tr = document.createElement("tr");
      tr.append(cell(row.day), cell(row.user), cell(row.model), cell(numbers.format(row.requests)),
        cell(numbers.format(row.prompt_tokens)), cell(numbers.format(row.completion_tokens)),
        cell(numbers.format(row.total_tokens)));
      return tr;
    }));
  }

  async function load() {
    const who = scope.value;
    try {
      // "*" is the Everyone option: an admin-only query that names no user.
      const query = who === "*" ? "?all=true" : who ? `?user=${encodeURIComponent(who)}` : "";
      const data = await api(`/usage${query}`);
      rows = data.data;
      renderTotals(data.totals);
      render();
      renderTable();
    } catch (error) {
      notify(`Usage: ${error.message}`);
    }
  }

  measure.addEventListener("change", render);
  scope.addEventListener("change", load);
  refresh.addEventListener("click", load);

  return {
    load,
    setAdmin(admin, adminKey) {
      scopeLabel.hidden = !admin;
      // The admin key has no usage of its own: start on everyone's.
      scope.value = adminKey ? "*" : "";
      const mine = scope.options[0];
      mine.disabled = adminKey;
    },
  };
}
