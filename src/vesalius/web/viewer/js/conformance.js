// The conformance page: the server's DICOM Conformance Statement, as the server renders it
// (GET /api/conformance), with links to its Markdown and JSON forms.

import { h } from "./dom.js";

export function mountConformance(container) {
  container.append(
    h(
      "section",
      { class: "page page-conformance" },
      h("h1", {}, "Conformance statement"),
      h(
        "p",
        {},
        "Generated from the presentation contexts this server accepts. Also as ",
        h("a", { href: "/api/conformance?format=md", target: "_blank", rel: "noopener" }, "Markdown"),
        " and ",
        h("a", { href: "/api/conformance?format=json", target: "_blank", rel: "noopener" }, "JSON"),
        ".",
      ),
      h("iframe", {
        class: "conformance-document",
        src: "/api/conformance?format=html",
        title: "DICOM Conformance Statement",
        sandbox: "",
        style: "width: 100%; height: 75vh; border: 1px solid #ccc; background: #fff",
      }),
    ),
  );
  return null;
}
