// Exports of an answer, made in the browser from what the API returned.

export function download(filename, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const csvCell = (value) => {
  const text = String(value ?? "");
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export const csv = (header, rows) =>
  [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";

export function impactCsv({ items }) {
  return csv(
    ["id", "kind", "display", "distance", "certainty", "owners", "reached_by", "reached_from"],
    items.map((i) => [
      i.node.id,
      i.node.kind,
      i.node.display,
      i.distance,
      i.certainty,
      i.owners.join(";"),
      i.path.at(-1)?.kind ?? "",
      i.path.at(-1)?.fromId ?? "",
    ]),
  );
}

export function impactJson({ start, summary, items, depth, exactOnly }) {
  return JSON.stringify(
    {
      start: { id: start.id, kind: start.kind, display: start.display },
      question: { depth, exactOnly },
      summary,
      items: items.map((i) => ({
        id: i.node.id,
        kind: i.node.kind,
        display: i.node.display,
        distance: i.distance,
        certainty: i.certainty,
        owners: i.owners,
        path: i.path,
      })),
    },
    null,
    2,
  );
}
