// The keyboard shortcuts of every page, gathered for the help overlay ("?").
//
//   registerShortcuts("Viewer", [["W / S", "previous / next image"], ...]);
//   allShortcuts() -> Map(section -> [[keys, description], ...])

const sections = new Map();

export function registerShortcuts(section, list) {
  sections.set(section, list);
}

export function allShortcuts() {
  return sections;
}
