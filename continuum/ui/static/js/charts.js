// Two small SVG charts, drawn with DOM calls (no library, nothing inline for the CSP):
// horizontal bars (one value per label) and stacked columns (one stack per label).
// Colours come from the stylesheet's .series-N classes.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const SERIES_COLOURS = 8;
const numbers = new Intl.NumberFormat();

function node(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function emptyChart(svg, text) {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} 60`);
  svg.replaceChildren(node("text", { x: WIDTH / 2, y: 34, class: "empty" }, text));
}

export function seriesClass(index) {
  return `series-${index % SERIES_COLOURS}`;
}

/** One horizontal bar per item: items = [{label, value}], largest first. */
export function barChart(svg, items, { unit = "" } = {}) {
  if (!items.length) return emptyChart(svg, "No usage yet");
  const row = 28;
  const labelWidth = 170;
  const valueWidth = 90;
  const barSpace = WIDTH - labelWidth - valueWidth;
  const max = Math.max(...items.map((item) => item.value), 1);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${items.length * row + 8}`);
  const bars = items.map((item, index) => {
    const y = index * row + 4;
    const width = Math.max(2, (item.value / max) * barSpace);
    const group = node("g", { class: "bar", "data-label": item.label, "data-value": item.value });
    group.append(
      node("title", {}, `${item.label}: ${numbers.format(item.value)} ${unit}`.trim()),
      node("text", { x: labelWidth - 8, y: y + row / 2, class: "label end" }, item.label),
      node("rect", { x: labelWidth, y: y + 3, width, height: row - 8, rx: 3,
        class: seriesClass(item.series ?? index) }),
      node("text", { x: labelWidth + width + 6, y: y + row / 2, class: "value" },
        numbers.format(item.value)),
    );
    return group;
  });
  svg.replaceChildren(...bars);
}

/** Stacked columns: columns = [{label, parts: [{series, name, value}]}], in order. */
export function stackedColumns(svg, columns, seriesNames, { unit = "" } = {}) {
  if (!columns.length) return emptyChart(svg, "No usage yet");
  const perRow = 4;
  const top = 18 + Math.ceil(seriesNames.length / perRow) * 16;
  const height = 226 + top;
  const bottom = 36;
  const left = 56;
  const plot = height - top - bottom;
  const totals = columns.map((column) => column.parts.reduce((sum, part) => sum + part.value, 0));
  const max = Math.max(...totals, 1);
  const step = (WIDTH - left - 10) / columns.length;
  const barWidth = Math.min(56, step * 0.7);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${height}`);
  const children = [];

  seriesNames.forEach((name, index) => {
    const x = left + (index % perRow) * 145;
    const y = 6 + Math.floor(index / perRow) * 16;
    children.push(
      node("rect", { x, y, width: 11, height: 11, rx: 2, class: seriesClass(index) }),
      node("text", { x: x + 16, y: y + 10, class: "legend" }, name),
    );
  });
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plot - fraction * plot;
    children.push(
      node("line", { x1: left, x2: WIDTH - 4, y1: y, y2: y, class: "grid" }),
      node("text", { x: left - 6, y: y + 4, class: "axis end" },
        numbers.format(Math.round(max * fraction))),
    );
  }
  columns.forEach((column, index) => {
    const x = left + index * step + (step - barWidth) / 2;
    const group = node("g", { class: "column", "data-label": column.label,
      "data-value": totals[index] });
    group.append(node("title", {}, `${column.label}: ${numbers.format(totals[index])} ${unit}`.trim()));
    let y = top + plot;
    for (const part of column.parts) {
      if (!part.value) continue;
      const h = Math.max(1, (part.value / max) * plot);
      y -= h;
      group.append(node("rect", { x, y, width: barWidth, height: h, class: seriesClass(part.series),
        "data-series": part.name, "data-value": part.value }));
    }
    group.append(node("text", { x: x + barWidth / 2, y: height - bottom + 16, class: "axis middle" },
      column.label.slice(5))); // MM-DD; the year is in the title
    children.push(group);
  });
  svg.replaceChildren(...children);
}
