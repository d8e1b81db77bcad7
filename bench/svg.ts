// Line charts for the benches' results, hand-drawn as SVG: no plotting dependency for a few
// polylines.

export type Series = { name: string; points: [number, number][] };

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** One chart panel at horizontal offset `x0` (300 × 200 plot), x values placed evenly. */
export function panel(
  x0: number,
  title: string,
  xLabel: string,
  xs: number[],
  series: Series[],
): string {
  const w = 300;
  const h = 200;
  const top = 50;
  const max = Math.max(...series.flatMap((s) => s.points.map(([, y]) => y))) * 1.15 || 1;
  const px = (x: number) => x0 + 50 + (xs.indexOf(x) * w) / Math.max(1, xs.length - 1);
  const py = (v: number) => top + h - (v / max) * h;
  const parts = [
    `<text x="${x0 + 50}" y="${top - 12}" font-size="13" font-weight="bold">${title}</text>`,
    `<line x1="${x0 + 50}" y1="${top + h}" x2="${x0 + 50 + w}" y2="${top + h}" stroke="#333"/>`,
    `<line x1="${x0 + 50}" y1="${top}" x2="${x0 + 50}" y2="${top + h}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(
      `<text x="${x0 + 44}" y="${py(v) + 4}" font-size="11" text-anchor="end">${round(v, 0)}</text>`,
      `<line x1="${x0 + 50}" y1="${py(v)}" x2="${x0 + 50 + w}" y2="${py(v)}" stroke="#ddd"/>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${px(x)}" y="${top + h + 16}" font-size="11" text-anchor="middle">${x}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + 50 + w / 2}" y="${top + h + 34}" font-size="12" text-anchor="middle">${xLabel}</text>`,
  );
  series.forEach((s, i) => {
    const points = s.points.map(([x, y]) => `${round(px(x))},${round(py(y))}`);
    const color = COLORS[i % COLORS.length];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(" ")}"/>`,
      ...points.map((p) => {
        const [cx, cy] = p.split(",");
        return `<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`;
      }),
    );
  });
  return parts.join("\n  ");
}

/** A 760 × 340 picture of up to two panels, with a title and a legend of `names`. */
export function chart(title: string, panels: string[], names: string[]): string {
  const legend = names
    .map(
      (name, i) =>
        `<rect x="${60 + (i % 4) * 170}" y="${306 + Math.floor(i / 4) * 16}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>` +
        `<text x="${78 + (i % 4) * 170}" y="${316 + Math.floor(i / 4) * 16}" font-size="12">${name}</text>`,
    )
    .join("\n  ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="340" viewBox="0 0 760 340" font-family="sans-serif">
  <rect width="760" height="340" fill="white"/>
  <text x="10" y="18" font-size="13">${title}</text>
  ${panels.join("\n  ")}
  ${legend}
</svg>
`;
}
